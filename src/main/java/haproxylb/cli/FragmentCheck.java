package haproxylb.cli;

import haproxylb.assembly.CandidateValidator;
import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentProblem;
import haproxylb.intake.FragmentReader;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What the daemon would decide about a fragment, without sending it: intake's checks of the two files, then the
 * assembly's validation of the live set with this version in it (replacing the live one of the same name). The
 * reason is the text the daemon would file after "Fragment 'NAME' was rejected: ".
 */
public final class FragmentCheck {
    /** The fragment as intake reads it, or why intake would refuse it. */
    public record Read(Optional<Fragment> fragment, Optional<String> problem) {}

    private FragmentCheck() {}

    public static Read read(FragmentReader reader, String name, byte[] cfg, byte[] map) {
        try {
            return new Read(Optional.of(reader.read(name, cfg, map)), Optional.empty());
        } catch (FragmentProblem p) {
            return new Read(Optional.empty(), Optional.of(p.getMessage()));
        }
    }

    /** @return why the daemon would reject it, or empty when it would go live */
    public static Optional<String> verdict(FragmentReader reader, String name, byte[] cfg, byte[] map,
                                           Map<String, Fragment> live, CandidateValidator validator) {
        Read read = read(reader, name, cfg, map);
        if (read.problem().isPresent()) {
            return read.problem();
        }
        TreeMap<String, Fragment> next = new TreeMap<>(live);
        next.put(name, read.fragment().orElseThrow());
        return validator.validate(next.values());
    }
}
