package haproxylb.haproxy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Rate limit for haproxy reloads. A reload drops idle keep-alive connections and costs up to a second on big
 * configs (../shared/BASELINE.md), so there is at most one per {@code minInterval}; but the first change after a
 * quiet period goes live at once, and every change inside the interval coalesces into one trailing reload.
 */
public final class ReloadGate {
    private final Clock clock;
    private final Duration minInterval;
    private Instant lastStart;
    private boolean pending;
    private long coalesced;

    public ReloadGate(Clock clock, Duration minInterval) {
        this.clock = clock;
        this.minInterval = minInterval;
    }

    /**
     * A new validated config is on disk and haproxy should pick it up.
     * @return true when a reload was already waiting, so this change rides on it (coalesced)
     */
    public synchronized boolean request() {
        boolean rides = pending;
        if (rides) {
            coalesced++;
        }
        pending = true;
        return rides;
    }

    /** True exactly once per permitted reload: the caller must then reload and report via done/failed. */
    public synchronized boolean claim() {
        Instant now = clock.instant();
        if (!pending || (lastStart != null && now.isBefore(lastStart.plus(minInterval)))) {
            return false;
        }
        pending = false;
        lastStart = now;
        return true;
    }

    /**
     * haproxy was (re)started with the newest config: a reload still waiting is moot. (A SIGUSR2 reaching a master that
     * has not installed its handlers yet kills it: HaproxyFaultTest.)
     */
    public synchronized void satisfied() {
        pending = false;
    }

    /** The reload failed: try again, but no sooner than the rate limit allows. */
    public synchronized void failed() {
        pending = true;
    }

    public synchronized boolean isPending() {
        return pending;
    }

    public synchronized Optional<Instant> nextAllowed() {
        if (!pending) {
            return Optional.empty();
        }
        return Optional.of(lastStart == null ? clock.instant() : lastStart.plus(minInterval));
    }

    public synchronized long coalesced() {
        return coalesced;
    }

    public Duration minInterval() {
        return minInterval;
    }
}
