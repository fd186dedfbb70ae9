package haproxylb.it;

import haproxylb.cluster.ClusterView;
import haproxylb.cluster.MemberState;
import haproxylb.status.StatusBoard;
import haproxylb.support.AcmeRecordingProxy;
import haproxylb.support.ClusterNode;
import haproxylb.support.EdgeClient;
import haproxylb.support.PebbleServer;
import haproxylb.support.TestBackend;
import haproxylb.support.ZooKeeperFixture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import static haproxylb.support.ClusterNode.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Certificates in a cluster (issue 10): three nodes on 127.0.0.2, .3 and .4 (same ports), real ZooKeeper, real Pebble
 * behind the recording proxy (which counts the orders and can hold a challenge in flight), and pebble-challtestsrv
 * answering each test name with one chosen node's address, so the CA can only validate through that node. The tests
 * share one cluster and run in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterCertificatesTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    @RegisterExtension
    static final ZooKeeperFixture cluster = new ZooKeeperFixture();
    private PebbleServer pebble;
    private AcmeRecordingProxy proxy;
    private TestBackend backend;
    private List<ClusterNode> nodes;
    private int https;
    /** The node SIGKILLed mid-order, restarted empty by the last test. */
    private ClusterNode killed;

    @BeforeAll
    void startCluster() throws Exception {
        backend = cluster.closeAfter(new TestBackend("hello from a certified cluster"));
        https = cluster.httpsPort();
        pebble = cluster.closeAfter(PebbleServer.start(cluster.httpPort()));
        proxy = cluster.closeAfter(AcmeRecordingProxy.start(pebble));
        nodes = cluster.startNodes(3, n -> n.with("lb.acme.directory-url", proxy.directoryUrl())
                .with("lb.acme.trust-ca", pebble.listenerCaPem().toString())
                .with("lb.acme.agree-terms", "true")
                .with("lb.acme.dns-resolver", "127.0.0.1:" + pebble.dnsAddress().getPort())
                .with("lb.acme.loopback-is-here", "true")
                .with("lb.acme.limits", "letsencrypt")
                .with("lb.acme.poll", "100")
                .with("lb.acme.timeout", "30000")
                .with("lb.acme.first-check-delay", "100")
                .with("lb.acme.check-cron", "0/2 * * * * ?"));
        await("three members and one leader", LIMIT, () -> leaderAmong(nodes).isPresent());
    }

    /** The leader every one of {@code among} names, once they all see each other and agree. */
    private static Optional<ClusterNode> leaderAmong(List<ClusterNode> among) {
        Set<String> names = among.stream().map(ClusterNode::name).collect(Collectors.toSet());
        Set<String> leaders = new java.util.HashSet<>();
        for (ClusterNode n : among) {
            Optional<ClusterView> v = n.cluster();
            if (v.isEmpty() || v.get().leader() == null
                    || !v.get().members().stream().map(MemberState::node).collect(Collectors.toSet()).equals(names)) {
                return Optional.empty();
            }
            leaders.add(v.get().leader());
        }
        return leaders.size() == 1 ? among.stream().filter(n -> leaders.contains(n.name())).findFirst()
                : Optional.empty();
    }

    private static String cfg(String backendName, int port) {
        return "backend " + backendName + "\n    server s1 127.0.0.1:" + port + "\n";
    }

    /** True when {@code n} serves {@code host} over TLS (SNI) with a certificate for it issued by Pebble. */
    private boolean servesPebbleCertificate(ClusterNode n, String host) {
        try {
            List<X509Certificate> chain = EdgeClient.request(n.address(), https, host, "/", true).peerChain();
            X509Certificate leaf = chain.get(0);
            return leaf.getIssuerX500Principal().getName().contains("Pebble")
                    && leaf.getSubjectAlternativeNames().stream().anyMatch(san -> host.equals(san.get(1)));
        } catch (IOException | java.security.cert.CertificateParsingException | RuntimeException e) {
            return false;
        }
    }

    private static String log(ClusterNode n) throws IOException {
        return Files.readString(n.log());
    }

    private long registrations() throws IOException {
        long count = 0;
        for (ClusterNode n : nodes) {
            count += log(n).split("registered ACME account", -1).length - 1;
        }
        return count;
    }

    @Test
    @Order(1)
    void a_certificate_is_ordered_once_by_the_leader_validated_through_another_node_and_served_by_all_three()
            throws Exception {
        ClusterNode leader = leaderAmong(nodes).orElseThrow();
        ClusterNode validator = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        pebble.addARecord("shop.certs.test", validator.address());

        validator.drop("shop", cfg("be_shop", backend.port()), "shop.certs.test be_shop\n");

        for (ClusterNode n : nodes) {
            await(n.name() + " to serve shop.certs.test with Pebble's certificate", LIMIT,
                    () -> servesPebbleCertificate(n, "shop.certs.test"));
        }
        assertEquals(1, proxy.newOrders().size(), "one order for the whole cluster: " + proxy.newOrders());
        assertEquals(1, registrations(), "one ACME account for the whole cluster");
        String ordering = "ordering a certificate for shop.certs.test";
        assertTrue(log(leader).contains(ordering), "the leader ordered it");
        assertFalse(log(validator).contains(ordering), "the node the CA validated through did not order it");
    }

    @Test
    @Order(2)
    void the_leader_killed_mid_order_leads_to_one_new_leader_the_certificate_issued_and_at_most_two_orders()
            throws Exception {
        killed = leaderAmong(nodes).orElseThrow();
        List<ClusterNode> others = nodes.stream().filter(n -> n != killed).toList();
        pebble.addARecord("blog.certs.test", others.get(1).address());
        int ordersBefore = proxy.newOrders().size();
        proxy.holdChallenges();

        others.get(0).drop("blog", cfg("be_blog", backend.port()), "blog.certs.test be_blog\n");
        await("the leader's order to wait for its challenge", LIMIT, () -> proxy.challengesHeld() > 0);
        killed.kill();
        proxy.releaseChallenges();

        await("one new leader named by both remaining nodes", LIMIT, () -> leaderAmong(others).isPresent());
        assertNotEquals(killed.name(), leaderAmong(others).orElseThrow().name());
        for (ClusterNode n : others) {
            await(n.name() + " to serve blog.certs.test with Pebble's certificate", LIMIT,
                    () -> servesPebbleCertificate(n, "blog.certs.test"));
        }
        int orders = proxy.newOrders().size() - ordersBefore;
        assertTrue(orders >= 1 && orders <= 2, "at most one more order after the fail-over: " + orders);
        assertEquals(1, registrations(), "the new leader logged in to the cluster's account, it registered none");
        ClusterNode newLeader = leaderAmong(others).orElseThrow();
        assertEquals(proxy.newOrders().size(), ordersInLedger(newLeader),
                "the shared ledger counts every order the CA received, the dead leader's included");
    }

    @Test
    @Order(3)
    void a_node_restarted_with_an_empty_state_dir_restores_everything_and_even_as_the_only_leader_orders_nothing()
            throws Exception {
        deleteTree(killed.stateDir());
        killed.start();
        for (String host : List.of("shop.certs.test", "blog.certs.test")) {
            await(killed.name() + " to serve " + host + " restored from ZooKeeper", LIMIT,
                    () -> servesPebbleCertificate(killed, host));
        }
        int ordersBefore = proxy.newOrders().size();

        ZooKeeperFixture.stopAll(nodes.stream().filter(n -> n != killed).toList());
        await(killed.name() + ", the only member left, to be the leader", LIMIT,
                () -> leaderAmong(List.of(killed)).isPresent());
        await(killed.name() + "'s own coverage check to find both names covered", LIMIT,
                () -> covered(killed, "shop.certs.test") && covered(killed, "blog.certs.test"));

        assertEquals(ordersBefore, proxy.newOrders().size(), "nothing ordered again");
        for (String domain : List.of("shop.certs.test", "blog.certs.test")) {
            assertEquals("issued", certificate(killed, domain).get("source"),
                    domain + ": obtained by the cluster, so this leader renews it (not an operator's certificate)");
        }
        assertTrue(Files.exists(killed.stateDir().resolve("certificates/rate-limits.json")),
                "the shared ledger restored into the state dir");
    }

    /** New orders the node's copy of the shared rate-limit ledger counts, over all accounts. */
    private static int ordersInLedger(ClusterNode n) throws IOException {
        JsonNode orders = new ObjectMapper().readTree(n.stateDir().resolve("certificates/rate-limits.json").toFile())
                .path("newOrdersPerAccount");
        int count = 0;
        for (JsonNode times : orders) {
            count += times.size();
        }
        return count;
    }

    private static boolean covered(ClusterNode n, String domain) {
        return "covered".equals(certificate(n, domain).get("state"));
    }

    /** The domain's certificate status in the node's status.json (empty before the node's first check). */
    private static Map<?, ?> certificate(ClusterNode n, String domain) {
        try {
            Map<String, Object> certificates = StatusBoard.read(n.stateDir().resolve("status.json")).certificates();
            return certificates != null && certificates.get(domain) instanceof Map<?, ?> c ? c : Map.of();
        } catch (IOException e) {
            return Map.of();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (var files = Files.walk(root)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
