package haproxylb.monitoring;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * DOWN while haproxy is not running (supervise mode) or its stats socket does not answer {@code show info}. A
 * liveness check as well as a readiness check: a balancer without its haproxy is not alive. (The other two checks,
 * config freshness and certificates, are readiness checks only, Camel's default: restarting the daemon would not
 * fix them.)
 */
public final class HaproxyHealthCheck extends AbstractHealthCheck {
    private final HaproxyProbe probe;

    public HaproxyHealthCheck(HaproxyProbe probe) {
        super("haproxy-lb", "haproxy");
        this.probe = probe;
    }

    @Override
    public boolean isLiveness() {
        return true;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        HaproxyProbe.Result r = probe.probe();
        builder.message(r.message()).details(r.details());
        if (r.up()) {
            builder.up();
        } else {
            builder.down();
        }
    }
}
