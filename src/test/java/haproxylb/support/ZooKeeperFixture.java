package haproxylb.support;

import haproxylb.cluster.ClusterSettings;
import haproxylb.cluster.ZooKeeperConnection;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The cluster tests' fixture, as one JUnit extension for a whole test class (register it on a static field): a scratch
 * directory, Debian's real ZooKeeper on a loopback port (one server per class: its start is a JVM start), and on
 * request Curator clients and cluster nodes on it. Nodes are real daemons in JVMs of their own ({@link ClusterNode}) on
 * 127.0.0.2, .3, ... sharing one HTTP and one HTTPS port; they boot side by side. After the class it stops the nodes
 * (side by side too), closes the clients and ZooKeeper, and deletes the directory, unless a test failed: then it
 * prints the end of every node's log and keeps the directory for a look.
 *
 * <pre>
 * &#64;RegisterExtension
 * static final ZooKeeperFixture zookeeper = new ZooKeeperFixture();
 *
 * &#64;BeforeAll
 * static void start() throws Exception {
 *     nodes = zookeeper.startNodes(3, node -&gt; node);
 * }
 * </pre>
 */
public final class ZooKeeperFixture implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {
    /** Lines of each node's log printed when a test fails. */
    private static final int LOG_TAIL = 150;
    private final List<ClusterNode> nodes = new ArrayList<>();
    private final List<AutoCloseable> opened = new ArrayList<>();
    private Path dir;
    private ZooKeeperServer server;
    private int httpPort;
    private int httpsPort;
    private boolean failed;

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        dir = Files.createTempDirectory("zookeeper-fixture-");
        server = ZooKeeperServer.start(dir.resolve("zookeeper"));
        httpPort = HaproxyProcess.freePort();
        httpsPort = HaproxyProcess.freePort();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        context.getExecutionException().ifPresent(failure -> printLogs(context));
    }

    private void printLogs(ExtensionContext context) {
        failed = true;
        for (ClusterNode n : nodes) {
            System.err.println("last " + LOG_TAIL + " lines of " + n.log() + " for failed " + context.getDisplayName()
                    + ":\n" + tail(n.log()));
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        // A failure outside the tests (the cluster did not come up in @BeforeAll, say) needs the logs as well.
        context.getExecutionException().ifPresent(failure -> printLogs(context));
        Exception first = null;
        try {
            inParallel(nodes, ClusterNode::stop);
        } catch (Exception e) {
            first = e;
        }
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        if (server != null) {
            server.close();
        }
        if (failed) {
            System.err.println("ZooKeeperFixture: kept " + dir + " (node logs, state directories, zookeeper.log)");
        } else {
            deleteTree(dir);
        }
        if (first != null) {
            throw first;
        }
    }

    /** The server, for outages: {@link ZooKeeperServer#stop} and start again keep its port and data. */
    public ZooKeeperServer server() {
        return server;
    }

    public String connectString() {
        return server.connectString();
    }

    /** The class's scratch directory (deleted after the class). */
    public Path dir() {
        return dir;
    }

    /** The HTTP port every node's haproxy listens on, each on its own address (a CA validates HTTP-01 there). */
    public int httpPort() {
        return httpPort;
    }

    /** The HTTPS port every node's haproxy listens on, each on its own address. */
    public int httpsPort() {
        return httpsPort;
    }

    /** Settings for {@link ZooKeeperConnection}: node {@code nodeName} under {@code chroot}, 10 s sessions. */
    public ClusterSettings settings(String chroot, String nodeName, Optional<Path> authFile) {
        return new ClusterSettings(connectString(), chroot, nodeName, authFile, Duration.ofSeconds(10),
                Duration.ofSeconds(1));
    }

    /**
     * A Curator client on {@code chroot}, closed after the class: as the daemon's ({@link ZooKeeperConnection}, no auth
     * file) but quick to give up while ZooKeeper is down (1 s to connect, one retry, where the daemon's waits 3 s and
     * retries twice), for tests of what callers do with that failure rather than of how long it takes
     * (ZooKeeperStorageTest checks that, on the daemon's own client).
     */
    public CuratorFramework client(String chroot) {
        CuratorFramework client = CuratorFrameworkFactory.builder().connectString(connectString())
                .namespace(chroot.substring(1)).sessionTimeoutMs(10_000).connectionTimeoutMs(1000)
                .retryPolicy(new ExponentialBackoffRetry(100, 1, 200)).build();
        client.start();
        return closeAfter(client);
    }

    /** Closes {@code resource} after the class, after the nodes, before ZooKeeper (last opened, first closed). */
    public <T extends AutoCloseable> T closeAfter(T resource) {
        opened.add(resource);
        return resource;
    }

    /**
     * {@code count} nodes, node1 on 127.0.0.2 and so on, each with {@code settings} applied, all started side by side;
     * returns once every one of them serves HTTP. Each has its state under {@code node<i>/state} and its log in
     * {@link ClusterNode#log()}.
     */
    public List<ClusterNode> startNodes(int count, UnaryOperator<ClusterNode> settings) throws Exception {
        List<ClusterNode> started = new ArrayList<>();
        for (int i = nodes.size() + 1; started.size() < count; i++) {
            ClusterNode n = settings.apply(new ClusterNode("node" + i, "127.0.0." + (i + 1),
                    dir.resolve("node" + i + "/state"), httpPort, httpsPort, HaproxyProcess.freePort(),
                    connectString()));
            nodes.add(n);
            started.add(n);
        }
        for (ClusterNode n : started) {
            n.launch();
        }
        // The 60 s a node has to boot alone, for each of them: booting side by side, they share the cores.
        long deadline = System.nanoTime() + Duration.ofSeconds(60L * count).toNanos();
        for (ClusterNode n : started) {
            n.awaitServing(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
        return List.copyOf(started);
    }

    /** Stops {@code stopping} side by side (SIGTERM each, then waits for all): a stop is mostly waiting. */
    public static void stopAll(List<ClusterNode> stopping) throws Exception {
        inParallel(stopping, ClusterNode::stop);
    }

    private interface NodeAction {
        void run(ClusterNode node) throws Exception;
    }

    private static void inParallel(List<ClusterNode> on, NodeAction action) throws Exception {
        List<Thread> threads = new ArrayList<>();
        List<Exception> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (ClusterNode n : on) {
            Thread t = new Thread(() -> {
                try {
                    action.run(n);
                } catch (Exception e) {
                    failures.add(e);
                }
            }, "cluster-" + n.name());
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        if (!failures.isEmpty()) {
            throw failures.get(0);
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
