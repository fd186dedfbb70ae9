package haproxylb.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class PacingTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void the_first_run_and_a_run_after_a_quiet_period_start_at_once() {
        Pacing pacing = new Pacing(2);
        assertEquals(0, pacing.waitNanos());
        long longAgo = System.nanoTime() - 10 * SECOND;
        pacing.ran(longAgo, longAgo + SECOND);
        assertEquals(0, pacing.waitNanos(), "ended 9 s ago, pause 2 s: its turn is past");
    }

    @Test
    void after_a_run_the_next_waits_its_length_times_the_factor() {
        Pacing pacing = new Pacing(2);
        long end = System.nanoTime();
        pacing.ran(end - SECOND, end);
        long wait = pacing.waitNanos();
        assertTrue(wait > SECOND && wait <= 2 * SECOND, "a 1 s run, factor 2: up to 2 s to wait, was " + wait);
    }

    @Test
    void a_stop_ends_a_wait_for_the_turn_and_every_later_one() throws Exception {
        Pacing pacing = new Pacing(1);
        long end = System.nanoTime();
        pacing.ran(end - 60 * SECOND, end); // the next run's turn is a minute away
        Thread waiter = new Thread(pacing::awaitTurn);
        waiter.start();
        pacing.stop();
        waiter.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(waiter.isAlive(), "the wait for a turn a minute away ended at the stop");
        long start = System.nanoTime();
        pacing.awaitTurn();
        assertTrue(System.nanoTime() - start < 10 * SECOND, "a later wait does not start");
    }

    @Test
    void a_failed_run_counts_as_a_run() {
        Pacing pacing = new Pacing(1000);
        assertThrows(IllegalStateException.class, () -> pacing.run(() -> {
            TimeUnit.MILLISECONDS.sleep(2);
            throw new IllegalStateException("boom");
        }));
        assertTrue(pacing.waitNanos() > TimeUnit.MILLISECONDS.toNanos(1000), "2 ms x 1000 after the failure");
    }

    @Test
    void a_negative_factor_is_refused() {
        assertThrows(IllegalArgumentException.class, () -> new Pacing(-1));
    }
}
