package haproxylb.assembly;

import haproxylb.common.AtomicFiles;
import haproxylb.haproxy.HaproxyCheck;
import haproxylb.intake.Fragment;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Optional;

/**
 * The validation a candidate set of fragments goes through before it can go live: haproxy-lb's own rules, then
 * {@code haproxy -c} on the rendered files, its messages pointed back at the fragment file and line. The daemon's
 * assembly and the operator's {@code haproxy-config check} share this one piece, so check cannot drift from what
 * the daemon would decide. The candidate files go to a directory of their own, never next to the live ones.
 */
public final class CandidateValidator {
    private final CandidateRules rules;
    private final ConfigAssembler assembler;
    private final HaproxyCheck haproxy;
    private final Path candidateConfig;
    private final Path candidateMap;

    public CandidateValidator(CandidateRules rules, ConfigAssembler assembler, HaproxyCheck haproxy,
                              Path candidateDir) {
        this.rules = rules;
        this.assembler = assembler;
        this.haproxy = haproxy;
        this.candidateConfig = candidateDir.toAbsolutePath().resolve("haproxy.cfg");
        this.candidateMap = candidateDir.toAbsolutePath().resolve("backend.map");
    }

    /** The same checks writing their candidate files into {@code candidateDir}: for a check beside the daemon's. */
    public CandidateValidator in(Path candidateDir) {
        return new CandidateValidator(rules, assembler, haproxy, candidateDir);
    }

    public ConfigAssembler assembler() {
        return assembler;
    }

    /** Both steps: the rules first (cheap, and clearer errors), then haproxy -c. */
    public Optional<String> validate(Collection<Fragment> fragments) {
        return rules(fragments).or(() -> haproxy(fragments));
    }

    public Optional<String> rules(Collection<Fragment> fragments) {
        return rules.check(fragments);
    }

    /** haproxy -c on the rendered candidate; its messages name the fragment file and line they are about. */
    public Optional<String> haproxy(Collection<Fragment> fragments) {
        AssembledConfig config = assembler.assemble(fragments, candidateMap.toString());
        try {
            AtomicFiles.write(candidateMap, config.map());
            AtomicFiles.write(candidateConfig, config.cfg());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return haproxy.check(candidateConfig).map(out -> {
            String where = HaproxyMessages.firstOrigin(out, candidateConfig.toString(), config.sources())
                    .map(o -> o + ": ").orElse("");
            return where + "haproxy -c refused the config.\nhaproxy said:\n"
                    + HaproxyMessages.translate(out, candidateConfig.toString(), config.sources());
        });
    }
}
