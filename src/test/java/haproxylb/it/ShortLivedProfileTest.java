package haproxylb.it;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import haproxylb.support.AcmeRecordingProxy;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.PebbleServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Profiles and short lifetimes: Pebble issues 18-second certificates (its certificateValidityPeriod), the daemon asks
 * for {@code shortlived} by default and {@code classic} for one name (what Pebble receives is recorded by the proxy,
 * since Pebble 2.4 has no profiles), renews each at a third of its real lifetime left, without being told, and the
 * health check never calls a fresh short-lived certificate expiring.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ShortLivedProfileTest {
    // Renewal is due 12 s after issuance, which leaves 6 s for a check (every second), an order and the install.
    private static final int LIFETIME_SECONDS = 18;
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;
    private AcmeRecordingProxy proxy;

    private Optional<X509Certificate> servedLeaf(String host) {
        try {
            return EdgeClient.https(daemon.httpsPort(), host, "/").peerChain().stream().findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> certificateStatus(String domain) throws IOException {
        Map<String, Object> all = daemon.status().certificates();
        Object c = all == null ? null : all.get(domain);
        return c == null ? Map.of() : (Map<String, Object>) c;
    }

    private JsonNode certificatesHealth() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + daemon.managementPort() + "/observe/health?exposureLevel=full")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        for (JsonNode check : new ObjectMapper().readTree(r.body()).path("checks")) {
            if (check.path("name").asText().equals("certificates")) {
                return check;
            }
        }
        throw new AssertionError("no certificates check in " + r.body());
    }

    private List<String> profilesOrderedFor(String domain) {
        return proxy.newOrders().stream()
                .filter(o -> o.path("identifiers").toString().contains("\"" + domain + "\""))
                .map(o -> o.path("profile").asText("(none)")).toList();
    }

    @Test
    void short_lived_certificates_get_their_profile_renew_at_a_third_of_their_lifetime_and_are_never_expiring()
            throws Exception {
        PebbleServer pebble = fixture.pebble(Map.of(), Map.of("certificateValidityPeriod", LIFETIME_SECONDS));
        proxy = fixture.proxy(pebble);
        daemon = fixture.orderingThrough(proxy, pebble)
                .with("lb.acme.profile", "shortlived")
                .with("lb.acme.profile-by-domain", "other.short.test=classic")
                .with("lb.acme.check-cron", "0/1 * * * * ?")
                .start();
        daemon.drop("short", """
                backend be_api
                    http-request return status 200 content-type text/plain string api
                backend be_other
                    http-request return status 200 content-type text/plain string other
                """, "api.short.test be_api\nother.short.test be_other\n");
        await("both certificates served", LIMIT, () -> servedLeaf("api.short.test").isPresent()
                && servedLeaf("other.short.test").map(c -> c.getIssuerX500Principal().getName().contains("Pebble"))
                .orElse(false) && servedLeaf("api.short.test").get().getIssuerX500Principal().getName().contains("Pebble"));
        X509Certificate first = servedLeaf("api.short.test").orElseThrow();
        Instant notBefore = first.getNotBefore().toInstant();
        Instant notAfter = first.getNotAfter().toInstant();
        Duration lifetime = Duration.between(notBefore, notAfter);
        assertTrue(lifetime.toSeconds() <= LIFETIME_SECONDS + 1, "Pebble's short lifetime: " + lifetime);
        Instant renewAt = notAfter.minus(lifetime.dividedBy(3));

        await("the status shows the fresh certificate", LIMIT, () -> {
            try {
                return String.valueOf(first.getNotAfter().toInstant()).equals(certificateStatus("api.short.test").get("expires"));
            } catch (IOException e) {
                return false;
            }
        });
        Instant read = Instant.now();
        Map<String, Object> status = certificateStatus("api.short.test");
        // From renewAt on the certificate is legitimately "renewing"; a slow machine can get there before this read.
        if (read.isBefore(renewAt)) {
            assertEquals("covered", status.get("state"), status.toString());
        } else {
            assertTrue(List.of("covered", "renewing").contains(status.get("state")), status.toString());
        }
        assertEquals(renewAt.toString(), status.get("nextRenewal"), "a third of the real lifetime before expiry");
        assertEquals("shortlived", status.get("profile"));
        // The check answers before the time read after it: asserted only when that was still before the renewal time
        // (after it, the renewal under way is healthy too: CertificateHealthCheckTest).
        JsonNode health = certificatesHealth();
        if (Instant.now().isBefore(renewAt)) {
            assertEquals("UP", health.path("status").asText(), "a fresh " + LIFETIME_SECONDS + " s certificate is not 'expiring': " + health);
        }

        await("a renewal served before the first certificate expires", Duration.ofSeconds(LIFETIME_SECONDS + 15),
                () -> servedLeaf("api.short.test").map(c -> !c.equals(first)).orElse(false));
        Instant seen = Instant.now();
        X509Certificate renewed = servedLeaf("api.short.test").orElseThrow();
        System.out.println(LIFETIME_SECONDS + " s certificate: renewal due " + renewAt + ", renewed certificate valid from "
                + renewed.getNotBefore().toInstant() + ", served at " + seen + ", first expired at " + notAfter);
        assertFalse(renewed.getNotBefore().toInstant().isBefore(renewAt.minusSeconds(1)),
                "not renewed before its time: " + renewed.getNotBefore().toInstant() + " vs " + renewAt);
        assertTrue(seen.isBefore(notAfter), "served before the first expired: " + seen + " vs " + notAfter);

        List<String> api = profilesOrderedFor("api.short.test");
        List<String> other = profilesOrderedFor("other.short.test");
        assertTrue(api.size() >= 2 && api.stream().allMatch("shortlived"::equals), "default profile, kept: " + api);
        assertTrue(!other.isEmpty() && other.stream().allMatch("classic"::equals), "the override: " + other);
    }
}
