package haproxylb.intake;

import java.util.List;
import java.util.Map;

/** Turns the two files an operator sent into a {@link Fragment}, or says precisely why they cannot be one. */
public final class FragmentReader {
    private final boolean allowAnySection;
    private final long maxBytes;

    public FragmentReader(boolean allowAnySection, long maxBytes) {
        this.allowAnySection = allowAnySection;
        this.maxBytes = maxBytes;
    }

    public long maxBytes() {
        return maxBytes;
    }

    public Fragment read(String name, byte[] cfgBytes, byte[] mapBytes) throws FragmentProblem {
        FragmentName.check(name);
        checkSize(name, name + ".cfg", cfgBytes.length);
        checkSize(name, name + ".map", mapBytes.length);
        String cfg = TextDecoder.decode(name, name + ".cfg", cfgBytes);
        String map = TextDecoder.decode(name, name + ".map", mapBytes);
        Map<String, Integer> backends = ConfigFragmentParser.backends(name, name + ".cfg", cfg, allowAnySection);
        List<MapEntry> entries = MapParser.parse(name, name + ".map", map);
        if (backends.isEmpty() && entries.isEmpty()) {
            throw new FragmentProblem(name, name + ".cfg and " + name + ".map are both empty; to take a fragment"
                    + " down use 'haproxy-config remove " + name + "' (or drop " + name + ".remove)");
        }
        return new Fragment(name, cfg, map, List.copyOf(entries), Map.copyOf(backends),
                Fragment.idOf(cfgBytes, mapBytes));
    }

    public void checkSize(String name, String file, long size) throws FragmentProblem {
        if (size > maxBytes) {
            throw new FragmentProblem(name, file + ": is " + size + " bytes, more than the limit of " + maxBytes
                    + " bytes (setting lb.fragments.max-bytes); split it into several fragments");
        }
    }
}
