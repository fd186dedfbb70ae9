package haproxylb.cluster;

import haproxylb.common.AtomicFiles;
import haproxylb.common.Json;
import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Supplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.zookeeper.CreateMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's membership: an ephemeral znode {@code members/NODE} with its {@link MemberState} (Curator's
 * {@link PersistentNode} re-creates it after a lost session), refreshed on every heartbeat when it changed; and the
 * {@link ClusterView} of all members, written to {@code <state>/cluster.json} when it changed.
 */
public final class ClusterMembers implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterMembers.class);

    private final CuratorFramework client;
    private final ClusterSettings settings;
    private final SharedFragments fragments;
    private final StatusBoard status;
    private final Supplier<Optional<String>> leader;
    private final Path viewFile;
    private final PersistentNode self;
    private byte[] published = new byte[0];
    private byte[] written = new byte[0];
    private volatile ClusterView view;

    public ClusterMembers(CuratorFramework client, ClusterSettings settings, SharedFragments fragments,
                          StatusBoard status, Supplier<Optional<String>> leader, Path stateDir) throws IOException {
        this.client = client;
        this.settings = settings;
        this.fragments = fragments;
        this.status = status;
        this.leader = leader;
        this.viewFile = stateDir.resolve(ClusterView.FILE);
        this.self = new PersistentNode(client, CreateMode.EPHEMERAL, false, "/members/" + settings.nodeName(),
                Json.MAPPER.writeValueAsBytes(state()));
        this.view = new ClusterView(settings.nodeName(), settings.zookeeper(), null, false, List.of(), Map.of(),
                "not connected yet");
        self.start();
    }

    private MemberState state() {
        Map<String, String> live = new TreeMap<>();
        status.snapshot().fragments().forEach((name, f) -> {
            if ("live".equals(f.state())) {
                live.put(name, f.id());
            }
        });
        return new MemberState(settings.nodeName(), status.configGeneration(), status.liveGeneration(),
                fragments.inSync(), fragments.liveCount(), fragments.skew().keySet().stream().sorted().toList(), live);
    }

    /** The heartbeat: publish this node's state when it changed, read everyone's, write cluster.json. */
    public synchronized ClusterView heartbeat() {
        MemberState mine = state();
        List<MemberState> members = new ArrayList<>();
        String problem = fragments.lastProblem().orElse(null);
        String leaderNow = null;
        try {
            if (!client.getZookeeperClient().isConnected()) {
                throw new IOException("not connected");
            }
            byte[] bytes = Json.MAPPER.writeValueAsBytes(mine);
            if (!Arrays.equals(bytes, published)) {
                self.setData(bytes);
                published = bytes;
            }
            for (String node : client.getChildren().forPath("/members")) {
                try {
                    members.add(Json.MAPPER.readValue(client.getData().forPath("/members/" + node), MemberState.class));
                } catch (org.apache.zookeeper.KeeperException.NoNodeException gone) {
                    // left between the list and the read
                }
            }
            // Asked only while ZooKeeper answers: the lookup is a ZooKeeper query with its own timeout and retries,
            // and during an outage it held each heartbeat (and the out-of-sync report) for seconds.
            leaderNow = leader.get().orElse(null);
        } catch (Exception e) {
            problem = "ZooKeeper unreachable: " + e.getMessage();
            members = new ArrayList<>(view.members().stream().map(m -> m.node().equals(mine.node()) ? mine : m).toList());
        }
        if (members.stream().noneMatch(m -> m.node().equals(mine.node()))) {
            members.add(mine);
        }
        members.sort(java.util.Comparator.comparing(MemberState::node));
        view = new ClusterView(settings.nodeName(), settings.zookeeper(), leaderNow,
                mine.inSync(), List.copyOf(members), fragments.skew(), problem);
        write();
        return view;
    }

    private void write() {
        try {
            byte[] bytes = view.json();
            if (!Arrays.equals(bytes, written)) {
                AtomicFiles.write(viewFile, bytes);
                written = bytes;
            }
        } catch (IOException e) {
            LOG.warn("Could not write {}: {}", viewFile, e.toString());
        }
    }

    public ClusterView view() {
        return view;
    }

    @Override
    public void close() throws IOException {
        self.close();
    }
}
