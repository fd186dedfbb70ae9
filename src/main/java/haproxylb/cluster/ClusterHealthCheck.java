package haproxylb.cluster;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.Supplier;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * DOWN while this node refuses a fragment the cluster accepted (version skew: it serves its last good config for it),
 * or while it has been out of sync with ZooKeeper (unreachable, or not yet converged) for longer than
 * lb.health.stale-after: converging after a change takes a moment and is no fault. Readiness only: the node serves.
 */
public final class ClusterHealthCheck extends AbstractHealthCheck {
    private final Supplier<ClusterView> view;
    private final Clock clock;
    private final Duration staleAfter;
    private Instant outOfSyncSince;

    public ClusterHealthCheck(Supplier<ClusterView> view, Clock clock, Duration staleAfter) {
        super("haproxy-lb", "cluster");
        this.view = view;
        this.clock = clock;
        this.staleAfter = staleAfter;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected synchronized void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        ClusterView v = view.get();
        Instant now = clock.instant();
        builder.detail("node", v.node());
        builder.detail("leader", v.leader() == null ? "" : v.leader());
        builder.detail("members", v.members().size());
        builder.detail("inSync", v.inSync());
        v.members().forEach(m -> builder.detail("member." + m.node() + ".liveGeneration", m.liveGeneration()));
        if (!v.skew().isEmpty()) {
            builder.message("this node's haproxy -c refuses " + String.join(", ", v.skew().keySet())
                    + ", which the cluster accepted; it keeps its last good config for them (haproxy version skew?)");
            builder.down();
            return;
        }
        if (v.inSync()) {
            outOfSyncSince = null;
            builder.message("in sync with the cluster (" + v.members().size() + " member(s), leader "
                    + (v.leader() == null ? "none" : v.leader()) + ")");
            builder.up();
            return;
        }
        if (outOfSyncSince == null) {
            outOfSyncSince = now;
        }
        String why = v.problem() == null ? "converging" : v.problem();
        builder.message("not in sync with the cluster since " + outOfSyncSince + ": " + why
                + "; serving the local copy");
        if (Duration.between(outOfSyncSince, now).compareTo(staleAfter) > 0) {
            builder.down();
        } else {
            builder.up();
        }
    }
}
