package haproxylb.app;

import haproxylb.common.Settings;
import org.apache.camel.main.Main;

/**
 * The haproxy-lb daemon. Settings come from {@code <conf dir>/application.properties} (conf dir: system property
 * {@code lb.conf-dir}, default {@code conf}); routes from {@code <routes dir>/*.camel.yaml} ({@code lb.routes-dir},
 * default {@code routes}), both read from disk so an operator can tune them without rebuilding.
 */
public final class HaproxyLb {
    private HaproxyLb() {}

    public static void main(String[] args) throws Exception {
        newMain().run(args);
    }

    public static Main newMain() {
        String confDir = System.getProperty("lb.conf-dir", "conf");
        String routesDir = System.getProperty("lb.routes-dir", "routes");
        // The package scan finds DaemonConfiguration (and any other CamelConfiguration in haproxylb.app).
        Main main = new Main(HaproxyLb.class);
        main.setPropertyPlaceholderLocations("file:" + confDir + "/application.properties");
        main.addInitialProperty("lb.conf-dir", confDir);
        main.addInitialProperty("camel.main.routes-include-pattern", "file:" + routesDir + "/*.camel.yaml");
        return main;
    }
}
