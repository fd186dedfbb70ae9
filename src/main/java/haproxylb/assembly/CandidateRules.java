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
 * naming a missing backend would silently send that domain to the unknown-host page; and it lets any backend use
 * another's stick table, servers and counters, which would let one fragment change another's sites (fill its
 * rate-limit table, clear its counters) and keep that fragment from being removed. A map line routing a domain to
 * another fragment's backend would do the latter too. Both are allowed when fragments may share backends.
 */
public final class CandidateRules {
    private final Set<String> baseBackends;
    private final boolean sharedBackends;

    /** Each fragment keeps to its own backends (lb.fragments.policy = strict, the default). */
    public CandidateRules(Set<String> baseBackends) {
        this(baseBackends, false);
    }

    /**
     * @param baseBackends   backends the base template defines itself (mapping a domain to them is allowed)
     * @param sharedBackends fragments may route domains to, and use, each other's backends (lb.fragments.policy =
     *                       trusted: the people who drop fragments are one team)
     */
    public CandidateRules(Set<String> baseBackends, boolean sharedBackends) {
        this.baseBackends = Set.copyOf(baseBackends);
        this.sharedBackends = sharedBackends;
    }

    public Optional<String> check(Collection<Fragment> fragments) {
        // The rules see the whole candidate set, not which fragment is the new one: a conflict names both sides, in
        // name order, so the rejected fragment's own file and line are always in it (BadInputTest: a new fragment
        // that sorts before the live one it clashes with was told the live one's file).
        Map<String, String> backendOwner = new HashMap<>();
        Map<String, String> backendWhere = new HashMap<>();
        for (Fragment f : fragments) {
            for (var b : f.backends().entrySet()) {
                String where = f.cfgFile() + " line " + b.getValue();
                String other = backendOwner.putIfAbsent(b.getKey(), f.name());
                if (other != null) {
                    return Optional.of(backendWhere.get(b.getKey()) + " and " + where + " both define backend '"
                            + b.getKey() + "' (fragments '" + other + "' and '" + f.name() + "'); backend names must"
                            + " be unique across fragments");
                }
                backendWhere.put(b.getKey(), where);
            }
        }
        for (Fragment f : fragments) {
            for (var r : f.references().entrySet()) {
                String owner = otherOwner(backendOwner, r.getKey(), f);
                if (owner != null) {
                    return Optional.of(f.cfgFile() + " line " + r.getValue() + " uses backend '" + r.getKey()
                            + "' (its stick table, servers or counters), which fragment '" + owner + "' defines ("
                            + backendWhere.get(r.getKey()) + "); a fragment may only use its own backends");
                }
            }
        }
        Map<String, String> domainOwner = new HashMap<>();
        Map<String, String> domainWhere = new HashMap<>();
        for (Fragment f : fragments) {
            for (MapEntry e : f.entries()) {
                if (!backendOwner.containsKey(e.backend()) && !baseBackends.contains(e.backend())) {
                    return Optional.of(f.mapFile() + " line " + e.line() + ": domain '" + e.domain()
                            + "' is routed to backend '" + e.backend() + "', which no fragment defines;"
                            + " define 'backend " + e.backend() + "' in " + f.cfgFile() + " or fix the name");
                }
                String where = f.mapFile() + " line " + e.line();
                String other = domainOwner.putIfAbsent(e.domain(), f.name());
                if (other != null) {
                    return Optional.of(domainWhere.get(e.domain()) + " and " + where + " both route domain '"
                            + e.domain() + "' (fragments '" + other + "' and '" + f.name() + "'); a domain belongs to"
                            + " one fragment: remove it from one of them first");
                }
                String owner = otherOwner(backendOwner, e.backend(), f);
                if (owner != null) {
                    return Optional.of(f.mapFile() + " line " + e.line() + ": domain '" + e.domain() + "' is routed to"
                            + " backend '" + e.backend() + "', which fragment '" + owner + "' defines ("
                            + backendWhere.get(e.backend()) + "); a fragment routes its domains to its own backends"
                            + " (define one in " + f.cfgFile() + ", or add the domain to fragment '" + owner + "')");
                }
                domainWhere.put(e.domain(), where);
            }
        }
        return Optional.empty();
    }

    /** The other fragment that defines {@code backend}, when {@code f} may not use it; null when it may. */
    private String otherOwner(Map<String, String> backendOwner, String backend, Fragment f) {
        String owner = backendOwner.get(backend);
        return owner == null || owner.equals(f.name()) || sharedBackends ? null : owner;
    }
}
