package haproxylb.certificates.maintenance;

import haproxylb.certificates.issuer.AcmeAccountStore;
import haproxylb.certificates.issuer.AcmeIssuer;
import haproxylb.certificates.issuer.AcmeSettings;
import haproxylb.certificates.issuer.IssuanceException;
import haproxylb.certificates.issuer.IssuedCertificate;
import haproxylb.certificates.issuer.OrderRequest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import haproxylb.storage.LocalStorage;
import haproxylb.support.AcmeCaFixture;
import haproxylb.support.AcmeRecordingProxy;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the issuer reads a CA that will not issue, with a real Pebble behind {@link AcmeRecordingProxy} answering as Let's
 * Encrypt does: {@code rateLimited} with Retry-After, paused names, a directory without the requested profile, and
 * refused anti-replay nonces.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class AcmeIssuerRefusalTest {
    private static final String UNPAUSE = "Your account is temporarily prevented from requesting certificates for "
            + "%s and possibly others. Please visit: https://portal.letsencrypt.test/sfe/v1/unpause?jwt=abc";
    @RegisterExtension
    static final AcmeCaFixture ca = new AcmeCaFixture();

    @TempDir
    static Path tmp;

    @AfterEach
    void reset() {
        ca.proxy().refuseNothing().profiles(Map.of("classic", "the usual 90 days", "shortlived", "6 days, no OCSP"));
    }

    private AcmeIssuer issuer(String account) {
        return new AcmeIssuer(AcmeSettings.forTestCa(ca.proxy().directoryUrl(), ca.pebble().listenerCaPem()),
                new AcmeAccountStore(new LocalStorage(tmp), account), ca.responder());
    }

    private JsonNode lastOrder() {
        List<JsonNode> orders = ca.proxy().newOrders();
        return orders.get(orders.size() - 1);
    }

    @Test
    void rate_limited_carries_the_cas_retry_after_and_its_type() {
        AcmeIssuer issuer = issuer("limited");
        ca.proxy().refuseWithRateLimit("too many new orders recently", Duration.ofMinutes(90));
        Instant before = Instant.now();

        IssuanceException e = assertThrows(IssuanceException.class, () -> issuer.issue(OrderRequest.of(List.of("limited.refusal.test"))));

        assertEquals(IssuanceException.Kind.RATE_LIMITED, e.kind());
        assertEquals("rateLimited", e.errorType());
        assertFalse(e.paused());
        Instant retryAfter = e.retryAfter().orElseThrow();
        assertFalse(retryAfter.isBefore(before.plus(Duration.ofMinutes(90)).minusSeconds(2)), retryAfter.toString());
        assertTrue(e.getMessage().contains("too many new orders recently"), e.getMessage());
    }

    @Test
    void paused_names_answered_rate_limited_or_unauthorized_are_paused_and_cost_one_order_each() throws Exception {
        AcmeIssuer issuer = issuer("paused");
        issuer.issue(OrderRequest.of(List.of("before.refusal.test"))); // a cached login, which an "unauthorized" would otherwise reset

        ca.proxy().refuseOrders(403, "unauthorized", "issuance for paused.refusal.test is paused for this account");
        int orders = ca.proxy().newOrders().size();
        IssuanceException refused = assertThrows(IssuanceException.class,
                () -> issuer.issue(OrderRequest.of(List.of("paused.refusal.test"))));
        assertEquals(IssuanceException.Kind.CA_REJECTED, refused.kind());
        assertEquals("paused", refused.errorType());
        assertTrue(OrderRunner.otherCaMayHelp(refused), "another CA may issue a paused name");
        assertEquals(orders + 1, ca.proxy().newOrders().size(), "a pause is not a lost account: no second lookup and order");

        ca.proxy().refuseOrders(429, "rateLimited", String.format(UNPAUSE, "paused.refusal.test"));
        IssuanceException limited = assertThrows(IssuanceException.class,
                () -> issuer.issue(OrderRequest.of(List.of("paused.refusal.test"))));
        assertTrue(limited.paused());
        assertEquals("paused", limited.errorType());
        assertTrue(OrderRunner.otherCaMayHelp(limited));
    }

    @Test
    void a_new_order_whose_nonce_is_refused_25_times_in_a_row_is_sent_until_accepted_and_created_once() throws Exception {
        AcmeIssuer issuer = issuer("nonces");
        ca.proxy().refuseNewOrderNonces(25);
        int refused = ca.proxy().noncesRefused();
        int orders = ca.proxy().newOrders().size();

        IssuedCertificate c = issuer.issue(OrderRequest.of(List.of("nonce.refusal.test")));

        assertEquals(List.of("nonce.refusal.test"), c.domains());
        assertEquals(refused + 25, ca.proxy().noncesRefused(), "more refusals than acme4j's own 10 tries");
        assertEquals(orders + 1, ca.proxy().newOrders().size(), "one order reached the CA");
    }

    @Test
    void a_new_order_whose_nonce_is_refused_past_every_retry_fails_as_transient_for_the_same_ca_to_retry() {
        AcmeIssuer issuer = issuer("nonces-forever");
        ca.proxy().refuseNewOrderNonces(1000);
        int refused = ca.proxy().noncesRefused();
        int orders = ca.proxy().newOrders().size();

        IssuanceException e = assertThrows(IssuanceException.class,
                () -> issuer.issue(OrderRequest.of(List.of("nonce.refusal.test"))));

        assertEquals(IssuanceException.Kind.TRANSIENT, e.kind(), e.getMessage());
        assertEquals("badNonce", e.errorType());
        assertFalse(OrderRunner.otherCaMayHelp(e), "the same CA is asked again at the next check");
        assertEquals(refused + 40, ca.proxy().noncesRefused(), "4 rounds of acme4j's 10 tries");
        assertEquals(orders, ca.proxy().newOrders().size(), "no order reached the CA");
    }

    @Test
    void renewal_information_answered_rate_limited_is_not_asked_for_again_before_its_retry_after() throws Exception {
        AcmeIssuer issuer = issuer("ari-limited");
        IssuedCertificate c = issuer.issue(OrderRequest.of(List.of("ari.refusal.test")));
        ca.proxy().refuseRenewalInfo("too many renewalInfo requests", Duration.ofHours(1));
        int asked = ca.proxy().renewalInfoAsked().size();

        assertEquals(Optional.empty(), issuer.renewalInfo(c.leaf()));
        ca.proxy().refuseNothing();
        assertEquals(Optional.empty(), issuer.renewalInfo(c.leaf()), "not asked within the hour");
        assertEquals(asked + 1, ca.proxy().renewalInfoAsked().size(), ca.proxy().renewalInfoAsked().toString());
        assertTrue(issuer("ari-other").renewalInfo(c.leaf()).isPresent(), "the proxy answers again (another client)");
    }

    @Test
    void a_profile_the_directory_does_not_list_is_left_out_and_the_outcome_says_what_is_offered() throws Exception {
        AcmeIssuer issuer = issuer("profiles");
        ca.proxy().profiles(Map.of("classic", "the usual 90 days"));
        IssuedCertificate c = issuer.issue(new OrderRequest(List.of("profile.refusal.test"),
                Optional.empty(), Optional.of("shortlived")));
        assertFalse(lastOrder().has("profile"), lastOrder().toString());
        assertEquals(Optional.empty(), c.outcome().profile());
        assertEquals(Optional.of("pebble does not offer profile 'shortlived' (it offers: classic); ordered with the "
                + "CA's default"), c.outcome().profileNote());

        IssuedCertificate listed = issuer.issue(new OrderRequest(List.of("profile.refusal.test"),
                Optional.empty(), Optional.of("classic")));
        assertEquals("classic", lastOrder().path("profile").asText(), "a listed profile is sent");
        assertEquals(Optional.of("classic"), listed.outcome().profile());
    }

    @Test
    void a_directory_without_profiles_gets_the_order_without_one_and_says_so() throws Exception {
        ca.proxy().profiles(Map.of());
        AcmeIssuer issuer = issuer("no-profiles");
        IssuedCertificate c = issuer.issue(new OrderRequest(List.of("none.refusal.test"),
                Optional.empty(), Optional.of("shortlived")));
        assertFalse(lastOrder().has("profile"), lastOrder().toString());
        assertEquals(Optional.of("pebble does not offer profile 'shortlived' (it lists no profiles); ordered with the "
                + "CA's default"), c.outcome().profileNote());
    }
}
