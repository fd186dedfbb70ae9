package haproxylb.cli;

import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentReader;
import haproxylb.intake.FragmentStore;
import haproxylb.intake.PendingChange;
import haproxylb.status.FragmentStatus;
import haproxylb.status.StatusBoard;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 13's regression, made deterministic: the daemon was killed after a replacement was promoted into fragments/
 * (and so into the config) but before status.json was published. The store is put in exactly that state with the
 * store's own promotion, status.json left saying "live, version 1"; after a restart status must show version 2 and
 * {@code haproxy-config apply} of version 2 must return 0.
 */
class StatusAfterCrashTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final String CFG = "backend be_app\n    http-request return status 200 content-type text/plain"
            + " string app-%s\n";

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    Path files;

    @Test
    void a_replacement_promoted_before_the_kill_is_reported_live_and_apply_of_it_returns_0() throws Exception {
        Path state = fixture.state();
        DaemonHarness daemon = fixture.daemon().start();
        daemon.drop("app", CFG.formatted("v1"), "v1.app.example.test be_app\n");
        FragmentStatus v1 = daemon.awaitFragmentState("app", "live", LIMIT);
        daemon.stop();

        String v2cfg = CFG.formatted("v2");
        String v2map = "v2.app.example.test be_app\n";
        FragmentReader reader = new FragmentReader(false, 1 << 20);
        Fragment v2 = reader.read("app", v2cfg.getBytes(StandardCharsets.UTF_8), v2map.getBytes(StandardCharsets.UTF_8));
        new FragmentStore(state, reader).promote(List.of(PendingChange.upsert(v2, System.currentTimeMillis())));
        FragmentStatus stale = StatusBoard.read(state.resolve("status.json")).fragments().get("app");
        assertEquals(v1.id(), stale.id(), "the kill's state: status.json still reports version 1");

        daemon.start();
        FragmentStatus after = daemon.awaitFragmentState("app", "live", LIMIT);
        assertEquals(v2.id(), after.id());
        await("version 2 served", LIMIT, () -> daemon.serves("v2.app.example.test", "app-v2"));

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new HaproxyConfig(state, reader, new PrintStream(out, true), new PrintStream(err, true))
                .dispatch(List.of("apply", "app", Files.writeString(files.resolve("app.cfg"), v2cfg).toString(),
                        Files.writeString(files.resolve("app.map"), v2map).toString(), "--timeout", "30"));
        assertEquals(0, exit, err.toString());
        assertTrue(out.toString().startsWith("fragment 'app' is live"), out.toString());
    }
}
