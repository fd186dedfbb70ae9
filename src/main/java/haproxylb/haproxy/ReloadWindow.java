package haproxylb.haproxy;

import java.time.Duration;

/**
 * Keeps changes through haproxy's runtime API out of a reload's window, from its signal to its confirmation. In that
 * window the admin socket may still be answered by the old worker, while the new worker has already read the crt
 * directory: a certificate installed there is lost with the old worker and not served until the next reload, up to
 * {@code lb.reload.min-interval} later. (Seen in the tests: with a registered account a Pebble order completes in
 * ~100 ms, inside the reload its own fragment started.) So a runtime change waits for the window to close, and a
 * reload waits (stays pending, the trailing timer claims it again) while a runtime change runs.
 */
public final class ReloadWindow {
    /**
     * A runtime change waits at most this long for a reload to be confirmed: the reload command's own timeout (60 s)
     * plus the confirmation's (20 s). Beyond that the reload is stuck, and the change goes ahead rather than wait.
     */
    static final Duration MAX_WAIT = Duration.ofSeconds(90);

    private final Duration maxWait;
    private boolean reloading;
    private int runtimeChanges;

    public ReloadWindow() {
        this(MAX_WAIT);
    }

    ReloadWindow(Duration maxWait) {
        this.maxWait = maxWait;
    }

    /** A runtime API change, which may fail like any socket call. */
    @FunctionalInterface
    public interface RuntimeChange<T, E extends Exception> {
        T run() throws E;
    }

    /** @return false while a reload is in flight or a runtime change runs: the reload must wait */
    synchronized boolean open() {
        if (reloading || runtimeChanges > 0) {
            return false;
        }
        reloading = true;
        return true;
    }

    /** The reload is confirmed, failed, or never ran. */
    synchronized void close() {
        reloading = false;
        notifyAll();
    }

    public synchronized boolean isOpen() {
        return reloading;
    }

    /** Runs {@code change} once no reload is in flight, and keeps reloads from starting until it has run. */
    public <T, E extends Exception> T outside(RuntimeChange<T, E> change) throws E, InterruptedException {
        synchronized (this) {
            long deadline = System.nanoTime() + maxWait.toNanos();
            for (long left = maxWait.toNanos(); reloading && left > 0; left = deadline - System.nanoTime()) {
                long millis = Math.max(1, left / 1_000_000);
                wait(millis);
            }
            runtimeChanges++;
        }
        try {
            return change.run();
        } finally {
            synchronized (this) {
                runtimeChanges--;
                notifyAll();
            }
        }
    }
}
