package haproxylb.it;

import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.status.FragmentStatus;
import haproxylb.status.ReloadStatus;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.FaultTools;
import haproxylb.support.HaproxyProcess;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 13, item 5: haproxy itself fails under the running daemon. haproxy killed during a reload, its master socket
 * deleted, {@code haproxy -c} hanging past lb.haproxy.check-timeout, the haproxy binary swapped for a failing one, and
 * an orphan haproxy left running by a SIGKILLed daemon. Each ends with haproxy serving the last good config (over real
 * HTTPS) and a status that says what happened; no change is rejected for haproxy's fault.
 */
class HaproxyFaultTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    /**
     * One daemon for the tests that break haproxy under it and repair it before they end, each on fragments of its own
     * name: its haproxy is the wrapper, which runs the real one until a test sets a flag; {@code haproxy -c} may take
     * 2 s (the hanging check's timeout) and a held change is retried every 300 ms.
     */
    @RegisterExtension
    static final DaemonFixture shared = new DaemonFixture();
    /** A daemon of the test's own, for the test that stops and starts it. */
    @RegisterExtension
    final DaemonFixture own = new DaemonFixture();
    @TempDir
    static Path tmp;
    private static DaemonHarness daemon;

    @BeforeAll
    static void start() throws Exception {
        daemon = shared.daemon().with("lb.haproxy.binary", wrapper().toString())
                .with("lb.haproxy.check-timeout", "2").with("lb.assembly.retry", "300").start();
    }

    /** A test that failed half-way leaves the shared daemon's haproxy working for the next. */
    @AfterEach
    void repairHaproxy() throws IOException {
        Files.deleteIfExists(tmp.resolve("fail"));
        Files.deleteIfExists(tmp.resolve("hang"));
    }

    private static String cfg(String name, String text) {
        return "backend be_" + name + "\n    http-request return status 200 content-type text/plain string \"" + text
                + "\"\n";
    }

    private static void apply(String name, String text) throws IOException {
        daemon.drop(name, cfg(name, text), name + ".fault.test be_" + name + "\n");
    }

    private static void applyAndServe(String name, String text) throws IOException {
        apply(name, text);
        await(name + " serves '" + text + "'", LIMIT, () -> daemon.serves(name + ".fault.test", text));
    }

    private static HaproxySupervisor supervisor() {
        return daemon.context().getRegistry().lookupByNameAndType("haproxySupervisor", HaproxySupervisor.class);
    }

    private static FragmentStatus status(String name) {
        return daemon.fragment(name).orElse(null);
    }

    private static ReloadStatus lastReload() {
        try {
            return daemon.status().lastReload();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * lb.haproxy.binary for the tests that break it: the real haproxy, unless a flag file says otherwise. "hang":
     * {@code -c} sleeps (a check stuck on a slow resolver, say); "fail": every call fails like a broken install.
     */
    private static Path wrapper() throws IOException {
        Path script = tmp.resolve("haproxy-wrapper");
        Files.writeString(script, "#!/bin/sh\n"
                + "if [ -e " + tmp.resolve("fail") + " ]; then echo 'haproxy: error while loading shared libraries'"
                + " >&2; exit 127; fi\n"
                + "if [ \"$1\" = -c ] && [ -e " + tmp.resolve("hang") + " ]; then sleep 997; fi\n"
                + "exec " + HaproxyProcess.BINARY + " \"$@\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private static boolean sleepsLeft() {
        return ProcessHandle.allProcesses().anyMatch(p -> p.info().commandLine().map(c -> c.contains("sleep 997"))
                .orElse(false));
    }

    @Test
    void haproxy_killed_during_a_reload_is_restarted_with_the_newest_config_and_the_next_reload_is_not_held_up()
            throws Exception {
        applyAndServe("killed", "killed v1");
        long master = supervisor().masterPid().orElseThrow();
        Path liveConfig = daemon.stateDir().resolve("haproxy/haproxy.cfg");

        apply("killed", "killed v2");
        await("killed v2 in haproxy.cfg", LIMIT, () -> {
            try {
                return Files.readString(liveConfig).contains("killed v2");
            } catch (IOException e) {
                return false;
            }
        });
        // The reload request follows the write at once: the kill lands in the reload or its confirmation.
        ProcessHandle.of(master).ifPresent(ProcessHandle::destroyForcibly);

        await("killed v2 served by the restarted haproxy", LIMIT,
                () -> daemon.serves("killed.fault.test", "killed v2"));
        assertTrue(supervisor().masterPid().orElseThrow() != master, "a new haproxy master");
        await("status: killed v2 live", LIMIT, () -> status("killed") != null && status("killed").state().equals("live")
                && status("killed").id().equals(daemon.fragment("killed").orElseThrow().id()));
        FragmentStatus killed = status("killed");
        assertTrue(daemon.status().liveGeneration() >= killed.generation(), killed.toString());
        // A reload waiting for the killed master's reload count would block every reload for 60 s.
        long t0 = System.nanoTime();
        applyAndServe("killed", "killed v3");
        assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(25).toNanos(), "the next reload is not held up");
        await("status: killed v3 live", LIMIT, () -> status("killed").state().equals("live"));
        assertTrue(lastReload() != null, "a reload outcome is recorded");
    }

    @Test
    void a_deleted_master_socket_leaves_reloads_working_says_they_are_unconfirmed_and_comes_back_with_the_reload()
            throws Exception {
        applyAndServe("unsocketed", "unsocketed v1");
        Path socket = daemon.stateDir().resolve("run/master.sock");
        Files.delete(socket);

        applyAndServe("unsocketed", "unsocketed v2");
        await("the reload recorded", LIMIT, () -> lastReload() != null && lastReload().message().contains("unconfirmed"));
        assertTrue(lastReload().ok(), lastReload().toString());
        assertTrue(lastReload().message().contains("master CLI did not answer"), lastReload().message());
        await("status: unsocketed live", LIMIT, () -> status("unsocketed").state().equals("live"));
        assertTrue(Files.exists(socket), "haproxy created its master socket again on the reload");

        applyAndServe("unsocketed", "unsocketed v3");
        await("the next reload confirmed", LIMIT, () -> lastReload().message().equals("reloaded")
                && status("unsocketed").state().equals("live"));
    }

    @Test
    void a_hanging_haproxy_check_is_stopped_at_the_timeout_holds_the_change_without_rejecting_it_and_is_retried()
            throws Exception {
        applyAndServe("held", "held v1");
        Files.createFile(tmp.resolve("hang"));

        apply("held", "held v2");
        await("held held with the reason", LIMIT, () -> status("held") != null && status("held").error() != null
                && status("held").error().contains("haproxy -c did not finish within 2 s"));
        assertEquals("pending", status("held").state(), "held, not rejected");
        assertFalse(Files.exists(daemon.stateDir().resolve("rejected/held.error")), "nothing rejected");
        await("config-freshness DOWN", LIMIT,
                () -> FaultTools.healthIs(daemon.managementPort(), "config-freshness", "DOWN"));
        assertTrue(daemon.serves("held.fault.test", "held v1"), "the last good config keeps serving");
        await("no hung haproxy -c left behind the timeout", Duration.ofSeconds(10),
                () -> !sleepsLeft() || status("held").error() == null);

        Files.delete(tmp.resolve("hang"));
        await("held v2 served", LIMIT, () -> daemon.serves("held.fault.test", "held v2"));
        await("status: held v2 live without error", LIMIT, () -> status("held").state().equals("live")
                && status("held").error() == null);
        await("config-freshness UP", LIMIT,
                () -> FaultTools.healthIs(daemon.managementPort(), "config-freshness", "UP"));
        assertFalse(Files.exists(daemon.stateDir().resolve("rejected/held.error")));
        await("every hung check is gone", Duration.ofSeconds(10), () -> !sleepsLeft());
    }

    @Test
    void a_failing_haproxy_binary_swapped_in_mid_run_holds_changes_keeps_serving_and_recovers_when_swapped_back()
            throws Exception {
        applyAndServe("broken", "broken v1");
        Files.createFile(tmp.resolve("fail"));

        apply("broken", "broken v2");
        apply("second", "second v1");
        await("the changes held with the reason", LIMIT, () -> status("second") != null
                && status("second").error() != null && status("broken").error() != null
                && status("broken").error().contains("refuses the config that is live now as well"));
        assertEquals("pending", status("broken").state());
        assertEquals("pending", status("second").state());
        assertTrue(status("broken").error().contains("error while loading shared libraries"), status("broken").error());
        assertFalse(Files.exists(daemon.stateDir().resolve("rejected/broken.error")), "nothing rejected");
        assertFalse(Files.exists(daemon.stateDir().resolve("rejected/second.error")), "nothing rejected");
        await("config-freshness DOWN", LIMIT,
                () -> FaultTools.healthIs(daemon.managementPort(), "config-freshness", "DOWN"));
        assertTrue(daemon.serves("broken.fault.test", "broken v1"), "the running haproxy keeps the last good config");
        assertEquals(404, EdgeClient.https(daemon.httpsPort(), "second.fault.test", "/").status());

        Files.delete(tmp.resolve("fail"));
        await("broken v2 served", LIMIT, () -> daemon.serves("broken.fault.test", "broken v2"));
        await("second served", LIMIT, () -> daemon.serves("second.fault.test", "second v1"));
        await("status: both live without error", LIMIT, () -> status("broken").state().equals("live")
                && status("second").state().equals("live") && status("broken").error() == null);
    }

    @Test
    void an_orphan_haproxy_left_by_a_killed_daemon_is_stopped_before_the_new_one_starts_so_only_the_new_config_serves()
            throws Exception {
        Path state = own.state();
        DaemonHarness alone = own.daemon().start();
        alone.drop("app", cfg("app", "app v1"), "app.fault.test be_app\n");
        await("app serves 'app v1'", LIMIT, () -> alone.serves("app.fault.test", "app v1"));
        alone.stop();
        // What a SIGKILLed daemon leaves: its haproxy master (workers die with their master, the master does not
        // die with the daemon), started exactly as the supervisor starts it, serving the config of that time.
        Path run = state.resolve("run").toAbsolutePath();
        Process orphan = new ProcessBuilder(HaproxyProcess.BINARY.toString(), "-W", "-db", "-f",
                state.resolve("haproxy/haproxy.cfg").toAbsolutePath().toString(), "-S", run.resolve("master.sock").toString(),
                "-p", run.resolve("haproxy.pid").toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("orphan.log").toFile()).start();
        own.closeAfter(() -> {
            orphan.descendants().forEach(ProcessHandle::destroyForcibly);
            orphan.destroyForcibly();
        });
        await("the orphan serves app v1", LIMIT, () -> EdgeClient.statusOrMinusOne(alone.httpsPort(),
                "app.fault.test", "/", true) == 200);
        List<ProcessHandle> orphans = new ArrayList<>(orphan.descendants().toList());
        orphans.add(orphan.toHandle());
        alone.drop("app", cfg("app", "app v2"), "app.fault.test be_app\n");

        alone.start();
        await("app v2 served", LIMIT, () -> alone.serves("app.fault.test", "app v2"));
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            // A new connection each: SO_REUSEPORT spreads connections over every haproxy bound to the port.
            bodies.add(EdgeClient.https(alone.httpsPort(), "app.fault.test", "/").body());
        }
        assertEquals(List.of("app v2"), bodies.stream().distinct().toList(), "only the new haproxy answers");
        await("the orphan and its workers gone", LIMIT, () -> orphans.stream().noneMatch(ProcessHandle::isAlive));
    }
}
