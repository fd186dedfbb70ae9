package haproxylb.monitoring;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * DOWN while a certificate in the status expires within {@code minDays} (or has expired): renewal starts when a
 * third of the lifetime is left (30 days of Let's Encrypt's 90), so a week left means renewals keep failing.
 * Readiness only: restarting the daemon would not fix it.
 *
 * <p>A certificate whose renewal time ({@code nextRenewal}) has not come yet is not expiring, however close its expiry:
 * a fresh 6-day certificate (Let's Encrypt's {@code shortlived}) renews at 4 days and is healthy until then, and while
 * that renewal is under way ({@link #renewalFailing}).
 */
public final class CertificateHealthCheck extends AbstractHealthCheck {
    private final Monitored daemon;
    private final int minDays;

    public CertificateHealthCheck(Monitored daemon, int minDays) {
        super("haproxy-lb", "certificates");
        this.daemon = daemon;
        this.minDays = minDays;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Instant now = daemon.clock().instant();
        Instant limit = now.plus(Duration.ofDays(minDays));
        List<CertificateView.Domain> dated = CertificateView.of(daemon.status().snapshot().certificates()).values()
                .stream().filter(d -> d.expires().isPresent())
                .sorted(Comparator.comparing(d -> d.expires().get())).toList();
        builder.detail("certificates", dated.size());
        List<CertificateView.Domain> expiring = dated.stream().filter(d -> d.expires().get().isBefore(limit))
                .filter(d -> renewalFailing(d, now)).toList();
        if (expiring.isEmpty()) {
            builder.message(dated.isEmpty() ? "no certificate with a known expiry yet"
                    : "no certificate expires within " + minDays + " days; the first is " + describe(dated.get(0), now));
            builder.up();
            return;
        }
        StringBuilder message = new StringBuilder();
        message.append(expiring.size()).append(" certificate(s) expire within ").append(minDays)
                .append(" days (lb.health.certificate-min-days): ");
        for (int i = 0; i < expiring.size(); i++) {
            message.append(i == 0 ? "" : ", ").append(describe(expiring.get(i), now));
            builder.detail("expiring." + expiring.get(i).domain(), expiring.get(i).expires().get().toString());
        }
        message.append(". Renewal keeps failing: see haproxy-config status for each domain's last error.");
        builder.message(message.toString()).down();
    }

    /**
     * Whether a certificate close to its expiry is not being renewed as it should: it has expired, it has no renewal
     * planned (ACME off, an operator's own certificate), its renewal failed (the domain backs off), or its renewal is
     * so late that half the time from its renewal time to its expiry is gone. A renewal merely under way is not
     * failing: a short-lived certificate is within the days of the setting whenever it renews, and health must not
     * go DOWN at every routine renewal.
     */
    static boolean renewalFailing(CertificateView.Domain d, Instant now) {
        Instant expires = d.expires().orElseThrow();
        if (!now.isBefore(expires) || d.nextRenewal().isEmpty()) {
            return true;
        }
        Instant renewal = d.nextRenewal().get();
        if (now.isBefore(renewal)) {
            return false;
        }
        if (d.backoffStep() > 0) {
            return true;
        }
        return !now.isBefore(renewal.plus(Duration.between(renewal, expires).dividedBy(2)));
    }

    private static String describe(CertificateView.Domain d, Instant now) {
        Instant at = d.expires().get();
        long hours = Duration.between(now, at).toHours();
        return d.domain() + (hours < 0 ? " expired " + at : " expires " + at + " (in " + hours / 24 + " days)");
    }
}
