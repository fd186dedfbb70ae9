package haproxylb.haproxy;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runtime API changes and reloads never overlap: each waits for the other. */
class ReloadWindowTest {

    @Test
    void a_runtime_change_waits_until_the_reload_in_flight_is_confirmed() throws Exception {
        ReloadWindow window = new ReloadWindow();
        assertTrue(window.open());
        AtomicBoolean reloadOpenWhenChanged = new AtomicBoolean(true);
        CompletableFuture<Void> change = CompletableFuture.runAsync(() -> {
            try {
                window.outside(() -> {
                    reloadOpenWhenChanged.set(window.isOpen());
                    return null;
                });
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        // still waiting: the reload has not been recorded
        assertThrows(java.util.concurrent.TimeoutException.class, () -> change.get(200, TimeUnit.MILLISECONDS));
        window.close();
        change.get(5, TimeUnit.SECONDS);
        assertFalse(reloadOpenWhenChanged.get());
    }

    @Test
    void a_reload_cannot_open_while_a_runtime_change_runs() throws Exception {
        ReloadWindow window = new ReloadWindow();
        CountDownLatch changing = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        CompletableFuture<String> change = CompletableFuture.supplyAsync(() -> {
            try {
                return window.outside(() -> {
                    changing.countDown();
                    assertTrue(finish.await(5, TimeUnit.SECONDS));
                    return "installed";
                });
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(changing.await(5, TimeUnit.SECONDS));
        assertFalse(window.open(), "a reload while the change talks to the old worker");
        finish.countDown();
        assertEquals("installed", change.get(5, TimeUnit.SECONDS));
        assertTrue(window.open(), "the reload goes once the change is done");
        assertFalse(window.open(), "one reload at a time");
    }

    @Test
    void a_failed_change_frees_the_window_and_a_stuck_reload_does_not_hold_changes_forever() throws Exception {
        ReloadWindow window = new ReloadWindow(Duration.ofMillis(100));
        assertThrows(java.io.IOException.class, () -> window.outside(() -> {
            throw new java.io.IOException("socket gone");
        }));
        assertTrue(window.open());
        // the reload never records its outcome: the change goes ahead after the bound
        assertEquals("late", window.outside(() -> "late"));
    }
}
