package haproxylb.haproxy;

import haproxylb.status.OldWorkers;
import haproxylb.status.StatusBoard;

import java.io.IOException;

/**
 * Called by the haproxy-processes route: counts haproxy's old workers (still draining after a reload) and the
 * connections they hold, from the master CLI ({@code show proc}, then {@code @!PID show info} for each), into the
 * status. A reload a minute with long-lived connections would pile them up without lb.haproxy.max-old-reloads.
 */
public class OldWorkerSampler {
    /** systemd mode without a master socket (lb.haproxy.master-socket empty): nothing to ask. */
    public static final OldWorkerSampler NONE = new OldWorkerSampler(null, null) {
        @Override
        public void sample() {
            // no master CLI
        }
    };

    private final MasterCli master;
    private final StatusBoard status;

    public OldWorkerSampler(MasterCli master, StatusBoard status) {
        this.master = master;
        this.status = status;
    }

    public void sample() {
        ProcessTable table;
        try {
            table = master.showProc();
        } catch (IOException | RuntimeException e) {
            return; // not running, or re-executing for a reload: the next tick sees it
        }
        long connections = 0;
        int answering = 0;
        for (ProcessTable.Worker old : table.oldWorkers()) {
            try {
                connections += currConns(master.processCommand(old.pid(), "show info"));
                answering++;
            } catch (IOException | RuntimeException e) {
                // it exited between the two commands: it holds nothing any more
            }
        }
        status.oldWorkers(new OldWorkers(answering, connections));
    }

    static long currConns(String showInfo) {
        return showInfo.lines().filter(l -> l.startsWith("CurrConns:"))
                .mapToLong(l -> Long.parseLong(l.substring("CurrConns:".length()).strip())).findFirst().orElse(0);
    }
}
