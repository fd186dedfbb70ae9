package haproxylb.monitoring;

import haproxylb.status.FragmentStatus;
import haproxylb.status.ReloadStatus;
import haproxylb.status.Status;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigFreshnessTest {
    private static final Instant T0 = Instant.parse("2026-11-25T12:00:00Z");
    private final ConfigFreshness freshness = new ConfigFreshness(Duration.ofSeconds(60), Duration.ofSeconds(30));

    private static Status status(long config, long live, ReloadStatus lastReload, Map<String, FragmentStatus> fragments) {
        return new Status(T0.toString(), config, live, config > live, null, 3, 0, lastReload, fragments, Map.of(), null);
    }

    private static FragmentStatus assembled(long generation, Instant at) {
        return new FragmentStatus("assembled", "id", generation, null, at.toString());
    }

    @Test
    void a_live_config_as_new_as_the_newest_assembly_is_fresh() {
        var v = freshness.evaluate(T0, status(4, 4, null, Map.of()), 0, Optional.empty());
        assertTrue(v.fresh(), v.message());
    }

    @Test
    void an_assembled_change_may_wait_for_the_rate_limit_plus_the_grace() {
        Status s = status(5, 4, null, Map.of("shop", assembled(5, T0)));
        assertTrue(freshness.evaluate(T0.plusSeconds(90), s, 0, Optional.empty()).fresh());
        var late = freshness.evaluate(T0.plusSeconds(91), s, 0, Optional.empty());
        assertFalse(late.fresh());
        assertTrue(late.message().startsWith("config generation 5 (assembled 2026-11-25T12:00:00Z) is still not live"
                + " after 91 s"), late.message());
    }

    @Test
    void a_stale_config_names_the_last_reload_failure() {
        ReloadStatus failed = new ReloadStatus(T0.plusSeconds(1).toString(), false, 5, "kill exited with 1");
        var v = freshness.evaluate(T0.plusSeconds(120), status(5, 4, failed, Map.of("shop", assembled(5, T0))), 0,
                Optional.empty());
        assertFalse(v.fresh());
        assertTrue(v.message().endsWith("Last reload at 2026-11-25T12:00:01Z failed: kill exited with 1"), v.message());
    }

    @Test
    void the_oldest_change_not_yet_live_counts_not_the_newest() {
        Status s = status(6, 4, null, Map.of("old", assembled(5, T0), "new", assembled(6, T0.plusSeconds(80)),
                "done", new FragmentStatus("live", "id", 4, null, T0.minusSeconds(500).toString())));
        assertFalse(freshness.evaluate(T0.plusSeconds(95), s, 0, Optional.empty()).fresh());
    }

    @Test
    void without_a_fragment_to_date_it_the_lag_counts_from_when_it_was_first_seen() {
        Status s = status(2, 1, null, Map.of());
        assertTrue(freshness.evaluate(T0, s, 0, Optional.empty()).fresh());
        assertTrue(freshness.evaluate(T0.plusSeconds(90), s, 0, Optional.empty()).fresh());
        assertFalse(freshness.evaluate(T0.plusSeconds(91), s, 0, Optional.empty()).fresh());
        assertTrue(freshness.evaluate(T0.plusSeconds(92), status(2, 2, null, Map.of()), 0, Optional.empty()).fresh());
    }

    @Test
    void a_change_waiting_for_assembly_longer_than_the_grace_is_stale() {
        Status s = status(4, 4, null, Map.of());
        assertTrue(freshness.evaluate(T0.plusSeconds(30), s, 2, Optional.of(T0)).fresh());
        var v = freshness.evaluate(T0.plusSeconds(31), s, 2, Optional.of(T0));
        assertFalse(v.fresh());
        assertTrue(v.message().startsWith("2 change(s) accepted at intake have waited for assembly since"), v.message());
    }
}
