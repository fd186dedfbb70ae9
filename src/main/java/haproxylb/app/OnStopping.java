package haproxylb.app;

import org.apache.camel.CamelContext;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;

/**
 * Runs code when the daemon starts to stop, before Camel's graceful shut-down waits for the routes' running exchanges:
 * work that is waiting or looping can end at once instead of holding the stop up to its timeout.
 */
final class OnStopping {
    private OnStopping() {}

    static void run(CamelContext context, Runnable action) {
        context.getManagementStrategy().addEventNotifier(new EventNotifierSupport() {
            @Override
            public void notify(CamelEvent event) {
                action.run();
            }

            @Override
            public boolean isEnabled(CamelEvent event) {
                return event.getType() == CamelEvent.Type.CamelContextStopping;
            }
        });
    }
}
