package haproxylb.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelContext;
import org.apache.camel.api.management.ManagedCamelContext;

/** What the fault tests share: root commands, the health endpoint, the real CLI as a process, route failure counts. */
public final class FaultTools {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private FaultTools() {}

    public record Run(int exit, String out, String err) {}

    public static boolean isRoot() {
        try {
            return run(List.of("id", "-u")).out().strip().equals("0");
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs a command to its end (at most 60 s) and returns its exit status and output. */
    public static Run run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd + " did not finish within 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    /** {@code haproxy-config ARGS} as an operator runs it: a JVM of its own, on the daemon's state directory. */
    public static Run cli(Path stateDir, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                "-Dlb.conf-dir=conf", "-Dlb.state-dir=" + stateDir, "haproxylb.cli.HaproxyConfig"));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    /** One check of /observe/health?exposureLevel=full (status and message), or null when it is not listed. */
    public static JsonNode healthCheck(int managementPort, String name) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort
                            + "/observe/health?exposureLevel=full")).timeout(Duration.ofSeconds(10)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            for (JsonNode c : JSON.readTree(r.body()).path("checks")) {
                if (name.equals(c.path("name").asText())) {
                    return c;
                }
            }
            return null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static boolean healthIs(int managementPort, String check, String state) {
        JsonNode c = healthCheck(managementPort, check);
        return c != null && state.equals(c.path("status").asText());
    }

    /** Exchanges of a route that ended in an exception so far (Camel's JMX statistics). */
    public static long failedExchanges(CamelContext context, String routeId) {
        return context.getCamelContextExtension().getContextPlugin(ManagedCamelContext.class)
                .getManagedRoute(routeId).getExchangesFailed();
    }
}
