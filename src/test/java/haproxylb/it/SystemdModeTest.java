package haproxylb.it;

import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.HaproxyProcess;
import haproxylb.support.TestBackend;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * systemd mode: haproxy is run by someone else (systemd in production, the test here) and reloaded with the
 * configured command. The command stands in for "systemctl reload haproxy": SIGUSR2 to the master, as
 * Debian's unit does.
 */
class SystemdModeTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    Path scratch;
    private DaemonHarness daemon;

    @Test
    void reloads_an_externally_run_haproxy_with_the_configured_command_and_confirms_it() throws Exception {
        TestBackend backend = fixture.closeAfter(new TestBackend("from systemd mode"));
        Path state = fixture.state();
        Path pidFile = scratch.resolve("haproxy.pid");
        Path reloads = scratch.resolve("reloads.log");
        Path script = scratch.resolve("reload-haproxy.sh");
        Files.writeString(script, "echo reload >> " + reloads + "\nkill -USR2 \"$(cat " + pidFile + ")\"\n");
        daemon = fixture.daemon()
                .with("lb.reload.mode", "systemd")
                .with("lb.reload.command", "/bin/sh " + script)
                .start();
        Path cfg = state.resolve("haproxy/haproxy.cfg");
        assertTrue(Files.exists(cfg), "the daemon assembled a config at start-up");

        HaproxyProcess haproxy = fixture.closeAfter(HaproxyProcess.start(cfg, state.resolve("run/admin.sock")));
        Files.writeString(pidFile, Long.toString(haproxy.masterPid()));
        daemon.stop();
        // Restart with the master socket known, as Debian's /etc/default/haproxy provides one.
        daemon.with("lb.haproxy.master-socket", haproxy.masterSocketPath().toString()).start();
        // The first run could not reload (haproxy was not there yet): the restart owes haproxy that reload.
        await("the owed reload happened", LIMIT, () -> {
            try {
                var st = daemon.status();
                return st.lastReload() != null && st.lastReload().ok() && st.liveGeneration() == st.configGeneration();
            } catch (Exception e) {
                return false;
            }
        });
        int reloadsBefore = Files.readAllLines(reloads).size();

        daemon.drop("sd", "backend be_sd\n    server s1 127.0.0.1:" + backend.port() + "\n", "sd.example.test be_sd\n");
        await("served after the command reloaded haproxy", LIMIT, () -> {
            try {
                var r = EdgeClient.https(daemon.httpsPort(), "sd.example.test", "/");
                return r.status() == 200 && r.body().equals("from systemd mode");
            } catch (Exception e) {
                return false;
            }
        });
        assertEquals("live", daemon.awaitFragmentState("sd", "live", LIMIT).state());
        assertEquals(reloadsBefore + 1, Files.readAllLines(reloads).size(), "one reload for the drop");
        assertTrue(daemon.status().lastReload().ok());
    }

    @Test
    void a_failing_reload_command_is_reported_and_retried_without_losing_the_fragment() throws Exception {
        Path attempts = scratch.resolve("attempts.log");
        Path script = scratch.resolve("fail-reload.sh");
        Files.writeString(script, "echo attempt >> " + attempts + "\necho 'Job for haproxy.service failed' >&2\nexit 1\n");
        Path state = fixture.state();
        daemon = fixture.daemon()
                .with("lb.reload.mode", "systemd")
                .with("lb.reload.command", "/bin/sh " + script)
                .with("lb.haproxy.master-socket", "")
                .with("lb.reload.min-interval", "500")
                .start();
        daemon.drop("kept", "backend be_kept\n    server s1 127.0.0.1:1\n", "kept.example.test be_kept\n");
        daemon.awaitFragmentState("kept", "assembled", LIMIT);
        await("the reload is retried", LIMIT, () -> {
            try {
                return Files.exists(attempts) && Files.readAllLines(attempts).size() >= 3;
            } catch (Exception e) {
                return false;
            }
        });
        var status = daemon.status();
        assertTrue(!status.lastReload().ok() && status.lastReload().message().contains("Job for haproxy.service failed"),
                status.lastReload().toString());
        assertTrue(status.reloadPending());
        assertEquals("assembled", status.fragments().get("kept").state(), "waiting for a reload, not lost");
        assertTrue(Files.exists(state.resolve("fragments/kept.cfg")));
    }
}
