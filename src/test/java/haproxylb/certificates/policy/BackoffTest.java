package haproxylb.certificates.policy;

import haproxylb.support.FixedRandom;
import haproxylb.support.StderrCapture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.storage.LocalStorage;
import haproxylb.support.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackoffTest {
    private final MutableClock clock = MutableClock.at("2025-03-01T12:00:00Z");

    @TempDir
    Path dir;

    @Test
    void the_first_retry_waits_one_minute_then_the_wait_doubles_up_to_six_hours() {
        long[] minutes = {1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360};
        for (int n = 1; n <= minutes.length; n++) {
            assertEquals(Duration.ofMinutes(minutes[n - 1]), Backoff.step(n), "after failure " + n);
        }
        assertEquals(Duration.ofHours(6), Backoff.step(1000));
        assertEquals(Duration.ZERO, Backoff.step(0));
    }

    @Test
    void without_jitter_each_failure_waits_exactly_its_step() {
        Backoff backoff = new Backoff(clock, new FixedRandom.AlwaysMin());
        for (int n = 1; n <= 12; n++) {
            Instant failedAt = clock.instant();
            backoff.recordFailure("a.example.com", "connection refused");
            assertEquals(Optional.of(failedAt.plus(Backoff.step(n))), backoff.nextAttempt("a.example.com"));
            clock.set(backoff.nextAttempt("a.example.com").orElseThrow());
        }
    }

    @Test
    void jitter_shortens_each_wait_by_at_most_ten_percent_and_never_exceeds_six_hours() {
        Backoff backoff = new Backoff(clock, new SplittableRandom(11));
        boolean sawJitter = false;
        for (int n = 1; n <= 40; n++) {
            Instant failedAt = clock.instant();
            backoff.recordFailure("k", "boom");
            Duration wait = Duration.between(failedAt, backoff.nextAttempt("k").orElseThrow());
            Duration step = Backoff.step(n);
            assertTrue(wait.compareTo(step) <= 0, "failure " + n + " waits " + wait + " > " + step);
            assertTrue(wait.toMillis() >= step.toMillis() * 0.9, "failure " + n + " waits " + wait + " < 90% of " + step);
            assertTrue(wait.compareTo(Duration.ofHours(6)) <= 0);
            sawJitter |= !wait.equals(step);
            clock.advance(wait);
        }
        assertTrue(sawJitter, "a real generator should shave something off at least once");

        Backoff worst = new Backoff(clock, new FixedRandom.AlwaysMax());
        Instant at = clock.instant();
        worst.recordFailure("k", "boom");
        long waited = Duration.between(at, worst.nextAttempt("k").orElseThrow()).toMillis();
        assertTrue(waited >= 54_000 && waited < 60_000, "first wait " + waited + " ms");
    }

    @Test
    void a_retry_after_later_than_the_step_holds_the_next_attempt_until_then_and_an_earlier_one_changes_nothing() {
        Backoff backoff = new Backoff(clock, new FixedRandom.AlwaysMin());
        Instant retryAfter = clock.instant().plus(Duration.ofHours(3));
        backoff.recordFailure("g", "rate limited", "rateLimited", Optional.of(retryAfter));
        assertEquals(Optional.of(retryAfter), backoff.nextAttempt("g"));
        clock.advance(Duration.ofHours(2));
        assertFalse(backoff.mayAttempt("g"), "the CA said not before " + retryAfter);
        assertEquals(Optional.of("rateLimited"), backoff.lastErrorType("g"));

        backoff.recordFailure("h", "rate limited", "rateLimited", Optional.of(clock.instant().plusSeconds(5)));
        assertEquals(Optional.of(clock.instant().plus(Backoff.step(1))), backoff.nextAttempt("h"));
        backoff.recordFailure("i", "no type", "", Optional.empty());
        assertEquals(Optional.empty(), backoff.lastErrorType("i"));
    }

    @Test
    void the_error_type_and_a_retry_after_survive_a_restart() throws Exception {
        Backoff backoff = new Backoff(clock, new FixedRandom.AlwaysMin());
        Instant retryAfter = clock.instant().plus(Duration.ofDays(1));
        backoff.recordFailure("g", "paused", "paused", Optional.of(retryAfter));
        backoff.save(new LocalStorage(dir), "backoff.json");
        Backoff loaded = Backoff.load(new LocalStorage(dir), "backoff.json", clock, new FixedRandom.AlwaysMin());
        assertEquals(Optional.of("paused"), loaded.lastErrorType("g"));
        assertEquals(Optional.of(retryAfter), loaded.nextAttempt("g"));
    }

    @Test
    void may_not_attempt_again_before_the_wait_is_over() {
        Backoff backoff = new Backoff(clock, new FixedRandom.AlwaysMin());
        assertTrue(backoff.mayAttempt("a.example.com"));

        backoff.recordFailure("a.example.com", "timeout");
        assertFalse(backoff.mayAttempt("a.example.com"));
        clock.advance(Duration.ofSeconds(59));
        assertFalse(backoff.mayAttempt("a.example.com"));
        clock.advance(Duration.ofSeconds(1));
        assertTrue(backoff.mayAttempt("a.example.com"));

        backoff.recordFailure("a.example.com", "timeout again");
        clock.advance(Duration.ofSeconds(119));
        assertFalse(backoff.mayAttempt("a.example.com"));
        clock.advance(Duration.ofSeconds(1));
        assertTrue(backoff.mayAttempt("a.example.com"));
    }

    @Test
    void reports_the_failure_count_and_the_last_error() {
        Backoff backoff = new Backoff(clock, new SplittableRandom(1));
        backoff.recordFailure("a.example.com", "DNS points elsewhere");
        backoff.recordFailure("a.example.com", "HTTP-01 answer was 404");

        assertEquals(2, backoff.failures("a.example.com"));
        assertEquals(Optional.of("HTTP-01 answer was 404"), backoff.lastError("a.example.com"));
        assertEquals(Optional.of(clock.instant()), backoff.lastFailure("a.example.com"));
        assertEquals(0, backoff.failures("b.example.com"));
        assertEquals(Optional.empty(), backoff.lastError("b.example.com"));
        assertEquals(Optional.empty(), backoff.nextAttempt("b.example.com"));
    }

    @Test
    void a_success_resets_the_schedule() {
        Backoff backoff = new Backoff(clock, new FixedRandom.AlwaysMin());
        for (int i = 0; i < 5; i++) {
            backoff.recordFailure("a.example.com", "boom");
        }
        backoff.recordSuccess("a.example.com");

        assertTrue(backoff.mayAttempt("a.example.com"));
        assertEquals(0, backoff.failures("a.example.com"));
        assertEquals(Optional.empty(), backoff.nextAttempt("a.example.com"));

        Instant at = clock.instant();
        backoff.recordFailure("a.example.com", "boom");
        assertEquals(Optional.of(at.plus(Duration.ofMinutes(1))), backoff.nextAttempt("a.example.com"));
    }

    @Test
    void keys_back_off_independently() {
        Backoff backoff = new Backoff(clock, new SplittableRandom(1));
        backoff.recordFailure("a.example.com", "boom");

        assertFalse(backoff.mayAttempt("a.example.com"));
        assertTrue(backoff.mayAttempt("b.example.com"));
        assertEquals(java.util.Set.of("a.example.com"), backoff.keys());
    }

    @Test
    void survives_a_restart_through_save_and_load() throws Exception {
        Path file = dir.resolve("state/backoff.json");
        Backoff backoff = new Backoff(clock, new SplittableRandom(5));
        backoff.recordFailure("a.example.com", "connection refused");
        backoff.recordFailure("a.example.com", "connection refused \"again\"");
        backoff.recordFailure("group-web", "order failed");
        backoff.save(new LocalStorage(dir), "state/backoff.json");

        Backoff loaded = Backoff.load(new LocalStorage(dir), "state/backoff.json", clock, new SplittableRandom(5));

        assertEquals(2, loaded.failures("a.example.com"));
        assertEquals(backoff.nextAttempt("a.example.com"), loaded.nextAttempt("a.example.com"));
        assertEquals(Optional.of("connection refused \"again\""), loaded.lastError("a.example.com"));
        assertEquals(1, loaded.failures("group-web"));
        assertFalse(loaded.mayAttempt("a.example.com"));
        loaded.recordFailure("a.example.com", "third");
        assertEquals(3, loaded.failures("a.example.com"));
        assertTrue(Files.readString(file).contains("a.example.com"));
    }

    @Test
    void a_missing_file_loads_as_an_empty_backoff() {
        Backoff loaded = Backoff.load(new LocalStorage(dir), "nothing-here.json", clock, new SplittableRandom(1));

        assertTrue(loaded.keys().isEmpty());
    }

    @Test
    void a_corrupt_file_loads_as_an_empty_backoff_with_a_warning_naming_the_file() throws Exception {
        Path file = dir.resolve("backoff.json");
        Files.writeString(file, "{\"version\":1,\"entries\":{\"a.example.com\":{\"failures\":");

        StderrCapture.Result<Backoff> r = StderrCapture.capture(() -> Backoff.load(new LocalStorage(dir), "backoff.json", clock, new SplittableRandom(1)));

        assertTrue(r.value().keys().isEmpty());
        assertTrue(r.value().mayAttempt("a.example.com"));
        assertTrue(r.stderr().contains(file.toString()), "warning should name the file: " + r.stderr());
        assertTrue(r.stderr().contains("WARN"), r.stderr());
    }

    @Test
    void a_well_formed_file_with_nonsense_values_loads_as_an_empty_backoff_with_a_warning() throws Exception {
        Path file = dir.resolve("backoff.json");
        Files.writeString(file, "{\"version\":1,\"entries\":{\"a.example.com\":{\"failures\":2,"
                + "\"lastFailure\":\"yesterday\",\"nextAttempt\":\"soon\"}}}");

        StderrCapture.Result<Backoff> r = StderrCapture.capture(() -> Backoff.load(new LocalStorage(dir), "backoff.json", clock, new SplittableRandom(1)));

        assertTrue(r.value().keys().isEmpty());
        assertTrue(r.stderr().contains(file.toString()), r.stderr());
    }

    @Test
    void reload_takes_what_another_node_stored_and_forgets_what_it_no_longer_holds() throws Exception {
        LocalStorage shared = new LocalStorage(dir);
        Backoff previousLeader = new Backoff(clock, new SplittableRandom(1));
        previousLeader.recordFailure("a.example.com", "refused");
        previousLeader.recordFailure("a.example.com", "refused again");
        previousLeader.save(shared, "backoff.json");
        Backoff newLeader = new Backoff(clock, new SplittableRandom(1));
        newLeader.recordFailure("stale.example.com", "old news");

        newLeader.reload(shared, "backoff.json");

        assertEquals(2, newLeader.failures("a.example.com"));
        assertFalse(newLeader.mayAttempt("a.example.com"));
        assertEquals(java.util.Set.of("a.example.com"), newLeader.keys());
    }
}
