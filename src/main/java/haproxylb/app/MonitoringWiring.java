package haproxylb.app;

import haproxylb.common.Settings;
import haproxylb.certificates.CertificateMaintenance;
import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.RuntimeApi;
import haproxylb.monitoring.HaproxyProbe;
import haproxylb.monitoring.Monitored;
import haproxylb.monitoring.MonitoringService;

import java.nio.file.Path;
import java.time.Duration;

import org.apache.camel.CamelContext;

/** Health checks, metrics and the daemon's own MBeans: how operators watch haproxy-lb. */
final class MonitoringWiring {
    /** A health probe must not hang on a wedged haproxy: its socket gets this long to answer. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private MonitoringWiring() {}

    static void configure(CamelContext context, Core core) {
        Settings s = core.settings();
        Path statsSocket = s.path("lb.haproxy.stats-socket");
        HaproxyProbe probe = new HaproxyProbe(core.supervisor(),
                new RuntimeApi(new HaproxySocket(statsSocket, PROBE_TIMEOUT)), statsSocket);
        CertificateMaintenance certificates = context.getRegistry()
                .lookupByNameAndType("certificateMaintenance", CertificateMaintenance.class);
        Monitored daemon = new Monitored(core.clock(), core.stateDir(), core.status(), core.fragments(),
                core.assembly(), core.reloader(), core.supervisor(), probe,
                certificates == null ? null : certificates::orderAttempts);
        MonitoringService.install(context, daemon, Duration.ofMillis(s.number("lb.health.stale-after")),
                (int) s.number("lb.health.certificate-min-days"), s.number("lb.health.min-free-space"));
    }
}
