package haproxylb.monitoring;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the certificate stage knows about its CAs that is not per domain, for the metrics and JMX: the rate-limit
 * budgets of each CA's ledger, each CA's own backoff, and failed orders by CA and error type. Read on every scrape,
 * from another thread than the certificate check's.
 */
public interface AcmeFigures {
    /**
     * The fullest budget of one ledger limit of one CA.
     *
     * @param freesOneAt when the oldest counted event leaves the window, freeing one unit; empty when none is counted
     */
    record Budget(String ca, String limit, int used, int max, Optional<Instant> freesOneAt) {}

    /** Failed orders since start at {@code ca} whose error was of {@code type} (rateLimited, paused, ...). */
    record Errors(String ca, String type, long count) {}

    List<Budget> budgets();

    /** CA → when it may be sent orders again, while it backs off as a whole; empty while it may be. */
    Map<String, Optional<Instant>> caBackoff();

    List<Errors> errors();
}
