package haproxylb.certificates.store;

import haproxylb.support.FixedRandom;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RenewalWindowTest {
    private static final Instant ISSUED = Instant.parse("2025-01-01T00:00:00Z");
    private static final Instant EXPIRES_90 = ISSUED.plus(Duration.ofDays(90));

    @Test
    void renews_when_less_than_a_third_of_the_lifetime_is_left() {
        RenewalWindow w = RenewalWindow.of(ISSUED, EXPIRES_90);

        assertEquals(EXPIRES_90.minus(Duration.ofDays(30)), w.renewAt());
        assertFalse(w.isDue(w.renewAt().minusSeconds(1)));
        assertTrue(w.isDue(w.renewAt()));
        assertTrue(w.isDue(EXPIRES_90.plusSeconds(1)));
    }

    @Test
    void a_short_lived_six_day_certificate_renews_two_days_before_it_expires() {
        Instant expires = ISSUED.plus(Duration.ofDays(6));
        RenewalWindow w = RenewalWindow.of(ISSUED, expires);

        assertEquals(expires.minus(Duration.ofDays(2)), w.renewAt());
        assertFalse(w.isDue(ISSUED.plus(Duration.ofDays(4)).minusSeconds(1)));
        assertTrue(w.isDue(ISSUED.plus(Duration.ofDays(4))));
    }

    @Test
    void lets_encrypt_lifetimes_with_their_extra_second_still_renew_at_two_thirds() {
        // Let's Encrypt's notAfter is notBefore + 90 days - 1 second (inclusive validity period).
        Instant expires = ISSUED.plus(Duration.ofDays(90)).minusSeconds(1);
        RenewalWindow w = RenewalWindow.of(ISSUED, expires);

        Duration lifetime = Duration.between(ISSUED, expires);
        Instant twoThirds = ISSUED.plus(lifetime.multipliedBy(2).dividedBy(3));
        assertTrue(Duration.between(twoThirds, w.renewAt()).abs().toMillis() < 1, w.renewAt() + " vs " + twoThirds);
    }

    @Test
    void remaining_counts_down_to_zero_and_not_below() {
        RenewalWindow w = RenewalWindow.of(ISSUED, EXPIRES_90);

        assertEquals(Duration.ofDays(90), w.remaining(ISSUED));
        assertEquals(Duration.ofDays(1), w.remaining(EXPIRES_90.minus(Duration.ofDays(1))));
        assertEquals(Duration.ZERO, w.remaining(EXPIRES_90.plus(Duration.ofDays(3))));
        assertTrue(w.isExpired(EXPIRES_90));
        assertFalse(w.isExpired(EXPIRES_90.minusMillis(1)));
    }

    @Test
    void an_ari_window_that_starts_before_the_one_third_point_decides_the_renewal_time() {
        RenewalWindow plain = RenewalWindow.of(ISSUED, EXPIRES_90);
        Instant start = ISSUED.plus(Duration.ofDays(20));
        Instant end = ISSUED.plus(Duration.ofDays(22));

        RenewalWindow w = plain.withAri(start, end, new SplittableRandom(1));

        assertTrue(w.fromAri());
        assertFalse(w.renewAt().isBefore(start), w.toString());
        assertFalse(w.renewAt().isAfter(end), w.toString());
        assertTrue(w.renewAt().isBefore(plain.renewAt()));
        assertTrue(w.isDue(end));
        assertFalse(w.isDue(start.minusSeconds(1)));
    }

    @Test
    void an_ari_window_straddling_the_one_third_point_is_followed_as_a_whole() {
        Instant byRule = RenewalWindow.of(ISSUED, EXPIRES_90).renewAt();
        Instant start = byRule.minus(Duration.ofDays(1));
        Instant end = byRule.plus(Duration.ofDays(1));

        RenewalWindow w = RenewalWindow.of(ISSUED, EXPIRES_90).withAri(start, end, new FixedRandom.AlwaysMax());

        assertEquals(end, w.renewAt());
        assertTrue(w.fromAri());
    }

    @Test
    void an_ari_window_later_than_the_one_third_point_does_not_delay_renewal() {
        RenewalWindow plain = RenewalWindow.of(ISSUED, EXPIRES_90);

        RenewalWindow w = plain.withAri(EXPIRES_90.minus(Duration.ofDays(10)), EXPIRES_90.minus(Duration.ofDays(9)),
                new SplittableRandom(1));

        assertEquals(plain.renewAt(), w.renewAt());
        assertFalse(w.fromAri());
    }

    @Test
    void the_ari_time_is_spread_uniformly_over_the_whole_window() {
        Instant start = ISSUED.plus(Duration.ofDays(10));
        Instant end = start.plus(Duration.ofHours(48));
        RenewalWindow plain = RenewalWindow.of(ISSUED, EXPIRES_90);
        SplittableRandom random = new SplittableRandom(42);
        int[] quarters = new int[4];
        Set<Instant> distinct = new HashSet<>();
        int draws = 4000;
        for (int i = 0; i < draws; i++) {
            Instant t = plain.withAri(start, end, random).renewAt();
            assertFalse(t.isBefore(start) || t.isAfter(end), t.toString());
            distinct.add(t);
            quarters[(int) Math.min(3, Duration.between(start, t).toMinutes() / (12 * 60))]++;
        }
        assertTrue(distinct.size() > draws * 0.99, "times repeat: " + distinct.size());
        for (int q : quarters) {
            assertTrue(q > draws / 4 * 0.85 && q < draws / 4 * 1.15, "uneven quarters " + java.util.Arrays.toString(quarters));
        }
    }

    @Test
    void the_same_generator_state_picks_the_same_time_so_tests_are_deterministic() {
        RenewalWindow plain = RenewalWindow.of(ISSUED, EXPIRES_90);
        Instant start = ISSUED.plus(Duration.ofDays(10));
        Instant end = ISSUED.plus(Duration.ofDays(12));

        assertEquals(plain.withAri(start, end, new SplittableRandom(7)).renewAt(),
                plain.withAri(start, end, new SplittableRandom(7)).renewAt());
        assertEquals(start, plain.withAri(start, end, new FixedRandom.AlwaysMin()).renewAt());
        assertEquals(end, plain.withAri(start, end, new FixedRandom.AlwaysMax()).renewAt());
    }

    @Test
    void an_ari_window_in_the_past_makes_renewal_due_at_once() {
        Instant now = ISSUED.plus(Duration.ofDays(5));

        RenewalWindow w = RenewalWindow.of(ISSUED, EXPIRES_90)
                .withAri(ISSUED.plus(Duration.ofDays(1)), ISSUED.plus(Duration.ofDays(2)), new SplittableRandom(3));

        assertTrue(w.isDue(now));
    }

    @Test
    void a_zero_length_ari_window_renews_at_its_single_instant() {
        Instant at = ISSUED.plus(Duration.ofDays(30));

        assertEquals(at, RenewalWindow.of(ISSUED, EXPIRES_90).withAri(at, at, new SplittableRandom(1)).renewAt());
    }

    @Test
    void an_ari_window_that_ends_before_it_starts_is_ignored() {
        RenewalWindow plain = RenewalWindow.of(ISSUED, EXPIRES_90);

        assertSame(plain, plain.withAri(ISSUED.plus(Duration.ofDays(20)), ISSUED.plus(Duration.ofDays(19)),
                new SplittableRandom(1)));
    }

    @Test
    void refuses_a_certificate_that_expires_before_it_starts() {
        assertThrows(IllegalArgumentException.class, () -> RenewalWindow.of(EXPIRES_90, ISSUED));
    }
}
