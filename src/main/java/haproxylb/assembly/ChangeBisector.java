package haproxylb.assembly;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Splits a batch of changes into the ones that can go live and the ones that break the config, so that one bad
 * fragment in a burst does not hold back the good ones. Assumes the base (no changes) is valid; costs about
 * k·log2(n) validations for k bad changes among n, and one when the whole batch is good.
 */
public final class ChangeBisector<C> {
    /** Returns empty when base + the given changes is valid, else the error text. */
    private final Function<List<C>, Optional<String>> validate;

    public record Outcome<C>(List<C> accepted, Map<C, String> rejected, int validations) {}

    public ChangeBisector(Function<List<C>, Optional<String>> validate) {
        this.validate = validate;
    }

    public Outcome<C> split(List<C> changes) {
        List<C> accepted = new ArrayList<>();
        Map<C, String> rejected = new LinkedHashMap<>();
        int[] validations = {0};
        search(changes, accepted, rejected, validations);
        return new Outcome<>(accepted, rejected, validations[0]);
    }

    private void search(List<C> changes, List<C> accepted, Map<C, String> rejected, int[] validations) {
        if (changes.isEmpty()) {
            return;
        }
        List<C> trial = new ArrayList<>(accepted);
        trial.addAll(changes);
        validations[0]++;
        Optional<String> error = validate.apply(trial);
        if (error.isEmpty()) {
            accepted.addAll(changes);
            return;
        }
        if (changes.size() == 1) {
            rejected.put(changes.get(0), error.get());
            return;
        }
        int mid = changes.size() / 2;
        search(changes.subList(0, mid), accepted, rejected, validations);
        search(changes.subList(mid, changes.size()), accepted, rejected, validations);
    }
}
