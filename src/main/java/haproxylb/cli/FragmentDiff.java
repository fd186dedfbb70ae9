package haproxylb.cli;

import haproxylb.assembly.AssembledConfig;
import haproxylb.assembly.ConfigAssembler;
import haproxylb.intake.Fragment;
import haproxylb.intake.MapEntry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What sending a version of a fragment would change: its config lines (removed and added, with line numbers), its
 * domains (added, removed, moved to another backend), and how it would go live, decided the way the assembly decides
 * it: haproxy.cfg changes need a reload, a change of map lines only goes through haproxy's runtime API.
 */
public final class FragmentDiff {
    /**
     * Above this many line pairs the changed middle of a file is shown as all removed, then all added: still exact,
     * only not minimal, and the comparison stays within a few MB for fragments up to lb.fragments.max-bytes.
     */
    static final long MAX_LCS_CELLS = 4_000_000;

    /** How the daemon would bring the new version live. */
    public enum Effect {
        NOTHING("nothing changes for haproxy (the assembled config and map stay the same)"),
        RUNTIME_API("through haproxy's runtime API, without a reload (only backend map lines change)"),
        RELOAD_MAP("with a reload (only backend map lines change, but lb.haproxy.runtime-map-updates is false)"),
        RELOAD("with a reload of haproxy (haproxy.cfg changes)");

        private final String text;

        Effect(String text) {
            this.text = text;
        }
    }

    private FragmentDiff() {}

    public static Effect effect(Map<String, Fragment> live, Fragment candidate, ConfigAssembler assembler,
                                String mapPath, boolean runtimeMapUpdates) {
        TreeMap<String, Fragment> next = new TreeMap<>(live);
        next.put(candidate.name(), candidate);
        AssembledConfig before = assembler.assemble(new TreeMap<>(live).values(), mapPath);
        AssembledConfig after = assembler.assemble(next.values(), mapPath);
        if (!before.cfg().equals(after.cfg())) {
            return Effect.RELOAD;
        }
        if (before.map().equals(after.map())) {
            return Effect.NOTHING;
        }
        return runtimeMapUpdates ? Effect.RUNTIME_API : Effect.RELOAD_MAP;
    }

    public static String describe(Map<String, Fragment> live, Fragment candidate, ConfigAssembler assembler,
                                  String mapPath, boolean runtimeMapUpdates) {
        Fragment old = live.get(candidate.name());
        StringBuilder out = new StringBuilder();
        out.append("fragment '").append(candidate.name()).append("': ")
                .append(old == null ? "not live now" : "live version " + old.id())
                .append(" -> version ").append(candidate.id()).append('\n');
        List<String> lines = lineChanges(old == null ? "" : old.cfg(), candidate.cfg());
        out.append(candidate.cfgFile()).append(lines.isEmpty() ? ": no config line changes\n" : ":\n");
        lines.forEach(l -> out.append("  ").append(l).append('\n'));
        List<String> domains = domainChanges(old == null ? List.of() : old.entries(), candidate.entries());
        out.append(candidate.mapFile()).append(domains.isEmpty() ? ": no domain added, removed or moved\n" : ":\n");
        domains.forEach(l -> out.append("  ").append(l).append('\n'));
        out.append("goes live: ")
                .append(effect(live, candidate, assembler, mapPath, runtimeMapUpdates).text).append('\n');
        return out.toString();
    }

    /** "- N: text" for each removed line (old numbering), "+ N: text" for each added one (new numbering). */
    static List<String> lineChanges(String before, String after) {
        String[] a = lines(before);
        String[] b = lines(after);
        int head = 0;
        while (head < a.length && head < b.length && a[head].equals(b[head])) {
            head++;
        }
        int tail = 0;
        while (tail < a.length - head && tail < b.length - head
                && a[a.length - 1 - tail].equals(b[b.length - 1 - tail])) {
            tail++;
        }
        int n = a.length - head - tail;
        int m = b.length - head - tail;
        List<String> out = new ArrayList<>();
        if ((long) n * m > MAX_LCS_CELLS) {
            for (int i = 0; i < n; i++) {
                out.add("- " + (head + i + 1) + ": " + a[head + i]);
            }
            for (int j = 0; j < m; j++) {
                out.add("+ " + (head + j + 1) + ": " + b[head + j]);
            }
            return out;
        }
        // Longest common subsequence of the changed middle; lcs[i][j] is for a[head+i..], b[head+j..].
        int[][] lcs = new int[n + 1][m + 1];
        for (int i = n - 1; i >= 0; i--) {
            for (int j = m - 1; j >= 0; j--) {
                lcs[i][j] = a[head + i].equals(b[head + j]) ? lcs[i + 1][j + 1] + 1
                        : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        int i = 0;
        int j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && a[head + i].equals(b[head + j])) {
                i++;
                j++;
            } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
                out.add("- " + (head + i + 1) + ": " + a[head + i]);
                i++;
            } else {
                out.add("+ " + (head + j + 1) + ": " + b[head + j]);
                j++;
            }
        }
        return out;
    }

    private static String[] lines(String text) {
        if (text.isEmpty()) {
            return new String[0];
        }
        return (text.endsWith("\n") ? text.substring(0, text.length() - 1) : text).split("\n", -1);
    }

    /** "+ domain -> backend", "- domain (was -> backend)", "~ domain: old -> new", in the new map's order. */
    static List<String> domainChanges(List<MapEntry> before, List<MapEntry> after) {
        Map<String, String> old = new LinkedHashMap<>();
        before.forEach(e -> old.put(e.domain(), e.backend()));
        Map<String, String> now = new LinkedHashMap<>();
        after.forEach(e -> now.put(e.domain(), e.backend()));
        List<String> out = new ArrayList<>();
        now.forEach((domain, backend) -> {
            String was = old.get(domain);
            if (was == null) {
                out.add("+ " + domain + " -> " + backend);
            } else if (!was.equals(backend)) {
                out.add("~ " + domain + ": " + was + " -> " + backend);
            }
        });
        old.forEach((domain, backend) -> {
            if (!now.containsKey(domain)) {
                out.add("- " + domain + " (was -> " + backend + ")");
            }
        });
        return out;
    }
}
