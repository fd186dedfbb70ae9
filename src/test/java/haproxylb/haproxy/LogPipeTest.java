package haproxylb.haproxy;

import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A child's stdout pipe, widened, takes what the default pipe (64 KiB) cannot while nobody reads it: haproxy's log
 * lines are not dropped when the daemon's reader pauses.
 */
class LogPipeTest {
    private static final int BYTES = 600_000;

    @Test
    void a_widened_pipe_takes_600_kb_unread_where_the_default_one_blocks_its_writer() throws Exception {
        int max = LogPipe.maxSize();
        assertTrue(max > BYTES, "fs.pipe-max-size " + max + " (Linux's default is 1 MiB)");

        Process widened = writer();
        Process plain = writer();
        try {
            OptionalInt size = LogPipe.widen(widened.pid());
            assertEquals(OptionalInt.of(max), size);
            go(widened);
            go(plain);
            assertTrue(widened.waitFor(20, TimeUnit.SECONDS), "the widened pipe took " + BYTES + " bytes unread");
            assertEquals(0, widened.exitValue());
            assertFalse(plain.waitFor(300, TimeUnit.MILLISECONDS), "the default pipe blocks its writer");
            assertEquals(BYTES, widened.getInputStream().readAllBytes().length);
        } finally {
            widened.destroyForcibly();
            plain.destroyForcibly();
        }
    }

    @Test
    void a_process_whose_stdout_is_no_pipe_of_ours_is_left_alone() throws Exception {
        Process child = new ProcessBuilder("sleep", "30").redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            assertEquals(OptionalInt.empty(), LogPipe.widen(child.pid()));
        } finally {
            child.destroyForcibly();
        }
    }

    /** A child that writes BYTES to its stdout once it reads a line. */
    private static Process writer() throws Exception {
        return new ProcessBuilder("sh", "-c", "read go; head -c " + BYTES + " /dev/zero").start();
    }

    private static void go(Process p) throws Exception {
        OutputStream in = p.getOutputStream();
        in.write("go\n".getBytes());
        in.flush();
    }
}
