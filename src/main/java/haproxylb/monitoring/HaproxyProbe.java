package haproxylb.monitoring;

import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.haproxy.RuntimeApi;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Is haproxy there? In supervise mode the master this daemon started must be alive; in both modes the admin stats
 * socket must answer {@code show info} (a direct UNIX-socket round trip, well under a millisecond when healthy).
 */
public final class HaproxyProbe {
    private final HaproxySupervisor supervisor;
    private final RuntimeApi statsSocket;
    private final Path statsSocketPath;

    /** @param supervisor null in systemd mode */
    public HaproxyProbe(HaproxySupervisor supervisor, RuntimeApi statsSocket, Path statsSocketPath) {
        this.supervisor = supervisor;
        this.statsSocket = statsSocket;
        this.statsSocketPath = statsSocketPath;
    }

    public record Result(boolean up, String message, Map<String, Object> details) {}

    private record Timed(Result result, long atNanos) {}

    private volatile Timed last;

    /**
     * A probe at most {@code maxAge} old, made by {@link #probe()} (which every caller gets fresh): a gauge read
     * right after another in one metrics scrape (dropped logs after up) shares that round trip.
     */
    public Result recent(Duration maxAge) {
        Timed t = last;
        return t != null && System.nanoTime() - t.atNanos() < maxAge.toNanos() ? t.result() : probe();
    }

    public Result probe() {
        long at = System.nanoTime();
        Result r = probeNow();
        last = new Timed(r, at);
        return r;
    }

    private Result probeNow() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("mode", supervisor != null ? "supervise" : "systemd");
        details.put("stats.socket", statsSocketPath.toString());
        if (supervisor != null) {
            details.put("starts", supervisor.starts());
            supervisor.masterPid().ifPresent(pid -> details.put("master.pid", pid));
            details.put("log", supervisor.masterSocket().resolveSibling("haproxy.log").toString());
            if (!supervisor.isRunning()) {
                return new Result(false, "haproxy is not running: the watchdog starts it again within"
                        + " lb.haproxy.watchdog ms; why it stopped is in its log (haproxy.log in the run directory)",
                        details);
            }
        }
        String info;
        try {
            info = statsSocket.showInfo();
        } catch (IOException | RuntimeException e) {
            return new Result(false, "haproxy does not answer 'show info' on its stats socket " + statsSocketPath
                    + ": " + e.getMessage() + (supervisor != null ? "" : " (is haproxy.service running?"
                    + " systemctl status haproxy; setting lb.haproxy.stats-socket)"), details);
        }
        info.lines().forEach(line -> {
            int colon = line.indexOf(':');
            if (colon > 0) {
                String key = line.substring(0, colon);
                // DroppedLogs: log lines this worker could not write (its log target was full), since it started
                if (key.equals("Version") || key.equals("Uptime") || key.equals("Pid")
                        || key.equals("CurrConns") || key.equals("DroppedLogs")) {
                    details.put(key.toLowerCase(), line.substring(colon + 1).strip());
                }
            }
        });
        // Paths stay in the details: Camel's health JSON escapes the slashes of a message twice.
        return new Result(true, "haproxy " + details.getOrDefault("version", "") + " answers on its stats socket",
                details);
    }
}
