package haproxylb.intake;

import haproxylb.status.StatusBoard;
import haproxylb.support.MutableClock;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The intake bean on a real file system, one inbox poll at a time as the intake route calls it. */
class FragmentIntakeTest {
    private final MutableClock clock = MutableClock.at("2026-11-29T10:00:00Z");

    @TempDir
    Path state;

    private File drop(String file, String content) throws Exception {
        Path inbox = Files.createDirectories(state.resolve("inbox"));
        return Files.writeString(inbox.resolve(file), content).toFile();
    }

    private FragmentStore store() throws Exception {
        return new FragmentStore(state, new FragmentReader(false, 1 << 20));
    }

    /** The intake as the daemon builds it: claim directory and inbox under the state dir, a status board of its own. */
    private FragmentIntake intake(FragmentStore store, FragmentIntake.PartnerCheck partnerReady) throws Exception {
        return new FragmentIntake(store, new StatusBoard(state.resolve("status.json"), clock), clock,
                state.resolve("claimed"), Files.createDirectories(state.resolve("inbox")), partnerReady);
    }

    @Test
    void a_pair_in_one_poll_is_queued_once_and_leaves_the_inbox() throws Exception {
        FragmentStore store = store();
        FragmentIntake intake = intake(store, FragmentIntake.PartnerCheck.NEVER);
        File cfg = drop("app.cfg", "backend be_app\n    server s1 127.0.0.1:8080\n");
        File map = drop("app.map", "App.Example.TEST. be_app\n");
        intake.take(cfg, false);
        intake.take(map, true);
        List<PendingChange> pending = store.pendingChanges();
        assertEquals(1, pending.size());
        assertEquals("app", pending.get(0).name());
        assertEquals(clock.millis(), pending.get(0).receivedAtMillis());
        assertFalse(cfg.exists() || map.exists(), "both halves are durable in pending/, so they left the inbox");
        assertTrue(store.stagedFiles().isEmpty(), "the staged half went once the pair was durable");
    }

    @Test
    void rejections_of_one_poll_are_published_together_once_the_poll_is_durable() throws Exception {
        StatusBoard status = new StatusBoard(state.resolve("status.json"), clock);
        FragmentIntake intake = new FragmentIntake(store(), status, clock, state.resolve("claimed"),
                state.resolve("inbox"), FragmentIntake.PartnerCheck.NEVER);
        intake.take(drop("bad.cfg", "frontend nope\n"), false);
        intake.take(drop("bad.map", "bad.example.test be_bad\n"), false);
        intake.take(drop("Bad Name.cfg", "backend be_x\n"), false);
        assertFalse(Files.exists(state.resolve("status.json")), "not before the poll's last file");
        intake.take(drop("zz.map", "zz.example.test be_zz\n"), true);
        var fragments = StatusBoard.read(state.resolve("status.json")).fragments();
        assertEquals("rejected", fragments.get("bad").state());
        assertTrue(fragments.get("bad").error().contains("bad.cfg line 1"), fragments.get("bad").error());
        assertTrue(Files.exists(state.resolve("rejected").resolve("bad.error")));
        assertEquals(2, fragments.values().stream().filter(f -> f.state().equals("rejected")).count(),
                "the bad pair and the bad name: " + fragments);
    }

    @Test
    void a_removal_is_queued_and_replaces_a_waiting_half() throws Exception {
        FragmentStore store = store();
        FragmentIntake intake = intake(store, FragmentIntake.PartnerCheck.NEVER);
        intake.take(drop("app.cfg", "backend be_app\n    server s1 127.0.0.1:8080\n"), true);
        assertEquals(List.of("app.cfg"), store.stagedFiles());
        intake.take(drop("app.remove", ""), true);
        assertTrue(store.stagedFiles().isEmpty(), "a later .map must not pair with the half sent before the removal");
        assertTrue(store.pendingChanges().get(0).remove());
    }

    @Test
    void a_half_staged_before_a_crash_pairs_up_at_start_up() throws Exception {
        FragmentStore store = store();
        store.stage("app.cfg", "backend be_app\n    server s1 127.0.0.1:8080\n".getBytes());
        store.stage("app.map", "app.example.test be_app\n".getBytes());
        intake(store, FragmentIntake.PartnerCheck.NEVER);
        assertEquals("app", store.pendingChanges().get(0).name());
        assertTrue(store.stagedFiles().isEmpty());
    }

    @Test
    void a_pair_split_over_two_polls_is_queued_and_its_staged_half_dropped() throws Exception {
        FragmentStore store = store();
        FragmentIntake intake = intake(store, FragmentIntake.PartnerCheck.NEVER);
        intake.take(drop("app.cfg", "backend be_app\n    server s1 127.0.0.1:8080\n"), true);
        assertEquals(List.of("app.cfg"), store.stagedFiles(), "alone at the poll's end: staged");
        intake.take(drop("app.map", "app.example.test be_app\n"), true);
        assertEquals("app", store.pendingChanges().get(0).name());
        assertTrue(store.stagedFiles().isEmpty());
        assertFalse(store.isTaken(), "the batch's marker is gone once its deletes are done");
        try (var claimed = Files.list(state.resolve("claimed"))) {
            assertEquals(0, claimed.count());
        }
    }

    @Test
    void a_file_that_cannot_be_written_goes_back_to_the_inbox_and_is_taken_again_later() throws Exception {
        FragmentStore store = store();
        FragmentIntake intake = intake(store, FragmentIntake.PartnerCheck.NEVER);
        // Writes the disk refuses (as a full disk would): pending/ is not a directory for a moment.
        Files.delete(state.resolve("pending"));
        Files.writeString(state.resolve("pending"), "in the way");
        File cfg = drop("app.cfg", "backend be_app\n    server s1 127.0.0.1:8080\n");
        File map = drop("app.map", "app.example.test be_app\n");
        intake.take(cfg, false);
        assertThrows(IOException.class, () -> intake.take(map, true));
        assertTrue(map.exists(), "the file whose pair could not be queued is back in the inbox");
        assertEquals(List.of("app.cfg"), store.stagedFiles(), "its partner waits staged");
        assertTrue(Files.exists(state.resolve("claimed/app.cfg")), "the staged half's original is kept until a commit");

        Files.delete(state.resolve("pending"));
        Files.createDirectory(state.resolve("pending"));
        intake.take(map, true);
        assertEquals("app", store.pendingChanges().get(0).name());
        assertTrue(store.stagedFiles().isEmpty());
        try (var claimed = Files.list(state.resolve("claimed"))) {
            assertEquals(0, claimed.count(), "both originals dropped once the pair is durable");
        }
        assertFalse(cfg.exists() || map.exists());
    }

    @Test
    void a_batch_marked_taken_before_a_crash_is_dropped_at_start_up_not_taken_again() throws Exception {
        FragmentStore store = store();
        store.stage("app.cfg", "backend be_app\n    server s1 127.0.0.1:8080\n".getBytes());
        store.stage("new.cfg", "backend be_new\n    server s1 127.0.0.1:8080\n".getBytes());
        // The crash came after the batch was durable and marked, before its deletes: app.map paired with the staged
        // app.cfg (queued); new.cfg was staged by the batch (its original went before the marker).
        Path claimed = Files.createDirectories(state.resolve("claimed"));
        Files.writeString(claimed.resolve("app.map"), "app.example.test be_app\n");
        store.markTaken();
        intake(store, FragmentIntake.PartnerCheck.NEVER);
        assertEquals(List.of("new.cfg"), store.stagedFiles(), "the completed pair's staged half is dropped");
        try (var left = Files.list(claimed); var inbox = Files.list(state.resolve("inbox"))) {
            assertEquals(0, left.count());
            assertEquals(0, inbox.count(), "nothing given back");
        }
        assertFalse(store.isTaken());
    }

    @Test
    void entries_claimed_before_a_crash_without_a_marker_go_back_to_the_inbox_in_place_of_their_staged_copies()
            throws Exception {
        FragmentStore store = store();
        // The crash came before the batch was dropped: app.map's staged copy was never fsynced (its pair was queued in
        // the batch), and came back empty; new.cfg was staged whole (a lone half, durable).
        Files.writeString(state.resolve("staging/app.map"), "");
        store.stage("new.cfg", "backend be_new\n    server s1 127.0.0.1:8080\n".getBytes());
        Path claimed = Files.createDirectories(state.resolve("claimed"));
        Files.writeString(claimed.resolve("app.map"), "app.example.test be_app\n");
        Files.writeString(claimed.resolve("new.cfg"), "backend be_new\n    server s1 127.0.0.1:8080\n");
        intake(store, FragmentIntake.PartnerCheck.NEVER);
        assertEquals("app.example.test be_app\n", Files.readString(state.resolve("inbox/app.map")),
                "not durable anywhere: read again");
        assertEquals(List.of("new.cfg"), store.stagedFiles(), "the broken copy is gone, the whole one kept");
        assertFalse(Files.exists(state.resolve("inbox/new.cfg")), "already staged: not taken twice");
    }

    // ---- a half's partner, complete in the inbox, is taken with it (polls list files in directory order) ----

    @Test
    void a_half_whose_partner_is_complete_in_the_inbox_is_queued_with_it_without_staging() throws Exception {
        FragmentStore store = store();
        FragmentIntake intake = intake(store, entry -> true);
        File map = drop("app.map", "app.example.test be_app\n");
        File cfg = drop("app.cfg", "backend be_app\n    server s1 127.0.0.1:8080\n");
        intake.take(map, false);
        assertEquals(List.of("app"), store.pendingChanges().stream().map(PendingChange::name).toList());
        assertTrue(store.stagedFiles().isEmpty(), "nothing staged: the partner came in the same call");
        assertEquals("backend be_app\n    server s1 127.0.0.1:8080\n", store.pendingChanges().get(0).cfg());
        intake.take(cfg, true); // the poll listed it before the pair was taken: gone now, and the batch commits
        assertEquals(1, store.pendingChanges().size());
        assertFalse(cfg.exists() || map.exists());
        try (var claimed = Files.list(state.resolve("claimed"))) {
            assertEquals(0, claimed.count(), "both originals dropped once the pair is durable");
        }
    }

    @Test
    void a_partner_the_read_lock_does_not_call_complete_is_left_for_its_own_turn() throws Exception {
        FragmentStore store = store();
        FragmentIntake intake = intake(store, entry -> !entry.getFileName().toString().equals("app.cfg"));
        File map = drop("app.map", "app.example.test be_app\n");
        File cfg = drop("app.cfg", "backend be_app\n"); // still being written, say by scp
        intake.take(map, true);
        assertEquals(List.of("app.map"), store.stagedFiles());
        assertTrue(cfg.exists(), "not taken early");
        Files.writeString(cfg.toPath(), "backend be_app\n    server s1 127.0.0.1:8080\n");
        intake.take(cfg, true);
        assertEquals("backend be_app\n    server s1 127.0.0.1:8080\n", store.pendingChanges().get(0).cfg(),
                "read once complete");
    }

    @Test
    void a_pair_that_cannot_be_queued_goes_back_to_the_inbox_both_halves() throws Exception {
        FragmentStore store = store();
        FragmentIntake intake = intake(store, entry -> true);
        Files.delete(state.resolve("pending"));
        Files.writeString(state.resolve("pending"), "in the way"); // writes refused, as on a full disk
        File cfg = drop("app.cfg", "backend be_app\n    server s1 127.0.0.1:8080\n");
        File map = drop("app.map", "app.example.test be_app\n");
        assertThrows(IOException.class, () -> intake.take(cfg, false));
        assertTrue(cfg.exists() && map.exists(), "both back in the inbox, the partner taken with it too");
        try (var claimed = Files.list(state.resolve("claimed"))) {
            assertEquals(0, claimed.count());
        }
        Files.delete(state.resolve("pending"));
        Files.createDirectory(state.resolve("pending"));
        intake.take(cfg, true);
        assertEquals(List.of("app"), store.pendingChanges().stream().map(PendingChange::name).toList());
        assertFalse(cfg.exists() || map.exists());
    }

    @Test
    void a_partner_that_is_too_big_rejects_the_pair_unread() throws Exception {
        FragmentStore store = new FragmentStore(state, new FragmentReader(false, 64));
        FragmentIntake intake = intake(store, entry -> true);
        File cfg = drop("app.cfg", "backend be_app\n");
        drop("app.map", "app.example.test be_app\n".repeat(10));
        intake.take(cfg, true);
        assertTrue(store.pendingChanges().isEmpty());
        assertTrue(store.rejections().get("app").contains("app.map"), store.rejections().toString());
        assertFalse(Files.exists(state.resolve("rejected/app.map")), "an oversized file is not copied");
    }
}
