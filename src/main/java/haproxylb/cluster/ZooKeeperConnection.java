package haproxylb.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's one Curator client: connection string, chroot (Curator's namespace) and, with an auth file, digest
 * authentication plus creator-only ACLs on every znode it creates, so no other ZooKeeper user reads the fragments or
 * the private keys. Camel's cluster service shares this client (one session per node).
 */
public final class ZooKeeperConnection {
    private static final Logger LOG = LoggerFactory.getLogger(ZooKeeperConnection.class);
    /** A call on an unreachable ZooKeeper fails after about this long (the routes retry on the next heartbeat). */
    private static final int CONNECTION_TIMEOUT_MS = 3000;

    private ZooKeeperConnection() {}

    public static CuratorFramework open(ClusterSettings settings) throws IOException {
        Optional<String> credentials = settings.digestCredentials();
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder()
                .connectString(settings.zookeeper())
                .namespace(settings.namespace())
                .sessionTimeoutMs((int) settings.session().toMillis())
                .connectionTimeoutMs(CONNECTION_TIMEOUT_MS)
                .retryPolicy(new ExponentialBackoffRetry(100, 2, 1000));
        if (credentials.isPresent()) {
            builder.authorization("digest", credentials.get().getBytes(StandardCharsets.UTF_8))
                    .aclProvider(new CreatorOnly());
        } else {
            LOG.warn("lb.cluster.auth-file is not set: the cluster's znodes under {} are readable and writable by every"
                    + " ZooKeeper client (set it on every node to protect fragments and keys)", settings.chroot());
        }
        CuratorFramework client = builder.build();
        client.start();
        return client;
    }

    /** Every znode: all rights for the digest identity that created it, none for anyone else. */
    private static final class CreatorOnly implements ACLProvider {
        @Override
        public List<ACL> getDefaultAcl() {
            return ZooDefs.Ids.CREATOR_ALL_ACL;
        }

        @Override
        public List<ACL> getAclForPath(String path) {
            return ZooDefs.Ids.CREATOR_ALL_ACL;
        }
    }
}
