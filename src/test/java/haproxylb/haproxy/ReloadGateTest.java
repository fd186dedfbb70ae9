package haproxylb.haproxy;

import haproxylb.status.ReloadFacts;
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
        gate.reloaded(gate.configGeneration(), false, "kill exited with 1");
        assertTrue(gate.isPending());
        assertFalse(gate.facts().lastReload().ok());
        assertFalse(gate.claim());
        clock.advance(Duration.ofSeconds(60));
        assertTrue(gate.claim());
    }

    @Test
    void a_written_config_is_owed_until_a_reload_of_its_generation_succeeds() {
        long first = gate.assembled();
        long second = gate.assembled();
        assertEquals(first + 1, second);
        assertTrue(gate.owed());
        gate.reloaded(first, true, "reloaded");
        assertTrue(gate.owed(), "generation " + second + " is not loaded yet");
        gate.reloaded(second, true, "reloaded");
        assertFalse(gate.owed());
        assertEquals(2, gate.facts().reloads());
        assertEquals(second, gate.facts().liveGeneration());
    }

    @Test
    void a_map_applied_through_the_runtime_api_is_live_without_a_reload() {
        long generation = gate.assembled();
        gate.liveWithoutReload(generation);
        assertFalse(gate.owed());
        assertEquals(0, gate.facts().reloads());
    }

    @Test
    void a_started_haproxy_runs_the_newest_config_so_a_waiting_reload_is_moot() {
        gate.assembled();
        gate.request();
        gate.started("haproxy started");
        assertFalse(gate.isPending());
        assertFalse(gate.owed());
        assertFalse(gate.claim());
        assertEquals("haproxy started", gate.facts().lastReload().message());
    }

    @Test
    void the_facts_show_the_pending_reload_and_when_it_may_run() {
        gate.request();
        assertTrue(gate.claim());
        clock.advance(Duration.ofSeconds(10));
        gate.request();
        gate.request();
        ReloadFacts facts = gate.facts();
        assertTrue(facts.reloadPending());
        assertEquals(1, facts.reloadsCoalesced());
        assertEquals(clock.instant().plusSeconds(50), facts.nextReloadAt());
    }

    @Test
    void a_restart_resumes_from_the_facts_it_is_given() {
        ReloadGate resumed = new ReloadGate(clock, Duration.ofSeconds(60),
                new ReloadFacts(14, 13, false, null, 7, 3, null));
        assertTrue(resumed.owed(), "generation 14 was written but not loaded before the restart");
        assertEquals(15, resumed.assembled());
        assertEquals(7, resumed.facts().reloads());
        assertEquals(3, resumed.coalesced());
    }
}
