package haproxylb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.intake.FragmentReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** haproxy-config on a state directory no daemon runs on says so at once, not only when its timeout has gone by. */
class NoDaemonTest {
    @TempDir
    Path state;
    @TempDir
    Path files;

    record Run(int exit, String out, String err) {}

    private Run cli(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new HaproxyConfig(state, new FragmentReader(false, 1 << 20), new PrintStream(out, true),
                new PrintStream(err, true)).dispatch(List.of(args));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void apply_says_no_daemon_runs_then_waits_its_timeout_with_the_files_in_the_inbox() throws Exception {
        Files.createDirectories(state.resolve("inbox"));
        Path cfg = Files.writeString(files.resolve("app.cfg"), "backend be_app\n    http-request return status 200\n");
        Path map = Files.writeString(files.resolve("app.map"), "app.example.test be_app\n");
        Run r = cli("apply", "app", cfg.toString(), map.toString(), "--timeout", "1");
        assertEquals(3, r.exit(), r.err());
        assertTrue(r.err().startsWith("haproxy-config: no haproxy-lb daemon is running on " + state
                + " now: the files wait in its inbox"), r.err());
        assertTrue(Files.exists(state.resolve("inbox/app.cfg")) && Files.exists(state.resolve("inbox/app.map")));
    }

    @Test
    void status_says_the_daemon_is_not_running_above_its_last_status() throws Exception {
        Files.writeString(state.resolve("status.json"), "{ \"configGeneration\" : 4, \"liveGeneration\" : 4 }");
        Run r = cli("status");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("haproxy-lb daemon: NOT RUNNING on " + state), r.out());
        assertTrue(r.out().contains("config generation 4, live generation 4"), r.out());
    }

    @Test
    void status_without_a_status_file_says_that_no_daemon_runs() throws Exception {
        Run r = cli("status");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("status.json does not exist, and no haproxy-lb daemon is running on " + state),
                r.err());
    }
}
