package haproxylb.intake;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FragmentStoreTest {
    @TempDir
    Path state;

    private Fragment fragment(String name, String domain) throws FragmentProblem {
        return new FragmentReader(false, 1 << 20).read(name, ("backend be_" + name + "\n").getBytes(),
                (domain + " be_" + name + "\n").getBytes());
    }

    @Test
    void a_newer_pending_version_replaces_the_older_one() throws Exception {
        FragmentStore store = new FragmentStore(state, new FragmentReader(false, 1 << 20));
        store.putPending(PendingChange.upsert(fragment("a", "one.test"), 1));
        store.putPending(PendingChange.upsert(fragment("a", "two.test"), 2));
        assertEquals(1, store.pendingChanges().size());
        assertTrue(store.pendingChanges().get(0).map().contains("two.test"));
    }

    @Test
    void promotion_does_not_delete_a_newer_pending_version_that_arrived_meanwhile() throws Exception {
        FragmentStore store = new FragmentStore(state, new FragmentReader(false, 1 << 20));
        PendingChange first = PendingChange.upsert(fragment("a", "one.test"), 1);
        store.putPending(first);
        PendingChange second = PendingChange.upsert(fragment("a", "two.test"), 2);
        store.putPending(second);
        store.promote(List.of(first));
        assertEquals(second.id(), store.pendingChanges().get(0).id());
        assertTrue(store.liveFragments().get("a").map().contains("one.test"));
    }

    @Test
    void promotion_and_removal_round_trip_through_the_live_directory() throws Exception {
        FragmentStore store = new FragmentStore(state, new FragmentReader(false, 1 << 20));
        PendingChange add = PendingChange.upsert(fragment("a", "one.test"), 1);
        store.putPending(add);
        store.promote(List.of(add));
        assertEquals(add.id(), store.liveFragments().get("a").id());
        assertFalse(store.hasPending());
        PendingChange rm = PendingChange.removal("a", 2);
        store.putPending(rm);
        store.promote(List.of(rm));
        assertTrue(store.liveFragments().isEmpty());
        try (var files = Files.list(state.resolve("fragments"))) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void start_up_removes_temp_files_left_by_a_crash() throws Exception {
        Files.createDirectories(state.resolve("pending"));
        Files.writeString(state.resolve("pending/.tmp-a.json-123"), "half");
        new FragmentStore(state, new FragmentReader(false, 1 << 20));
        assertFalse(Files.exists(state.resolve("pending/.tmp-a.json-123")));
    }

    @Test
    void staged_halves_are_known_across_a_restart_and_gone_from_disk_and_memory_once_cleared() throws Exception {
        FragmentStore store = new FragmentStore(state, new FragmentReader(false, 1 << 20));
        store.stage("a.cfg", "backend be_a\n".getBytes());
        assertTrue(store.hasStaged("a"));
        assertTrue(store.stagedPair("a").isEmpty(), "one half only");
        assertTrue(store.staged("a.map").isEmpty());

        FragmentStore restarted = new FragmentStore(state, new FragmentReader(false, 1 << 20));
        assertTrue(restarted.hasStaged("a"), "staging/ is read at start-up");
        restarted.stage("a.map", "a.test be_a\n".getBytes());
        assertEquals("a.test be_a\n", new String(restarted.stagedPair("a").orElseThrow()[1]));
        restarted.clearStaged("a");
        assertFalse(restarted.hasStaged("a"));
        assertEquals(List.of(), restarted.stagedFiles(), "both halves deleted from staging/");
        assertFalse(new FragmentStore(state, new FragmentReader(false, 1 << 20)).hasStaged("a"));
    }
}
