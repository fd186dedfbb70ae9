package haproxylb.intake;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The live fragments, parsed, in memory: what {@code fragments/} holds and the last validated config was made of.
 * Each fragment is parsed once (at intake, or when it is read from disk at start-up), so an assembly works from here
 * instead of re-reading and re-parsing every live fragment. {@link FragmentStore} keeps it in step with
 * {@code fragments/}, under its own lock.
 */
public final class LiveSet {
    private TreeMap<String, Fragment> fragments = new TreeMap<>();
    /** Made on demand: a batch promotes many fragments one by one, and nobody asks in between. */
    private SortedMap<String, String> domains;

    /** A copy by name (the assembly adds and removes its changes on it). */
    public synchronized TreeMap<String, Fragment> fragments() {
        return new TreeMap<>(fragments);
    }

    /**
     * The live domain → backend map, as backend.map holds it once the assembly that made it is written, sorted by
     * domain: for the certificate check, which needs no parse of backend.map. Unmodifiable; a new map after every
     * change, so the sorting is paid once per change, not once per check.
     */
    public synchronized SortedMap<String, String> domains() {
        if (domains == null) {
            SortedMap<String, String> map = new TreeMap<>();
            fragments.values().forEach(f -> f.entries().forEach(e -> map.put(e.domain(), e.backend())));
            domains = Collections.unmodifiableSortedMap(map);
        }
        return domains;
    }

    synchronized void replaceAll(TreeMap<String, Fragment> all) {
        fragments = new TreeMap<>(all);
        domains = null;
    }

    synchronized void put(Fragment fragment) {
        fragments.put(fragment.name(), fragment);
        domains = null;
    }

    synchronized void remove(String name) {
        if (fragments.remove(name) != null) {
            domains = null;
        }
    }
}
