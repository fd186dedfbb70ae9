package haproxylb.certificates;

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
}
