package haproxylb.intake;

import haproxylb.common.Settings;
import java.util.List;
import java.util.Map;

/** Turns the two files an operator sent into a {@link Fragment}, or says precisely why they cannot be one. */
public final class FragmentReader {
    /** haproxy's own config lines are short; a longer one is junk or an attempt to make the parsers work hard. */
    public static final int DEFAULT_MAX_LINE_CHARS = 8192;
    /** Ten times the domains per fragment of the largest set-up measured (bench/scale.sh). */
    public static final int DEFAULT_MAX_MAP_LINES = 20_000;

    private final boolean allowAnySection;
    private final long maxBytes;
    private final int maxLineChars;
    private final int maxMapLines;
    private final FragmentPolicy policy;

    /** As the settings say: the daemon's intake and haproxy-config read fragments with the same limits and policy. */
    public static FragmentReader from(Settings s) {
        return new FragmentReader(Boolean.parseBoolean(s.string("lb.fragments.allow-any-section", "false")),
                Long.parseLong(s.string("lb.fragments.max-bytes", "1048576")),
                Integer.parseInt(s.string("lb.fragments.max-line-length", Integer.toString(DEFAULT_MAX_LINE_CHARS))),
                Integer.parseInt(s.string("lb.fragments.max-map-lines", Integer.toString(DEFAULT_MAX_MAP_LINES))),
                FragmentPolicy.of(s.string("lb.fragments.policy", "strict"), s.string("lb.fragments.file-dirs", "")));
    }

    public FragmentReader(boolean allowAnySection, long maxBytes) {
        this(allowAnySection, maxBytes, DEFAULT_MAX_LINE_CHARS, DEFAULT_MAX_MAP_LINES, FragmentPolicy.DEFAULT);
    }

    public FragmentReader(boolean allowAnySection, long maxBytes, int maxLineChars, int maxMapLines,
                          FragmentPolicy policy) {
        this.allowAnySection = allowAnySection;
        this.maxBytes = maxBytes;
        this.maxLineChars = maxLineChars;
        this.maxMapLines = maxMapLines;
        this.policy = policy;
    }

    public long maxBytes() {
        return maxBytes;
    }

    public FragmentPolicy policy() {
        return policy;
    }

    public Fragment read(String name, byte[] cfgBytes, byte[] mapBytes) throws FragmentProblem {
        FragmentName.check(name);
        checkSize(name, name + ".cfg", cfgBytes.length);
        checkSize(name, name + ".map", mapBytes.length);
        String cfg = TextDecoder.decode(name, name + ".cfg", cfgBytes);
        String map = TextDecoder.decode(name, name + ".map", mapBytes);
        checkLines(name, name + ".cfg", cfg, Integer.MAX_VALUE);
        checkLines(name, name + ".map", map, maxMapLines);
        // split into words once: the section check and the policy read the same lines
        List<ConfigWords> lines = ConfigWords.lines(cfg);
        ConfigFragmentParser.Sections sections = ConfigFragmentParser.read(name, name + ".cfg", lines, allowAnySection);
        Map<String, Integer> backends = sections.backends();
        policy.check(name, name + ".cfg", lines);
        List<MapEntry> entries = MapParser.parse(name, name + ".map", map);
        if (backends.isEmpty() && entries.isEmpty()) {
            throw new FragmentProblem(name, name + ".cfg and " + name + ".map are both empty; to take a fragment"
                    + " down use 'haproxy-config remove " + name + "' (or drop " + name + ".remove)");
        }
        return new Fragment(name, cfg, map, List.copyOf(entries), Map.copyOf(backends),
                Map.copyOf(sections.references()), Fragment.idOf(cfgBytes, mapBytes));
    }

    public void checkSize(String name, String file, long size) throws FragmentProblem {
        if (size > maxBytes) {
            throw new FragmentProblem(name, file + ": is " + size + " bytes, more than the limit of " + maxBytes
                    + " bytes (setting lb.fragments.max-bytes); split it into several fragments");
        }
    }

    /** Before any parser splits the text: one pass, no copies. */
    private void checkLines(String name, String file, String text, int maxLines) throws FragmentProblem {
        int line = 1;
        int start = 0;
        for (int i = 0; i <= text.length(); i++) {
            if (i == text.length() || text.charAt(i) == '\n') {
                if (i - start > maxLineChars) {
                    throw FragmentProblem.at(name, file, line, "is " + (i - start) + " characters long, more than"
                            + " the limit of " + maxLineChars + " (setting lb.fragments.max-line-length)");
                }
                if (i < text.length()) {
                    line++;
                    start = i + 1;
                }
            }
        }
        int lines = text.endsWith("\n") ? line - 1 : line;
        if (lines > maxLines) {
            throw FragmentProblem.at(name, file, maxLines + 1, "has " + lines + " lines, more than the limit of "
                    + maxLines + " (setting lb.fragments.max-map-lines); split it into several fragments");
        }
    }
}
