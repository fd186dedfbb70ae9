package haproxylb.statuspage;

import haproxylb.haproxy.MasterCli;
import haproxylb.haproxy.ProcessTable;
import haproxylb.monitoring.HaproxyProbe;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * haproxy as the status page shows it: whether it answers (the health check's probe, with version and uptime) and
 * its process table from the master CLI (master, current workers, old workers still draining after a reload).
 */
public final class HaproxyProcesses {
    private final HaproxyProbe probe;
    private final MasterCli master;

    /** @param master null when there is no master CLI to ask (systemd mode with lb.haproxy.master-socket empty) */
    public HaproxyProcesses(HaproxyProbe probe, MasterCli master) {
        this.probe = probe;
        this.master = master;
    }

    public Map<String, Object> describe() {
        Map<String, Object> haproxy = new LinkedHashMap<>();
        HaproxyProbe.Result result = probe.probe();
        haproxy.put("up", result.up());
        haproxy.put("message", result.message());
        haproxy.put("details", result.details());
        if (master == null) {
            haproxy.put("processesError", "no master CLI configured (lb.haproxy.master-socket)");
            return haproxy;
        }
        try {
            ProcessTable table = master.showProc();
            Map<String, Object> processes = new LinkedHashMap<>();
            processes.put("masterPid", table.masterPid());
            processes.put("reloads", table.reloads());
            processes.put("failedReloads", table.failedReloads());
            processes.put("workers", table.currentWorkers());
            processes.put("oldWorkers", table.oldWorkers());
            haproxy.put("processes", processes);
        } catch (IOException | RuntimeException e) {
            haproxy.put("processesError", "the master CLI did not answer 'show proc': " + e.getMessage());
        }
        return haproxy;
    }
}
