package haproxylb.certificates.issuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.MalformedURLException;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.toolbox.JSON;

/**
 * A refused anti-replay nonce ({@code badNonce}) is retried by the connection and, past every retry, is a transient
 * failure: not the CA's, not the names', not a refusal of the order.
 */
class BadNonceTest {
    private static final String ACME = "urn:ietf:params:acme:error:";
    private static final List<String> NAMES = List.of("a.example.com");

    private static AcmeServerException answered(String type, String detail) throws MalformedURLException {
        return new AcmeServerException(new Problem(JSON.parse("{\"type\":\"" + ACME + type + "\",\"detail\":\"" + detail
                + "\",\"status\":400}"), URI.create("https://ca.example/acme/new-order").toURL()));
    }

    private static final AcmeErrors ERRORS = new AcmeErrors(AcmeSettings.of("https://ca.example/dir", null, true, null,
            null, null, null));

    @Test
    void only_a_bad_nonce_is_sent_again() throws Exception {
        assertTrue(AcmeErrors.badNonce(answered("badNonce", "JWS has an invalid anti-replay nonce")));
        for (String other : List.of("serverInternal", "malformed", "unauthorized", "orderNotReady", "rateLimited")) {
            assertFalse(AcmeErrors.badNonce(answered(other, "no")), other);
        }
    }

    @Test
    void a_bad_nonce_past_every_retry_is_transient_and_names_its_acme_type() throws Exception {
        IssuanceException e = ERRORS.translate(answered("badNonce", "JWS has an invalid anti-replay nonce: abc"), NAMES);

        assertEquals(IssuanceException.Kind.TRANSIENT, e.kind());
        assertEquals("badNonce", e.errorType());
        assertFalse(e.caUnreachable(), "not a CA outage");
        assertFalse(e.failedAuthorization(), "not a failed validation");
        assertFalse(e.paused());
        assertEquals(NAMES, e.failedDomains());
        assertTrue(e.getMessage().contains("40 times in a row: JWS has an invalid anti-replay nonce: abc"), e.getMessage());
    }

    @Test
    void other_refusals_keep_their_kinds() throws Exception {
        assertEquals(IssuanceException.Kind.CA_UNREACHABLE, ERRORS.translate(answered("serverInternal", "oops"), NAMES).kind());
        IssuanceException malformed = ERRORS.translate(answered("malformed", "bad request"), NAMES);
        assertEquals(IssuanceException.Kind.CA_REJECTED, malformed.kind());
        assertNotEquals(IssuanceException.Kind.TRANSIENT, malformed.kind());
    }
}
