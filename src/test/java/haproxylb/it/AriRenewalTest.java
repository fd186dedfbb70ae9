package haproxylb.it;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.support.AcmeRecordingProxy;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.PebbleServer;
import java.io.IOException;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * ARI end to end: the daemon renews through a recording proxy in front of a real Pebble (which lacks ARI), haproxy
 * serves the renewed certificate, and what Pebble received shows {@code replaces}; the CA's window and explanation
 * reach the status; a refused {@code replaces} is left out once and the reason shown.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class AriRenewalTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;
    private AcmeRecordingProxy proxy;

    private DaemonHarness daemonBehindProxy() {
        PebbleServer pebble = fixture.pebble();
        proxy = fixture.proxy(pebble);
        daemon = fixture.orderingThrough(proxy, pebble);
        return daemon;
    }

    private Optional<X509Certificate> servedLeaf(String host) {
        try {
            return EdgeClient.https(daemon.httpsPort(), host, "/").peerChain().stream().findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private CertificateMaintenance maintenance() {
        return daemon.context().getRegistry().lookupByNameAndType("certificateMaintenance", CertificateMaintenance.class);
    }

    private JsonNode lastOrder() {
        List<JsonNode> orders = proxy.newOrders();
        return orders.get(orders.size() - 1);
    }

    static String ariId(X509Certificate cert) throws IOException {
        AuthorityKeyIdentifier aki = AuthorityKeyIdentifier.getInstance(
                JcaX509ExtensionUtils.parseExtensionValue(cert.getExtensionValue("2.5.29.35")));
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString(aki.getKeyIdentifier()) + "." + b64.encodeToString(cert.getSerialNumber().toByteArray());
    }

    @Test
    void renewals_name_the_certificate_they_replace_follow_the_cas_window_and_survive_already_replaced()
            throws Exception {
        Instant windowStart = Instant.now().plus(Duration.ofDays(10)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        Instant windowEnd = windowStart.plus(Duration.ofDays(1));
        daemonBehindProxy();
        proxy.answerAri(new AcmeRecordingProxy.AriAnswer(windowStart, windowEnd, Duration.ofHours(6),
                Optional.of("https://ca.test/incident-42")));
        daemon.start();
        daemon.drop("shop", "backend be_shop\n    http-request return status 200 content-type text/plain string shop\n",
                "shop.ari.test be_shop\n");
        await("first certificate served", LIMIT, () -> servedLeaf("shop.ari.test")
                .map(c -> c.getIssuerX500Principal().getName().contains("Pebble")).orElse(false));
        X509Certificate first = servedLeaf("shop.ari.test").orElseThrow();
        assertFalse(lastOrder().has("replaces"), "a first certificate replaces nothing");

        // the check after the install asks the CA for its window, and the status shows it
        maintenance().check();
        Map<String, Object> status = daemon.certificateStatus("shop.ari.test");
        assertEquals(windowStart + "/" + windowEnd, status.get("ariWindow"), status.toString());
        assertEquals("https://ca.test/incident-42", status.get("ariExplanation"));
        assertEquals("pebble", status.get("issuer"));
        Instant renewAt = Instant.parse((String) status.get("nextRenewal"));
        assertFalse(renewAt.isBefore(windowStart) || renewAt.isAfter(windowEnd),
                "renewal inside the CA's window, far before the one-third rule: " + renewAt);
        assertTrue(proxy.renewalInfoAsked().contains(ariId(first)));

        maintenance().checkAsOf(windowEnd);
        await("the renewal served", LIMIT, () -> servedLeaf("shop.ari.test").map(c -> !c.equals(first)).orElse(false));
        assertEquals(ariId(first), lastOrder().path("replaces").asText(), "Pebble received: " + lastOrder());
        X509Certificate second = servedLeaf("shop.ari.test").orElseThrow();

        // a CA that says another order already replaced it: ordered once more without replaces, the reason kept
        proxy.refuseReplaces("alreadyReplaced", "already replaced by order 17");
        int orders = proxy.newOrders().size();
        maintenance().checkAsOf(windowEnd);
        await("the second renewal served", LIMIT, () -> servedLeaf("shop.ari.test").map(c -> !c.equals(second))
                .orElse(false));
        List<JsonNode> sent = proxy.newOrders().subList(orders, proxy.newOrders().size());
        assertEquals(2, sent.size(), sent.toString());
        assertEquals(ariId(second), sent.get(0).path("replaces").asText());
        assertFalse(sent.get(1).has("replaces"));

        maintenance().check();
        await("the status says why replaces was left out", LIMIT, () -> String.valueOf(
                daemon.certificateStatus("shop.ari.test").get("note")).contains("alreadyReplaced: already replaced by order 17"));
        JsonNode issued = new ObjectMapper().readTree(Files.readString(fixture.state().resolve("certificates/issued.json")));
        assertTrue(issued.toString().contains("\"replacesDropped\":\"alreadyReplaced: already replaced by order 17\""),
                issued.toString());
    }
}
