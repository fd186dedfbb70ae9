package haproxylb.monitoring;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * DOWN while the live config lags behind the operators' changes for too long (see {@link ConfigFreshness}).
 * Readiness only: restarting the daemon would not fix it.
 */
public final class ConfigFreshnessHealthCheck extends AbstractHealthCheck {
    private final Monitored daemon;
    private final ConfigFreshness freshness;

    public ConfigFreshnessHealthCheck(Monitored daemon, ConfigFreshness freshness) {
        super("haproxy-lb", "config-freshness");
        this.daemon = daemon;
        this.freshness = freshness;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Monitored.PendingChanges pending = daemon.pendingChanges();
        var status = daemon.status().snapshot();
        String fault = daemon.assembly().fault();
        if (fault != null) {
            // Not after lb.health.stale-after: a held assembly is known to be stuck the moment it happens.
            builder.message("changes are held: " + fault).detail("pending.changes", pending.count()).down();
            return;
        }
        ConfigFreshness.Verdict v = freshness.evaluate(daemon.clock().instant(), status, pending.count(),
                pending.oldest());
        builder.message(v.message())
                .detail("config.generation", status.configGeneration())
                .detail("live.generation", status.liveGeneration())
                .detail("pending.changes", pending.count());
        if (v.fresh()) {
            builder.up();
        } else {
            builder.down();
        }
    }
}
