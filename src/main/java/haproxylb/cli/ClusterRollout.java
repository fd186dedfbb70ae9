package haproxylb.cli;

import haproxylb.cluster.ClusterView;
import haproxylb.cluster.MemberState;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * In a cluster, a change is done when every member that is up runs it, not only this node: waits on
 * {@code <state>/cluster.json} (which the heartbeat refreshes with every member's live fragment ids) until each member
 * has it, and otherwise names the members that do not and why. On a single node (no cluster.json) there is nothing to
 * wait for.
 */
final class ClusterRollout {
    /** The members' states reach cluster.json within a heartbeat (lb.cluster.heartbeat, 1 s by default). */
    private static final Duration POLL = Duration.ofMillis(100);

    private final Path stateDir;
    private final PrintStream out;
    private final PrintStream err;

    ClusterRollout(Path stateDir, PrintStream out, PrintStream err) {
        this.stateDir = stateDir;
        this.out = out;
        this.err = err;
    }

    /** 0 once every member runs {@code id} of {@code name}; 3 at the deadline, naming the members that do not. */
    int awaitLive(String name, String id, Instant deadline) throws IOException {
        return await(name, m -> m.live() != null && id.equals(m.live().get(name)), "live", deadline);
    }

    /** 0 once no member runs {@code name} any more; 3 at the deadline, naming those that still do. */
    int awaitRemoved(String name, Instant deadline) throws IOException {
        return await(name, m -> m.live() != null && !m.live().containsKey(name), "removed", deadline);
    }

    private int await(String name, Predicate<MemberState> done, String what, Instant deadline) throws IOException {
        Optional<ClusterView> view = ClusterView.read(stateDir);
        if (view.isEmpty()) {
            return 0;
        }
        List<MemberState> behind = behind(view.get(), done);
        while (!behind.isEmpty() && !behind.stream().allMatch(m -> m.skew().contains(name))
                && Instant.now().isBefore(deadline)) {
            pause();
            view = ClusterView.read(stateDir);
            behind = behind(view.orElseThrow(), done);
        }
        List<String> members = view.get().members().stream().map(MemberState::node).toList();
        if (behind.isEmpty()) {
            out.println("fragment '" + name + "' is " + what + " on every member (" + String.join(", ", members) + ")");
            return 0;
        }
        List<String> reasons = new ArrayList<>();
        for (MemberState m : behind) {
            reasons.add(m.node() + (m.skew().contains(name)
                    ? " (its haproxy -c refuses it: version skew, it keeps its last good config)"
                    : " (live generation " + m.liveGeneration() + ", " + (m.inSync() ? "in sync" : "not in sync") + ")"));
        }
        err.println("haproxy-config: fragment '" + name + "' is not " + what + " on " + String.join(", ", reasons)
                + (view.get().problem() == null ? "" : "; this node: " + view.get().problem())
                + " (see haproxy-config status)");
        return 3;
    }

    private static List<MemberState> behind(ClusterView view, Predicate<MemberState> done) {
        return view.members().stream().filter(done.negate()).toList();
    }

    private static void pause() {
        try {
            Thread.sleep(POLL.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
