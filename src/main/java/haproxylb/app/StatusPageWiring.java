package haproxylb.app;

import haproxylb.common.Settings;
import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.MasterCli;
import haproxylb.haproxy.RuntimeApi;
import haproxylb.monitoring.HaproxyProbe;
import haproxylb.statuspage.HaproxyProcesses;
import haproxylb.statuspage.ReloadHistory;
import haproxylb.statuspage.StatusPage;
import haproxylb.statuspage.StatusPageData;

import java.nio.file.Path;
import java.time.Duration;

import org.apache.camel.CamelContext;

/** The status page on the management port (lb.status-page.enabled). */
final class StatusPageWiring {
    /** The page must not hang on a wedged haproxy: its sockets get this long to answer. */
    private static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(2);

    private StatusPageWiring() {}

    static void configure(CamelContext context, Core core) throws Exception {
        Settings s = core.settings();
        // Defaults here too: a settings file from an older install (a kept conffile) has neither key.
        if (s.string("lb.status-page.enabled", "true").equals("false")) {
            return;
        }
        Path statsSocket = s.path("lb.haproxy.stats-socket");
        HaproxyProbe probe = new HaproxyProbe(core.supervisor(),
                new RuntimeApi(new HaproxySocket(statsSocket, SOCKET_TIMEOUT)), statsSocket);
        String masterSocket = core.supervisor() != null ? core.supervisor().masterSocket().toString()
                : s.string("lb.haproxy.master-socket", "");
        MasterCli master = masterSocket.isBlank() ? null
                : new MasterCli(new HaproxySocket(Path.of(masterSocket), SOCKET_TIMEOUT));
        ReloadHistory reloads = new ReloadHistory(core.clock(),
                Duration.ofHours(reloadHours(s)));
        StatusPageData data = new StatusPageData(core.clock(), core.status(), core.fragments(), reloads,
                new HaproxyProcesses(probe, master), core.reloader().gate().minInterval().toMillis());
        StatusPage.install(context, data, reloads, () -> core.status().snapshot().lastReload());
    }

    private static long reloadHours(Settings s) {
        String v = s.string("lb.status-page.reload-hours", "6");
        try {
            long hours = Long.parseLong(v);
            if (hours > 0) {
                return hours;
            }
        } catch (NumberFormatException e) {
            // reported below, with the setting's name
        }
        throw new IllegalArgumentException("setting lb.status-page.reload-hours = '" + v + "' is not a whole number of hours above 0");
    }
}
