package haproxylb.common;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Keeps work whose cost grows with the whole state (an assembly is O(fragments), a coverage check and a monitoring
 * observation O(domains)) to a share of a core when it is asked for again and again, as in a storm of drops: a run
 * starts no sooner than the last one's end plus {@code pauseFactor} times its length. After a quiet period that
 * moment is long past, so the first request runs at once; in a storm each run covers everything asked for meanwhile,
 * and the intake keeps the CPU it needs (bench/daemon-storm.sh: before pacing, assemblies, checks and observations
 * ran back to back and took over 80 % of the daemon's CPU from the intake).
 */
public final class Pacing {
    private final double pauseFactor;
    private long notBeforeNanos = System.nanoTime();
    /** Counted down when the daemon stops: a pause must not hold up Camel's graceful shut-down (15 s, then forced). */
    private final CountDownLatch stopped = new CountDownLatch(1);

    /** @param pauseFactor the pause after a run, in multiples of its length: the work takes 1/(1+factor) of a core */
    public Pacing(double pauseFactor) {
        if (pauseFactor < 0) {
            throw new IllegalArgumentException("pause factor " + pauseFactor + " < 0");
        }
        this.pauseFactor = pauseFactor;
    }

    /** Work that may throw. */
    @FunctionalInterface
    public interface Work<T, E extends Exception> {
        T run() throws E;
    }

    /** Runs {@code work} once its turn has come (waiting here until then). */
    public <T, E extends Exception> T run(Work<T, E> work) throws E {
        awaitTurn();
        long start = System.nanoTime();
        try {
            return work.run();
        } finally {
            ran(start, System.nanoTime());
        }
    }

    /** How long until the next run may start (0 when it may start now). */
    public synchronized long waitNanos() {
        return Math.max(0, notBeforeNanos - System.nanoTime());
    }

    /** A run from {@code startNanos} to {@code endNanos} (System.nanoTime) sets when the next may start. */
    public synchronized void ran(long startNanos, long endNanos) {
        notBeforeNanos = endNanos + (long) (pauseFactor * (endNanos - startNanos));
    }

    /** Waits here until the next run may start, or the daemon stops ({@link #stop}). */
    public void awaitTurn() {
        long wait = waitNanos();
        if (wait <= 0) {
            return;
        }
        try {
            stopped.await(wait, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // stopping: the run goes ahead without its pause
        }
    }

    /** The daemon stops: a run waiting for its turn, and every later one, goes ahead without its pause. */
    public void stop() {
        stopped.countDown();
    }
}
