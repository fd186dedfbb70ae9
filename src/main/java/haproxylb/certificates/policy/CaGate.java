package haproxylb.certificates.policy;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * Whether orders may go to the CA now. A failure that is the CA's, not a domain's (the CA cannot be reached or answers
 * with a server error, the account needs the operator), closes the gate for every group, with the same exponential
 * backoff as a domain ({@link Backoff}, under the key {@value #KEY}, which no domain or group name can be): during a CA
 * outage the daemon does not send one failing order per group and check.
 *
 * <p>When the CA could not be reached at all (connection refused, timeout, no route), the gate re-opens early as soon
 * as a GET of the CA's directory answers again: that request is cacheable, creates nothing and counts against no
 * limit, so the daemon resumes within one check of the CA's return instead of after up to 6 hours. A CA that answers
 * but fails the order (HTTP 5xx) is waited out by the backoff alone. Thread-confined (the coverage check).
 */
public final class CaGate {
    /** The backoff key of the CA; {@code @} cannot appear in a domain or in a certificate group name. */
    public static final String KEY = "@ca";

    private final Backoff backoff;
    private final String key;
    private boolean unreachable;

    public CaGate(Backoff backoff) {
        this(backoff, KEY);
    }

    /** The gate of a fallback CA: its own backoff key ({@link #keyOf}). */
    public CaGate(Backoff backoff, String key) {
        this.backoff = Objects.requireNonNull(backoff, "backoff");
        this.key = Objects.requireNonNull(key, "key");
    }

    /** The backoff key of the fallback CA called {@code name}. */
    public static String keyOf(String name) {
        return KEY + ":" + name;
    }

    public String key() {
        return key;
    }

    /**
     * True when an order may be placed now. {@code directoryAnswers} is asked only while the gate is closed after the
     * CA was unreachable (one cheap GET per check), never otherwise.
     */
    public boolean mayOrder(BooleanSupplier directoryAnswers) {
        if (backoff.mayAttempt(key)) {
            return true;
        }
        return unreachable && directoryAnswers.getAsBoolean();
    }

    /**
     * The CA failed an order; {@code unreachable} when it could not be reached at all. {@code notBefore} is the CA's
     * Retry-After, when it said (a rateLimited answer): the gate stays closed at least until then.
     */
    public void failed(String reason, boolean unreachable, String errorType, Optional<Instant> notBefore) {
        this.unreachable = unreachable;
        backoff.recordFailure(key, reason, errorType, notBefore);
    }

    public void succeeded() {
        unreachable = false;
        backoff.recordSuccess(key);
    }

    public boolean isClosed() {
        return !backoff.mayAttempt(key);
    }

    public int failures() {
        return backoff.failures(key);
    }

    public Optional<String> lastError() {
        return backoff.lastError(key);
    }

    public Optional<String> lastErrorType() {
        return backoff.lastErrorType(key);
    }

    public Optional<Instant> nextAttempt() {
        return backoff.nextAttempt(key);
    }

    /** Why no order goes out now, for the status of every domain waiting for one. */
    public String reason() {
        return "the CA failed " + failures() + " time" + (failures() == 1 ? "" : "s") + " in a row"
                + lastError().filter(e -> !e.isBlank()).map(e -> " (last: " + e + ")").orElse("")
                + "; next attempt at " + nextAttempt().map(Instant::toString).orElse("the next check")
                + (unreachable ? ", or as soon as the CA's directory answers again" : "");
    }
}
