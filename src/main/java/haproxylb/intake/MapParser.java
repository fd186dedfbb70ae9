package haproxylb.intake;

import haproxylb.common.DomainName;

import java.net.IDN;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Parses a fragment's backend map: lines of {@code domain backend}, any whitespace between, {@code #} comments and
 * blank lines allowed. Domains are lower-cased (Host matching is case-insensitive); backend names are kept as
 * written, because haproxy's backend names are case-sensitive. {@code *.example.test} is a wildcard for one label.
 */
public final class MapParser {
    /** Compiled once: String.split compiles a pattern of more than one character on every call. */
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    static final Pattern BACKEND = Pattern.compile("[A-Za-z0-9_.:-]{1,100}");

    private MapParser() {}

    public static List<MapEntry> parse(String fragment, String file, String text) throws FragmentProblem {
        List<MapEntry> entries = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int lineNo = i + 1;
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] fields = WHITESPACE.split(line);
            if (fields.length != 2) {
                throw FragmentProblem.at(fragment, file, lineNo, "expected 'domain backend' (two fields), found "
                        + fields.length + " field(s): '" + FragmentName.printable(line) + "'"
                        + (fields.length > 2 && fields[2].startsWith("#")
                                ? "; a comment goes on a line of its own, starting with '#'" : ""));
            }
            // "*.example.test" covers exactly one more label (a.example.test, not a.b.example.test), as a
            // wildcard certificate does; exact lines win over it.
            String domain;
            try {
                domain = DomainName.parse(fields[0]).value();
            } catch (IllegalArgumentException notAName) {
                // One message for every way a name can be wrong: operators' tooling matches on it.
                throw FragmentProblem.at(fragment, file, lineNo, "'" + FragmentName.printable(fields[0])
                        + "' is not a valid domain name (letters, digits, '-' and dots, optionally '*.' in front;"
                        + " no port, no scheme)" + asciiFormHint(fields[0]));
            }
            String backend = fields[1];
            if (!BACKEND.matcher(backend).matches()) {
                throw FragmentProblem.at(fragment, file, lineNo, "'" + FragmentName.printable(backend)
                        + "' is not a valid backend name (letters, digits, '_', '.', ':' and '-')");
            }
            Integer earlier = seen.putIfAbsent(domain, lineNo);
            if (earlier != null) {
                throw FragmentProblem.at(fragment, file, lineNo, "domain '" + domain
                        + "' is already mapped on line " + earlier + "; keep one line per domain");
            }
            entries.add(new MapEntry(domain, backend, lineNo));
        }
        return entries;
    }

    /**
     * For an internationalised name (bücher.example): its ASCII form, which is what clients send in Host and SNI and
     * what certificates name. Suggested, not substituted: the map says what the operator wrote.
     */
    private static String asciiFormHint(String raw) {
        if (raw.chars().allMatch(c -> c < 0x80)) {
            return "";
        }
        try {
            boolean wildcard = raw.startsWith("*.");
            String ascii = (wildcard ? "*." : "")
                    + IDN.toASCII(wildcard ? raw.substring(2) : raw, IDN.USE_STD3_ASCII_RULES);
            return "; an internationalised name is written in its ASCII form: '" + DomainName.parse(ascii).value()
                    + "'";
        } catch (IllegalArgumentException notOne) {
            return "";
        }
    }
}
