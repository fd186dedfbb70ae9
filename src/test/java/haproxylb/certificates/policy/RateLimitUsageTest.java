package haproxylb.certificates.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.support.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

/** The budgets a name draws on, as the status shows them: used, the limit, and when the oldest event leaves. */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class RateLimitUsageTest {

    @Test
    void usage_counts_each_lets_encrypt_budget_and_says_when_one_frees_up() {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-29T08:00:00Z"));
        RateLimitLedger ledger = new RateLimitLedger(clock, RateLimitLedger.Limits.LETS_ENCRYPT);
        ledger.recordOrder("acct");
        ledger.recordIssued(List.of("a.example.com"));
        clock.advance(Duration.ofMinutes(10));
        ledger.recordOrder("acct");
        ledger.recordFailedAuthorization("a.example.com");

        List<RateLimitLedger.Usage> usage = ledger.usage("acct", List.of("a.example.com"));
        RateLimitLedger.Usage orders = usage.get(0);
        assertEquals("new orders per account", orders.limit());
        assertEquals(2, orders.used());
        assertEquals(300, orders.max());
        assertEquals(Optional.of(Instant.parse("2026-11-29T11:00:00Z")), orders.freesOneAt(), "3 hours after the first");
        assertTrue(usage.stream().anyMatch(u -> u.limit().equals("certificates per registered domain")
                && u.key().equals("example.com") && u.used() == 1 && u.max() == 50), usage.toString());
        assertTrue(usage.stream().anyMatch(u -> u.limit().equals("failed authorizations per hostname") && u.used() == 1
                && u.max() == 5), usage.toString());
        assertTrue(orders.describe().startsWith("new orders per account (acct): 2 of 300 per 3 hours"), orders.describe());

        assertEquals(List.of(), new RateLimitLedger(clock, RateLimitLedger.Limits.unlimited()).usage("acct",
                List.of("a.example.com")), "no budget without limits");
    }

    @Test
    void the_fullest_budget_of_each_limit_is_one_series_per_limit_whatever_the_number_of_names() {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-29T08:00:00Z"));
        RateLimitLedger ledger = new RateLimitLedger(clock, RateLimitLedger.Limits.LETS_ENCRYPT);
        ledger.recordFailedAuthorization("a.example.com");
        clock.advance(Duration.ofMinutes(5));
        ledger.recordFailedAuthorization("b.example.com");
        ledger.recordFailedAuthorization("b.example.com");
        ledger.recordIssued(List.of("c.example.org"));

        List<RateLimitLedger.Usage> fullest = ledger.fullest();
        assertEquals(List.of("failed authorizations per hostname", "new orders per account",
                "certificates per registered domain", "duplicate certificates"),
                fullest.stream().map(RateLimitLedger.Usage::limit).toList());
        RateLimitLedger.Usage failed = fullest.get(0);
        assertEquals("b.example.com", failed.key());
        assertEquals(2, failed.used());
        assertEquals(5, failed.max());
        assertEquals(Optional.of(Instant.parse("2026-11-29T09:05:00Z")), failed.freesOneAt());
        RateLimitLedger.Usage orders = fullest.get(1);
        assertEquals(0, orders.used(), "nothing ordered yet");
        assertEquals(300, orders.max());
        assertEquals(Optional.empty(), orders.freesOneAt());

        clock.advance(Duration.ofHours(1));
        assertEquals(0, ledger.fullest().get(0).used(), "the failures left their hour");
        assertEquals(List.of(), new RateLimitLedger(clock, RateLimitLedger.Limits.unlimited()).fullest());
    }
}
