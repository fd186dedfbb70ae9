package haproxylb.cluster;

import haproxylb.common.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The cluster as this node sees it, written to {@code <state>/cluster.json} for {@code haproxy-config status} and
 * read by the health check and the metrics.
 *
 * @param problem why ZooKeeper could not be used (empty: it answered)
 * @param skew    fragments this node refuses although the cluster accepted them, with its error
 */
public record ClusterView(String node, String zookeeper, String leader, boolean inSync, List<MemberState> members,
                          Map<String, String> skew, String problem) {
    public static final String FILE = "cluster.json";

    public static Optional<ClusterView> read(Path stateDir) throws IOException {
        Path file = stateDir.resolve(FILE);
        return Files.exists(file) ? Optional.of(Json.MAPPER.readValue(file.toFile(), ClusterView.class)) : Optional.empty();
    }

    byte[] json() throws IOException {
        return Json.INDENTED.writeValueAsBytes(this);
    }

    /** For {@code haproxy-config status}: a few lines under the fragments. */
    public String describe() {
        StringBuilder out = new StringBuilder();
        out.append("cluster: node ").append(node).append(", leader ").append(leader == null ? "(none)" : leader)
                .append(", ").append(inSync ? "in sync" : "NOT in sync").append(" (ZooKeeper ").append(zookeeper)
                .append(problem == null ? "" : ": " + problem).append(")\n");
        for (MemberState m : members) {
            out.append("  member ").append(m.node()).append(m.node().equals(leader) ? " (leader)" : "")
                    .append(": live generation ").append(m.liveGeneration()).append(", ").append(m.fragments())
                    .append(" fragment(s), ").append(m.inSync() ? "in sync" : "not in sync")
                    .append(m.skew().isEmpty() ? "" : ", refuses " + String.join(", ", m.skew())).append('\n');
        }
        skew.forEach((name, error) -> out.append("  this node's haproxy refuses '").append(name)
                .append("' which the cluster accepted (kept its last good config): ")
                .append(error.lines().findFirst().orElse("")).append('\n'));
        return out.toString();
    }
}
