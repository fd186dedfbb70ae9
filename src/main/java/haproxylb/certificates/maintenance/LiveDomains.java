package haproxylb.certificates.maintenance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SortedMap;
import java.util.Optional;

/**
 * The live domain → backend map the coverage check covers; empty before the first assembly has written a map (an
 * empty map then would make every certificate an orphan). The daemon hands the check the fragments the assembly
 * already parsed (intake.LiveSet), so no check parses backend.map again; {@link #file} reads a map from disk.
 */
@FunctionalInterface
public interface LiveDomains {
    /** Domain → backend, sorted by domain (the certificate groups are made in that order). */
    Optional<SortedMap<String, String>> current() throws IOException;

    /** backend.map as written on disk: for a check run outside the daemon (benches, tests of the check alone). */
    static LiveDomains file(Path map) {
        return () -> Files.exists(map) ? Optional.of(LiveMap.read(map)) : Optional.empty();
    }
}
