package haproxylb.monitoring;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** When a certificate near its expiry counts as "renewal keeps failing" (the certificates health check DOWN). */
class CertificateHealthCheckTest {
    private static final Instant ISSUED = Instant.parse("2026-11-01T00:00:00Z");
    /** Let's Encrypt's shortlived: 6 days, renewed with a third (2 days) left. */
    private static final Instant EXPIRES = ISSUED.plus(Duration.ofDays(6));
    private static final Instant RENEW_AT = ISSUED.plus(Duration.ofDays(4));

    private static CertificateView.Domain shortLived(int backoffStep, Optional<Instant> nextRenewal) {
        return new CertificateView.Domain("a.example.com", Optional.of(EXPIRES), "covered", backoffStep, nextRenewal,
                Optional.of("web"), Optional.empty(), "");
    }

    @Test
    void a_renewal_under_way_is_not_failing_a_failed_or_very_late_one_is() {
        CertificateView.Domain planned = shortLived(0, Optional.of(RENEW_AT));
        assertFalse(CertificateHealthCheck.renewalFailing(planned, RENEW_AT.minusSeconds(1)), "not due yet");
        assertFalse(CertificateHealthCheck.renewalFailing(planned, RENEW_AT), "due: the check is renewing it");
        assertFalse(CertificateHealthCheck.renewalFailing(planned, RENEW_AT.plus(Duration.ofHours(23))));
        assertTrue(CertificateHealthCheck.renewalFailing(planned, RENEW_AT.plus(Duration.ofDays(1))),
                "half the time from renewal to expiry gone, and still the old certificate");
        assertTrue(CertificateHealthCheck.renewalFailing(shortLived(1, Optional.of(RENEW_AT)), RENEW_AT.plusSeconds(60)),
                "due, and the last attempt failed");
        assertFalse(CertificateHealthCheck.renewalFailing(shortLived(1, Optional.of(RENEW_AT)), RENEW_AT.minusSeconds(1)),
                "a failure before the renewal time is about something else");
        assertTrue(CertificateHealthCheck.renewalFailing(planned, EXPIRES), "expired");
        assertTrue(CertificateHealthCheck.renewalFailing(shortLived(0, Optional.empty()), ISSUED),
                "nothing renews it (ACME off, an operator's certificate)");
    }
}
