package haproxylb.monitoring;

import haproxylb.status.FragmentStatus;
import haproxylb.status.ReloadStatus;
import haproxylb.status.Status;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;
import java.util.Optional;

/**
 * Is what haproxy runs as new as what operators asked for? Two ways to fall behind:
 * <ul>
 *   <li>a change accepted at intake waits for assembly longer than {@code staleAfter} (assembly is batched every
 *       few hundred ms, so this means the assembly stage is stuck or failing);</li>
 *   <li>an assembled config generation is not live after {@code minInterval + staleAfter}: the rate limit alone
 *       delays a reload by at most {@code minInterval}, so this means reloads fail or haproxy is down.</li>
 * </ul>
 */
public final class ConfigFreshness {
    private final Duration minInterval;
    private final Duration staleAfter;
    private long behindGeneration = -1;
    private Instant behindSince;

    public ConfigFreshness(Duration minInterval, Duration staleAfter) {
        this.minInterval = Objects.requireNonNull(minInterval);
        this.staleAfter = Objects.requireNonNull(staleAfter);
    }

    public record Verdict(boolean fresh, String message) {}

    public synchronized Verdict evaluate(Instant now, Status status, int pendingCount, Optional<Instant> oldestPending) {
        if (oldestPending.isPresent() && Duration.between(oldestPending.get(), now).compareTo(staleAfter) > 0) {
            return new Verdict(false, pendingCount + " change(s) accepted at intake have waited for assembly since "
                    + oldestPending.get() + ", longer than lb.health.stale-after (" + staleAfter.toMillis()
                    + " ms): the assembly stage is stuck or failing; its errors are in the daemon's log (route"
                    + " 'assembly').");
        }
        if (status.configGeneration() <= status.liveGeneration()) {
            behindGeneration = -1;
            behindSince = null;
            return new Verdict(true, "haproxy runs the newest config (generation " + status.liveGeneration() + ")"
                    + (pendingCount > 0 ? "; " + pendingCount + " change(s) waiting for assembly" : ""));
        }
        Instant since = assembledSince(status).orElseGet(() -> {
            // No fragment says when (a template change at start-up, say): count from when this was first seen.
            if (behindGeneration != status.liveGeneration() || behindSince == null) {
                behindGeneration = status.liveGeneration();
                behindSince = now;
            }
            return behindSince;
        });
        Duration allowed = minInterval.plus(staleAfter);
        Duration behind = Duration.between(since, now);
        String what = "config generation " + status.configGeneration() + " (assembled " + since + ")";
        if (behind.compareTo(allowed) <= 0) {
            return new Verdict(true, what + " waits for its reload"
                    + (status.nextReloadAt() != null ? ", due at " + status.nextReloadAt() : ""));
        }
        return new Verdict(false, what + " is still not live after " + behind.toSeconds() + " s (haproxy runs"
                + " generation " + status.liveGeneration() + "; allowed: lb.reload.min-interval + lb.health.stale-after"
                + " = " + allowed.toMillis() + " ms). " + lastReload(status.lastReload()));
    }

    /** When the oldest change that is not live yet was assembled. */
    private static Optional<Instant> assembledSince(Status status) {
        return status.fragments().values().stream()
                .filter(f -> f.generation() > status.liveGeneration())
                .filter(f -> "assembled".equals(f.state()) || "removed".equals(f.state()))
                .map(FragmentStatus::updatedAt)
                .map(ConfigFreshness::instant)
                .flatMap(Optional::stream)
                .min(Instant::compareTo);
    }

    private static String lastReload(ReloadStatus r) {
        if (r == null) {
            return "No reload was attempted yet.";
        }
        return "Last reload at " + r.at() + (r.ok() ? " succeeded." : " failed: " + r.message());
    }

    private static Optional<Instant> instant(String s) {
        try {
            return s == null ? Optional.empty() : Optional.of(Instant.parse(s));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
