package haproxylb.haproxy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.slf4j.event.Level.DEBUG;
import static org.slf4j.event.Level.ERROR;
import static org.slf4j.event.Level.INFO;
import static org.slf4j.event.Level.WARN;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * haproxy's output as the daemon splits it: access lines written a read at a time must still come out whole, in order
 * and once each, however the pipe cuts them, and haproxy's own messages must go to haproxy.log, not the access log.
 */
class HaproxyOutputTest {
    @TempDir
    Path dir;

    @Test
    void lines_cut_anywhere_by_the_reads_come_out_whole_in_order_and_messages_apart() throws Exception {
        List<String> access = new ArrayList<>();
        List<String> messages = new ArrayList<>();
        StringBuilder stream = new StringBuilder();
        for (int i = 0; i < 5_000; i++) {
            if (i % 97 == 0) {
                String m = "[WARNING]  (123) : message " + i;
                messages.add(m);
                stream.append(m).append('\n');
            }
            // multi-byte characters too: a read may end inside one
            String a = "127.0.0.1:4242 [29/Nov/2026] https~ be_" + i + "/<NOSRV> 0/0 200 {h" + i + ".tëst} \"GET /é"
                    + "x".repeat(i % 300) + " HTTP/1.1\"";
            access.add(a);
            stream.append(a).append('\n');
        }
        String last = "an unfinished last line";
        access.add(last);
        stream.append(last);

        Path logDir = dir.resolve("log");
        try (HaproxyOutput output = new HaproxyOutput(dir.resolve("haproxy.log"), logDir, 1 << 30, 2)) {
            output.read(new Chopped(stream.toString().getBytes(StandardCharsets.UTF_8), new Random(7)));
        }
        assertEquals(access, Files.readAllLines(logDir.resolve("access.0.log")));
        assertEquals(messages, Files.readAllLines(dir.resolve("haproxy.log")));
    }

    @Test
    void the_access_log_rotates_by_size_and_loses_no_line_it_keeps() throws Exception {
        StringBuilder stream = new StringBuilder();
        int lines = 20_000;
        for (int i = 0; i < lines; i++) {
            stream.append("line ").append(i).append(" ").append("y".repeat(60)).append('\n');
        }
        Path logDir = dir.resolve("log");
        try (HaproxyOutput output = new HaproxyOutput(dir.resolve("haproxy.log"), logDir, 200_000, 20)) {
            output.read(new Chopped(stream.toString().getBytes(StandardCharsets.UTF_8), new Random(11)));
        }
        List<String> all = new ArrayList<>();
        int files = 0;
        for (int g = 19; g >= 0; g--) {
            Path f = logDir.resolve("access." + g + ".log");
            if (Files.exists(f)) {
                files++;
                assertTrue(Files.size(f) < 200_000 + 64 * 1024, f + " is past its size by more than one read");
                all.addAll(Files.readAllLines(f));
            }
        }
        assertTrue(files > 1, "rotated: " + files + " files");
        assertEquals(stream.toString().lines().toList(), all);
    }

    /** The pipe as a reader sees it: each read returns a random share of what is left, up to 9 KiB. */
    private static final class Chopped extends InputStream {
        private final byte[] data;
        private final Random random;
        private int at;

        Chopped(byte[] data, Random random) {
            this.data = data;
            this.random = random;
        }

        @Override
        public int read() {
            return at < data.length ? data[at++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (at == data.length) {
                return -1;
            }
            int n = Math.min(Math.min(len, data.length - at), 1 + random.nextInt(9 * 1024));
            System.arraycopy(data, at, b, off, n);
            at += n;
            return n;
        }
    }

    @Test
    void an_old_worker_leaving_after_a_reload_is_no_warning_in_the_daemons_log() {
        // lines as haproxy 2.6 writes them; a reload's old worker says the first two for every frontend and backend
        Map<String, org.slf4j.event.Level> levels = new LinkedHashMap<>();
        levels.put("[WARNING]  (15869) : Proxy be_hello stopped (cumulated conns: FE: 0, BE: 12).", DEBUG);
        levels.put("[WARNING]  (15869) : Stopping backend be_hello in 0 ms.", DEBUG);
        levels.put("[WARNING]  (15866) : Former worker (15869) exited with code 0 (Exit)", INFO);
        levels.put("[WARNING]  (15866) : Former worker (15869) exited with code 134 (Aborted)", WARN);
        levels.put("[WARNING]  (15866) : config : 'option forwardfor' ignored for proxy 'be_x' as it requires HTTP mode.",
                WARN);
        levels.put("[ALERT]    (15866) : Current worker (15870) exited with code 139 (Segmentation fault)", ERROR);
        levels.put("[NOTICE]   (15866) : haproxy version is 2.6.12", INFO);
        levels.forEach((line, level) -> assertEquals(level, HaproxyOutput.levelOf(line), line));
    }

    @Test
    void haproxy_saying_goodbye_when_the_daemon_stops_it_is_no_error() {
        String[] goodbye = {
            "[WARNING]  (17759) : Exiting Master process...",
            "[ALERT]    (17759) : Current worker (17762) exited with code 143 (Terminated)",
            "[WARNING]  (17759) : All workers exited. Exiting... (0)",
        };
        for (String line : goodbye) {
            assertEquals(INFO, HaproxyOutput.levelOf(line, true), line);
            assertNotEquals(INFO, HaproxyOutput.levelOf(line, false), "not asked for: " + line);
        }
        assertEquals(ERROR, HaproxyOutput.levelOf(
                "[ALERT]    (17759) : Current worker (17762) exited with code 139 (Segmentation fault)", true),
                "a crash while stopping is still one");
    }
}
