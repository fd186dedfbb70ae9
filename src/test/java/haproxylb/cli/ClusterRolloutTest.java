package haproxylb.cli;

import haproxylb.cluster.ClusterView;
import haproxylb.cluster.MemberState;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What apply, remove and rollback report about the members, from a cluster.json as the heartbeat writes it. */
class ClusterRolloutTest {
    @TempDir
    Path state;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    /** Made per test: the temp dir is injected after the fields are set. */
    private ClusterRollout rollout() {
        return new ClusterRollout(state, new PrintStream(out, true), new PrintStream(err, true));
    }

    private void cluster(MemberState... members) throws Exception {
        new ObjectMapper().writeValue(state.resolve(ClusterView.FILE).toFile(), new ClusterView("node1",
                "127.0.0.1:2181", "node1", true, List.of(members), Map.of(), null));
    }

    private static MemberState member(String node, long liveGeneration, Map<String, String> live, String... skew) {
        return new MemberState(node, liveGeneration, liveGeneration, skew.length == 0, live.size(), List.of(skew), live);
    }

    @Test
    void on_a_single_node_there_is_nothing_to_wait_for() throws Exception {
        assertEquals(0, rollout().awaitLive("shop", "id-1", Instant.now()));
        assertEquals("", out.toString() + err);
    }

    @Test
    void done_once_every_member_runs_the_id() throws Exception {
        cluster(member("node1", 4, Map.of("shop", "id-2")), member("node2", 9, Map.of("shop", "id-2")));

        assertEquals(0, rollout().awaitLive("shop", "id-2", Instant.now()));
        assertTrue(out.toString().contains("fragment 'shop' is live on every member (node1, node2)"), out.toString());
    }

    @Test
    void at_the_deadline_names_the_member_that_runs_another_version_with_its_generation() throws Exception {
        cluster(member("node1", 4, Map.of("shop", "id-2")), member("node2", 9, Map.of("shop", "id-1")));

        assertEquals(3, rollout().awaitLive("shop", "id-2", Instant.now().plusMillis(200)));
        assertTrue(err.toString().contains("fragment 'shop' is not live on node2 (live generation 9, in sync)"),
                err.toString());
        assertFalse(err.toString().contains("node1"), err.toString());
    }

    @Test
    void a_member_whose_haproxy_refuses_it_ends_the_wait_at_once() throws Exception {
        cluster(member("node1", 4, Map.of("shop", "id-2")), member("node2", 9, Map.of(), "shop"));

        assertEquals(3, rollout().awaitLive("shop", "id-2", Instant.now().plusSeconds(60)));
        assertTrue(err.toString().contains("node2 (its haproxy -c refuses it: version skew"), err.toString());
    }

    @Test
    void a_removal_waits_for_every_member_to_stop_running_it() throws Exception {
        cluster(member("node1", 5, Map.of()), member("node2", 9, Map.of("gone", "id-1")));

        assertEquals(3, rollout().awaitRemoved("gone", Instant.now().plusMillis(200)));
        assertTrue(err.toString().contains("fragment 'gone' is not removed on node2"), err.toString());
    }
}
