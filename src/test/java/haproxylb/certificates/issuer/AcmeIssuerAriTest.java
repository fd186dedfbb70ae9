package haproxylb.certificates.issuer;

import haproxylb.certificates.store.IssuedDetails;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import haproxylb.storage.LocalStorage;
import haproxylb.support.AcmeCaFixture;
import haproxylb.support.AcmeRecordingProxy;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * ARI's {@code replaces} and profiles as Pebble receives them: a real Pebble behind {@link AcmeRecordingProxy}, which
 * adds the renewalInfo endpoint and the profiles Pebble 2.4 lacks and records every newOrder payload.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class AcmeIssuerAriTest {
    @RegisterExtension
    static final AcmeCaFixture ca = new AcmeCaFixture();

    @TempDir
    static Path tmp;

    @AfterEach
    void reset() {
        ca.proxy().refuseNothing().advertiseAri(true);
    }

    private AcmeIssuer issuer(String account) {
        return new AcmeIssuer(AcmeSettings.forTestCa(ca.proxy().directoryUrl(), ca.pebble().listenerCaPem()),
                new AcmeAccountStore(new LocalStorage(tmp), account), ca.responder());
    }

    private JsonNode lastOrder() {
        List<JsonNode> orders = ca.proxy().newOrders();
        return orders.get(orders.size() - 1);
    }

    /** RFC 9773 section 4.1: base64url(authority key identifier) "." base64url(serial number DER), computed here. */
    static String ariId(X509Certificate cert) throws IOException {
        AuthorityKeyIdentifier aki = AuthorityKeyIdentifier.getInstance(
                JcaX509ExtensionUtils.parseExtensionValue(cert.getExtensionValue("2.5.29.35")));
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString(aki.getKeyIdentifier()) + "." + b64.encodeToString(cert.getSerialNumber().toByteArray());
    }

    @Test
    void a_renewal_sends_replaces_naming_the_certificate_it_renews() throws Exception {
        AcmeIssuer issuer = issuer("replaces");
        IssuedCertificate first = issuer.issue(OrderRequest.of(List.of("ari.replaces.test")));
        assertFalse(lastOrder().has("replaces"), "a first issuance replaces nothing: " + lastOrder());

        IssuedCertificate renewed = issuer.issue(new OrderRequest(List.of("ari.replaces.test"),
                Optional.of(first.leaf()), Optional.empty()));

        assertEquals(ariId(first.leaf()), lastOrder().path("replaces").asText(), "what Pebble received: " + lastOrder());
        assertEquals(Optional.of(ariId(first.leaf())), renewed.outcome().replaced());
        assertEquals(Optional.empty(), renewed.outcome().replacesDropped());
        assertEquals("pebble", renewed.outcome().ca());
    }

    @Test
    void already_replaced_gets_the_order_once_more_without_replaces_and_says_why() throws Exception {
        AcmeIssuer issuer = issuer("already");
        IssuedCertificate first = issuer.issue(OrderRequest.of(List.of("ari.already.test")));
        ca.proxy().refuseReplaces("alreadyReplaced", "this certificate was already replaced by another order");
        int ordersBefore = ca.proxy().newOrders().size();
        int refusalsBefore = ca.proxy().refusals();

        IssuedCertificate renewed = issuer.issue(new OrderRequest(List.of("ari.already.test"),
                Optional.of(first.leaf()), Optional.empty()));

        List<JsonNode> orders = ca.proxy().newOrders().subList(ordersBefore, ca.proxy().newOrders().size());
        assertEquals(2, orders.size(), "one refused order and one retry, no more: " + orders);
        assertEquals(ariId(first.leaf()), orders.get(0).path("replaces").asText());
        assertFalse(orders.get(1).has("replaces"), "the retry leaves replaces out: " + orders.get(1));
        assertEquals(refusalsBefore + 1, ca.proxy().refusals());
        String why = renewed.outcome().replacesDropped().orElseThrow();
        assertTrue(why.startsWith("alreadyReplaced: ") && why.contains("already replaced by another order"), why);
        assertEquals(Optional.empty(), renewed.outcome().replaced());
        assertTrue(IssuedDetails.of(renewed.outcome()).note().orElseThrow().contains("alreadyReplaced"));
    }

    @Test
    void malformed_replaces_is_dropped_the_same_way() throws Exception {
        AcmeIssuer issuer = issuer("malformed");
        IssuedCertificate first = issuer.issue(OrderRequest.of(List.of("ari.malformed.test")));
        ca.proxy().refuseReplaces("malformed", "replaces: no such certificate");

        IssuedCertificate renewed = issuer.issue(new OrderRequest(List.of("ari.malformed.test"),
                Optional.of(first.leaf()), Optional.empty()));

        assertTrue(renewed.outcome().replacesDropped().orElseThrow().startsWith("malformed: "));
        assertFalse(lastOrder().has("replaces"));
        assertEquals(List.of("ari.malformed.test"), renewed.domains());
    }

    @Test
    void without_renewal_information_in_the_directory_no_replaces_is_sent() throws Exception {
        ca.proxy().advertiseAri(false);
        AcmeIssuer issuer = issuer("no-ari");
        IssuedCertificate first = issuer.issue(OrderRequest.of(List.of("ari.none.test")));
        issuer.issue(new OrderRequest(List.of("ari.none.test"), Optional.of(first.leaf()), Optional.empty()));
        assertFalse(lastOrder().has("replaces"), lastOrder().toString());
    }

    @Test
    void the_cas_suggested_window_retry_after_and_explanation_are_read() throws Exception {
        Instant start = Instant.parse("2030-01-01T00:00:00Z");
        Instant end = Instant.parse("2030-01-02T00:00:00Z");
        ca.proxy().answerAri(new AcmeRecordingProxy.AriAnswer(start, end, Duration.ofHours(3),
                Optional.of("https://ca.test/incident-42")));
        try {
            AcmeIssuer issuer = issuer("window");
            IssuedCertificate first = issuer.issue(OrderRequest.of(List.of("ari.window.test")));
            RenewalInfoWindow w = issuer.renewalInfo(first.leaf()).orElseThrow();
            assertEquals(start, w.start());
            assertEquals(end, w.end());
            assertEquals("https://ca.test/incident-42", w.explanation().orElseThrow().toString());
            Instant retry = w.retryAfter().orElseThrow();
            assertTrue(retry.isAfter(Instant.now().plus(Duration.ofMinutes(170))), retry.toString());
            assertTrue(ca.proxy().renewalInfoAsked().contains(ariId(first.leaf())), ca.proxy().renewalInfoAsked().toString());
        } finally {
            ca.proxy().answerAri(null);
        }
    }
}
