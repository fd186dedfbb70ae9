package haproxylb.intake;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InboxBacklogTest {
    @Test
    void a_storm_is_under_way_after_a_full_poll_and_over_after_one_that_was_not() {
        InboxBacklog backlog = new InboxBacklog(500, Duration.ofMillis(5_000), null);
        assertFalse(backlog.stormUnderway(), "no poll yet");
        // As Camel reports the intake route's polls to its poll strategy
        backlog.commit(null, null, 499);
        assertFalse(backlog.stormUnderway(), "a poll that took less than its limit drained the inbox");
        backlog.commit(null, null, 500);
        assertTrue(backlog.stormUnderway(), "a full poll left files waiting");
        backlog.commit(null, null, 3);
        assertFalse(backlog.stormUnderway(), "the last chunk");
    }

    @Test
    void a_storm_whose_first_poll_was_not_full_is_told_by_the_files_waiting_in_the_inbox(@TempDir Path inbox)
            throws IOException {
        // inotify woke the intake at the storm's first rename: its first poll took a few files, the rest came after
        InboxBacklog backlog = new InboxBacklog(4, Duration.ofMillis(5_000), inbox);
        for (String file : new String[] {"a.cfg", "a.map", ".hidden.cfg", "b.tmp", "c.cfg.part"}) {
            Files.writeString(inbox.resolve(file), "x");
        }
        backlog.commit(null, null, 2);
        assertFalse(backlog.stormUnderway(), "two files waiting (hidden and other names are not the intake's)");
        Files.writeString(inbox.resolve("b.remove"), "");
        Files.writeString(inbox.resolve("c.map"), "x");
        assertTrue(backlog.stormUnderway(), "a poll's worth waits after a poll that took files");
        backlog.commit(null, null, 0);
        assertFalse(backlog.stormUnderway(), "files that only sit there (a poll took none of them) are no storm");
        backlog.commit(null, null, 1);
        assertTrue(backlog.stormUnderway());
        InboxBacklog noInbox = new InboxBacklog(4, Duration.ofMillis(5_000), inbox.resolve("gone"));
        noInbox.commit(null, null, 1);
        assertFalse(noInbox.stormUnderway(), "an inbox that cannot be listed makes no wait");
    }

    @Test
    void waiting_for_calm_ends_at_the_hold_while_the_storm_lasts_and_at_once_without_one() {
        long start = System.nanoTime();
        new InboxBacklog(2, Duration.ofMillis(30_000), null).awaitCalm();
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos(), "no storm: no wait");

        InboxBacklog backlog = new InboxBacklog(2, Duration.ofMillis(200), null);
        backlog.commit(null, null, 2);
        start = System.nanoTime();
        backlog.awaitCalm();
        long waited = System.nanoTime() - start;
        assertTrue(waited >= Duration.ofMillis(200).toNanos(), "waited the hold: " + waited);
        assertTrue(backlog.stormUnderway(), "the storm is still fresh");
    }

    @Test
    void a_stop_ends_the_wait_for_a_storm_that_goes_on() throws Exception {
        InboxBacklog backlog = new InboxBacklog(1, Duration.ofSeconds(60), null);
        Thread intake = new Thread(() -> { // full polls back to back: the storm never ends by itself
            while (!Thread.currentThread().isInterrupted()) {
                backlog.commit(null, null, 1);
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        intake.start();
        Thread waiter = new Thread(backlog::awaitCalm);
        try {
            // on a loaded machine the intake thread may not have run yet: the wait must really be a wait for a storm
            await("the storm under way", Duration.ofSeconds(10), backlog::stormUnderway);
            waiter.start();
            await("the wait for calm begun", Duration.ofSeconds(10),
                    () -> waiter.getState() == Thread.State.TIMED_WAITING);
            backlog.stop();
            waiter.join(10_000);
            assertFalse(waiter.isAlive(), "the wait (hold 60 s) ended at the stop");
            assertTrue(backlog.stormUnderway(), "though the storm went on");
        } finally {
            intake.interrupt();
            intake.join();
        }
    }

    @Test
    void a_stale_full_poll_is_no_storm() throws Exception {
        // The intake polls again at once after a full poll; one that came and went a while ago says nothing.
        InboxBacklog backlog = new InboxBacklog(1, Duration.ofMillis(30_000), null);
        backlog.commit(null, null, 1);
        long start = System.nanoTime();
        backlog.awaitCalm();
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "the wait ends once the poll is stale");
        assertFalse(backlog.stormUnderway());
    }

    @Test
    void a_poll_limit_below_one_is_refused() {
        assertThrows(IllegalArgumentException.class, () -> new InboxBacklog(0, Duration.ofMillis(5_000), null));
    }
}
