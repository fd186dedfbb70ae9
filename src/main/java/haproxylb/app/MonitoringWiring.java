package haproxylb.app;

import org.apache.camel.CamelContext;

/** Health checks, metrics and the daemon's own MBeans: how operators watch haproxy-lb. */
final class MonitoringWiring {
    private MonitoringWiring() {}

    static void configure(CamelContext context, Core core) {
        // Filled in by the operations issue.
    }
}
