package haproxylb.app;

import haproxylb.common.Settings;
import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.RuntimeApi;
import haproxylb.monitoring.AcmeFigures;
import haproxylb.monitoring.HaproxyProbe;
import haproxylb.monitoring.Monitored;
import haproxylb.monitoring.MonitoringService;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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
        Monitored daemon = new Monitored(core.clock(), core.layout(), core.status(), core.fragments(),
                core.assembly(), core.reloader(), core.supervisor(), probe,
                certificates == null ? null : certificates::orderAttempts,
                certificates == null ? null : acmeFigures(certificates), core.backlog());
        MonitoringService.install(context, daemon, Duration.ofMillis(s.number("lb.health.stale-after")),
                (int) s.number("lb.health.certificate-min-days"), s.number("lb.health.min-free-space"));
    }

    /** The certificate stage's CA figures as monitoring reads them (monitoring does not depend on certificates). */
    private static AcmeFigures acmeFigures(CertificateMaintenance certificates) {
        return new AcmeFigures() {
            @Override
            public List<Budget> budgets() {
                return certificates.budgets().stream().map(b -> new Budget(b.ca(), b.usage().limit(),
                        b.usage().used(), b.usage().max(), b.usage().freesOneAt())).toList();
            }

            @Override
            public Map<String, Optional<Instant>> caBackoff() {
                return certificates.caBackoff();
            }

            @Override
            public List<Errors> errors() {
                return certificates.errorCounts().stream().map(e -> new Errors(e.ca(), e.type(), e.count())).toList();
            }
        };
    }
}
