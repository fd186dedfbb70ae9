package haproxylb.statuspage;

import haproxylb.status.ReloadStatus;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The reloads of the last hours, for the status page's timeline. status.json keeps only the last reload, so each
 * one is remembered here as it is seen; the history lives in memory and starts again with the process (the first
 * entry is then the last reload status.json remembers).
 */
public final class ReloadHistory {
    /** A reload storm is rate limited to one a minute by default; this keeps days of them and bounds memory. */
    static final int MAX_ENTRIES = 2000;

    private final Clock clock;
    private final Duration window;
    private final Deque<ReloadStatus> reloads = new ArrayDeque<>();

    public ReloadHistory(Clock clock, Duration window) {
        this.clock = clock;
        this.window = window;
    }

    /** Remembers the last reload if it is not the one seen before. */
    public synchronized void saw(ReloadStatus last) {
        if (last == null || last.at() == null) {
            return;
        }
        ReloadStatus previous = reloads.peekLast();
        if (previous != null && Objects.equals(previous.at(), last.at()) && previous.generation() == last.generation()) {
            return;
        }
        reloads.addLast(last);
        while (reloads.size() > MAX_ENTRIES) {
            reloads.removeFirst();
        }
    }

    /** The reloads within the window, oldest first. */
    public synchronized List<ReloadStatus> recent() {
        Instant since = clock.instant().minus(window);
        List<ReloadStatus> recent = new ArrayList<>();
        for (ReloadStatus r : reloads) {
            if (at(r).map(t -> !t.isBefore(since)).orElse(true)) {
                recent.add(r);
            }
        }
        return recent;
    }

    public Duration window() {
        return window;
    }

    private static Optional<Instant> at(ReloadStatus r) {
        try {
            return Optional.of(Instant.parse(r.at()));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
