package haproxylb.haproxy;

import haproxylb.status.ReloadFacts;
import haproxylb.status.ReloadStatus;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The reload stage's state, and its only owner: the config generations (written, and loaded by haproxy), the pending
 * reload, the coalesced count and when the next reload may run. Status, metrics and the CLI all read these facts from
 * here ({@link #facts()}), so they cannot disagree.
 *
 * <p>Rate limit: a reload drops idle keep-alive connections and costs up to a second on big configs
 * (../shared/BASELINE.md), so there is at most one per {@code minInterval}; but the first change after a quiet period
 * goes live at once, and every change inside the interval coalesces into one trailing reload.
 */
public final class ReloadGate {
    private final Clock clock;
    private final Duration minInterval;
    private Instant lastStart;
    private boolean pending;
    private long coalesced;
    private long configGeneration;
    private long liveGeneration;
    private long reloads;
    private ReloadStatus lastReload;

    public ReloadGate(Clock clock, Duration minInterval) {
        this(clock, minInterval, ReloadFacts.NONE);
    }

    /**
     * @param restored the facts of the previous run (status.json, corrected against the store: {@code
     *                 StatusBoard.restore}); a reload it owed is requested at start-up ({@link #owed()})
     */
    public ReloadGate(Clock clock, Duration minInterval, ReloadFacts restored) {
        this.clock = clock;
        this.minInterval = minInterval;
        this.configGeneration = restored.configGeneration();
        this.liveGeneration = restored.liveGeneration();
        this.reloads = restored.reloads();
        this.coalesced = restored.reloadsCoalesced();
        this.lastReload = restored.lastReload();
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

    /** True exactly once per permitted reload: the caller must then reload and report via reloaded. */
    public synchronized boolean claim() {
        Instant now = clock.instant();
        if (!pending || (lastStart != null && now.isBefore(lastStart.plus(minInterval)))) {
            return false;
        }
        pending = false;
        lastStart = now;
        return true;
    }

    /** A new haproxy.cfg or map was written: its generation, which a reload (or the runtime API) makes live. */
    public synchronized long assembled() {
        return ++configGeneration;
    }

    public synchronized long configGeneration() {
        return configGeneration;
    }

    /** A validated config on disk that haproxy has not (confirmed to have) loaded. */
    public synchronized boolean owed() {
        return configGeneration > liveGeneration;
    }

    /** A map-only change reached the running haproxy through its runtime API: live without a reload. */
    public synchronized void liveWithoutReload(long generation) {
        liveGeneration = Math.max(liveGeneration, generation);
    }

    /**
     * The outcome of a claimed reload. A failed one is tried again, but no sooner than the rate limit allows.
     */
    public synchronized void reloaded(long generation, boolean ok, String message) {
        lastReload = new ReloadStatus(clock.instant().toString(), ok, generation, message);
        if (ok) {
            reloads++;
            liveGeneration = Math.max(liveGeneration, generation);
        } else {
            pending = true;
        }
    }

    /**
     * haproxy was (re)started with the newest config: it is all live, and a reload still waiting is moot. (A SIGUSR2
     * reaching a master that has not installed its handlers yet kills it: HaproxyFaultTest.)
     */
    public synchronized void started(String message) {
        pending = false;
        reloaded(configGeneration, true, message);
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

    /** A copy of everything above, for status.json. */
    public synchronized ReloadFacts facts() {
        return new ReloadFacts(configGeneration, liveGeneration, pending, nextAllowed().orElse(null), reloads,
                coalesced, lastReload);
    }
}
