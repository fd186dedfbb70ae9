package haproxylb.cluster;

import haproxylb.common.Settings;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * The lb.cluster.* settings. An empty {@code lb.cluster.zookeeper} means a single node: nothing of the cluster runs.
 *
 * @param zookeeper   ZooKeeper's {@code host:port,...}
 * @param chroot      the znode under which this cluster keeps everything ({@code /haproxy-lb})
 * @param nodeName    this node's name among the members (unique in the cluster)
 * @param authFile    {@code user:password} for ZooKeeper's digest ACLs; empty: znodes are world-readable
 * @param session     ZooKeeper session timeout: how long a dead node stays a member (and leader)
 * @param heartbeat   how often this node publishes its state and retries what ZooKeeper refused
 */
public record ClusterSettings(String zookeeper, String chroot, String nodeName, Optional<Path> authFile,
                             Duration session, Duration heartbeat) {

    public static ClusterSettings from(Settings s) {
        String chroot = s.string("lb.cluster.chroot", "/haproxy-lb");
        if (!chroot.matches("(/[A-Za-z0-9._-]+)+")) {
            throw new IllegalArgumentException("setting lb.cluster.chroot = '" + chroot
                    + "' must be an absolute znode path such as /haproxy-lb");
        }
        String node = s.string("lb.cluster.node-name", "");
        if (node.isEmpty()) {
            node = hostName();
        }
        if (!node.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
            throw new IllegalArgumentException("setting lb.cluster.node-name = '" + node
                    + "' must be letters, digits, '.', '_' or '-' (at most 63)");
        }
        String auth = s.string("lb.cluster.auth-file", "");
        return new ClusterSettings(s.string("lb.cluster.zookeeper", ""), chroot, node,
                auth.isEmpty() ? Optional.empty() : Optional.of(Path.of(auth).toAbsolutePath()),
                Duration.ofMillis(Long.parseLong(s.string("lb.cluster.session-timeout", "15000"))),
                Duration.ofMillis(Long.parseLong(s.string("lb.cluster.heartbeat", "1000"))));
    }

    public boolean enabled() {
        return !zookeeper.isEmpty();
    }

    /** Curator's namespace: the chroot without its leading slash. */
    public String namespace() {
        return chroot.substring(1);
    }

    /**
     * The {@code user:password} of the auth file. Refused unless only its owner can read it, as ssh does with keys:
     * whoever reads it reads every private key the cluster keeps.
     */
    public Optional<String> digestCredentials() throws IOException {
        if (authFile.isEmpty()) {
            return Optional.empty();
        }
        Path file = authFile.get();
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("lb.cluster.auth-file " + file + " is not a regular file");
        }
        Set<PosixFilePermission> modes = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        for (PosixFilePermission p : modes) {
            if (p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")) {
                throw new IOException("lb.cluster.auth-file " + file + " is readable by others (mode "
                        + java.nio.file.attribute.PosixFilePermissions.toString(modes)
                        + "): chmod 600 it, it guards the cluster's private keys");
            }
        }
        String credentials = Files.readString(file).strip();
        if (!credentials.matches("[^:\\s]+:\\S+")) {
            throw new IOException("lb.cluster.auth-file " + file + " line 1: expected user:password");
        }
        return Optional.of(credentials);
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName().split("\\.")[0];
        } catch (IOException e) {
            return "node";
        }
    }
}
