package haproxylb.cli;

import haproxylb.intake.FragmentHistory;
import haproxylb.monitoring.HaproxyLbControl;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static haproxylb.cli.CheckAndDiffTest.cli;
import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * haproxy-config history and rollback against the real daemon and haproxy: three versions, then rollback twice
 * serves the second and then the first; the history survives a restart; a removed fragment comes back; a version
 * whose backend another fragment took meanwhile is refused with the daemon's error while the live one keeps serving.
 */
class RollbackTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    /** One daemon for the class: the tests use fragments of their own names. */
    @RegisterExtension
    static final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    Path files;
    private static DaemonHarness daemon;

    @BeforeAll
    static void startDaemon() throws Exception {
        daemon = start();
    }

    private static DaemonHarness start() throws Exception {
        return fixture.daemon().with("lb.reload.min-interval", "200").with("lb.intake.settle", "50").start();
    }

    private static String cfg(String backend, String body) {
        return "backend " + backend + "\n    http-request return status 200 content-type text/plain string \""
                + body + "\"\n";
    }

    private CheckAndDiffTest.Run apply(String name, String cfg, String map) throws Exception {
        Path c = Files.writeString(files.resolve(name + ".cfg"), cfg);
        Path m = Files.writeString(files.resolve(name + ".map"), map);
        CheckAndDiffTest.Run r = cli(fixture.state(), "apply", name, c.toString(), m.toString(), "--timeout", "30");
        assertEquals(0, r.exit(), r.err());
        return r;
    }

    private void awaitServed(String host, String body) {
        await(host + " serving '" + body + "'", LIMIT, () -> daemon.serves(host, body));
    }

    private List<String> historyIds(String name) {
        try {
            return new FragmentHistory(fixture.state().resolve("history"), 10,
                    java.time.Clock.systemUTC()).entries(name)
                    .stream().map(e -> e.kind() + " " + e.id()).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void three_versions_then_rollback_twice_serves_the_second_then_the_first_and_the_history_survives_a_restart()
            throws Exception {
        String map = "app.verbs.test be_app\n";
        apply("app", cfg("be_app", "v1"), map);
        String v1 = daemon.fragment("app").orElseThrow().id();
        apply("app", cfg("be_app", "v2"), map);
        String v2 = daemon.fragment("app").orElseThrow().id();
        apply("app", cfg("be_app", "v3"), map);
        String v3 = daemon.fragment("app").orElseThrow().id();
        awaitServed("app.verbs.test", "v3");

        CheckAndDiffTest.Run back = cli(fixture.state(), "rollback", "app", "--timeout", "30");
        assertEquals(0, back.exit(), back.err());
        assertTrue(back.out().startsWith("fragment 'app': version " + v2 + " (live from "), back.out());
        assertTrue(back.out().contains("fragment 'app' is live"), back.out());
        awaitServed("app.verbs.test", "v2");
        assertEquals(0, cli(fixture.state(), "rollback", "app", "--timeout", "30").exit());
        awaitServed("app.verbs.test", "v1");
        CheckAndDiffTest.Run none = cli(fixture.state(), "rollback", "app");
        assertEquals(2, none.exit());
        assertEquals("haproxy-config: fragment 'app' has no version before version " + v1 + " to roll back to\n",
                none.err());

        CheckAndDiffTest.Run history = cli(fixture.state(), "history", "app");
        assertEquals(0, history.exit(), history.err());
        List<String> lines = history.out().lines().toList();
        assertEquals("WHEN\tEVENT\tID", lines.get(1));
        assertTrue(lines.get(2).endsWith("\tlive\t" + v1 + "\t(live now)"), history.out());
        assertEquals(List.of("live " + v1, "live " + v2, "live " + v3, "live " + v2, "live " + v1),
                historyIds("app"));

        daemon.close();
        daemon = start();
        assertEquals(List.of("live " + v1, "live " + v2, "live " + v3, "live " + v2, "live " + v1),
                historyIds("app"), "the history after a restart");
        assertEquals(history.out(), cli(fixture.state(), "history", "app").out());
        awaitServed("app.verbs.test", "v1");
        assertEquals(0, cli(fixture.state(), "rollback", "app", v3, "--timeout", "30").exit(),
                "by id, after the restart");
        awaitServed("app.verbs.test", "v3");

        assertEquals(0, cli(fixture.state(), "remove", "app", "--timeout", "30").exit());
        await("app.verbs.test unknown", LIMIT, () -> !daemon.serves("app.verbs.test", "v3"));
        CheckAndDiffTest.Run restore = cli(fixture.state(), "rollback", "app", "--timeout", "30");
        assertEquals(0, restore.exit(), restore.err());
        awaitServed("app.verbs.test", "v3");
        assertEquals("live " + v3, historyIds("app").get(0));
        assertEquals("removed null", historyIds("app").get(1));
    }

    @Test
    void a_rollback_to_a_version_whose_backend_another_fragment_took_is_refused_and_the_live_one_keeps_serving()
            throws Exception {
        apply("shop", cfg("be_shop_old", "shop v1"), "shop.verbs.test be_shop_old\n");
        apply("shop", cfg("be_shop", "shop v2"), "shop.verbs.test be_shop\n");
        String v2 = daemon.fragment("shop").orElseThrow().id();
        apply("legacy", cfg("be_shop_old", "legacy"), "legacy.verbs.test be_shop_old\n");
        awaitServed("legacy.verbs.test", "legacy");

        CheckAndDiffTest.Run refused = cli(fixture.state(), "rollback", "shop", "--timeout", "30");
        assertEquals(1, refused.exit(), refused.out() + refused.err());
        List<String> err = refused.err().lines().toList();
        assertTrue(err.get(0).startsWith("haproxy-config: the rollback of fragment 'shop' to version "), err.get(0));
        assertTrue(err.get(0).endsWith(" was refused; what is live now stays:"), err.get(0));
        assertEquals("Fragment 'shop' was rejected: legacy.cfg line 1 and shop.cfg line 1 both define backend"
                + " 'be_shop_old' (fragments 'legacy' and 'shop'); backend names must be unique across fragments",
                err.get(1));
        assertTrue(daemon.serves("shop.verbs.test", "shop v2"), "the live version keeps serving");
        assertTrue(daemon.serves("legacy.verbs.test", "legacy"));
        CheckAndDiffTest.Run history = cli(fixture.state(), "history", "shop");
        List<String> lines = history.out().lines().toList();
        assertTrue(lines.get(2).contains("\trejected\t"), history.out());
        assertEquals("    " + err.get(1), lines.get(3));
        assertTrue(history.out().contains("\tlive\t" + v2 + "\t(live now)\n"),
                "the live version is marked, under the rejection:\n" + history.out());

        // The same refusal over JMX: it hands the version over and the daemon rejects it again.
        String answer = (String) ManagementFactory.getPlatformMBeanServer().invoke(HaproxyLbControl.NAME,
                "rollbackFragment", new Object[] {"shop", ""}, new String[] {String.class.getName(),
                        String.class.getName()});
        assertTrue(answer.startsWith("Fragment 'shop': version "), answer);
        await("the JMX rollback rejected too", LIMIT, () -> historyIds("shop").stream()
                .filter(e -> e.startsWith("rejected")).count() == 2);
        assertTrue(daemon.serves("shop.verbs.test", "shop v2"));
    }
}
