package haproxylb.haproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.support.HaproxyProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The master CLI of a real haproxy 2.6 in foreground master-worker mode. */
class MasterCliTest {
    private static final Duration RELOAD_LIMIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    private Path cfg;
    private String goodConfig;
    private HaproxyProcess haproxy;
    private MasterCli master;

    @BeforeEach
    void startHaproxy() throws IOException {
        Path admin = dir.resolve("admin.sock");
        cfg = dir.resolve("haproxy.cfg");
        goodConfig = HaproxyProcess.globalSection(admin) + """
                defaults
                  mode http
                  timeout connect 5s
                  timeout client 10s
                  timeout server 10s
                frontend fe
                  bind 127.0.0.1:%d
                  http-request return status 200 content-type text/plain string ok
                """.formatted(HaproxyProcess.freePort());
        Files.writeString(cfg, goodConfig);
        haproxy = HaproxyProcess.start(cfg, admin);
        master = new MasterCli(haproxy.master());
    }

    @AfterEach
    void stopHaproxy() {
        if (haproxy != null) {
            haproxy.close();
        }
    }

    @Test
    void show_proc_lists_the_master_and_its_worker() throws IOException {
        ProcessTable table = master.showProc();

        assertEquals(haproxy.masterPid(), table.masterPid());
        assertEquals(0, table.reloads());
        assertEquals(0, table.failedReloads());
        assertEquals(1, table.currentWorkers().size());
        assertTrue(table.currentWorker().version().startsWith("2.6"), table.toString());
        assertNotEquals(table.masterPid(), table.currentWorker().pid());
    }

    @Test
    void reload_counts_up_and_brings_a_new_worker() throws IOException {
        long before = master.showProc().currentWorker().pid();

        master.reload();

        ProcessTable after = awaitTable("the reload is counted with a new worker",
                t -> t.reloads() == 1 && !t.currentWorkers().isEmpty() && t.currentWorker().pid() != before);
        assertEquals(0, after.failedReloads());
        assertEquals(haproxy.masterPid(), after.masterPid());
    }

    @Test
    void a_broken_config_counts_as_failed_and_the_old_worker_keeps_serving() throws IOException {
        long worker = master.showProc().currentWorker().pid();
        Files.writeString(cfg, goodConfig + "  no_such_keyword here\n");

        master.reload();

        ProcessTable after = awaitTable("the failed reload is counted", t -> t.failedReloads() == 1);
        assertEquals(worker, after.currentWorker().pid());
        assertTrue(master.workerCommand("show info").contains("Pid: " + worker));
    }

    @Test
    void worker_commands_reach_the_current_worker() throws IOException {
        long worker = master.showProc().currentWorker().pid();

        String info = master.workerCommand("show info");

        assertTrue(info.lines().anyMatch(l -> l.equals("Name: HAProxy")), info);
        assertTrue(info.lines().anyMatch(l -> l.equals("Pid: " + worker)), info);
    }

    @Test
    void an_unknown_worker_command_is_an_error() {
        IOException e = assertThrows(IOException.class, () -> master.workerCommand("no such command"));

        assertTrue(e.getMessage().startsWith("haproxy master " + haproxy.masterSocketPath()), e.getMessage());
        assertTrue(e.getMessage().contains("Unknown command"), e.getMessage());
    }

    /** The master re-executes itself on reload, so a poll may briefly find nobody answering: that is "not yet". */
    private ProcessTable awaitTable(String what, Predicate<ProcessTable> condition) {
        ProcessTable[] last = new ProcessTable[1];
        HaproxyProcess.await(what, RELOAD_LIMIT, () -> {
            try {
                last[0] = master.showProc();
                return condition.test(last[0]);
            } catch (IOException notYet) {
                return false;
            }
        });
        return last[0];
    }
}
