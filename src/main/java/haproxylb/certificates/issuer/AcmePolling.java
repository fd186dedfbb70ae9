package haproxylb.certificates.issuer;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.shredzone.acme4j.PollableResource;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.exception.AcmeException;

/**
 * Waits for ACME resources (orders, authorizations) to leave their waiting states: short polling instead of acme4j's
 * fixed 3 s, honouring the CA's Retry-After per resource, bounded by a deadline.
 */
final class AcmePolling {
    private final Duration pollInterval;
    private final AcmeErrors errors;

    AcmePolling(Duration pollInterval, AcmeErrors errors) {
        this.pollInterval = pollInterval;
        this.errors = errors;
    }

    /**
     * Polls every resource still in one of {@code waitingStatuses} until none is, or the deadline passes. Each
     * resource is fetched no earlier than the poll interval or the CA's Retry-After for it, whichever is later.
     */
    void awaitAll(List<? extends PollableResource> resources, Set<Status> waitingStatuses, Instant deadline,
                          String what) throws AcmeException, InterruptedException, IssuanceException {
        Map<PollableResource, Instant> next = new LinkedHashMap<>();
        Instant first = Instant.now();
        for (PollableResource r : resources) {
            if (waitingStatuses.contains(r.getStatus())) {
                next.put(r, first);
            }
        }
        while (!next.isEmpty()) {
            Instant now = Instant.now();
            Instant earliest = Collections.min(next.values());
            if (earliest.isAfter(now)) {
                if (!now.isBefore(deadline)) {
                    throw errors.timeout(what, resources, waitingStatuses);
                }
                Instant wake = earliest.isBefore(deadline) ? earliest : deadline;
                Thread.sleep(Math.max(1, Duration.between(now, wake).toMillis()));
                continue;
            }
            for (Map.Entry<PollableResource, Instant> e : new ArrayList<>(next.entrySet())) {
                if (e.getValue().isAfter(now)) {
                    continue;
                }
                PollableResource r = e.getKey();
                Optional<Instant> retryAfter = r.fetch();
                if (!waitingStatuses.contains(r.getStatus())) {
                    next.remove(r);
                    continue;
                }
                Instant after = Instant.now().plus(pollInterval);
                if (retryAfter.isPresent() && retryAfter.get().isAfter(after)) {
                    after = retryAfter.get();
                }
                next.put(r, after);
            }
            if (!next.isEmpty() && !Instant.now().isBefore(deadline)) {
                throw errors.timeout(what, resources, waitingStatuses);
            }
        }
    }
}
