package haproxylb.cluster;

import java.io.IOException;

/**
 * The cluster-heartbeat route's bean: retries what ZooKeeper refused, publishes this node's member state and refreshes
 * the cluster view. Returns true when changes were queued for assembly.
 */
public class ClusterHeartbeat {
    public static final ClusterHeartbeat NONE = new ClusterHeartbeat(null, null, null, null);
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ClusterHeartbeat.class);

    private final SharedFragments fragments;
    private final ClusterMembers members;
    private final ClusterMetrics metrics;
    private final SharedCertificates certificates;

    public ClusterHeartbeat(SharedFragments fragments, ClusterMembers members, ClusterMetrics metrics,
                            SharedCertificates certificates) {
        this.fragments = fragments;
        this.certificates = certificates;
        this.members = members;
        this.metrics = metrics;
    }

    public boolean beat() throws IOException {
        if (fragments == null) {
            return false;
        }
        boolean queued = fragments.retry();
        ClusterView view = members.heartbeat();
        if (view.problem() == null) {
            try {
                certificates.syncIfChanged();
            } catch (IOException e) {
                LOG.warn("Certificates not synced with the cluster (retried next heartbeat): {}", e.getMessage());
            }
        }
        metrics.refresh();
        return queued;
    }
}
