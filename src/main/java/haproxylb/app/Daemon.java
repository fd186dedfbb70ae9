package haproxylb.app;

import haproxylb.assembly.AssemblyService;
import haproxylb.common.AtomicFiles;
import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.haproxy.Reloader;

import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start-up and shut-down around the routes. Before any route consumes a file: make sure haproxy has a certificate
 * to start with, re-assemble from what is on disk (so a crash or restart loses nothing), and in supervise mode
 * start haproxy. On shut-down, stop the haproxy this daemon started.
 */
public final class Daemon extends ServiceSupport {
    /** haproxy refuses to start with an empty certificate directory; this puts a self-signed one there. */
    @FunctionalInterface
    public interface FallbackCertificateMaker {
        void ensure(Path certDir) throws Exception;
    }

    private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);

    private final Path certDir;
    private final FallbackCertificateMaker fallback;
    private final AssemblyService assembly;
    private final Reloader reloader;
    private final HaproxySupervisor supervisor;

    /** @param supervisor null in systemd mode */
    public Daemon(Path certDir, FallbackCertificateMaker fallback, AssemblyService assembly, Reloader reloader, HaproxySupervisor supervisor) {
        this.certDir = certDir;
        this.fallback = fallback;
        this.assembly = assembly;
        this.reloader = reloader;
        this.supervisor = supervisor;
    }

    @Override
    protected void doStart() throws Exception {
        AtomicFiles.createDirectories(certDir);
        fallback.ensure(certDir);
        // Started before Camel (HaproxyLb.main), from the config on disk: that config is live.
        boolean startedEarly = supervisor != null && supervisor.isRunning();
        if (startedEarly) {
            reloader.started();
        }
        boolean changed = assembly.assemble();
        if (supervisor != null) {
            watchdog();
            if (startedEarly && changed) {
                reloader.request();
            }
        } else if (changed || reloader.owed()) {
            // Also when a previous run assembled a config and stopped (or was killed) before haproxy reloaded it.
            reloader.request();
        }
        LOG.info("haproxy-lb started: config {} ({})", assembly.liveConfig(),
                supervisor != null ? "supervise mode" : "systemd mode");
    }

    /** Called at start-up and by the watchdog route: (re)start a supervised haproxy that is not running. */
    public void watchdog() throws Exception {
        if (supervisor == null || supervisor.isRunning()) {
            return;
        }
        supervisor.ensureRunning();
        if (supervisor.isRunning()) {
            // A freshly started haproxy reads the newest config from disk: no reload is owed any more.
            reloader.started();
        }
    }

    @Override
    protected void doStop() {
        if (supervisor != null) {
            supervisor.close();
        }
    }
}
