package haproxylb.cli;

import haproxylb.intake.FragmentReader;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An apply whose reload waits for the rate limit says so while it waits, on stderr (stdout keeps the outcome only):
 * tried as a new user would, an apply right after another was silent for most of a minute.
 */
class ApplyRateLimitTest {
    @RegisterExtension
    static final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    static Path files;
    static DaemonHarness daemon;

    @BeforeAll
    static void start() throws Exception {
        daemon = fixture.daemon().with("lb.reload.min-interval", "6000").start();
    }

    record Run(int exit, String out, String err) {}

    private static Run apply(String name) throws Exception {
        Path cfg = Files.writeString(files.resolve(name + ".cfg"), "backend be_" + name
                + "\n    http-request return status 200 content-type text/plain string " + name + "-ok\n");
        Path map = Files.writeString(files.resolve(name + ".map"), name + ".example.test be_" + name + "\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new HaproxyConfig(fixture.state(), new FragmentReader(false, 1 << 20), new PrintStream(out, true),
                new PrintStream(err, true)).dispatch(List.of("apply", name, cfg.toString(), map.toString(),
                "--timeout", "60"));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void an_apply_held_by_the_rate_limit_says_when_haproxy_reloads_and_exits_0_once_live() throws Exception {
        Run first = apply("first");
        assertEquals(0, first.exit(), first.err());
        assertFalse(first.err().contains("lb.reload.min-interval"), "the first change goes at once: " + first.err());

        Run second = apply("second");
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.out().startsWith("fragment 'second' is live"), second.out());
        assertTrue(second.err().contains("fragment 'second' is accepted into config generation")
                && second.err().contains("haproxy reloads in") && second.err().contains("lb.reload.min-interval"),
                second.err());
        assertEquals(1, second.err().lines().count(), "said once: " + second.err());
        assertEquals("second-ok", EdgeClient.https(daemon.httpsPort(), "second.example.test", "/").body());
    }
}
