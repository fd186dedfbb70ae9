package haproxylb.certificates.policy;

import haproxylb.support.StderrCapture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.certificates.policy.RateLimitLedger.Limit;
import haproxylb.certificates.policy.RateLimitLedger.Limits;
import haproxylb.storage.LocalStorage;
import haproxylb.support.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RateLimitLedgerTest {
    private static final String ACCOUNT = "https://acme.example/acct/1";
    private final MutableClock clock = MutableClock.at("2025-05-01T08:00:00Z");
    private final RateLimitLedger ledger = new RateLimitLedger(clock);

    @TempDir
    Path dir;

    @Test
    void the_defaults_are_lets_encrypts_published_limits() {
        Limits le = Limits.LETS_ENCRYPT;
        assertEquals(new Limit(5, Duration.ofHours(1)), le.failedAuthorizationsPerHostname());
        assertEquals(new Limit(300, Duration.ofHours(3)), le.newOrdersPerAccount());
        assertEquals(new Limit(50, Duration.ofDays(7)), le.certificatesPerRegisteredDomain());
        assertEquals(new Limit(5, Duration.ofDays(7)), le.duplicateCertificates());
        assertEquals(le, ledger.limits());
    }

    @Test
    void an_order_may_be_placed_when_nothing_was_recorded() {
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("a.example.com", "b.example.com")));
    }

    @Test
    void five_failed_authorizations_for_a_hostname_within_an_hour_refuse_orders_naming_it() {
        Instant first = clock.instant();
        for (int i = 0; i < 4; i++) {
            ledger.recordFailedAuthorization("A.example.com");
            clock.advance(Duration.ofMinutes(5));
        }
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("a.example.com")));

        ledger.recordFailedAuthorization("a.example.com");
        Optional<String> refusal = ledger.refusal(ACCOUNT, List.of("b.example.com", "a.example.com"));

        assertTrue(refusal.isPresent());
        assertTrue(refusal.get().contains("failed authorizations per hostname"), refusal.get());
        assertTrue(refusal.get().contains("a.example.com had 5"), refusal.get());
        assertTrue(refusal.get().contains("the limit is 5 per hour"), refusal.get());
        assertTrue(refusal.get().contains(first.plus(Duration.ofHours(1)).toString()), refusal.get());
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("b.example.com")));
    }

    @Test
    void the_failed_authorization_limit_frees_up_an_hour_after_the_oldest_failure() {
        Instant first = clock.instant();
        for (int i = 0; i < 5; i++) {
            ledger.recordFailedAuthorization("a.example.com");
            clock.advance(Duration.ofMinutes(10));
        }
        RateLimitLedger.Refusal r = ledger.check(ACCOUNT, List.of("a.example.com"), false).orElseThrow();
        assertEquals(first.plus(Duration.ofHours(1)), r.freesAt());

        clock.set(r.freesAt().minusSeconds(1));
        assertTrue(ledger.refusal(ACCOUNT, List.of("a.example.com")).isPresent());
        clock.set(r.freesAt());
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("a.example.com")));
    }

    @Test
    void three_hundred_new_orders_per_account_in_three_hours_is_the_most() {
        Instant first = clock.instant();
        for (int i = 0; i < 300; i++) {
            ledger.recordOrder(ACCOUNT);
            clock.advance(Duration.ofSeconds(10));
        }

        Optional<String> refusal = ledger.refusal(ACCOUNT, List.of("new.example.org"));
        assertTrue(refusal.isPresent());
        assertTrue(refusal.get().contains("new orders per account"), refusal.get());
        assertTrue(refusal.get().contains("300 per 3 hours"), refusal.get());
        assertEquals(Optional.empty(), ledger.refusal("https://acme.example/acct/2", List.of("new.example.org")));

        clock.set(first.plus(Duration.ofHours(3)));
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("new.example.org")));
    }

    @Test
    void fifty_certificates_per_registered_domain_in_a_week_is_the_most() {
        for (int i = 0; i < 50; i++) {
            ledger.recordIssued(List.of("host" + i + ".example.com"));
            clock.advance(Duration.ofMinutes(1));
        }

        Optional<String> refusal = ledger.refusal(ACCOUNT, List.of("another.example.com", "other.example.net"));
        assertTrue(refusal.isPresent());
        assertTrue(refusal.get().contains("certificates per registered domain"), refusal.get());
        assertTrue(refusal.get().contains("example.com got 50"), refusal.get());
        assertTrue(refusal.get().contains("50 per 7 days"), refusal.get());
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("other.example.net")));
    }

    @Test
    void a_renewal_of_the_same_names_is_exempt_from_the_registered_domain_limit_as_at_lets_encrypt() {
        for (int i = 0; i < 50; i++) {
            ledger.recordIssued(List.of("host" + i + ".example.com"));
        }

        assertTrue(ledger.refusal(ACCOUNT, List.of("host7.example.com")).isPresent());
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("host7.example.com"), true));
    }

    @Test
    void the_registered_domain_limit_frees_up_a_week_after_the_oldest_certificate() {
        Instant first = clock.instant();
        for (int i = 0; i < 50; i++) {
            ledger.recordIssued(List.of("host" + i + ".example.com"));
            clock.advance(Duration.ofHours(1));
        }
        assertTrue(ledger.refusal(ACCOUNT, List.of("x.example.com")).isPresent());

        clock.set(first.plus(Duration.ofDays(7)));
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("x.example.com")));
    }

    @Test
    void names_under_a_multi_label_public_suffix_count_per_registered_domain() {
        for (int i = 0; i < 50; i++) {
            ledger.recordIssued(List.of("h" + i + ".shop.co.uk"));
        }

        assertTrue(ledger.refusal(ACCOUNT, List.of("new.shop.co.uk")).isPresent());
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("www.bakery.co.uk")));
    }

    @Test
    void five_duplicate_certificates_in_a_week_is_the_most_whatever_the_order_and_case_of_the_names() {
        for (int i = 0; i < 5; i++) {
            ledger.recordIssued(i % 2 == 0 ? List.of("a.example.com", "b.example.com")
                    : List.of("B.example.com", "a.example.com."));
            clock.advance(Duration.ofHours(2));
        }

        Optional<String> refusal = ledger.refusal(ACCOUNT, List.of("b.example.com", "a.example.com"), true);
        assertTrue(refusal.isPresent());
        assertTrue(refusal.get().contains("duplicate certificates"), refusal.get());
        assertTrue(refusal.get().contains("[a.example.com,b.example.com]"), refusal.get());
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("a.example.com")));
        assertEquals(Optional.empty(), ledger.refusal(ACCOUNT, List.of("a.example.com", "b.example.com", "c.example.com")));
    }

    @Test
    void limits_of_a_private_test_ca_can_be_switched_off() {
        RateLimitLedger unlimited = new RateLimitLedger(clock, Limits.unlimited());
        for (int i = 0; i < 400; i++) {
            unlimited.recordOrder(ACCOUNT);
            unlimited.recordFailedAuthorization("a.example.com");
            unlimited.recordIssued(List.of("a.example.com"));
        }

        assertEquals(Optional.empty(), unlimited.refusal(ACCOUNT, List.of("a.example.com")));
    }

    @Test
    void custom_limits_are_enforced_with_their_own_window() {
        Limits tight = new Limits(new Limit(1, Duration.ofMinutes(10)), Limit.UNLIMITED, Limit.UNLIMITED,
                Limit.UNLIMITED);
        RateLimitLedger l = new RateLimitLedger(clock, tight);
        l.recordFailedAuthorization("a.example.com");

        assertTrue(l.refusal(ACCOUNT, List.of("a.example.com")).orElseThrow().contains("1 per 10 minutes"));
        clock.advance(Duration.ofMinutes(10));
        assertEquals(Optional.empty(), l.refusal(ACCOUNT, List.of("a.example.com")));
    }

    @Test
    void survives_a_restart_through_save_and_load() throws Exception {
        Path file = dir.resolve("ledger.json");
        for (int i = 0; i < 5; i++) {
            ledger.recordFailedAuthorization("broken.example.com");
            ledger.recordIssued(List.of("a.example.com", "www.example.com"));
        }
        ledger.recordOrder(ACCOUNT);
        ledger.save(new LocalStorage(dir), "ledger.json");

        RateLimitLedger loaded = RateLimitLedger.load(new LocalStorage(dir), "ledger.json", clock);

        assertEquals(ledger.refusal(ACCOUNT, List.of("broken.example.com")),
                loaded.refusal(ACCOUNT, List.of("broken.example.com")));
        assertTrue(loaded.refusal(ACCOUNT, List.of("broken.example.com")).orElseThrow()
                .contains("failed authorizations per hostname"));
        assertTrue(loaded.refusal(ACCOUNT, List.of("a.example.com", "www.example.com"), true).orElseThrow()
                .contains("duplicate certificates"));
    }

    @Test
    void events_older_than_their_window_are_not_kept_in_the_file() throws Exception {
        Path file = dir.resolve("ledger.json");
        ledger.recordFailedAuthorization("old.example.com");
        ledger.recordIssued(List.of("kept.example.com"));
        clock.advance(Duration.ofHours(2));
        ledger.save(new LocalStorage(dir), "ledger.json");

        String json = Files.readString(file);
        assertFalse(json.contains("old.example.com"), json);
        assertTrue(json.contains("kept.example.com"), json);
    }

    @Test
    void a_missing_file_loads_as_an_empty_ledger() {
        assertEquals(Optional.empty(), RateLimitLedger.load(new LocalStorage(dir), "none.json", clock)
                .refusal(ACCOUNT, List.of("a.example.com")));
    }

    @Test
    void a_corrupt_file_loads_as_an_empty_ledger_with_a_warning_naming_the_file() throws Exception {
        Path file = dir.resolve("ledger.json");
        Files.writeString(file, "not json at all");

        StderrCapture.Result<RateLimitLedger> r = StderrCapture.capture(() -> RateLimitLedger.load(new LocalStorage(dir), "ledger.json", clock));

        assertEquals(Optional.empty(), r.value().refusal(ACCOUNT, List.of("a.example.com")));
        assertTrue(r.stderr().contains(file.toString()), r.stderr());
    }

    @Test
    void reload_takes_the_orders_another_node_stored() throws Exception {
        LocalStorage shared = new LocalStorage(dir);
        RateLimitLedger previousLeader = new RateLimitLedger(clock);
        for (int i = 0; i < 5; i++) {
            previousLeader.recordIssued(List.of("dup.example.com"));
        }
        previousLeader.save(shared, "ledger.json");
        RateLimitLedger newLeader = new RateLimitLedger(clock);
        assertEquals(Optional.empty(), newLeader.refusal(ACCOUNT, List.of("dup.example.com")));

        newLeader.reload(shared, "ledger.json");

        assertTrue(newLeader.refusal(ACCOUNT, List.of("dup.example.com")).orElseThrow()
                .contains("duplicate certificates"));
    }
}
