package haproxylb.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import haproxylb.common.AtomicFiles;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.HaproxyProcess;
import haproxylb.support.TestCertificates;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * examples/grafana-dashboard.json and examples/prometheus-alerts.yml name only metrics that exist: every
 * haproxylb_* series (with the label values the queries select) on /observe/metrics of a running daemon, and every
 * haproxy_* series on the exporter of the real haproxy. A renamed metric fails here, not on an operator's dashboard.
 */
class MonitoringExamplesTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final Path DASHBOARD = Path.of("examples/grafana-dashboard.json");
    private static final Path ALERTS = Path.of("examples/prometheus-alerts.yml");
    private static final Pattern SELECTOR = Pattern.compile("\\b(haproxy(?:lb)?_[a-z0-9_]+)(\\{[^}]*})?");
    private static final Pattern MATCHER = Pattern.compile("([a-z_]+)=\"([^\"$]*)\"");
    private static final Set<String> ALERTS_THE_ISSUE_ASKS_FOR = Set.of("HaproxyLbCertificateExpiring",
            "HaproxyLbRenewalFailing", "HaproxyLbFragmentRejected", "HaproxyLbReloadFailing", "HaproxyLbConfigStale");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    Path haproxyDir;

    @Test
    void every_metric_the_dashboard_and_the_alert_rules_name_exists_on_a_running_daemon_and_haproxy() throws Exception {
        List<String> expressions = new ArrayList<>(dashboardExpressions());
        expressions.addAll(alertExpressions());
        assertTrue(expressions.size() > 20, "expressions found: " + expressions.size());

        String daemonMetrics;
        // ACME on, with Let's Encrypt's ledger limits, so that the per-CA quota series exist.
        try (DaemonHarness daemon = fixture.orderingFrom(fixture.pebble())
                .with("lb.acme.limits", "letsencrypt").start()) {
            daemon.drop("hello", Files.readString(Path.of("conf/examples/hello.cfg")),
                    Files.readString(Path.of("conf/examples/hello.map")));
            daemon.awaitFragmentState("hello", "live", LIMIT);
            // An operator's certificate gives haproxylb_certificate_days_left a series without an ACME server.
            TestCertificates.Leaf leaf = TestCertificates.rootCa("Examples Root").intermediate("Examples CA")
                    .leaf("hello.example.test").issue();
            AtomicFiles.writePrivate(fixture.state().resolve("cert-inbox/hello.pem"), leaf.pem().getBytes());
            String url = "http://127.0.0.1:" + daemon.managementPort() + "/observe/metrics";
            await("haproxylb_certificate_days_left on " + url, LIMIT,
                    () -> scrape(url).contains("haproxylb_certificate_days_left{"));
            daemonMetrics = scrape(url);
        }
        String haproxyMetrics = haproxyExporterMetrics();

        List<String> missing = new ArrayList<>();
        Set<String> checked = new TreeSet<>();
        for (String expr : expressions) {
            Matcher m = SELECTOR.matcher(expr);
            while (m.find()) {
                String name = m.group(1);
                String exposition = name.startsWith("haproxylb_") ? daemonMetrics : haproxyMetrics;
                checked.add(name);
                if (!hasSeries(exposition, name, name.startsWith("haproxylb_") ? m.group(2) : null)) {
                    missing.add(m.group() + "   (in: " + expr.strip() + ")");
                }
            }
        }
        assertTrue(missing.isEmpty(), "not exposed:\n" + String.join("\n", missing));
        assertTrue(checked.stream().filter(n -> n.startsWith("haproxylb_")).count() >= 15, "checked: " + checked);
        assertTrue(checked.stream().anyMatch(n -> n.startsWith("haproxy_")), "haproxy's exporter too: " + checked);
    }

    @Test
    void the_alert_rules_cover_what_the_issue_asks_for_and_each_says_what_to_do() throws Exception {
        List<Map<String, Object>> rules = alertRules();
        Set<String> names = new TreeSet<>();
        for (Map<String, Object> rule : rules) {
            names.add((String) rule.get("alert"));
            assertFalse(String.valueOf(rule.get("expr")).isBlank(), rule.toString());
            assertTrue(((Map<?, ?>) rule.get("labels")).containsKey("severity"), rule.toString());
            Map<?, ?> annotations = (Map<?, ?>) rule.get("annotations");
            assertTrue(annotations.containsKey("summary") && annotations.containsKey("description"), rule.toString());
        }
        assertTrue(names.containsAll(ALERTS_THE_ISSUE_ASKS_FOR), "alerts: " + names);
        assertEquals(rules.size(), names.size(), "alert names are unique");
    }

    /** True when the exposition has a sample of {@code name} carrying every label="value" of {@code selector}. */
    static boolean hasSeries(String exposition, String name, String selector) {
        List<String> wanted = new ArrayList<>();
        if (selector != null) {
            Matcher m = MATCHER.matcher(selector);
            while (m.find()) {
                if (!m.group(1).equals("instance")) {
                    wanted.add(m.group(1) + "=\"" + m.group(2) + "\"");
                }
            }
        }
        return exposition.lines().filter(l -> !l.startsWith("#"))
                .filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
                .anyMatch(l -> wanted.stream().allMatch(l::contains));
    }

    private static List<String> dashboardExpressions() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        List<String> exprs = new ArrayList<>();
        dashboard.findValues("expr").forEach(e -> exprs.add(e.asText()));
        dashboard.findValues("definition").forEach(e -> exprs.add(e.asText()));
        return exprs;
    }

    private static List<String> alertExpressions() throws Exception {
        return alertRules().stream().map(r -> String.valueOf(r.get("expr"))).toList();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> alertRules() throws Exception {
        Map<String, Object> file = (Map<String, Object>) new Load(LoadSettings.builder().build())
                .loadFromString(Files.readString(ALERTS));
        List<Map<String, Object>> rules = new ArrayList<>();
        for (Map<String, Object> group : (List<Map<String, Object>>) file.get("groups")) {
            rules.addAll((List<Map<String, Object>>) group.get("rules"));
        }
        return rules;
    }

    /** haproxy with its Prometheus exporter on a frontend, as README's Monitoring section shows. */
    private String haproxyExporterMetrics() throws Exception {
        int exporter = HaproxyProcess.freePort();
        int https = HaproxyProcess.freePort();
        Path socket = haproxyDir.resolve("admin.sock");
        Path config = haproxyDir.resolve("haproxy.cfg");
        Files.writeString(config, HaproxyProcess.globalSection(socket)
                + "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n"
                + "frontend prometheus\n  bind 127.0.0.1:" + exporter + "\n"
                + "  http-request use-service prometheus-exporter if { path /metrics }\n"
                + "frontend https\n  bind 127.0.0.1:" + https + "\n  default_backend be_down\n"
                + "backend be_down\n  server s1 127.0.0.1:9 check\n");
        try (HaproxyProcess haproxy = HaproxyProcess.start(config, socket)) {
            // One request answered by the frontend "https" makes its response counters appear with a code.
            scrape("http://127.0.0.1:" + https + "/");
            return scrape("http://127.0.0.1:" + exporter + "/metrics");
        }
    }

    private static String scrape(String url) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }
}
