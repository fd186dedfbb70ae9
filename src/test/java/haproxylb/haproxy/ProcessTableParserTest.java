package haproxylb.haproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Fixtures are verbatim "show proc" answers of haproxy 2.6.12 (Debian 12), captured with socat. */
class ProcessTableParserTest {

    @Test
    void reads_the_master_current_and_old_workers_after_reloads() throws IOException {
        ProcessTable table = ProcessTable.parse(fixture("show-proc-old-workers.txt"));

        assertEquals(2755, table.masterPid());
        assertEquals(5, table.reloads());
        assertEquals(0, table.failedReloads());
        assertEquals(List.of(new ProcessTable.Worker(2910, 0, "0d00h00m01s", "2.6.12-1+deb12u4")), table.currentWorkers());
        assertEquals(List.of(new ProcessTable.Worker(2899, 1, "0d00h00m02s", "2.6.12-1+deb12u4")), table.oldWorkers());
        assertEquals(2910, table.currentWorker().pid());
    }

    @Test
    void reads_the_failed_reload_counter() throws IOException {
        ProcessTable table = ProcessTable.parse(fixture("show-proc-failed-reload.txt"));

        assertEquals(6, table.reloads());
        assertEquals(1, table.failedReloads());
        assertEquals(2910, table.currentWorker().pid());
        assertEquals(1, table.currentWorker().reloads());
        assertEquals(2899, table.oldWorkers().get(0).pid());
    }

    @Test
    void a_fresh_master_without_failed_counter_or_old_workers() {
        String text = """
                #<PID>          <type>          <reloads>       <uptime>        <version>
                41              master          0               0d00h00m01s     2.4.22
                # workers
                42              worker          0               0d00h00m01s     2.4.22
                # programs
                """;

        ProcessTable table = ProcessTable.parse(text);

        assertEquals(41, table.masterPid());
        assertEquals(0, table.failedReloads());
        assertEquals(List.of(new ProcessTable.Worker(42, 0, "0d00h00m01s", "2.4.22")), table.currentWorkers());
        assertEquals(List.of(), table.oldWorkers());
    }

    @Test
    void an_error_answer_is_not_a_process_table() {
        assertThrows(IllegalArgumentException.class,
                () -> ProcessTable.parse("Unknown command, but maybe one of the following ones is a better match:\n"));
    }

    private static String fixture(String name) throws IOException {
        try (InputStream in = ProcessTableParserTest.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test fixture " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
