package haproxylb.status;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The board publishes what it is handed: fragment outcomes, and the reload stage's facts. */
class StatusBoardTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-29T00:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;

    private Path file() {
        return dir.resolve("status.json");
    }

    private static ReloadFacts written(long config, long live) {
        return new ReloadFacts(config, live, config > live, null, live, 0, null);
    }

    @Test
    void a_deleted_status_file_is_written_again_by_the_timer_without_waiting_for_a_change() throws Exception {
        StatusBoard board = new StatusBoard(file(), CLOCK);
        board.rejected("app", "1111111111111111", "app.cfg line 1: bad");
        assertTrue(Files.exists(file()));
        Files.delete(file());
        board.republishIfStale();
        assertEquals("rejected", StatusBoard.read(file()).fragments().get("app").state());
    }

    @Test
    void the_timer_writes_no_status_file_before_the_board_has_published_one() throws Exception {
        new StatusBoard(file(), CLOCK).republishIfStale();
        assertFalse(Files.exists(file()));
    }

    @Test
    void a_status_file_without_its_maps_reads_as_empty_ones() throws Exception {
        Path file = file();
        Files.writeString(file, "{ \"configGeneration\" : 3 }");
        Status read = StatusBoard.read(file);
        assertEquals(3, read.configGeneration());
        assertEquals(Map.of(), read.fragments());
        assertEquals(Map.of(), read.certificates());
    }

    @Test
    void an_assembled_fragment_is_live_once_the_reload_stage_reports_its_generation_loaded() throws Exception {
        StatusBoard board = new StatusBoard(file(), CLOCK);
        board.pending("app", "v1");
        board.assembled(written(1, 0), Map.of("app", "v1"), Map.of("app", "v1"), List.of());
        assertEquals("assembled", StatusBoard.read(file()).fragments().get("app").state());
        board.reload(written(1, 1));
        Status published = StatusBoard.read(file());
        assertEquals("live", published.fragments().get("app").state());
        assertEquals(1, published.liveGeneration());
        assertFalse(published.reloadPending());
    }

    @Test
    void a_map_change_already_live_is_published_live_at_once() throws Exception {
        StatusBoard board = new StatusBoard(file(), CLOCK);
        board.assembled(written(3, 3), Map.of("app", "v2"), Map.of("app", "v2"), List.of());
        assertEquals("live", StatusBoard.read(file()).fragments().get("app").state());
    }

    @Test
    void a_removal_stays_shown_until_the_reload_that_drops_it() throws Exception {
        StatusBoard board = new StatusBoard(file(), CLOCK);
        board.assembled(written(1, 1), Map.of("app", "v1"), Map.of("app", "v1"), List.of());
        board.assembled(written(2, 1), Map.of(), Map.of(), List.of("app"));
        assertEquals("removed", StatusBoard.read(file()).fragments().get("app").state());
        board.reload(written(2, 2));
        assertNull(StatusBoard.read(file()).fragments().get("app"));
    }

    @Test
    void the_pending_reload_and_its_time_come_from_the_facts_handed_over() throws Exception {
        StatusBoard board = new StatusBoard(file(), CLOCK);
        Instant at = CLOCK.instant().plusSeconds(42);
        board.reload(new ReloadFacts(5, 4, true, at, 4, 9, null));
        Status published = StatusBoard.read(file());
        assertTrue(published.reloadPending());
        assertEquals(at.toString(), published.nextReloadAt());
        assertEquals(9, published.reloadsCoalesced());
    }

    @Test
    void a_publication_writes_its_changes_once_when_it_closes() throws Exception {
        StatusBoard board = new StatusBoard(file(), CLOCK);
        try (StatusBoard.Publication batch = board.publication()) {
            board.rejected("a", "a1", "a.cfg line 1: nope");
            board.rejected("b", "b1", "b.map line 2: nope");
            board.certificate("a.example.test", Map.of("state", "covered"));
            assertFalse(Files.exists(file()), "nothing written while the batch is open");
        }
        Status published = StatusBoard.read(file());
        assertEquals("rejected", published.fragments().get("a").state());
        assertEquals("rejected", published.fragments().get("b").state());
        assertEquals(Map.of("state", "covered"), published.certificates().get("a.example.test"));
    }

    @Test
    void nested_publications_write_when_the_outer_one_closes() throws Exception {
        StatusBoard board = new StatusBoard(file(), CLOCK);
        try (StatusBoard.Publication outer = board.publication()) {
            try (StatusBoard.Publication inner = board.publication()) {
                board.rejected("a", "a1", "nope");
            }
            assertFalse(Files.exists(file()));
        }
        assertTrue(Files.exists(file()));
    }

    @Test
    void another_thread_publishes_at_once_and_its_write_carries_the_deferred_changes() throws Exception {
        StatusBoard board = new StatusBoard(file(), CLOCK);
        try (StatusBoard.Publication batch = board.publication()) {
            board.rejected("a", "a1", "nope");
            Thread other = new Thread(() -> board.reload(written(1, 1)));
            other.start();
            other.join();
            Status published = StatusBoard.read(file());
            assertEquals(1, published.liveGeneration(), "not held back by this thread's batch");
            assertEquals("rejected", published.fragments().get("a").state());
        }
    }

    @Test
    void a_rejection_error_is_published_without_terminal_escapes() throws Exception {
        StatusBoard board = new StatusBoard(file(), CLOCK);
        board.rejected("a", "a1", "a.cfg line 1: \u001b]0;owned\u0007");
        assertFalse(StatusBoard.read(file()).fragments().get("a").error().contains("\u001b"));
    }
}
