package haproxylb.cluster;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** haproxylb_cluster_* metrics, refreshed by the heartbeat. */
public final class ClusterMetrics implements AutoCloseable {
    private final List<Meter> meters = new ArrayList<>();
    private MeterRegistry registry;
    private MultiGauge memberGenerations;
    private final Supplier<ClusterView> view;

    public ClusterMetrics(Supplier<ClusterView> view) {
        this.view = view;
    }

    public synchronized void bindTo(MeterRegistry registry, ZooKeeperStorage storage) {
        this.registry = registry;
        meters.add(Gauge.builder("haproxylb.cluster.members", view, v -> v.get().members().size())
                .description("members of the cluster this node sees").register(registry));
        meters.add(Gauge.builder("haproxylb.cluster.in.sync", view, v -> v.get().inSync() ? 1 : 0)
                .description("1 while this node has exactly what the cluster holds").register(registry));
        meters.add(Gauge.builder("haproxylb.cluster.leader", view,
                        v -> v.get().node().equals(v.get().leader()) ? 1 : 0)
                .description("1 while this node is the certificate leader").register(registry));
        meters.add(Gauge.builder("haproxylb.cluster.skew.fragments", view, v -> v.get().skew().size())
                .description("fragments the cluster accepted that this node's haproxy -c refuses").register(registry));
        meters.add(Gauge.builder("haproxylb.cluster.zookeeper.up", view, v -> v.get().problem() == null ? 1 : 0)
                .description("1 while ZooKeeper answers").register(registry));
        meters.add(FunctionCounter.builder("haproxylb.cluster.zookeeper.writes", storage, ZooKeeperStorage::writes)
                .description("ZooKeeper write requests this node sent to publish fragments").register(registry));
        memberGenerations = MultiGauge.builder("haproxylb.cluster.member.live.generation")
                .description("each member's live config generation (each node counts its own)").register(registry);
        refresh();
    }

    public synchronized void refresh() {
        if (memberGenerations == null) {
            return;
        }
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        view.get().members().forEach(m -> rows.add(MultiGauge.Row.of(Tags.of("node", m.node()), m.liveGeneration())));
        memberGenerations.register(rows, true);
    }

    @Override
    public synchronized void close() {
        if (registry != null) {
            meters.forEach(registry::remove);
            if (memberGenerations != null) {
                memberGenerations.register(List.of(), true);
            }
        }
        registry = null;
    }
}
