package haproxylb.intake;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Whether the inbox holds more than one poll takes: a storm is under way. The intake tells it each poll's size; the
 * assembly asks it, and waits (up to its hold) for the storm to drain instead of assembling for every chunk. An
 * assembly is O(fragments) and runs haproxy -c and a reload, so mid-storm it took the CPU the intake needed, and the
 * next chunk made its work stale at once (bench/daemon-storm.sh).
 */
public final class InboxBacklog {
    /** The intake route polls again at once after a poll that found files; a full poll older than this is stale. */
    private static final long FRESH_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long STEP_MILLIS = 20;

    private final int pollLimit;
    private volatile boolean lastPollFull;
    private volatile long lastPollEndNanos;

    /** @param pollLimit the most files one poll takes (lb.intake.max-per-poll): a poll that took that many left more */
    public InboxBacklog(int pollLimit) {
        if (pollLimit < 1) {
            throw new IllegalArgumentException("poll limit " + pollLimit + " < 1");
        }
        this.pollLimit = pollLimit;
    }

    /** A poll of the inbox was taken in: {@code files} of them. */
    public void pollEnded(int files) {
        lastPollEndNanos = System.nanoTime();
        lastPollFull = files >= pollLimit;
    }

    /** Whether the last poll was full and recent: more files wait, and the intake is taking them. */
    public boolean stormUnderway() {
        return lastPollFull && System.nanoTime() - lastPollEndNanos < FRESH_NANOS;
    }

    /** Waits while a storm is under way, at most {@code hold}; a stop (interrupt) ends the wait. */
    public void awaitCalm(Duration hold) {
        long deadline = System.nanoTime() + hold.toNanos();
        while (stormUnderway() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(STEP_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
