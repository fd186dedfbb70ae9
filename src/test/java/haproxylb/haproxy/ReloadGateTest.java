package haproxylb.haproxy;

import haproxylb.support.MutableClock;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReloadGateTest {
    private final MutableClock clock = MutableClock.at("2026-01-01T00:00:00Z");
    private final ReloadGate gate = new ReloadGate(clock, Duration.ofSeconds(60));

    @Test
    void nothing_to_do_without_a_request() {
        assertFalse(gate.claim());
        assertTrue(gate.nextAllowed().isEmpty());
    }

    @Test
    void the_first_change_after_a_quiet_period_reloads_at_once() {
        gate.request();
        assertTrue(gate.claim());
        assertFalse(gate.claim(), "one claim per reload");
        clock.advance(Duration.ofMinutes(5));
        gate.request();
        assertTrue(gate.claim());
    }

    @Test
    void a_burst_coalesces_into_one_trailing_reload_after_the_interval() {
        gate.request();
        assertTrue(gate.claim());
        for (int i = 0; i < 49; i++) {
            clock.advance(Duration.ofMillis(100));
            assertEquals(i > 0, gate.request(), "the first request after the claim starts a new wait");
            assertFalse(gate.claim());
        }
        assertEquals(48, gate.coalesced());
        assertEquals(clock.instant().minusMillis(4900).plusSeconds(60), gate.nextAllowed().orElseThrow());
        clock.advance(Duration.ofMillis(60_000 - 4_900 - 1));
        assertFalse(gate.claim());
        clock.advance(Duration.ofMillis(1));
        assertTrue(gate.claim());
        assertFalse(gate.isPending());
    }

    @Test
    void a_failed_reload_is_retried_after_the_interval_and_not_lost() {
        gate.request();
        assertTrue(gate.claim());
        gate.failed();
        assertTrue(gate.isPending());
        assertFalse(gate.claim());
        clock.advance(Duration.ofSeconds(60));
        assertTrue(gate.claim());
    }
}
