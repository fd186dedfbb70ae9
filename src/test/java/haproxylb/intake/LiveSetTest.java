package haproxylb.intake;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The store's parsed live set: parsed once, kept in step with fragments/ on disk. */
class LiveSetTest {
    private final FragmentReader reader = new FragmentReader(false, 1 << 20);

    @TempDir
    Path state;

    private Fragment fragment(String name, String map) throws FragmentProblem {
        return reader.read(name, ("backend be_" + name + "\n    server s1 127.0.0.1:8080\n").getBytes(), map.getBytes());
    }

    @Test
    void the_intake_parse_is_the_one_the_assembly_and_the_live_set_use() throws Exception {
        FragmentStore store = new FragmentStore(state, reader);
        Fragment atIntake = fragment("app", "App.Example.TEST. be_app\n");
        PendingChange change = PendingChange.upsert(atIntake, 1);
        store.putPending(change, atIntake);
        assertSame(atIntake, store.parsed(change), "not parsed again for the assembly");
        store.promote(List.of(change));
        assertSame(atIntake, store.liveFragments().get("app"), "not parsed again for the live set");
        assertEquals(Map.of("app.example.test", "be_app"), store.liveSet().domains());
    }

    @Test
    void a_pending_change_without_a_parse_of_its_own_is_parsed_once() throws Exception {
        FragmentStore store = new FragmentStore(state, reader);
        PendingChange fromTheCluster = new PendingChange("app", false, "backend be_app\n", "a.test be_app\n",
                "cluster-id", 1);
        store.putPending(fromTheCluster);
        Fragment first = store.parsed(fromTheCluster);
        assertEquals("cluster-id", first.id());
        assertSame(first, store.parsed(fromTheCluster));
    }

    @Test
    void a_newer_version_under_the_same_name_is_not_served_from_the_older_parse() throws Exception {
        FragmentStore store = new FragmentStore(state, reader);
        Fragment v1 = fragment("app", "one.test be_app\n");
        store.putPending(PendingChange.upsert(v1, 1), v1);
        PendingChange v2 = PendingChange.upsert(fragment("app", "two.test be_app\n"), 2);
        store.putPending(v2);
        Fragment parsed = store.parsed(v2);
        assertNotSame(v1, parsed);
        assertEquals("two.test", parsed.entries().get(0).domain());
    }

    @Test
    void a_removal_leaves_the_live_set_and_its_domains() throws Exception {
        FragmentStore store = new FragmentStore(state, reader);
        Fragment a = fragment("a", "a.test be_a\n");
        Fragment b = fragment("b", "b.test be_b\n*.b.test be_b\n");
        for (Fragment f : new Fragment[] {a, b}) {
            PendingChange c = PendingChange.upsert(f, 1);
            store.putPending(c, f);
            store.promote(List.of(c));
        }
        assertEquals(3, store.liveSet().domains().size());
        store.promote(List.of(PendingChange.removal("b", 2)));
        assertEquals(Map.of("a.test", "be_a"), store.liveSet().domains());
        assertThrows(UnsupportedOperationException.class, () -> store.liveSet().domains().put("x.test", "be_x"));
    }

    @Test
    void a_restart_reads_the_live_set_back_from_fragments_with_the_ids_sent() throws Exception {
        FragmentStore before = new FragmentStore(state, reader);
        Fragment app = fragment("app", "app.test be_app\n");
        PendingChange change = new PendingChange("app", false, app.cfg(), app.map(), "sent-id", 1);
        before.putPending(change);
        before.promote(List.of(change));
        assertTrue(Files.exists(state.resolve("fragments/app.cfg")));

        FragmentStore after = new FragmentStore(state, reader);
        assertEquals("sent-id", after.liveFragments().get("app").id());
        assertEquals(Map.of("app.test", "be_app"), after.liveSet().domains());
    }
}
