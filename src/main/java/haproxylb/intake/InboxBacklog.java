package haproxylb.intake;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Consumer;
import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultPollingConsumerPollStrategy;
import org.apache.camel.support.ScheduledPollConsumer;

/**
 * Whether the inbox holds more than one poll takes: a storm is under way. It is the intake route's poll strategy, so
 * Camel tells it each poll's size. After a full poll the next one starts at once (greedy) instead of after
 * lb.intake.poll, so a storm's chunks come back to back; after any other poll, even one whose files failed (a full
 * disk), the route waits as usual rather than spin. The assembly, the certificate check and the monitoring
 * observation ask it, and wait (up to a hold) for a storm to be taken in: each is O(fragments or domains), so mid-storm
 * they took the CPU the intake needed, and the next chunk made their work stale at once (bench/daemon-storm.sh).
 *
 * <p>A storm's first poll is often not full: inotify wakes the intake at the first rename, while the rest are still
 * being renamed in. That poll's changes asked for an assembly, which then started beside the storm (at 10,000 live
 * fragments, seconds of a core the intake needed). So a storm is also a poll that took files while the inbox,
 * counted when asked, holds at least another poll's worth.
 */
public final class InboxBacklog extends DefaultPollingConsumerPollStrategy {
    /** The intake route polls again at once after a full poll; a full poll older than this is stale. */
    private static final long FRESH_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long STEP_MILLIS = 20;

    private final int pollLimit;
    private final long holdNanos;
    private final Path inbox;
    private volatile boolean lastPollFull;
    private volatile boolean lastPollTook;
    private volatile long lastPollEndNanos;
    private volatile boolean stopped;

    /**
     * @param pollLimit  the most files one poll takes (lb.intake.max-per-poll): a poll that took that many left more
     * @param hold       the longest {@link #awaitCalm} waits (lb.assembly.storm-hold), so a storm that never ends
     *                   still goes live chunk by chunk
     * @param inbox      the intake route's directory, counted when a poll took files but was not full; null: only
     *                   full polls tell a storm
     */
    public InboxBacklog(int pollLimit, Duration hold, Path inbox) {
        if (pollLimit < 1) {
            throw new IllegalArgumentException("poll limit " + pollLimit + " < 1");
        }
        this.pollLimit = pollLimit;
        this.holdNanos = hold.toNanos();
        this.inbox = inbox;
    }

    /** A poll of the inbox was taken in: {@code polledMessages} files. */
    @Override
    public void commit(Consumer consumer, Endpoint endpoint, int polledMessages) {
        lastPollEndNanos = System.nanoTime();
        lastPollFull = polledMessages >= pollLimit;
        lastPollTook = polledMessages > 0;
        if (consumer instanceof ScheduledPollConsumer poller) {
            poller.setGreedy(lastPollFull); // Camel reads it right after this call
        }
    }

    /**
     * Whether the last poll was recent and either full or followed by at least a poll's worth of files: more files
     * wait, and the intake is taking them. Files that only sit there (uploads that never complete) make no storm: the
     * polls that find them take nothing.
     */
    public boolean stormUnderway() {
        if (System.nanoTime() - lastPollEndNanos >= FRESH_NANOS) {
            return false;
        }
        return lastPollFull || (lastPollTook && inboxHoldsAPoll());
    }

    /** Counts the inbox's entries the intake route would take (as it does: no hidden files), up to one poll's worth. */
    private boolean inboxHoldsAPoll() {
        if (inbox == null) {
            return false;
        }
        int seen = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(inbox, InboxBacklog::intakeName)) {
            for (Path ignored : entries) {
                if (++seen >= pollLimit) {
                    return true;
                }
            }
        } catch (IOException | RuntimeException e) {
            return false; // the intake route reports an unreadable inbox; no storm is waited for meanwhile
        }
        return false;
    }

    private static boolean intakeName(Path entry) {
        String name = entry.getFileName().toString();
        return !name.startsWith(".")
                && (name.endsWith(".cfg") || name.endsWith(".map") || name.endsWith(".remove"));
    }

    /** Waits while a storm is under way, at most the hold; a stop ({@link #stop}, an interrupt) ends the wait. */
    public void awaitCalm() {
        long deadline = System.nanoTime() + holdNanos;
        while (!stopped && stormUnderway() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(STEP_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The daemon stops: nobody waits for the rest of a storm any more (it stays in the inbox for the next start). */
    public void stop() {
        stopped = true;
    }
}
