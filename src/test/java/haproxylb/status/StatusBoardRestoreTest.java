package haproxylb.status;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 13: after a restart the store is the truth and status.json only a report of it. Each case is a state a SIGKILL
 * can leave between a change to the store and the status.json publish that follows it.
 */
class StatusBoardRestoreTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-29T00:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;

    /** A board whose status.json says: v1 of "app" live in generation 13, which haproxy runs. */
    private StatusBoard boardWithAppLive() {
        StatusBoard before = new StatusBoard(dir.resolve("status.json"), CLOCK);
        before.assembled(new ReloadFacts(13, 12, true, null, 4, 0, null), Map.of("app", "v1"), Map.of("app", "v1"),
                java.util.List.of());
        before.reload(running(13));
        return new StatusBoard(dir.resolve("status.json"), CLOCK);
    }

    /** What the reload stage reports once haproxy runs {@code generation}. */
    private static ReloadFacts running(long generation) {
        return new ReloadFacts(generation, generation, false, null, 5, 0,
                new ReloadStatus(CLOCK.instant().toString(), true, generation, "reloaded"));
    }

    private static StoredFragment live(String id) {
        return new StoredFragment(null, id, null, null);
    }

    @Test
    void a_replacement_promoted_but_not_published_shows_the_new_id_and_owes_a_reload() {
        StatusBoard board = boardWithAppLive();
        ReloadFacts resumed = board.restore(Map.of("app", live("v2")));
        FragmentStatus app = board.snapshot().fragments().get("app");
        assertEquals("assembled", app.state());
        assertEquals("v2", app.id());
        assertTrue(resumed.reloadOwed(), "a reload is owed for v2: " + resumed);
        assertEquals(5, resumed.reloads(), "the reload stage resumes from the published facts");
        board.reload(running(resumed.configGeneration()));
        assertEquals("live", board.snapshot().fragments().get("app").state());
    }

    @Test
    void an_entry_that_agrees_with_the_store_is_kept_as_it_was() {
        StatusBoard board = boardWithAppLive();
        ReloadFacts resumed = board.restore(Map.of("app", live("v1")));
        assertEquals(new FragmentStatus("live", "v1", 13, null, CLOCK.instant().toString()),
                board.snapshot().fragments().get("app"));
        assertEquals(13, resumed.configGeneration());
        assertEquals(13, resumed.liveGeneration());
    }

    @Test
    void a_removal_carried_out_but_not_published_shows_removed_until_the_reload() {
        StatusBoard board = boardWithAppLive();
        ReloadFacts resumed = board.restore(Map.of());
        assertEquals("removed", board.snapshot().fragments().get("app").state());
        board.reload(running(resumed.configGeneration()));
        assertFalse(board.snapshot().fragments().containsKey("app"));
    }

    @Test
    void a_rejection_filed_but_not_published_shows_rejected_with_the_refused_id_and_the_error() {
        StatusBoard board = boardWithAppLive();
        board.restore(Map.of("app", new StoredFragment(null, "v1", "app.cfg line 3: bad\n", "v2")));
        FragmentStatus app = board.snapshot().fragments().get("app");
        assertEquals("rejected", app.state());
        assertEquals("v2", app.id());
        assertEquals("app.cfg line 3: bad", app.error());
        assertEquals(13, board.configGeneration(), "nothing new to load");
    }

    @Test
    void a_change_waiting_in_pending_shows_pending_with_its_id() {
        StatusBoard board = boardWithAppLive();
        board.restore(Map.of("app", new StoredFragment("v3", "v1", null, null),
                "new", new StoredFragment("n1", null, null, null)));
        assertEquals(new FragmentStatus("pending", "v3", 13, null, CLOCK.instant().toString()),
                board.snapshot().fragments().get("app"));
        assertEquals("n1", board.snapshot().fragments().get("new").id());
    }

    @Test
    void a_live_fragment_missing_from_status_json_is_recorded() {
        StatusBoard board = new StatusBoard(dir.resolve("status.json"), CLOCK);
        board.restore(Map.of("app", live("v1")));
        assertEquals("v1", board.snapshot().fragments().get("app").id());
    }

    @Test
    void a_stale_rejection_whose_error_file_is_gone_is_dropped() {
        StatusBoard before = new StatusBoard(dir.resolve("status.json"), CLOCK);
        before.rejected("bad", "b1", "bad.cfg line 1: nope");
        StatusBoard board = new StatusBoard(dir.resolve("status.json"), CLOCK);
        board.restore(Map.of());
        assertNull(board.snapshot().fragments().get("bad"));
    }

    @Test
    void the_rebuilt_status_is_published_at_once() throws Exception {
        StatusBoard board = boardWithAppLive();
        board.restore(Map.of("app", live("v2")));
        assertEquals("v2", StatusBoard.read(dir.resolve("status.json")).fragments().get("app").id());
    }
}
