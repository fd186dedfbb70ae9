package haproxylb.intake;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the section headers of a fragment's haproxy config, each line split into words as haproxy splits it
 * ({@link ConfigWords}: {@code "defaults"} and {@code \x64efaults} open a defaults section too). Fragments carry
 * {@code backend} sections only (unless a setting allows more): a stray {@code global}, {@code defaults} or
 * {@code frontend} in one fragment would change the behaviour of every other domain on the balancer.
 */
public final class ConfigFragmentParser {
    // haproxy 2.6 section keywords (configuration manual, section 2 and 3-12).
    static final Set<String> SECTION_KEYWORDS = Set.of("global", "defaults", "frontend", "backend", "listen",
            "userlist", "peers", "resolvers", "mailers", "program", "http-errors", "ring", "cache",
            "fcgi-app", "dynamic-update");
    /** Names the base config uses for its own backends; a fragment must not shadow them. */
    public static final String RESERVED_PREFIX = "lb_";

    private ConfigFragmentParser() {}

    /**
     * What a fragment's sections are: its backends, and the names it refers to where haproxy expects a backend or a
     * stick table (a backend's table): {@code table NAME} of {@code track-sc*} and {@code stick} rules, a server's
     * {@code track NAME/server}, {@code use_backend} and {@code default_backend}, and the arguments of the fetches and converters that read or change another
     * backend's table, servers or counters ({@code table_*()}, {@code sc*_*()}, {@code src_*()}, {@code in_table()},
     * {@code be_*()}, {@code srv_*()}, {@code nbsrv()}, {@code queue()}, {@code avg_queue()}, {@code connslots()}).
     * {@link haproxylb.assembly.CandidateRules} refuses a reference to another fragment's backend.
     *
     * @param backends   backend name → line of its {@code backend} line
     * @param references referred name → line of its first mention
     */
    public record Sections(Map<String, Integer> backends, Map<String, Integer> references) {}

    private static final Pattern CALL = Pattern.compile("([a-z0-9_.]+)\\(([^()]*)\\)");
    private static final Pattern REFERRING_CALL = Pattern.compile(
            "table_[a-z0-9_]+|in_table|sc[0-9]?_[a-z0-9_]+|src_[a-z0-9_]+|be_[a-z0-9_]+|srv_[a-z0-9_]+|nbsrv|queue"
                    + "|avg_queue|connslots");

    static Sections read(String fragment, String file, List<ConfigWords> lines, boolean allowAnySection)
            throws FragmentProblem {
        Map<String, Integer> backends = new LinkedHashMap<>();
        Map<String, Integer> references = new LinkedHashMap<>();
        boolean inSection = false;
        for (int i = 0; i < lines.size(); i++) {
            int lineNo = i + 1;
            ConfigWords line = lines.get(i);
            if (line.isEmpty() || line.keyword().isEmpty()) {
                // haproxy skips a line whose first word is empty ("" or '') as it skips a blank one
                continue;
            }
            List<String> words = line.words();
            String keyword = line.keyword();
            if (keyword.startsWith(".")) {
                throw FragmentProblem.at(fragment, file, lineNo, "'" + FragmentName.printable(keyword)
                        + "' is a directive of haproxy's config reader (conditional blocks, messages at start-up);"
                        + " fragments may not use them, as haproxy would skip or print lines haproxy-lb checked as"
                        + " written");
            }
            if (SECTION_KEYWORDS.contains(keyword)) {
                if (!keyword.equals("backend") && !allowAnySection) {
                    throw FragmentProblem.at(fragment, file, lineNo, "'" + keyword
                            + "' sections are not allowed in fragments, only 'backend' sections"
                            + " (the base config owns global, defaults and the frontends)");
                }
                inSection = true;
                if (keyword.equals("backend") || keyword.equals("listen")) {
                    if (words.size() < 2) {
                        throw FragmentProblem.at(fragment, file, lineNo, "'" + keyword + "' needs a name");
                    }
                    String name = words.get(1);
                    if (!MapParser.BACKEND.matcher(name).matches()) {
                        throw FragmentProblem.at(fragment, file, lineNo, "'" + FragmentName.printable(name)
                                + "' is not a valid backend name (letters, digits, '_', '.', ':' and '-')");
                    }
                    if (name.startsWith(RESERVED_PREFIX)) {
                        throw FragmentProblem.at(fragment, file, lineNo, "backend names starting with '"
                                + RESERVED_PREFIX + "' are reserved for haproxy-lb's own backends; rename '"
                                + name + "'");
                    }
                    Integer earlier = backends.putIfAbsent(name, lineNo);
                    if (earlier != null) {
                        throw FragmentProblem.at(fragment, file, lineNo, "backend '" + name
                                + "' is already defined on line " + earlier);
                    }
                }
            } else if (!inSection) {
                throw FragmentProblem.at(fragment, file, lineNo, "'" + FragmentName.printable(keyword)
                        + "' appears before any section; a fragment starts with a 'backend NAME' line");
            } else {
                collectReferences(words, lineNo, references);
            }
        }
        return new Sections(backends, references);
    }

    private static void collectReferences(List<String> words, int lineNo, Map<String, Integer> references) {
        for (int i = 0; i < words.size(); i++) {
            String word = words.get(i);
            // "use_backend"/"default_backend": in the frontends lb.fragments.allow-any-section lets a fragment have
            if ((word.equals("table") || word.equals("track") || (i == 0 && (word.equals("use_backend")
                    || word.equals("default_backend")))) && i + 1 < words.size()) {
                refer(words.get(i + 1), lineNo, references);
            }
            if (word.indexOf('(') < 0) {
                continue;
            }
            Matcher call = CALL.matcher(word);
            while (call.find()) {
                if (REFERRING_CALL.matcher(call.group(1)).matches()) {
                    for (String arg : call.group(2).split(",")) {
                        refer(arg, lineNo, references);
                    }
                }
            }
        }
    }

    /** {@code be/server} refers to {@code be}. */
    private static void refer(String name, int lineNo, Map<String, Integer> references) {
        String backend = name.strip();
        int slash = backend.indexOf('/');
        if (slash >= 0) {
            backend = backend.substring(0, slash);
        }
        if (!backend.isEmpty()) {
            references.putIfAbsent(backend, lineNo);
        }
    }
}
