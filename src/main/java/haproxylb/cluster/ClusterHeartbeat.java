package haproxylb.cluster;

import java.io.IOException;

/**
 * The cluster-heartbeat route's bean: retries what ZooKeeper refused, publishes this node's member state and refreshes
 * the cluster view. Returns true when changes were queued for assembly.
 */
public class ClusterHeartbeat {
    public static final ClusterHeartbeat NONE = new ClusterHeartbeat(null, null, null);

    private final SharedFragments fragments;
    private final ClusterMembers members;
    private final ClusterMetrics metrics;

    public ClusterHeartbeat(SharedFragments fragments, ClusterMembers members, ClusterMetrics metrics) {
        this.fragments = fragments;
        this.members = members;
        this.metrics = metrics;
    }

    public boolean beat() throws IOException {
        if (fragments == null) {
            return false;
        }
        boolean queued = fragments.retry();
        members.heartbeat();
        metrics.refresh();
        return queued;
    }
}
