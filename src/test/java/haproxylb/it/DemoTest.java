package haproxylb.it;

import haproxylb.support.FreePorts;
import haproxylb.support.HaproxyProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** make demo's script runs to its success line: Pebble, the daemon, a certificate issued over real HTTP-01. */
class DemoTest {
    @Test
    void the_demo_serves_the_example_domain_with_a_pebble_certificate(@TempDir Path dir) throws Exception {
        Path repo = Path.of("").toAbsolutePath();
        // A short-lived daemon: start-up time matters more than peak speed (as CrashSafetyTest's and ClusterNode's).
        String daemon = String.join(" ", ProcessHandle.current().info().command().orElse("java"),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                "-Dlb.conf-dir=" + repo.resolve("conf"), "-Dlb.routes-dir=" + repo.resolve("routes"),
                "haproxylb.app.HaproxyLb");
        ProcessBuilder pb = new ProcessBuilder("bash", repo.resolve("src/main/sh/haproxy-lb-demo").toString(), "--once")
                .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("demo.out").toFile());
        Map<String, String> env = pb.environment();
        env.put("DEMO_DIR", dir.resolve("demo").toString());
        env.put("DEMO_DAEMON", daemon);
        env.put("LB_CONF_DIR", repo.resolve("conf").toString());
        env.put("DEMO_TIMEOUT", "90");
        for (String port : new String[] {"DEMO_HTTP_PORT", "DEMO_HTTPS_PORT", "DEMO_ACME_PORT", "DEMO_ACME_MGMT_PORT",
                "DEMO_RESPONDER_PORT", "DEMO_MANAGEMENT_PORT"}) {
            env.put(port, Integer.toString(HaproxyProcess.freePort()));
        }
        env.put("DEMO_DNS_PORT", Integer.toString(FreePorts.consecutive(3))); // DNS on it, challtestsrv's API on +2
        Process p = pb.start();
        boolean done = p.waitFor(150, TimeUnit.SECONDS);
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        String out = Files.readString(dir.resolve("demo.out"), StandardCharsets.UTF_8);
        assertTrue(done, "the demo did not finish in time:\n" + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("demo: hello.example.test is served over HTTPS with a certificate from Pebble:"), out);
        assertTrue(out.strip().endsWith("Hello from haproxy-lb"), out);
    }
}
