package haproxylb.it;

import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Issue 11, item 2: started the way the launcher starts it, the daemon has haproxy serve the last good config from
 * disk before Camel boots, then takes that same haproxy over (no second master) and reloads it with what changed while
 * it was down.
 */
class FastStartTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final String CFG = "backend be_%1$s\n    http-request return status 200 content-type text/plain"
            + " string %1$s-ok\n";

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    @Test
    void haproxy_serves_the_last_good_config_before_camel_boots_and_the_daemon_takes_it_over() throws Exception {
        daemon = fixture.daemon().start();
        daemon.drop("app", CFG.formatted("app"), "app.example.test be_app\n");
        daemon.awaitFragmentState("app", "live", LIMIT);
        daemon.stop();
        daemon.drop("late", CFG.formatted("late"), "late.example.test be_late\n"); // arrives while it is down

        AtomicLong earlyMaster = new AtomicLong();
        daemon.startLikeTheLauncher(() -> {
            assertNull(daemon.contextOrNull(), "Camel has not booted yet");
            await("the last good config served before the daemon's routes exist", LIMIT,
                    () -> daemon.serves("app.example.test", "app-ok"));
            earlyMaster.set(Long.parseLong(Files.readString(fixture.state().resolve("run/haproxy.pid")).lines()
                    .findFirst().orElseThrow().strip()));
        });
        await("the fragment dropped while down is served", LIMIT,
                () -> daemon.serves("late.example.test", "late-ok"));
        assertEquals(1, daemon.context().getRegistry().lookupByNameAndType("haproxySupervisor",
                haproxylb.haproxy.HaproxySupervisor.class).starts(), "the early haproxy was taken over, not replaced");
        assertEquals(earlyMaster.get(), daemon.context().getRegistry().lookupByNameAndType("haproxySupervisor",
                haproxylb.haproxy.HaproxySupervisor.class).masterPid().orElseThrow());
    }
}
