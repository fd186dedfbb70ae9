package haproxylb.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.monitoring.HaproxyLbControl;
import haproxylb.status.StatusBoard;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.HaproxyProcess;
import haproxylb.support.TestBackend;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.Serializable;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIServerSocketFactory;
import java.rmi.server.UnicastRemoteObject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.management.MBeanServer;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnectorServer;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Monitoring of the real daemon: the loopback health and metrics endpoint (Camel Main's management server on a
 * free port), and the haproxylb:type=Daemon MBean read and driven by the JDK's own JMX client through an RMI
 * connector this test starts on loopback. One daemon for the class: each test uses fragments of its own names, counts
 * what it changes from where it started, and leaves the daemon healthy.
 */
class MonitoringTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @RegisterExtension
    static final DaemonFixture fixture = new DaemonFixture();
    private static DaemonHarness daemon;
    private TestBackend backend;

    @BeforeAll
    static void start() throws Exception {
        daemon = fixture.daemon().start();
    }

    @AfterEach
    void stop() {
        if (backend != null) {
            backend.close();
        }
    }

    private static String cfg(String backendName, int port) {
        return "backend " + backendName + "\n    server s1 127.0.0.1:" + port + "\n";
    }

    record Reply(int status, String body) {
        JsonNode json() throws IOException {
            return JSON.readTree(body);
        }

        Optional<JsonNode> check(String name) throws IOException {
            for (JsonNode c : json().path("checks")) {
                if (name.equals(c.path("name").asText())) {
                    return Optional.of(c);
                }
            }
            return Optional.empty();
        }
    }

    private Reply get(String path) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + daemon.managementPort() + path))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body());
        } catch (IOException e) {
            return new Reply(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private boolean checkIs(String check, String state) {
        try {
            Reply r = get("/observe/health?exposureLevel=full");
            return r.status() > 0 && r.check(check).map(c -> state.equals(c.path("status").asText())).orElse(false);
        } catch (IOException e) {
            return false;
        }
    }

    /** The value of one Prometheus series, e.g. {@code haproxylb_reloads_total} or {@code x{a="b"}}; -1 if absent. */
    private double metric(String series) {
        Reply r = get("/observe/metrics");
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(r.body());
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    @Test
    void health_goes_down_when_haproxy_is_killed_and_up_again_once_the_watchdog_has_restarted_it() throws Exception {
        await("health UP", LIMIT, () -> get("/observe/health").status() == 200);
        Reply up = get("/observe/health?exposureLevel=full");
        assertEquals("UP", up.check("haproxy").orElseThrow().path("status").asText(), up.body());
        assertEquals("UP", up.check("config-freshness").orElseThrow().path("status").asText(), up.body());
        assertEquals("UP", up.check("certificates").orElseThrow().path("status").asText(), up.body());

        HaproxySupervisor supervisor = daemon.context().getRegistry()
                .lookupByNameAndType("haproxySupervisor", HaproxySupervisor.class);
        long pid = supervisor.masterPid().orElseThrow();
        int starts = supervisor.starts();
        // The watchdog restarts haproxy within lb.haproxy.watchdog; held back here so the DOWN state can be seen.
        daemon.context().getRouteController().stopRoute("haproxy-watchdog");
        ProcessHandle master = ProcessHandle.of(pid).orElseThrow();
        List<ProcessHandle> workers = master.descendants().toList();
        master.destroyForcibly();
        workers.forEach(ProcessHandle::destroyForcibly);

        await("the haproxy check DOWN", LIMIT, () -> checkIs("haproxy", "DOWN"));
        Reply down = get("/observe/health");
        assertEquals(503, down.status(), down.body());
        assertEquals("DOWN", down.json().path("status").asText());
        assertTrue(down.check("haproxy").orElseThrow().path("message").asText().contains("haproxy is not running"),
                down.body());
        assertEquals(503, get("/observe/health/live").status(), "a dead haproxy fails liveness too");
        assertEquals(0.0, metric("haproxylb_haproxy_up"));

        daemon.context().getRouteController().startRoute("haproxy-watchdog");
        await("health UP again", LIMIT, () -> get("/observe/health").status() == 200);
        assertTrue(supervisor.starts() > starts, "the watchdog started haproxy again");
        assertNotEquals(pid, supervisor.masterPid().orElseThrow());
        assertEquals(1.0, metric("haproxylb_haproxy_up"));
    }

    @Test
    void the_metrics_endpoint_shows_a_reload_counter_that_moves_after_a_fragment_drop() throws Exception {
        backend = new TestBackend("metered");
        await("metrics served", LIMIT, () -> metric("haproxylb_reloads_total") >= 0);
        double reloads = metric("haproxylb_reloads_total");
        double assemblies = metric("haproxylb_assembly_seconds_count");
        double live = Math.max(0, metric("haproxylb_fragments{state=\"live\"}"));

        daemon.drop("shop", cfg("be_shop", backend.port()), "shop.example.test be_shop\n");
        daemon.awaitFragmentState("shop", "live", LIMIT);
        await("the reload counter moves", LIMIT, () -> metric("haproxylb_reloads_total") > reloads);
        await("the assembly is timed", LIMIT, () -> metric("haproxylb_assembly_seconds_count") > assemblies);
        await("one more live fragment", LIMIT, () -> metric("haproxylb_fragments{state=\"live\"}") == live + 1);

        String text = get("/observe/metrics").body();
        for (String name : List.of("haproxylb_reload_failures_total", "haproxylb_reloads_coalesced_total",
                "haproxylb_rejections_total", "haproxylb_assembly_validations_total", "haproxylb_pending_changes",
                "haproxylb_config_generation{kind=\"live\"}", "haproxylb_haproxy_up", "haproxylb_acme_orders_total",
                "haproxylb_acme_failures_total")) {
            assertTrue(text.contains("\n" + name), name + " in\n" + text);
        }
        assertTrue(text.contains("routeId=\"reload\""), "Camel's route metrics are there too");
        assertEquals(0.0, metric("haproxylb_haproxy_dropped_logs"), "haproxy's DroppedLogs, none at this rate");
    }

    @Test
    void a_jmx_client_reads_the_live_fragment_count_and_triggers_a_forced_reload_the_counters_show() throws Exception {
        backend = new TestBackend("managed");
        int live = (Integer) ManagementFactory.getPlatformMBeanServer().getAttribute(HaproxyLbControl.NAME,
                "LiveFragments");
        daemon.drop("one", cfg("be_one", backend.port()), "one.example.test be_one\n");
        daemon.awaitFragmentState("one", "live", LIMIT);

        try (LoopbackJmx jmx = LoopbackJmx.start();
             JMXConnector client = JMXConnectorFactory.connect(jmx.url())) {
            MBeanServerConnection mbeans = client.getMBeanServerConnection();
            ObjectName name = HaproxyLbControl.NAME;
            await("one more live fragment over JMX", LIMIT,
                    () -> attribute(mbeans, name, "LiveFragments").equals(live + 1));
            assertTrue((Boolean) mbeans.getAttribute(name, "HaproxyUp"));
            assertFalse(mbeans.queryNames(new ObjectName("org.apache.camel:type=routes,*"), null).isEmpty(),
                    "the routes are MBeans too");
            long reloads = (Long) mbeans.getAttribute(name, "ReloadsPerformed");
            double metered = metric("haproxylb_reloads_total");

            String answer = (String) mbeans.invoke(name, "forceReload", null, null);
            assertTrue(answer.startsWith("Reload requested"), answer);
            await("the forced reload is counted", LIMIT,
                    () -> (Long) attribute(mbeans, name, "ReloadsPerformed") > reloads);
            assertTrue(((String) mbeans.getAttribute(name, "LastReloadOutcome")).startsWith("ok"));
            await("the reload counter on /observe/metrics moves", LIMIT,
                    () -> metric("haproxylb_reloads_total") > metered);
            assertEquals(mbeans.getAttribute(name, "ConfigGeneration"), mbeans.getAttribute(name, "LiveGeneration"));

            String recheck = (String) mbeans.invoke(name, "recheckCertificates", null, null);
            boolean routed = daemon.context().getRoutes().stream()
                    .anyMatch(r -> r.getEndpoint().getEndpointUri().startsWith("seda://certificates-check"));
            assertTrue(recheck.startsWith(routed ? "Certificate check queued" : "No certificate check to run"),
                    recheck);
        }
    }

    private static Object attribute(MBeanServerConnection mbeans, ObjectName name, String attribute) {
        try {
            return mbeans.getAttribute(name, attribute);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void retrying_a_rejected_fragment_puts_it_back_through_intake() throws Exception {
        backend = new TestBackend("retried");
        daemon.drop("shared", cfg("be_shared", backend.port()), "shared.example.test be_shared\napp.example.test be_shared\n");
        daemon.awaitFragmentState("shared", "live", LIMIT);
        // Rejected because fragment 'shared' still routes app.example.test.
        daemon.drop("app", cfg("be_app", backend.port()), "app.example.test be_app\n");
        daemon.awaitFragmentState("app", "rejected", LIMIT);
        MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = HaproxyLbControl.NAME;
        assertEquals(List.of("app"), List.of((String[]) mbeans.getAttribute(name, "RejectedFragmentNames")));

        String sharedId = daemon.fragment("shared").orElseThrow().id();
        daemon.drop("shared", cfg("be_shared", backend.port()), "shared.example.test be_shared\n");
        await("shared gave up app.example.test", LIMIT, () -> daemon.fragment("shared")
                .map(f -> f.state().equals("live") && !f.id().equals(sharedId)).orElse(false));
        String answer = (String) mbeans.invoke(name, "retryRejectedFragment", new Object[] {"app"},
                new String[] {String.class.getName()});
        assertTrue(answer.startsWith("Fragment 'app' is back in the inbox"), answer);
        assertFalse(Files.exists(fixture.state().resolve("rejected/app.cfg")));

        daemon.awaitFragmentState("app", "live", LIMIT);
        await("app.example.test served", LIMIT, () -> daemon.serves("app.example.test", "retried"));
        assertFalse(Files.exists(fixture.state().resolve("rejected/app.error")));
        assertEquals(0, mbeans.getAttribute(name, "RejectedFragmentCount"));

        Exception nothing = assertThrows(Exception.class, () -> mbeans.invoke(name, "retryRejectedFragment",
                new Object[] {"nothing"}, new String[] {String.class.getName()}));
        assertTrue(rootMessage(nothing).startsWith("Nothing to retry for 'nothing'"), rootMessage(nothing));
    }

    @Test
    void a_certificate_expiring_within_7_days_turns_health_down_and_its_days_left_are_a_metric() throws Exception {
        await("health UP", LIMIT, () -> get("/observe/health").status() == 200);
        StatusBoard status = daemon.context().getRegistry().lookupByNameAndType("statusBoard", StatusBoard.class);

        status.certificate("soon.example.test", Map.of("state", "covered",
                "expires", Instant.now().plus(Duration.ofDays(3)).toString()));
        await("the certificates check DOWN", LIMIT, () -> checkIs("certificates", "DOWN"));
        Reply down = get("/observe/health");
        assertEquals(503, down.status());
        assertTrue(down.check("certificates").orElseThrow().path("message").asText().contains("soon.example.test"),
                down.body());
        assertEquals(200, get("/observe/health/live").status(), "an expiring certificate fails readiness only");
        await("days left as a metric", LIMIT, () -> {
            double days = metric("haproxylb_certificate_days_left{domain=\"soon.example.test\"}");
            return days > 2.9 && days <= 3.0;
        });

        status.certificate("soon.example.test", Map.of("state", "covered",
                "expires", Instant.now().plus(Duration.ofDays(60)).toString()));
        await("health UP again", LIMIT, () -> get("/observe/health").status() == 200);
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return String.valueOf(t.getMessage());
    }

    /** A JMX RMI connector on the platform MBean server, its registry and connections on 127.0.0.1 only. */
    record LoopbackJmx(Registry registry, JMXConnectorServer server) implements AutoCloseable {
        static LoopbackJmx start() throws IOException {
            // RMI stubs carry this host: clients connect back to loopback, where the sockets below listen.
            System.setProperty("java.rmi.server.hostname", "127.0.0.1");
            int port = HaproxyProcess.freePort();
            RMIServerSocketFactory loopback = new LoopbackSockets();
            Registry registry = LocateRegistry.createRegistry(port, null, loopback);
            JMXServiceURL url = new JMXServiceURL("service:jmx:rmi://127.0.0.1:" + port
                    + "/jndi/rmi://127.0.0.1:" + port + "/jmxrmi");
            JMXConnectorServer server = JMXConnectorServerFactory.newJMXConnectorServer(url,
                    Map.of(RMIConnectorServer.RMI_SERVER_SOCKET_FACTORY_ATTRIBUTE, loopback),
                    ManagementFactory.getPlatformMBeanServer());
            server.start();
            return new LoopbackJmx(registry, server);
        }

        JMXServiceURL url() {
            return server.getAddress();
        }

        @Override
        public void close() throws IOException {
            server.stop();
            UnicastRemoteObject.unexportObject(registry, true);
        }
    }

    /** One instance serves registry and connector, so RMI shares the port between them. */
    static final class LoopbackSockets implements RMIServerSocketFactory, Serializable {
        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
        }
    }
}
