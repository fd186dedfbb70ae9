package haproxylb.certificates.policy;

import haproxylb.certificates.issuer.RenewalInfoWindow;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.certificates.store.RenewalWindow;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;

/**
 * The renewal windows of the certificates issued here, with the CA's ACME Renewal Information (ARI, RFC 9773) applied
 * where the CA offers it. The CA is asked again no sooner than its Retry-After, and no more often than
 * {@link #MIN_ASK_INTERVAL}; without a Retry-After, after {@link #DEFAULT_ASK_INTERVAL}. A window is kept while the
 * CA's suggestion stays the same, so its random point (chosen once by {@link RenewalWindow#withAri}) does not wander.
 * Certificates without ARI, and operator-supplied ones, get the plain one-third rule. Thread-confined (used by the
 * coverage check only).
 */
public final class RenewalSchedule {
    /**
     * RFC 9773 section 4.3 leaves the polling interval to the client, asking it to honour Retry-After; Let's Encrypt
     * sends a Retry-After of 6 hours, which is what this default follows.
     */
    static final Duration DEFAULT_ASK_INTERVAL = Duration.ofHours(6);
    /** A Retry-After shorter than this is stretched to it: one question a minute per certificate is plenty. */
    static final Duration MIN_ASK_INTERVAL = Duration.ofMinutes(1);
    /** A Retry-After longer than this is cut to it, so a CA's early-renewal request is seen within a day. */
    static final Duration MAX_ASK_INTERVAL = Duration.ofHours(24);

    /** Asks the CA for its suggested window of one certificate; empty when it offers none or cannot be asked. */
    @FunctionalInterface
    public interface Ari {
        Optional<RenewalInfoWindow> fetch(InstalledCertificate certificate);
    }

    private record Entry(RenewalWindow window, Instant ariStart, Instant ariEnd, Instant askAgainAt,
                         Optional<java.net.URL> explanation) {}

    /** What the CA last suggested for a certificate (ARI). */
    public record Suggestion(Instant start, Instant end, Optional<java.net.URL> explanation) {}

    private final Clock clock;
    private final RandomGenerator random;
    private final Map<String, Entry> entries = new HashMap<>();

    public RenewalSchedule(Clock clock, RandomGenerator random) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    /**
     * Asks {@code ari} about every certificate issued here whose time to ask again has come (and that is not already
     * due for renewal); forgets certificates that are no longer installed.
     */
    public void refresh(List<InstalledCertificate> installed, Ari ari) {
        Instant now = clock.instant();
        Set<String> present = installed.stream().map(InstalledCertificate::fingerprint).collect(Collectors.toSet());
        entries.keySet().retainAll(present);
        for (InstalledCertificate c : installed) {
            if (!c.issuedHere() || c.isFallback() || !c.isValidAt(now)) {
                continue;
            }
            String fingerprint = c.fingerprint();
            Entry old = entries.get(fingerprint);
            if (old != null && now.isBefore(old.askAgainAt())) {
                continue;
            }
            RenewalWindow base = old != null ? old.window() : c.renewalWindow();
            if (base.isDue(now)) {
                continue;
            }
            Optional<RenewalInfoWindow> suggested = ari.fetch(c);
            Instant askAgain = now.plus(DEFAULT_ASK_INTERVAL);
            if (suggested.isEmpty()) {
                entries.put(fingerprint, new Entry(base, old == null ? null : old.ariStart(),
                        old == null ? null : old.ariEnd(), askAgain, old == null ? Optional.empty() : old.explanation()));
                continue;
            }
            RenewalInfoWindow w = suggested.get();
            if (w.retryAfter().isPresent()) {
                askAgain = clamp(w.retryAfter().get(), now);
            }
            if (old != null && w.start().equals(old.ariStart()) && w.end().equals(old.ariEnd())) {
                entries.put(fingerprint, new Entry(old.window(), old.ariStart(), old.ariEnd(), askAgain,
                        w.explanation()));
            } else {
                entries.put(fingerprint, new Entry(c.renewalWindow().withAri(w.start(), w.end(), random), w.start(),
                        w.end(), askAgain, w.explanation()));
            }
        }
    }

    /** The CA's last suggested window for the certificate, if it offers ARI and was asked. */
    public Optional<Suggestion> suggestion(InstalledCertificate certificate) {
        Entry e = entries.get(certificate.fingerprint());
        return e == null || e.ariStart() == null ? Optional.empty()
                : Optional.of(new Suggestion(e.ariStart(), e.ariEnd(), e.explanation()));
    }

    /** The window to decide by: the one with the CA's suggestion applied, or the one-third rule. */
    public RenewalWindow window(InstalledCertificate certificate) {
        Entry e = entries.get(certificate.fingerprint());
        return e != null ? e.window() : certificate.renewalWindow();
    }

    private static Instant clamp(Instant retryAfter, Instant now) {
        Instant earliest = now.plus(MIN_ASK_INTERVAL);
        Instant latest = now.plus(MAX_ASK_INTERVAL);
        return retryAfter.isBefore(earliest) ? earliest : retryAfter.isAfter(latest) ? latest : retryAfter;
    }
}
