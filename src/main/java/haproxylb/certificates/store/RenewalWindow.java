package haproxylb.certificates.store;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * When a certificate should be renewed.
 *
 * <p>Without help from the CA: when less than a third of its lifetime is left (at two thirds of the lifetime).
 * With an ACME Renewal Information (ARI, RFC 9773) window from the CA: at a uniformly random point inside that window,
 * when the window starts before the one-third point (the CA asks for an early renewal, e.g. before a mass revocation);
 * otherwise the one-third rule stands, so a CA window that starts later never makes us renew later than our own rule.
 *
 * <p>Immutable; {@link #withAri} returns a new window.
 */
public final class RenewalWindow {
    /**
     * Renew when less than 1/{@value} of the lifetime is left. Let's Encrypt asks clients without ARI to renew at
     * about two thirds of the lifetime (https://letsencrypt.org/docs/integration-guide/ and the 2025 announcement of
     * shorter lifetimes); for 90-day certificates that is 30 days before expiry, for 6-day ones 2 days.
     */
    static final long RENEW_WHEN_ONE_OVER_THIS_OF_THE_LIFETIME_IS_LEFT = 3;

    private final Instant notBefore;
    private final Instant notAfter;
    private final Instant renewAt;
    private final Instant ariStart;
    private final Instant ariEnd;

    private RenewalWindow(Instant notBefore, Instant notAfter, Instant renewAt, Instant ariStart, Instant ariEnd) {
        this.notBefore = notBefore;
        this.notAfter = notAfter;
        this.renewAt = renewAt;
        this.ariStart = ariStart;
        this.ariEnd = ariEnd;
    }

    /** The window of a certificate valid from {@code notBefore} to {@code notAfter}, by the one-third rule. */
    public static RenewalWindow of(Instant notBefore, Instant notAfter) {
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
        if (notAfter.isBefore(notBefore)) {
            throw new IllegalArgumentException("notAfter " + notAfter + " is before notBefore " + notBefore);
        }
        return new RenewalWindow(notBefore, notAfter, oneThirdLeft(notBefore, notAfter), null, null);
    }

    private static Instant oneThirdLeft(Instant notBefore, Instant notAfter) {
        // Duration.dividedBy, exactly (rounded toward zero, to the nanosecond), without its BigDecimal: this runs
        // for every certificate of a coverage check
        Duration lifetime = Duration.between(notBefore, notAfter);
        long n = RENEW_WHEN_ONE_OVER_THIS_OF_THE_LIFETIME_IS_LEFT;
        long seconds = lifetime.getSeconds();
        Duration part = Duration.ofSeconds(seconds / n, ((seconds % n) * 1_000_000_000L + lifetime.getNano()) / n);
        return notAfter.minus(part);
    }

    /**
     * Applies the CA's ARI suggested window {@code [suggestedStart, suggestedEnd]}. RFC 9773 section 4.2 recommends
     * selecting "a uniform random time within the suggested window"; {@code random} makes that choice (a seeded or
     * stub generator in tests, a real one in production). A window whose end is before its start is invalid (RFC 9773
     * section 4.2) and ignored. The choice is made once, here: keep the returned object rather than calling this on
     * every check, or the renewal time wanders.
     */
    public RenewalWindow withAri(Instant suggestedStart, Instant suggestedEnd, RandomGenerator random) {
        Objects.requireNonNull(suggestedStart, "suggestedStart");
        Objects.requireNonNull(suggestedEnd, "suggestedEnd");
        Objects.requireNonNull(random, "random");
        if (suggestedEnd.isBefore(suggestedStart)) {
            return this;
        }
        Instant byRule = oneThirdLeft(notBefore, notAfter);
        if (!suggestedStart.isBefore(byRule)) {
            return new RenewalWindow(notBefore, notAfter, byRule, suggestedStart, suggestedEnd);
        }
        long spanMillis = Duration.between(suggestedStart, suggestedEnd).toMillis();
        Instant picked = suggestedStart.plusMillis(spanMillis == 0 ? 0 : random.nextLong(spanMillis + 1));
        return new RenewalWindow(notBefore, notAfter, picked, suggestedStart, suggestedEnd);
    }

    /** When renewal should start. */
    public Instant renewAt() {
        return renewAt;
    }

    /** True from {@link #renewAt()} on. */
    public boolean isDue(Instant now) {
        return !now.isBefore(renewAt);
    }

    /** Time left until the certificate expires; zero once it has. */
    public Duration remaining(Instant now) {
        Duration left = Duration.between(now, notAfter);
        return left.isNegative() ? Duration.ZERO : left;
    }

    public boolean isExpired(Instant now) {
        return !now.isBefore(notAfter);
    }

    public Instant notBefore() {
        return notBefore;
    }

    public Instant notAfter() {
        return notAfter;
    }

    public Duration lifetime() {
        return Duration.between(notBefore, notAfter);
    }

    /** True when a CA's ARI window decided {@link #renewAt()} (it started before the one-third point). */
    public boolean fromAri() {
        return ariStart != null && ariStart.isBefore(oneThirdLeft(notBefore, notAfter));
    }

    @Override
    public String toString() {
        return "RenewalWindow[" + notBefore + " .. " + notAfter + ", renew at " + renewAt
                + (fromAri() ? " (ARI " + ariStart + " .. " + ariEnd + ")" : "") + "]";
    }
}
