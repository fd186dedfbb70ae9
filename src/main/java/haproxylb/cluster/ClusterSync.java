package haproxylb.cluster;

import java.io.IOException;

/** What the cluster routes call (routes/cluster.camel.yaml); {@link #NONE} on a single node. */
public interface ClusterSync {
    ClusterSync NONE = new ClusterSync() {
        @Override
        public boolean sync() {
            return false;
        }

        @Override
        public boolean retry() {
            return false;
        }
    };

    /** Publishes this node's decisions and takes the cluster's; true when changes were queued for assembly. */
    boolean sync();

    /** The heartbeat's cheaper call: syncs only when something is owed. */
    boolean retry() throws IOException;
}
