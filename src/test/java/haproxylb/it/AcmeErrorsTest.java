package haproxylb.it;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.monitoring.HaproxyLbControl;
import haproxylb.support.AcmeRecordingProxy;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.PebbleServer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the CA says when it will not issue, end to end through the recording proxy in front of a real Pebble: a
 * {@code rateLimited} with Retry-After holds the name until then; a name the CA has paused goes to the next CA; a
 * profile the CA does not list is left out; nonces refused past every retry hold nothing back. Each shows in status.json, and the quota, errors and ARI window in the
 * Prometheus metrics and over JMX.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class AcmeErrorsTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;
    private AcmeRecordingProxy proxy;
    private PebbleServer first;

    /** A daemon ordering through the proxy, with Let's Encrypt's ledger limits so that the quota has budgets. */
    private DaemonHarness daemonBehindProxy() {
        first = fixture.pebble();
        proxy = fixture.proxy(first);
        daemon = fixture.orderingThrough(proxy, first).with("lb.acme.limits", "letsencrypt");
        return daemon;
    }

    private static String cfg(String backend) {
        return "backend " + backend + "\n    http-request return status 200 content-type text/plain string " + backend
                + "\n";
    }

    private String field(String domain, String name) {
        return String.valueOf(daemon.certificateStatus(domain).get(name));
    }

    private CertificateMaintenance maintenance() {
        return daemon.context().getRegistry().lookupByNameAndType("certificateMaintenance", CertificateMaintenance.class);
    }

    private Optional<X509Certificate> servedLeaf(String host) {
        try {
            return EdgeClient.https(daemon.httpsPort(), host, "/").peerChain().stream().findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private String metrics() {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + daemon.managementPort()
                    + "/observe/metrics")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** The value of the sample {@code series} (name and labels exactly as exposed); NaN when absent. */
    private static double sample(String exposition, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(exposition);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> jmx(String attribute) throws Exception {
        Object table = ManagementFactory.getPlatformMBeanServer().getAttribute(HaproxyLbControl.NAME, attribute);
        Map<String, String> map = new java.util.TreeMap<>();
        for (Object row : ((javax.management.openmbean.TabularData) table).values()) {
            javax.management.openmbean.CompositeData d = (javax.management.openmbean.CompositeData) row;
            map.put((String) d.get("key"), (String) d.get("value"));
        }
        return map;
    }

    @Test
    void a_rate_limit_with_retry_after_holds_the_name_until_then_and_shows_in_status_metrics_and_jmx()
            throws Exception {
        daemonBehindProxy();
        proxy.refuseWithRateLimit("too many certificates already issued for this exact set of identifiers",
                Duration.ofHours(2));
        daemon.start();
        Instant before = Instant.now();
        daemon.drop("limited", cfg("be_limited"), "limited.errors.test be_limited\n");

        await("the status says rateLimited", LIMIT, () -> field("limited.errors.test", "lastErrorType")
                .equals("rateLimited") && field("limited.errors.test", "state").equals("backing-off"));
        Map<String, Object> status = daemon.certificateStatus("limited.errors.test");
        Instant nextAttempt = Instant.parse((String) status.get("nextAttempt"));
        assertFalse(nextAttempt.isBefore(before.plus(Duration.ofHours(2)).minusSeconds(5)),
                "not before the CA's Retry-After, not after the 1-minute first step: " + status);
        assertTrue(String.valueOf(status.get("lastError")).contains("too many certificates already issued"),
                status.toString());
        assertEquals(1, proxy.refusals());
        JsonNode backoff = new ObjectMapper().readTree(Files.readString(fixture.state().resolve("certificates/backoff.json")));
        assertEquals("rateLimited", backoff.path("entries").path("be_limited").path("errorType").asText(),
                backoff.toString());

        int orders = proxy.newOrders().size();
        maintenance().check();
        assertEquals(orders, proxy.newOrders().size(), "no order before the Retry-After is over");

        await("the error in the metrics", LIMIT, () -> sample(metrics(),
                "haproxylb_acme_last_error{domain=\"limited.errors.test\",type=\"rateLimited\"}") == 1.0);
        String m = metrics();
        assertEquals(1.0, sample(m, "haproxylb_acme_errors_total{ca=\"pebble\",type=\"rateLimited\"}"), m);
        assertEquals(1.0, sample(m, "haproxylb_acme_quota_used{ca=\"pebble\",limit=\"new orders per account\"}"), m);
        assertEquals(300.0, sample(m, "haproxylb_acme_quota_limit{ca=\"pebble\",limit=\"new orders per account\"}"), m);
        double frees = sample(m, "haproxylb_acme_quota_frees_in_seconds{ca=\"pebble\",limit=\"new orders per account\"}");
        assertTrue(frees > 3 * 3600 - 120 && frees <= 3 * 3600, "the order leaves the 3-hour window in " + frees + " s");
        assertEquals(0.0, sample(m, "haproxylb_acme_quota_used{ca=\"pebble\",limit=\"duplicate certificates\"}"), m);
        assertEquals(0.0, sample(m, "haproxylb_acme_ca_backoff_seconds{ca=\"pebble\"}"),
                "one CA: the name backs off, not the CA");

        assertEquals("rateLimited", jmx("CertificateLastErrors").get("limited.errors.test"));
        assertTrue(jmx("AcmeQuota").get("pebble: new orders per account").startsWith("1 of 300, one frees at "),
                jmx("AcmeQuota").toString());
    }

    @Test
    void a_name_the_first_ca_has_paused_is_issued_by_the_next_and_the_status_says_why() throws Exception {
        daemonBehindProxy();
        PebbleServer second = fixture.pebble();
        daemon.with("lb.acme.fallback-cas", "second")
                .with("lb.acme.ca.second.directory-url", second.directoryUrl())
                .with("lb.acme.ca.second.trust-ca", second.listenerCaPem().toString())
                .with("lb.acme.ca.second.limits", "unlimited");
        proxy.refuseOrders(429, "rateLimited", "Your account is temporarily prevented from requesting certificates "
                + "for paused.errors.test and possibly others. Please visit: "
                + "https://portal.letsencrypt.test/sfe/v1/unpause?jwt=abc");
        daemon.start();
        daemon.drop("paused", cfg("be_paused"), "paused.errors.test be_paused\n");

        String intermediate = second.rootCertificates().intermediate().getSubjectX500Principal().getName();
        await("issued by the second CA", LIMIT, () -> servedLeaf("paused.errors.test")
                .map(c -> c.getIssuerX500Principal().getName().equals(intermediate)).orElse(false));
        maintenance().check();
        await("the status names the second CA", LIMIT, () -> field("paused.errors.test", "issuer").equals("second"));
        String note = field("paused.errors.test", "note");
        assertTrue(note.startsWith("issued by second because pebble has paused these names (paused: ") && note
                .contains("https://portal.letsencrypt.test/sfe/v1/unpause?jwt=abc"), note);
        assertEquals(1, proxy.refusals(), "the first CA was asked once");

        String m = metrics();
        assertEquals(1.0, sample(m, "haproxylb_acme_errors_total{ca=\"pebble\",type=\"paused\"}"), m);
        assertEquals(0.0, sample(m, "haproxylb_acme_ca_backoff_seconds{ca=\"pebble\"}"), "the CA itself works: " + m);
        assertFalse(m.contains("haproxylb_acme_quota_used{ca=\"second\""), "an unlimited ledger has no budgets");

        // the pause holds back only the paused name: another name goes to the first CA
        proxy.refuseNothing();
        int orders = proxy.newOrders().size();
        daemon.drop("other", cfg("be_other"), "other.errors.test be_other\n");
        String firstIntermediate = first.rootCertificates().intermediate().getSubjectX500Principal().getName();
        await("another name issued by the first CA", LIMIT, () -> servedLeaf("other.errors.test")
                .map(c -> c.getIssuerX500Principal().getName().equals(firstIntermediate)).orElse(false));
        assertEquals(orders + 1, proxy.newOrders().size(), "one order, for the other name only");
        assertEquals(1, proxy.refusals());
    }

    @Test
    void an_order_whose_nonces_are_refused_past_every_retry_backs_nothing_off_and_the_next_check_issues()
            throws Exception {
        daemonBehindProxy();
        proxy.refuseNewOrderNonces(Integer.MAX_VALUE);
        daemon.start();
        daemon.drop("nonce", cfg("be_nonce"), "nonce.errors.test be_nonce\n");

        await("the order failed on its nonces", LIMIT, () -> sample(metrics(),
                "haproxylb_acme_errors_total{ca=\"pebble\",type=\"badNonce\"}") == 1.0
                && field("nonce.errors.test", "state").equals("pending"));
        Map<String, Object> status = daemon.certificateStatus("nonce.errors.test");
        assertEquals(0, status.get("backoffStep"), "no backoff step: " + status);
        assertFalse(status.containsKey("nextAttempt"), status.toString());
        assertTrue(String.valueOf(status.get("reason")).contains("ordered again at the next check"), status.toString());
        assertEquals(0.0, sample(metrics(), "haproxylb_acme_ca_backoff_seconds{ca=\"pebble\"}"), "the CA gate stays open");
        assertEquals(40, proxy.noncesRefused(), "4 rounds of acme4j's 10 tries");
        assertTrue(proxy.newOrders().isEmpty(), "no order reached the CA");
        assertEquals(1, maintenance().orderAttempts());
        assertFalse(Files.exists(fixture.state().resolve("certificates/backoff.json"))
                && Files.readString(fixture.state().resolve("certificates/backoff.json")).contains("be_nonce"),
                "nothing backs off");

        proxy.refuseNothing();
        maintenance().check();
        await("issued at the very next check", LIMIT, () -> servedLeaf("nonce.errors.test")
                .map(c -> c.getIssuerX500Principal().getName().contains("Pebble")).orElse(false));
        assertEquals(2, maintenance().orderAttempts());
        assertEquals(1, proxy.newOrders().size(), "one order at the CA in all");
    }

    @Test
    void a_profile_the_ca_does_not_list_is_left_out_the_status_says_so_and_the_cas_window_is_a_metric()
            throws Exception {
        Instant start = Instant.now().plus(Duration.ofDays(40)).truncatedTo(ChronoUnit.SECONDS);
        Instant end = start.plus(Duration.ofDays(2));
        daemonBehindProxy().with("lb.acme.profile", "shortlived");
        proxy.profiles(Map.of("classic", "the usual 90 days"))
                .answerAri(new AcmeRecordingProxy.AriAnswer(start, end, Duration.ofHours(6), Optional.empty()));
        daemon.start();
        daemon.drop("plain", cfg("be_plain"), "plain.errors.test be_plain\n");

        await("a certificate served", LIMIT, () -> servedLeaf("plain.errors.test")
                .map(c -> c.getIssuerX500Principal().getName().contains("Pebble")).orElse(false));
        List<JsonNode> orders = proxy.newOrders();
        assertFalse(orders.get(orders.size() - 1).has("profile"), "ordered with the CA's default: " + orders);
        maintenance().check();
        await("the status says the profile was left out", LIMIT, () -> field("plain.errors.test", "note")
                .equals("pebble does not offer profile 'shortlived' (it offers: classic); ordered with the CA's "
                        + "default"));
        assertEquals("null", field("plain.errors.test", "profile"), "no profile was ordered");

        await("the CA's window in the metrics", LIMIT, () -> sample(metrics(),
                "haproxylb_certificate_ari_window_start_timestamp_seconds{certificate=\"be_plain\"}")
                == start.getEpochSecond());
        assertEquals(end.getEpochSecond(), sample(metrics(),
                "haproxylb_certificate_ari_window_end_timestamp_seconds{certificate=\"be_plain\"}"));
        String m = metrics();
        assertEquals(1.0, sample(m, "haproxylb_acme_quota_used{ca=\"pebble\",limit=\"duplicate certificates\"}"), m);
        assertEquals(5.0, sample(m, "haproxylb_acme_quota_limit{ca=\"pebble\",limit=\"duplicate certificates\"}"), m);
        assertFalse(m.contains("haproxylb_acme_last_error{"), "nothing failed: " + m);

        int asked = proxy.renewalInfoAsked().size();
        assertTrue(asked >= 1, "the CA was asked for its window");
        maintenance().check();
        assertEquals(asked, proxy.renewalInfoAsked().size(), "not asked again before its 6-hour Retry-After");
    }
}
