package haproxylb.it;

import haproxylb.cluster.ClusterView;
import haproxylb.cluster.MemberState;
import haproxylb.common.AtomicFiles;
import haproxylb.support.ClusterNode;
import haproxylb.support.EdgeClient;
import haproxylb.support.FaultTools;
import haproxylb.support.TestCertificates;
import haproxylb.support.TestBackend;
import haproxylb.support.ZooKeeperFixture;
import haproxylb.support.ZooKeeperServer;

import com.sun.tools.attach.VirtualMachine;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.TabularData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

import static haproxylb.support.ClusterNode.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three nodes, one truth: real ZooKeeper (Debian's server), three daemons in JVMs of their own, each with its own
 * state directory and its own haproxy on 127.0.0.2, .3 and .4 (same ports). The nodes stay up across the tests,
 * which run in order and use fragment names of their own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterTest {
    private static final Duration LIMIT = Duration.ofSeconds(40);
    @RegisterExtension
    static final ZooKeeperFixture cluster = new ZooKeeperFixture();
    private Path dir;
    private ZooKeeperServer zookeeper;
    private TestBackend backend;
    private TestBackend other;
    private List<ClusterNode> nodes;
    private int https;

    @BeforeAll
    void startCluster() throws Exception {
        dir = cluster.dir();
        zookeeper = cluster.server();
        backend = cluster.closeAfter(new TestBackend("hello from the cluster"));
        other = cluster.closeAfter(new TestBackend("second version"));
        https = cluster.httpsPort();
        // node3's haproxy plays an older version that does not know a directive the others accept (version skew).
        Path olderHaproxy = dir.resolve("older-haproxy");
        Files.writeString(olderHaproxy, """
                #!/bin/sh
                # haproxy, except that -c refuses a config using X-Newer-Directive, as an older haproxy would
                if [ "$1" = "-c" ] && grep -q X-Newer-Directive "$3"; then
                    echo "[ALERT]    (1) : config : parsing [$3:1] : unknown keyword 'X-Newer-Directive'" >&2
                    exit 1
                fi
                exec haproxy "$@"
                """);
        Files.setPosixFilePermissions(olderHaproxy, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        nodes = cluster.startNodes(3,
                n -> n.name().equals("node3") ? n.with("lb.haproxy.binary", olderHaproxy.toString()) : n);
        await("all three members to see each other", LIMIT, () -> nodes.stream().allMatch(n -> members(n).size() == 3));
    }

    private static Set<String> members(ClusterNode n) {
        return n.cluster().map(v -> v.members().stream().map(MemberState::node).collect(Collectors.toSet()))
                .orElse(Set.of());
    }

    private static String cfg(String backendName, int port) {
        return "backend " + backendName + "\n    server s1 127.0.0.1:" + port + "\n";
    }

    private void awaitAllServe(String host, String body) {
        for (ClusterNode n : nodes) {
            await(n.name() + " (" + n.address() + ") to serve " + host, LIMIT, () -> n.serves(host, body));
        }
    }

    private void awaitAllInSync() {
        for (ClusterNode n : nodes) {
            await(n.name() + " to report itself in sync", LIMIT,
                    () -> n.cluster().map(ClusterView::inSync).orElse(false));
        }
    }

    @Test
    @Order(1)
    void a_fragment_applied_on_node_1_is_served_by_nodes_2_and_3() throws Exception {
        nodes.get(0).drop("shop", cfg("be_shop", backend.port()), "shop.cluster.test be_shop\n");
        awaitAllServe("shop.cluster.test", "hello from the cluster");
        for (ClusterNode n : nodes) {
            await(n.name() + " to show shop live", LIMIT,
                    () -> n.fragment("shop").map(f -> f.state().equals("live")).orElse(false));
        }
        String id = nodes.get(0).fragment("shop").orElseThrow().id();
        for (ClusterNode n : nodes) {
            assertEquals(id, n.fragment("shop").orElseThrow().id(), n.name() + " runs the same version");
        }
        awaitAllInSync();
        ClusterView view = nodes.get(1).cluster().orElseThrow();
        assertEquals(Set.of("node1", "node2", "node3"), members(nodes.get(1)));
        assertTrue(view.leader() != null && view.leader().startsWith("node"), "a leader is elected: " + view);
        for (ClusterNode n : nodes) {
            assertEquals(view.leader(), n.cluster().orElseThrow().leader(), "every node names the same leader");
        }
        ClusterNode second = nodes.get(1);
        String health = second.management("/observe/health?exposureLevel=full");
        assertTrue(health.contains("in sync with the cluster (3 member(s), leader " + view.leader() + ")"), health);
        // The per-member rows are refreshed by the heartbeat after the member count: a scrape may fall in between.
        await("node2's metrics to have a row for every member", LIMIT, () -> second.management("/observe/metrics")
                .contains("haproxylb_cluster_member_live_generation{node=\"node3\"}"));
        String metrics = second.management("/observe/metrics");
        assertTrue(metrics.contains("haproxylb_cluster_members 3.0"), metrics);
        assertTrue(metrics.contains("haproxylb_cluster_in_sync 1.0"), metrics);
        assertTrue(metrics.contains("haproxylb_cluster_member_live_generation{node=\"node3\"}"), metrics);
        assertTrue(metrics.contains("haproxylb_cluster_leader " + (view.leader().equals("node2") ? "1.0" : "0.0")),
                metrics);
        try (JMXConnector jmx = jmx(second)) {
            MBeanServerConnection mbeans = jmx.getMBeanServerConnection();
            ObjectName daemon = new ObjectName("haproxylb:type=Daemon");
            assertEquals("node2", mbeans.getAttribute(daemon, "ClusterNode"));
            assertEquals(view.leader(), mbeans.getAttribute(daemon, "ClusterLeader"));
            assertEquals(true, mbeans.getAttribute(daemon, "ClusterInSync"));
            TabularData generations = (TabularData) mbeans.getAttribute(daemon, "ClusterMemberLiveGenerations");
            assertEquals(3, generations.size(), generations.toString());
            assertEquals(second.cluster().orElseThrow().members().get(2).liveGeneration(),
                    generations.get(new Object[] {"node3"}).get("value"));
        }
    }

    /** The node's own JMX agent, started through the JDK's attach API (no port of its own to configure). */
    private static JMXConnector jmx(ClusterNode n) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(Long.toString(n.pid()));
        try {
            return JMXConnectorFactory.connect(new JMXServiceURL(vm.startLocalManagementAgent()));
        } finally {
            vm.detach();
        }
    }

    @Test
    @Order(2)
    void a_replacement_on_node_2_and_a_removal_on_node_3_reach_every_node() throws Exception {
        nodes.get(1).drop("shop", cfg("be_shop", other.port()), "shop.cluster.test be_shop\n");
        awaitAllServe("shop.cluster.test", "second version");
        nodes.get(2).drop("gone", cfg("be_gone", backend.port()), "gone.cluster.test be_gone\n");
        awaitAllServe("gone.cluster.test", "hello from the cluster");
        nodes.get(2).dropRemoval("gone");
        for (ClusterNode n : nodes) {
            await(n.name() + " to stop serving gone.cluster.test", LIMIT, () -> n.httpsStatus("gone.cluster.test") == 404);
        }
        awaitAllInSync();
    }

    @Test
    @Order(3)
    void a_bad_fragment_is_rejected_once_with_the_same_error_everywhere() throws Exception {
        nodes.get(0).drop("typo", "backend be_typo\n    sevrer s1 127.0.0.1:" + backend.port() + "\n",
                "typo.cluster.test be_typo\n");
        for (ClusterNode n : nodes) {
            await(n.name() + " to show typo rejected", LIMIT,
                    () -> n.fragment("typo").map(f -> f.state().equals("rejected")).orElse(false));
        }
        String error = nodes.get(0).rejection("typo");
        assertTrue(error.contains("typo.cfg line 2"), error);
        assertTrue(error.contains("sevrer"), error);
        for (ClusterNode n : nodes) {
            assertEquals(error, n.rejection("typo"), n.name() + " shows node1's error verbatim");
            assertEquals(error.strip(), n.fragment("typo").orElseThrow().error().strip());
            assertEquals(404, n.httpsStatus("typo.cluster.test"), "nothing of it is served on " + n.name());
        }
        assertTrue(nodes.get(1).serves("shop.cluster.test", "second version"), "what was live stays live");
        String log2 = Files.readString(nodes.get(1).log());
        assertFalse(log2.contains("Fragment 'typo' rejected"), "node2 did not validate and reject it itself");
    }

    @Test
    @Order(4)
    void with_zookeeper_stopped_every_node_keeps_serving_and_they_converge_when_it_is_back() throws Exception {
        zookeeper.stop();
        try {
            nodes.get(0).drop("outage", cfg("be_outage", backend.port()), "outage.cluster.test be_outage\n");
            await("node1 to serve what it accepted during the outage", LIMIT,
                    () -> nodes.get(0).serves("outage.cluster.test", "hello from the cluster"));
            for (ClusterNode n : nodes) {
                assertTrue(n.serves("shop.cluster.test", "second version"), n.name() + " keeps serving its local copy");
                await(n.name() + " to report it is out of sync", LIMIT,
                        () -> n.cluster().map(v -> !v.inSync() && v.problem() != null).orElse(false));
            }
            assertEquals(404, nodes.get(1).httpsStatus("outage.cluster.test"), "node2 cannot know of it yet");
        } finally {
            zookeeper.start();
        }
        awaitAllServe("outage.cluster.test", "hello from the cluster");
        awaitAllInSync();
        for (ClusterNode n : nodes) {
            assertTrue(n.serves("shop.cluster.test", "second version"), n.name() + " diverged on shop");
        }
        await("one leader named by every node after the outage", LIMIT, () -> {
            String leader = nodes.get(0).cluster().map(ClusterView::leader).orElse(null);
            return leader != null && nodes.stream().allMatch(n -> n.cluster().map(v -> leader.equals(v.leader()))
                    .orElse(false));
        });
    }

    @Test
    @Order(5)
    void a_node_restarted_with_an_empty_state_dir_restores_every_fragment_and_rejection_from_zookeeper()
            throws Exception {
        ClusterNode third = nodes.get(2);
        third.stop();
        deleteTree(third.stateDir());
        third.start();
        await("node3 to serve shop again", LIMIT, () -> third.serves("shop.cluster.test", "second version"));
        await("node3 to serve outage again", LIMIT, () -> third.serves("outage.cluster.test", "hello from the cluster"));
        await("node3 to show typo's rejection again", LIMIT,
                () -> third.fragment("typo").map(f -> f.state().equals("rejected")).orElse(false));
        assertEquals(nodes.get(0).rejection("typo"), third.rejection("typo"));
        assertEquals(404, third.httpsStatus("gone.cluster.test"), "a removed fragment stays removed");
        awaitAllInSync();
    }

    @Test
    @Order(6)
    void a_certificate_installed_on_node_2_is_stored_once_and_hot_installed_on_every_node() throws Exception {
        TestCertificates.Authority ca = TestCertificates.rootCa("Cluster Test Root");
        String pem = ca.leaf("shop.cluster.test").issue().pem();
        AtomicFiles.writePrivate(nodes.get(1).stateDir().resolve("cert-inbox/shop.pem"),
                pem.getBytes(StandardCharsets.US_ASCII));
        for (ClusterNode n : nodes) {
            await(n.name() + " to serve shop.cluster.test with the operator's certificate", LIMIT, () -> {
                try {
                    var chain = EdgeClient.request(n.address(), https, "shop.cluster.test", "/", true).peerChain();
                    return chain.get(0).getIssuerX500Principal().getName().contains("Cluster Test Root");
                } catch (IOException e) {
                    return false;
                }
            });
        }
        for (ClusterNode n : List.of(nodes.get(0), nodes.get(2))) {
            String log = Files.readString(n.log());
            assertEquals(1, log.split("Certificate shop.pem taken from the cluster", -1).length - 1,
                    n.name() + " took it from ZooKeeper once (no install loop)");
        }
    }

    @Test
    @Order(7)
    void apply_names_the_member_whose_haproxy_refuses_what_the_cluster_accepted_and_that_member_keeps_serving()
            throws Exception {
        Path cfg = dir.resolve("newer.cfg");
        Files.writeString(cfg, cfg("be_newer", backend.port()) + "    http-response set-header X-Newer-Directive 1\n");
        Path map = dir.resolve("newer.map");
        Files.writeString(map, "newer.cluster.test be_newer\n");

        FaultTools.Run apply = FaultTools.cli(nodes.get(0).stateDir(), "apply", "newer", cfg.toString(), map.toString(),
                "--timeout", "40");

        assertEquals(3, apply.exit(), apply.out() + apply.err());
        assertTrue(apply.err().contains("is not live on node3 (its haproxy -c refuses it: version skew"), apply.err());
        assertFalse(apply.err().contains("node2"), "node2 runs it: " + apply.err());
        assertTrue(nodes.get(1).serves("newer.cluster.test", "hello from the cluster"));
        ClusterNode third = nodes.get(2);
        assertEquals(404, third.httpsStatus("newer.cluster.test"), "node3 kept its last good config");
        assertTrue(third.serves("shop.cluster.test", "second version"), "and serves it");
        String health = third.management("/observe/health?exposureLevel=full");
        assertTrue(health.contains("this node's haproxy -c refuses newer, which the cluster accepted"), health);
        FaultTools.Run status = FaultTools.cli(third.stateDir(), "status");
        assertTrue(status.out().contains("this node's haproxy refuses 'newer' which the cluster accepted"),
                status.out());
    }

    @Test
    @Order(8)
    void apply_returns_once_the_fragment_is_live_on_every_member() throws Exception {
        Path cfg = dir.resolve("everywhere.cfg");
        Files.writeString(cfg, cfg("be_everywhere", backend.port()));
        Path map = dir.resolve("everywhere.map");
        Files.writeString(map, "everywhere.cluster.test be_everywhere\n");

        FaultTools.Run apply = FaultTools.cli(nodes.get(1).stateDir(), "apply", "everywhere", cfg.toString(),
                map.toString(), "--timeout", "40");

        assertEquals(0, apply.exit(), apply.out() + apply.err());
        assertTrue(apply.out().contains("fragment 'everywhere' is live on every member (node1, node2, node3)"),
                apply.out());
        for (ClusterNode n : nodes) {
            assertTrue(n.serves("everywhere.cluster.test", "hello from the cluster"), n.name() + " serves it already");
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (var files = Files.walk(root)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
