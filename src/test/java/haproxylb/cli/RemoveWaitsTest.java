package haproxylb.cli;

import haproxylb.intake.FragmentReader;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11, item 9: right after an apply, with the reload rate limit closed for a minute, {@code remove} returns 0
 * only once the domain is no longer served. Its domains leave haproxy's map through the runtime API at once; the
 * reload that drops its backend waits for the rate limit.
 */
class RemoveWaitsTest {
    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    Path files;
    private DaemonHarness daemon;

    private int cli(ByteArrayOutputStream out, String... args) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new HaproxyConfig(fixture.state(), new FragmentReader(false, 1 << 20), new PrintStream(out, true),
                new PrintStream(err, true)).dispatch(List.of(args));
        out.writeBytes(err.toByteArray());
        return exit;
    }

    @Test
    void remove_right_after_apply_returns_once_the_domain_is_no_longer_served() throws Exception {
        daemon = fixture.daemon().with("lb.reload.min-interval", "60000").start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int applied = cli(out, "apply", "temp",
                Files.writeString(files.resolve("t.cfg"), "backend be_temp\n    http-request return status 200"
                        + " content-type text/plain string temp-ok\n").toString(),
                Files.writeString(files.resolve("t.map"), "temp.example.test be_temp\n").toString(), "--timeout", "60");
        assertEquals(0, applied, out.toString());
        assertEquals(200, EdgeClient.https(daemon.httpsPort(), "temp.example.test", "/").status());

        out.reset();
        int removed = cli(out, "remove", "temp", "--timeout", "60");
        assertEquals(0, removed, out.toString());
        assertEquals(404, EdgeClient.https(daemon.httpsPort(), "temp.example.test", "/").status(),
                "no longer served the moment remove returns");
        assertTrue(daemon.status().reloadPending(), "the backend's reload still waits for the rate limit");
    }
}
