package haproxylb.support;

import org.apache.camel.CamelContext;
import org.apache.camel.Navigate;
import org.apache.camel.Processor;
import org.apache.camel.processor.aggregate.AggregateProcessor;

/** The processors a route's YAML made, for tests that check what Camel keeps about them. */
public final class RouteProcessors {
    private RouteProcessors() {}

    /** The route's aggregate step. */
    public static AggregateProcessor aggregator(CamelContext context, String routeId) {
        AggregateProcessor found = find(context.getRoute(routeId).navigate());
        if (found == null) {
            throw new IllegalStateException("route " + routeId + " has no aggregate step");
        }
        return found;
    }

    @SuppressWarnings("unchecked")
    private static AggregateProcessor find(Navigate<Processor> node) {
        if (node == null || !node.hasNext()) {
            return null;
        }
        for (Processor p : node.next()) {
            if (p instanceof AggregateProcessor a) {
                return a;
            }
            if (p instanceof Navigate<?> n) {
                AggregateProcessor found = find((Navigate<Processor>) n);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }
}
