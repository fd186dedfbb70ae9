package haproxylb.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.FreePorts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A second daemon started on the state directory of a running one (by hand beside the service, at 3 a.m.) stops
 * before it starts anything, with an error naming the running one; the running one goes on serving. Before, both
 * ran: two intakes on one inbox, two assemblies writing one haproxy.cfg, and a second haproxy sharing the ports.
 */
class SecondDaemonTest {
    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();

    @Test
    void a_second_daemon_on_the_same_state_directory_exits_1_naming_the_first_which_keeps_serving() throws Exception {
        DaemonHarness first = fixture.daemon().start();
        Path state = fixture.state();
        long haproxiesBefore = haproxiesOf(state);
        assertTrue(haproxiesBefore > 0, "the first daemon's haproxy runs");

        int[] ports = FreePorts.next(4);
        Path log = Files.createTempFile("second-daemon-", ".log");
        Process second = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"),
                "-Dlb.conf-dir=conf", "-Dlb.routes-dir=routes", "-Dlb.state-dir=" + state,
                "-Dlb.edge.http-bind=127.0.0.1:" + ports[0], "-Dlb.edge.https-bind=127.0.0.1:" + ports[1],
                "-Dlb.acme.responder=127.0.0.1:" + ports[2], "-Dcamel.management.port=" + ports[3],
                "haproxylb.app.HaproxyLb")).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertTrue(second.waitFor(60, TimeUnit.SECONDS), "the second daemon exits");
        } finally {
            // Should it run (as before), it must not outlive the test, nor its haproxy.
            second.descendants().forEach(ProcessHandle::destroyForcibly);
            second.destroyForcibly();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        assertEquals(1, second.exitValue(), out);
        assertTrue(out.contains("another haproxy-lb daemon (pid " + ProcessHandle.current().pid()
                + ") is running on the state directory " + state), out);
        assertTrue(out.contains("Stop it first (systemctl stop haproxy-lb)"), out);

        assertEquals(haproxiesBefore, haproxiesOf(state), "the second daemon started no haproxy");
        assertEquals(404, EdgeClient.https(first.httpsPort(), "nothing.example.test", "/").status(),
                "the first daemon's edge answers as before");
    }

    private static long haproxiesOf(Path state) {
        return ProcessHandle.allProcesses().filter(p -> p.info().commandLine()
                .map(c -> c.contains("haproxy") && c.contains(state.toString()) && !c.contains("java")).orElse(false))
                .count();
    }
}
