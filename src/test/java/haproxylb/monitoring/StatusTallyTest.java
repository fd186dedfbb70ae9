package haproxylb.monitoring;

import haproxylb.assembly.AssemblyService.AssemblyReport;
import haproxylb.status.FragmentStatus;
import haproxylb.status.ReloadStatus;
import haproxylb.status.Status;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class StatusTallyTest {
    private static Status status(ReloadStatus lastReload, Map<String, FragmentStatus> fragments,
                                 Map<String, Object> certificates) {
        return new Status("t", 1, 1, false, null, 1, 0, lastReload, fragments, certificates, null);
    }

    private static FragmentStatus rejected(String at) {
        return new FragmentStatus("rejected", "id", 1, "bad", at);
    }

    @Test
    void what_was_there_before_the_process_is_not_counted_and_each_new_outcome_once() {
        ReloadStatus ok = new ReloadStatus("t1", true, 1, "reloaded");
        StatusTally tally = new StatusTally(status(ok, Map.of("old", rejected("t0")), Map.of()));
        tally.observe(status(ok, Map.of("old", rejected("t0")), Map.of()));
        assertEquals(0, tally.rejections());
        assertEquals(0, tally.reloadFailures());

        ReloadStatus failed = new ReloadStatus("t2", false, 2, "refused");
        tally.observe(status(failed, Map.of("old", rejected("t0"), "new", rejected("t2")), Map.of()));
        tally.observe(status(failed, Map.of("old", rejected("t0"), "new", rejected("t2")), Map.of()));
        assertEquals(1, tally.rejections());
        assertEquals(1, tally.reloadFailures());

        tally.observe(status(new ReloadStatus("t3", false, 2, "refused"), Map.of("old", rejected("t3")), Map.of()));
        assertEquals(2, tally.rejections(), "rejected again");
        assertEquals(2, tally.reloadFailures(), "the retry failed again");
    }

    @Test
    void each_assembly_report_is_counted_once_and_handed_to_the_listener() {
        StatusTally tally = new StatusTally(status(null, Map.of(), Map.of()));
        List<Long> timed = new ArrayList<>();
        tally.onAssembly(r -> timed.add(r.millis()));
        AssemblyReport first = new AssemblyReport(1, 0, 1, 120, null);
        tally.observe(first);
        tally.observe(first);
        tally.observe(new AssemblyReport(2, 1, 3, 400, null));
        assertEquals(2, tally.assemblies());
        assertEquals(520, tally.assemblyMillis());
        assertEquals(4, tally.validations());
        assertEquals(List.of(120L, 400L), timed);
    }

    @Test
    void acme_orders_and_failures_are_read_from_certificate_state_changes() {
        StatusTally tally = new StatusTally(status(null, Map.of(), Map.of("a.test", Map.of("state", "covered"))));
        tally.observe(status(null, Map.of(), Map.of("a.test", Map.of("state", "renewing"),
                "b.test", Map.of("state", "issuing"))));
        assertEquals(2, tally.acmeOrders());
        tally.observe(status(null, Map.of(), Map.of("a.test", Map.of("state", "renewing"),
                "b.test", Map.of("state", "backing-off", "backoffStep", 1))));
        tally.observe(status(null, Map.of(), Map.of("a.test", Map.of("state", "covered"),
                "b.test", Map.of("state", "issuing", "backoffStep", 1))));
        tally.observe(status(null, Map.of(), Map.of("a.test", Map.of("state", "covered"),
                "b.test", Map.of("state", "backing-off", "backoffStep", 2))));
        assertEquals(3, tally.acmeOrders());
        assertEquals(2, tally.acmeFailures());
    }
}
