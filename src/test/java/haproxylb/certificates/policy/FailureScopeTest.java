package haproxylb.certificates.policy;

import haproxylb.certificates.issuer.IssuanceException;
import static org.junit.jupiter.api.Assertions.assertEquals;

import haproxylb.certificates.issuer.IssuanceException.Kind;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeNetworkException;

class FailureScopeTest {
    private static final List<String> ORDERED = List.of("a.example.com", "b.example.com");

    private static IssuanceException failure(Kind kind, List<String> domains, Throwable cause) {
        return new IssuanceException(kind, "failed", domains, null, null, cause);
    }

    @Test
    void failed_authorizations_back_off_only_the_names_that_failed() {
        FailureScope s = FailureScope.of(failure(Kind.AUTHORIZATION_FAILED, List.of("b.example.com"), null), ORDERED);
        assertEquals(new FailureScope(FailureScope.Kind.DOMAINS, List.of("b.example.com")), s);
    }

    @Test
    void failed_authorizations_without_names_back_off_every_ordered_name() {
        FailureScope s = FailureScope.of(failure(Kind.AUTHORIZATION_FAILED, List.of("other.example.com"), null), ORDERED);
        assertEquals(new FailureScope(FailureScope.Kind.DOMAINS, ORDERED), s);
    }

    @Test
    void a_ca_that_cannot_be_reached_is_the_cas_failure_and_may_reopen_early() {
        FailureScope s = FailureScope.of(failure(Kind.CA_UNREACHABLE, ORDERED,
                new AcmeNetworkException(new IOException("connection refused"))), ORDERED);
        assertEquals(FailureScope.Kind.CA_UNREACHABLE, s.kind());
    }

    @Test
    void a_ca_server_error_is_the_cas_failure_waited_out_by_the_backoff() {
        assertEquals(FailureScope.Kind.CA, FailureScope.of(failure(Kind.CA_UNREACHABLE, ORDERED,
                new AcmeException("HTTP 503")), ORDERED).kind());
        assertEquals(FailureScope.Kind.CA, FailureScope.of(failure(Kind.CONFIGURATION, ORDERED, null), ORDERED).kind());
        assertEquals(FailureScope.Kind.CA, FailureScope.of(failure(Kind.LOCAL, ORDERED,
                new IOException("account key unreadable")), ORDERED).kind());
    }

    @Test
    void an_order_refused_rate_limited_or_timed_out_backs_off_the_group() {
        for (Kind kind : List.of(Kind.CA_REJECTED, Kind.RATE_LIMITED, Kind.TIMEOUT)) {
            assertEquals(FailureScope.Kind.GROUP, FailureScope.of(failure(kind, ORDERED, null), ORDERED).kind(), kind.name());
        }
    }

    @Test
    void an_interrupted_issuance_is_nobodys_failure() {
        assertEquals(FailureScope.Kind.NONE, FailureScope.of(failure(Kind.LOCAL, ORDERED, new InterruptedException()),
                ORDERED).kind());
    }

    @Test
    void a_nonce_refused_past_every_retry_is_nobodys_failure() {
        assertEquals(FailureScope.Kind.NONE, FailureScope.of(failure(Kind.TRANSIENT, ORDERED, null), ORDERED).kind());
    }
}
