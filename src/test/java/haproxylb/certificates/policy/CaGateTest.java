package haproxylb.certificates.policy;

import haproxylb.support.FixedRandom;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.support.MutableClock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CaGateTest {
    private final MutableClock clock = MutableClock.at("2025-05-01T08:00:00Z");
    private final Backoff backoff = new Backoff(clock, new FixedRandom.AlwaysMin());
    private final CaGate gate = new CaGate(backoff);
    private final AtomicInteger directoryGets = new AtomicInteger();

    private boolean directory(boolean answers) {
        directoryGets.incrementAndGet();
        return answers;
    }

    @Test
    void open_without_asking_the_ca_while_nothing_failed() {
        assertTrue(gate.mayOrder(() -> directory(false)));
        assertEquals(0, directoryGets.get());
        assertFalse(gate.isClosed());
    }

    @Test
    void a_ca_server_error_closes_the_gate_for_the_backoff_step_and_the_directory_is_not_asked() {
        gate.failed("HTTP 503", false, "", Optional.empty());
        assertTrue(gate.isClosed());
        assertFalse(gate.mayOrder(() -> directory(true)), "a CA that answers but fails orders is waited out");
        assertEquals(0, directoryGets.get());
        clock.advance(Duration.ofMinutes(1));
        assertTrue(gate.mayOrder(() -> directory(true)));
        assertEquals(0, directoryGets.get());
    }

    @Test
    void an_unreachable_ca_reopens_as_soon_as_its_directory_answers_with_one_get_per_check() {
        gate.failed("cannot reach the CA: connection refused", true, "", Optional.empty());
        assertFalse(gate.mayOrder(() -> directory(false)));
        assertFalse(gate.mayOrder(() -> directory(false)));
        assertEquals(2, directoryGets.get(), "one directory GET per check while it is down");
        assertEquals(1, gate.failures(), "directory GETs are not order attempts: the backoff step stays");
        assertTrue(gate.mayOrder(() -> directory(true)), "the CA is back before the backoff is over");
    }

    @Test
    void a_rate_limit_with_retry_after_keeps_the_gate_closed_until_then_even_when_the_directory_answers() {
        gate.failed("rate limited", false, "rateLimited", Optional.of(clock.instant().plus(Duration.ofMinutes(45))));
        clock.advance(Duration.ofMinutes(44));
        assertFalse(gate.mayOrder(() -> directory(true)));
        assertEquals(0, directoryGets.get(), "a CA that rate limits answers: its directory is not asked");
        assertEquals(Optional.of("rateLimited"), gate.lastErrorType());
        clock.advance(Duration.ofMinutes(1));
        assertTrue(gate.mayOrder(() -> directory(true)));
    }

    @Test
    void repeated_failures_double_the_wait_and_a_success_forgets_them() {
        gate.failed("down", false, "", Optional.empty());
        clock.advance(Duration.ofMinutes(1));
        gate.failed("down", false, "", Optional.empty());
        assertEquals(2, gate.failures());
        assertEquals(Optional.of(clock.instant().plus(Duration.ofMinutes(2))), gate.nextAttempt());
        assertTrue(gate.reason().startsWith("the CA failed 2 times in a row (last: down); next attempt at "),
                gate.reason());
        gate.succeeded();
        assertEquals(0, gate.failures());
        assertFalse(gate.isClosed());
    }

    @Test
    void the_ca_key_cannot_collide_with_a_group_or_a_domain() {
        CertificateGroup g = CertificateGroup.group(java.util.Map.of("a.example.com", "@ca"), false).get(0);
        assertFalse(g.name().equals(CaGate.KEY), g.name());
    }
}
