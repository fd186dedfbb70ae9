package haproxylb.app;

import haproxylb.cluster.ClusterHealthCheck;
import haproxylb.cluster.ClusterHeartbeat;
import haproxylb.cluster.ClusterMembers;
import haproxylb.cluster.ClusterMetrics;
import haproxylb.cluster.ClusterSettings;
import haproxylb.cluster.ClusterSync;
import haproxylb.cluster.ClusterView;
import haproxylb.cluster.ReplicatedStorage;
import haproxylb.cluster.SharedCertificates;
import haproxylb.cluster.SharedChallengeTokens;
import haproxylb.cluster.SharedFragments;
import haproxylb.cluster.ZooKeeperConnection;
import haproxylb.cluster.ZooKeeperStorage;
import haproxylb.storage.LocalStorage;

import io.micrometer.core.instrument.MeterRegistry;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.cluster.CamelClusterMember;
import org.apache.camel.cluster.CamelClusterView;
import org.apache.camel.impl.cluster.ClusteredRoutePolicy;
import org.apache.camel.support.RoutePolicySupport;
import org.apache.camel.support.service.ServiceHelper;
import org.apache.camel.component.zookeeper.ZooKeeperCuratorConfiguration;
import org.apache.camel.component.zookeeper.cluster.ZooKeeperClusterService;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.state.ConnectionState;

/**
 * Several balancers, one truth (issue 10): with lb.cluster.zookeeper set, fragments are shared through ZooKeeper
 * ({@link SharedFragments}), members and the leader are visible ({@link ClusterMembers}), and Camel's
 * {@link ZooKeeperClusterService} elects the certificate leader on the same Curator client. Without it the cluster
 * routes' beans do nothing.
 */
final class ClusterWiring {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ClusterWiring.class);
    /** The Camel cluster namespace whose leader runs the certificate checks and orders. */
    static final String LEADER_NAMESPACE = "certificates";

    private ClusterWiring() {}

    static void configure(CamelContext context, Core core) throws Exception {
        ClusterSettings settings = ClusterSettings.from(core.settings());
        Registry registry = context.getRegistry();
        if (!settings.enabled()) {
            // A node that left its cluster: haproxy-config status and apply would otherwise read the old members.
            java.nio.file.Files.deleteIfExists(core.stateDir().resolve(ClusterView.FILE));
            registry.bind("certificateLeader", new RoutePolicySupport() {});
            registry.bind("clusterSync", ClusterSync.NONE);
            registry.bind("clusterHeartbeat", ClusterHeartbeat.NONE);
            return;
        }
        CuratorFramework client = ZooKeeperConnection.open(settings);
        ZooKeeperStorage zookeeper = new ZooKeeperStorage(client);
        ProducerTemplate[] template = new ProducerTemplate[1];
        SharedFragments fragments = new SharedFragments(core.fragments(), core.status(), zookeeper,
                () -> client.getZookeeperClient().isConnected(),
                new LocalStorage(core.layout().cluster()), settings.nodeName(), core.clock(), () -> {
                    if (template[0] != null) {
                        template[0].asyncSendBody("seda:cluster-sync", null);
                    }
                });
        core.fragments().listen(fragments);

        ZooKeeperClusterService elections = new ZooKeeperClusterService(new ZooKeeperCuratorConfiguration());
        elections.setCuratorFramework(client);
        elections.setId(settings.nodeName());
        elections.setBasePath("/camel-cluster");
        context.addService(elections, true, true);

        ClusterMembers members = new ClusterMembers(client, settings, fragments, core.status(),
                () -> leader(elections), core.stateDir());
        ClusterMetrics metrics = new ClusterMetrics(members::view);
        SharedCertificates certificates = new SharedCertificates(zookeeper, core.certDir(),
                core.layout().certInbox());
        List<CuratorCache> watches = List.of(CuratorCache.build(client, "/fragments"),
                CuratorCache.build(client, "/rejections"), CuratorCache.build(client, "/certificates"));
        watches.get(0).listenable().addListener((type, before, after) -> fragments.requestSync());
        watches.get(1).listenable().addListener((type, before, after) -> fragments.requestSync());
        watches.get(2).listenable().addListener((type, before, after) -> certificates.remoteChanged());
        client.getConnectionStateListenable().addListener((c, state) -> {
            if (state == ConnectionState.CONNECTED || state == ConnectionState.RECONNECTED) {
                fragments.reconnected();
                certificates.remoteChanged();
            }
            if (state == ConnectionState.RECONNECTED) {
                rejoinElection(elections);
            }
        });

        registry.bind("challengeTokens", new SharedChallengeTokens(zookeeper));
        // The ACME account, backoff and ledgers (CertificateWiring): one for the cluster, so a new leader goes on. A
        // storage of their own, so haproxylb_cluster_zookeeper_writes_total keeps counting fragment publications only.
        registry.bind("certificateState", new ReplicatedStorage(new ZooKeeperStorage(client),
                new LocalStorage(core.stateDir())));
        registry.bind("clusterSync", fragments);
        registry.bind("clusterHeartbeat", new ClusterHeartbeat(fragments, members, metrics, certificates));
        // Only the leader checks coverage and orders (routes/certificates.camel.yaml, route certificate-check).
        ClusteredRoutePolicy leaderOnly = ClusteredRoutePolicy.forNamespace(elections, LEADER_NAMESPACE);
        leaderOnly.setInitialDelay(Duration.ZERO);
        registry.bind("certificateLeader", leaderOnly);
        registry.bind("clusterMembers", members);
        registry.bind("sharedCertificates", certificates);
        ClusterHealthCheck health = new ClusterHealthCheck(members::view, core.clock(),
                Duration.ofMillis(core.settings().number("lb.health.stale-after")));
        health.setCamelContext(context);
        registry.bind("healthCheckCluster", health);
        context.addService(new ServiceSupport() {
            @Override
            protected void doStart() {
                template[0] = context.createProducerTemplate();
                watches.forEach(CuratorCache::start);
                MeterRegistry meters = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
                if (meters == null) {
                    meters = context.getRegistry().findSingleByType(MeterRegistry.class);
                }
                if (meters != null) {
                    metrics.bindTo(meters, zookeeper);
                }
            }

            @Override
            protected void doStop() throws Exception {
                metrics.close();
                watches.forEach(CuratorCache::close);
                members.close();
                if (template[0] != null) {
                    template[0].close();
                }
            }

            @Override
            protected void doShutdown() {
                client.close();
            }
        }, true, true);
    }

    /**
     * camel-zookeeper 4.17.0's view queues its Curator LeaderSelector once, at start: after any lost connection (the
     * leader gives up its leadership, the others' waiting lock attempts fail) no node competes any more and the cluster
     * has no leader (seen with bench/cluster.sh). Restarting the view on reconnection makes this node a candidate
     * again; the election itself stays Curator's.
     */
    private static void rejoinElection(ZooKeeperClusterService elections) {
        Thread rejoin = new Thread(() -> {
            try {
                CamelClusterView view = elections.getView(LEADER_NAMESPACE);
                ServiceHelper.stopService(view);
                ServiceHelper.startService(view);
                LOG.info("Reconnected to ZooKeeper: this node is a candidate for the {} leadership again",
                        LEADER_NAMESPACE);
            } catch (Exception e) {
                LOG.error("Could not rejoin the {} election after a lost ZooKeeper connection: {}", LEADER_NAMESPACE,
                        e.toString());
            }
        }, "cluster-rejoin-election");
        rejoin.setDaemon(true);
        rejoin.start();
    }

    private static Optional<String> leader(ZooKeeperClusterService elections) {
        try {
            // Curator names a leader "" while there is none.
            return elections.getView(LEADER_NAMESPACE).getLeader().map(CamelClusterMember::getId)
                    .filter(id -> !id.isEmpty());
        } catch (Exception e) {
            return Optional.empty();
        }
    }
}
