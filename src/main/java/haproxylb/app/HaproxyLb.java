package haproxylb.app;

import haproxylb.certificates.store.FallbackCertificate;
import haproxylb.common.SettingsFile;
import haproxylb.common.StateDirLock;
import haproxylb.common.StateLayout;
import haproxylb.haproxy.HaproxySupervisor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import haproxylb.common.Settings;
import org.apache.camel.main.Main;

/**
 * The haproxy-lb daemon. Settings come from {@code <conf dir>/application.properties} (conf dir: system property
 * {@code lb.conf-dir}, default {@code conf}); routes from {@code <routes dir>/*.camel.yaml} ({@code lb.routes-dir},
 * default {@code routes}), both read from disk so an operator can tune them without rebuilding.
 */
public final class HaproxyLb {
    private HaproxyLb() {}

    /** The supervisor of a haproxy started before Camel, in the registry for DaemonConfiguration to take over. */
    static final String EARLY_HAPROXY = "earlyHaproxy";
    private static final Logger LOG = LoggerFactory.getLogger(HaproxyLb.class);

    public static void main(String[] args) throws Exception {
        Optional<HaproxySupervisor> early = Optional.empty();
        try {
            SettingsFile file = new SettingsFile(Path.of(System.getProperty("lb.conf-dir", "conf")), System.getenv());
            early = beforeCamel(new Settings(file::get)); // before Camel's classes are even loaded
        } catch (StateDirLock.Held e) {
            LOG.error("Not started: {}", e.getMessage());
            System.exit(1);
        } catch (Exception e) {
            LOG.warn("haproxy starts after the daemon's start-up instead of before it: {}", e.toString());
        }
        Main main = newMain();
        early.ifPresent(supervisor -> main.bind(EARLY_HAPROXY, supervisor));
        main.run(args);
    }

    /**
     * What the launcher does before Camel boots: a second daemon on a state directory another one holds stops here,
     * before it starts a haproxy of its own on the same ports; then haproxy starts from the last good config. The
     * lock itself is taken by DaemonConfiguration while haproxy already serves: its JNA load would delay haproxy.
     *
     * @throws StateDirLock.Held when another daemon runs on the state directory
     */
    public static void beforeCamel(Main main, Settings s) {
        beforeCamel(s).ifPresent(supervisor -> main.bind(EARLY_HAPROXY, supervisor));
    }

    private static Optional<HaproxySupervisor> beforeCamel(Settings s) {
        Path state = StateLayout.of(s).root();
        if (StateDirLock.probe(state) == StateDirLock.Presence.RUNNING) {
            throw StateDirLock.held(state);
        }
        return startHaproxyEarly(s);
    }

    /**
     * Supervise mode: haproxy starts from the last good config on disk first, so the edge serves within a second of
     * start-up (issue 11) while Camel boots (seconds); the daemon then takes this haproxy over, re-assembles and
     * reloads it if anything changed. Anything unexpected here only means the usual start, after Camel.
     */
    static Optional<HaproxySupervisor> startHaproxyEarly(Settings s) {
        try {
            if (!s.superviseMode() || !s.flag("lb.haproxy.start-early")
                    || !Files.isRegularFile(s.path("lb.haproxy.config"))
                    // The constant, not FallbackCertificate.path(): loading that class would load BouncyCastle,
                    // whose signed jars the JVM verifies for seconds under load (bench/fast-start.sh).
                    || !Files.isRegularFile(s.path("lb.haproxy.cert-dir").resolve(FallbackCertificate.FILE_NAME))) {
                return Optional.empty();
            }
            HaproxySupervisor supervisor = HaproxySupervisor.forSettings(s);
            // Stopped with the JVM even when it stops before Camel has taken haproxy over (the daemon stops it
            // otherwise; a second close does nothing).
            Runtime.getRuntime().addShutdownHook(new Thread(supervisor::close, "early-haproxy-stop"));
            supervisor.ensureRunning();
            return Optional.of(supervisor);
        } catch (Exception | LinkageError e) {
            LOG.warn("haproxy starts after the daemon's start-up instead of before it: {}", e.toString());
            return Optional.empty();
        }
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
