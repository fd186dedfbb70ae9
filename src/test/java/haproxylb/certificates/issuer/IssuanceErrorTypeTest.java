package haproxylb.certificates.issuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.certificates.issuer.IssuanceException.Kind;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The short error names that go into status and metric labels: bounded, and never the CA's own words. */
class IssuanceErrorTypeTest {
    private static final String ACME = "urn:ietf:params:acme:error:";

    private static IssuanceException failure(Kind kind, String detail, String type) {
        return new IssuanceException(kind, "pebble: " + detail, List.of("a.example.com"), detail, type, null, null);
    }

    @Test
    void an_acme_problem_type_of_the_registry_is_named_without_its_prefix() {
        assertEquals("rateLimited", failure(Kind.RATE_LIMITED, "too many orders", ACME + "rateLimited").errorType());
        assertEquals("unauthorized", failure(Kind.CA_REJECTED, "no", ACME + "unauthorized").errorType());
        assertEquals("connection", failure(Kind.AUTHORIZATION_FAILED, "refused", ACME + "connection").errorType());
        assertEquals("rejectedIdentifier", failure(Kind.CA_REJECTED, "policy", ACME + "rejectedIdentifier").errorType());
    }

    @Test
    void a_type_outside_the_registry_or_no_type_gives_the_kind_so_a_ca_cannot_grow_the_label_set() {
        assertEquals("rejected", failure(Kind.CA_REJECTED, "x", ACME + "somethingNew{label=\"x\"}").errorType());
        assertEquals("rejected", failure(Kind.CA_REJECTED, "x", "https://ca.example/errors/own").errorType());
        assertEquals("unreachable", failure(Kind.CA_UNREACHABLE, "connection refused", null).errorType());
        assertEquals("timeout", failure(Kind.TIMEOUT, "gave up", null).errorType());
        assertEquals("authorizationFailed", failure(Kind.AUTHORIZATION_FAILED, "x", null).errorType());
        assertEquals("transient", failure(Kind.TRANSIENT, "x", null).errorType());
    }

    @Test
    void lets_encrypts_paused_names_are_paused_whether_rate_limited_or_unauthorized() {
        IssuanceException limited = failure(Kind.RATE_LIMITED, "Your account is temporarily prevented from "
                + "requesting certificates for a.example.com. Please visit https://portal.example/sfe/v1/unpause?jwt=x",
                ACME + "rateLimited");
        assertTrue(limited.paused());
        assertEquals("paused", limited.errorType());
        IssuanceException refused = failure(Kind.CA_REJECTED, "issuance for a.example.com is paused for this account",
                ACME + "unauthorized");
        assertTrue(refused.paused());
        assertEquals("paused", refused.errorType());
        assertFalse(failure(Kind.RATE_LIMITED, "too many new orders", ACME + "rateLimited").paused());
        assertFalse(failure(Kind.AUTHORIZATION_FAILED, "the host paused", ACME + "connection").paused(),
                "a failed validation is the name's own problem");
    }
}
