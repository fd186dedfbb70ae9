package haproxylb.assembly;

import haproxylb.intake.Fragment;
import haproxylb.intake.MapEntry;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The checks haproxy -c cannot make: it resolves map values to backends only at request time, so a map line
 * naming a missing backend would silently send that domain to the unknown-host page.
 */
public final class CandidateRules {
    private final Set<String> baseBackends;

    /** @param baseBackends backends the base template defines itself (mapping a domain to them is allowed) */
    public CandidateRules(Set<String> baseBackends) {
        this.baseBackends = Set.copyOf(baseBackends);
    }

    public Optional<String> check(Collection<Fragment> fragments) {
        Map<String, String> backendOwner = new HashMap<>();
        for (Fragment f : fragments) {
            for (var b : f.backends().entrySet()) {
                String other = backendOwner.putIfAbsent(b.getKey(), f.name());
                if (other != null) {
                    return Optional.of(f.cfgFile() + " line " + b.getValue() + ": backend '" + b.getKey()
                            + "' is already defined by fragment '" + other + "'; backend names must be unique"
                            + " across fragments");
                }
            }
        }
        Map<String, String> domainOwner = new HashMap<>();
        for (Fragment f : fragments) {
            for (MapEntry e : f.entries()) {
                if (!backendOwner.containsKey(e.backend()) && !baseBackends.contains(e.backend())) {
                    return Optional.of(f.mapFile() + " line " + e.line() + ": domain '" + e.domain()
                            + "' is routed to backend '" + e.backend() + "', which no fragment defines;"
                            + " define 'backend " + e.backend() + "' in " + f.cfgFile() + " or fix the name");
                }
                String other = domainOwner.putIfAbsent(e.domain(), f.name());
                if (other != null) {
                    return Optional.of(f.mapFile() + " line " + e.line() + ": domain '" + e.domain()
                            + "' is already routed by fragment '" + other + "'; a domain belongs to one"
                            + " fragment (remove it there first)");
                }
            }
        }
        return Optional.empty();
    }
}
