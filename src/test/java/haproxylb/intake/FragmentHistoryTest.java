package haproxylb.intake;

import haproxylb.common.StateLayout;
import haproxylb.support.MutableClock;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FragmentHistoryTest {
    @TempDir
    Path state;
    private final MutableClock clock = MutableClock.at("2026-12-01T03:00:00Z");

    private FragmentHistory history(int keep) {
        return new FragmentHistory(state.resolve("history"), keep, clock);
    }

    private void live(FragmentHistory h, String version) throws Exception {
        clock.advance(Duration.ofMinutes(1));
        h.recordLive("web", "backend be_web # " + version + "\n", "web.test be_web\n", "id-" + version);
    }

    private static String target(FragmentHistory h) throws Exception {
        return h.rollbackTarget("web", Optional.empty()).id();
    }

    @Test
    void rolling_back_twice_from_the_third_version_gives_the_second_then_the_first() throws Exception {
        FragmentHistory h = history(10);
        live(h, "v1");
        live(h, "v2");
        live(h, "v3");
        assertEquals("id-v2", target(h));
        live(h, "v2"); // what the daemon records when the rolled-back version goes live
        assertEquals("id-v1", target(h));
        live(h, "v1");
        FragmentProblem none = assertThrows(FragmentProblem.class, () -> target(h));
        assertTrue(none.getMessage().contains("has no version before version id-v1"), none.getMessage());
    }

    @Test
    void a_removed_fragment_rolls_back_to_the_version_that_was_live_before_the_removal() throws Exception {
        FragmentHistory h = history(10);
        live(h, "v1");
        live(h, "v2");
        h.recordRemoved("web");
        h.recordRemoved("web"); // a repeated promotion of the same removal after a crash
        assertEquals(List.of("removed", "live", "live"), h.entries("web").stream().map(FragmentHistory.Entry::kind)
                .toList());
        assertEquals("id-v2", target(h));
    }

    @Test
    void the_same_version_promoted_again_is_recorded_once() throws Exception {
        FragmentHistory h = history(10);
        live(h, "v1");
        live(h, "v1");
        assertEquals(1, h.entries("web").size());
    }

    @Test
    void keeps_the_last_n_versions_and_the_last_n_rejections_and_survives_a_new_instance() throws Exception {
        FragmentHistory h = history(3);
        for (int i = 1; i <= 5; i++) {
            live(h, "v" + i);
            h.recordRejected("web", "bad-" + i, "Fragment 'web' was rejected: web.cfg line " + i + ": nope");
        }
        FragmentHistory reopened = history(3);
        List<FragmentHistory.Entry> entries = reopened.entries("web");
        assertEquals(List.of("bad-5", "id-v5", "bad-4", "id-v4", "bad-3", "id-v3"),
                entries.stream().map(FragmentHistory.Entry::id).toList());
        assertEquals("Fragment 'web' was rejected: web.cfg line 5: nope", entries.get(0).error());
        assertNull(entries.get(0).cfg(), "a rejection keeps its error, not the refused files");
        assertEquals("2026-12-01T03:05:00Z", entries.get(1).at());
        try (var files = Files.list(state.resolve("history/web"))) {
            assertEquals(6, files.count(), "pruned files are deleted");
        }
        assertEquals("id-v4", reopened.rollbackTarget("web", Optional.empty()).id());
        assertEquals("id-v3", reopened.rollbackTarget("web", Optional.of("id-v3")).id());
    }

    @Test
    void a_version_older_than_the_kept_ones_is_refused_with_the_reason() throws Exception {
        FragmentHistory h = history(2);
        live(h, "v1");
        live(h, "v2");
        live(h, "v3");
        h.recordRemoved("web"); // keeps v3 and the removal: v2 is gone, v3 is still restorable
        assertEquals("id-v3", target(h));
        live(h, "v4");
        FragmentProblem old = assertThrows(FragmentProblem.class, () -> target(h));
        assertTrue(old.getMessage().contains("older than the 2 versions kept (setting lb.fragments.history)"),
                old.getMessage());
        FragmentProblem unknown = assertThrows(FragmentProblem.class,
                () -> h.rollbackTarget("web", Optional.of("id-v1")));
        assertTrue(unknown.getMessage().contains("has no version id-v1 in its history"), unknown.getMessage());
        FragmentProblem nothing = assertThrows(FragmentProblem.class,
                () -> h.rollbackTarget("other", Optional.empty()));
        assertTrue(nothing.getMessage().contains("fragment 'other' has no history"), nothing.getMessage());
    }

    @Test
    void the_store_records_promotions_and_rejections() throws Exception {
        FragmentReader reader = new FragmentReader(false, 1 << 20);
        FragmentStore store = new FragmentStore(new StateLayout(state), reader, history(10));
        Fragment f = reader.read("web", "backend be_web\n".getBytes(), "web.test be_web\n".getBytes());
        store.promote(List.of(PendingChange.upsert(f, 1)));
        store.reject("web", "x".getBytes(), "y".getBytes(), "bad", "Fragment 'web' was rejected: because");
        store.promote(List.of(PendingChange.removal("web", 2)));
        assertEquals(List.of("removed", "rejected", "live"),
                store.history().entries("web").stream().map(FragmentHistory.Entry::kind).toList());
        assertEquals(f.id(), store.history().entries("web").get(2).id());
    }
}
