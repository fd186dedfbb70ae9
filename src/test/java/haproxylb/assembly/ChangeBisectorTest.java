package haproxylb.assembly;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChangeBisectorTest {
    private static ChangeBisector<Integer> failingOn(Set<Integer> bad) {
        return new ChangeBisector<>(cs -> cs.stream().filter(bad::contains).findFirst().map(b -> "bad " + b));
    }

    @Test
    void a_good_batch_costs_one_validation() {
        var outcome = failingOn(Set.of()).split(List.of(1, 2, 3));
        assertEquals(List.of(1, 2, 3), outcome.accepted());
        assertEquals(1, outcome.validations());
    }

    @Test
    void one_bad_change_among_fifty_does_not_block_the_others() {
        List<Integer> changes = IntStream.range(0, 50).boxed().toList();
        var outcome = failingOn(Set.of(17)).split(changes);
        assertEquals(49, outcome.accepted().size());
        assertEquals(List.of(17), List.copyOf(outcome.rejected().keySet()));
        assertEquals("bad 17", outcome.rejected().get(17));
        assertTrue(outcome.validations() <= 2 * 6 + 1, "validations: " + outcome.validations());
    }

    @Test
    void finds_every_bad_change() {
        List<Integer> changes = IntStream.range(0, 20).boxed().toList();
        var outcome = failingOn(Set.of(0, 7, 19)).split(changes);
        assertEquals(Set.of(0, 7, 19), outcome.rejected().keySet());
        assertEquals(17, outcome.accepted().size());
    }

    @Test
    void a_conflict_between_two_changes_rejects_only_the_later_one() {
        // 3 and 8 are fine alone and conflict together.
        ChangeBisector<Integer> b = new ChangeBisector<>(cs ->
                cs.contains(3) && cs.contains(8) ? Optional.of("conflict") : Optional.empty());
        var outcome = b.split(IntStream.range(0, 10).boxed().toList());
        assertEquals(Set.of(8), outcome.rejected().keySet());
        assertTrue(outcome.accepted().contains(3));
    }
}
