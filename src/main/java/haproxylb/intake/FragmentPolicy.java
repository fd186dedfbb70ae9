package haproxylb.intake;

import haproxylb.common.Excerpt;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a fragment may make haproxy do. haproxy reads every file its config names while it still runs as root, and
 * serves some of them to clients ({@code http-request return ... file}, {@code errorfile}); a fragment author is
 * not root, so by default a fragment names no file outside the directories the operator lists in
 * {@code lb.fragments.file-dirs} (none by default), and uses nothing that runs code, reads haproxy's environment or
 * reaches beyond its own backend. The {@code trusted} level switches this off for a balancer whose fragment authors
 * are its administrators anyway (README, "Threat model").
 *
 * <p>The keywords come from haproxy 2.6.12's own list ({@code haproxy -dKall}) and its configuration manual:
 * every backend keyword, server option, action and sample function that takes a file name is here.
 */
public final class FragmentPolicy {
    public enum Level { STRICT, TRUSTED }

    public static final FragmentPolicy DEFAULT = new FragmentPolicy(Level.STRICT, List.of());

    /** Actions rules take their arguments after: http-request return ... file /x, http-error status 503 errorfile /x. */
    private static final Set<String> RULE_KEYWORDS = Set.of("http-request", "http-response", "http-after-response",
            "http-error", "tcp-request", "tcp-response", "http-check", "tcp-check");
    /** Options of those rules (return, deny, tarpit, http-error) whose argument is a file haproxy reads and serves. */
    private static final Set<String> RULE_FILE_OPTIONS = Set.of("errorfile", "file", "lf-file");
    /** Server options (server, default-server, server-template) that read a file at start-up. */
    private static final Set<String> SERVER_FILE_OPTIONS = Set.of("ca-file", "crl-file", "crt");
    private static final Set<String> SERVER_KEYWORDS = Set.of("server", "default-server", "server-template");
    /** Address prefixes that are not the network: a server at unix@/run/haproxy/admin.sock is haproxy's admin API. */
    private static final Pattern LOCAL_ADDRESS = Pattern.compile("^(/|unix@|abns@|sockpair@|fd@|uxst@|uxdg@).*");
    /** Sample converters and actions whose argument is a map or ACL file: map(/etc/x), set-map(/etc/x). */
    private static final Pattern FILE_FUNCTION = Pattern.compile(
            "(?<![A-Za-z0-9_.-])(map(?:_[a-z0-9_]+)?|set-map|del-map|add-acl|del-acl)\\(([^,)]*)");
    private static final Pattern ENV_FETCH = Pattern.compile("(?<![A-Za-z0-9_.-])env\\(");
    private static final Pattern LUA = Pattern.compile("(?<![A-Za-z0-9_-])lua\\.");

    private final Level level;
    private final List<Path> fileDirs;

    private FragmentPolicy(Level level, List<Path> fileDirs) {
        this.level = level;
        this.fileDirs = fileDirs;
    }

    /**
     * @param level    {@code strict} or {@code trusted} (setting lb.fragments.policy)
     * @param fileDirs comma-separated directories fragments may name files in (lb.fragments.file-dirs); each must
     *                 exist and is resolved (symlinks followed) once, here
     */
    public static FragmentPolicy of(String level, String fileDirs) {
        Level l;
        try {
            l = Level.valueOf(level.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("lb.fragments.policy must be 'strict' or 'trusted', not '"
                    + Excerpt.of(level) + "'");
        }
        List<Path> dirs = new ArrayList<>();
        for (String d : fileDirs == null ? new String[0] : fileDirs.split(",")) {
            if (d.isBlank()) {
                continue;
            }
            Path p = Path.of(d.strip());
            if (!p.isAbsolute()) {
                throw new IllegalArgumentException("lb.fragments.file-dirs: '" + Excerpt.of(d.strip())
                        + "' is not an absolute path");
            }
            try {
                dirs.add(p.toRealPath());
            } catch (IOException e) {
                throw new IllegalArgumentException("lb.fragments.file-dirs: '" + Excerpt.of(d.strip())
                        + "' does not exist or cannot be resolved (" + e.getMessage() + ")");
            }
        }
        return new FragmentPolicy(l, List.copyOf(dirs));
    }

    public Level level() {
        return level;
    }

    public List<Path> fileDirs() {
        return fileDirs;
    }

    /** Refuses the first line that breaks the policy, naming file and line. */
    public void check(String fragment, String file, String text) throws FragmentProblem {
        check(fragment, file, ConfigWords.lines(text));
    }

    /** As {@link #check(String, String, String)}, on the lines as {@link FragmentReader} split them already. */
    void check(String fragment, String file, List<ConfigWords> lines) throws FragmentProblem {
        if (level == Level.TRUSTED) {
            return;
        }
        for (int i = 0; i < lines.size(); i++) {
            String problem = problem(lines.get(i));
            if (problem != null) {
                throw FragmentProblem.at(fragment, file, i + 1, problem + ". " + remedy());
            }
        }
    }

    /**
     * Whether fragments may route domains to, and use, each other's backends: only when the people who drop them are
     * one team (trusted), as with every other check here ({@link haproxylb.assembly.CandidateRules}).
     */
    public boolean fragmentsShareBackends() {
        return level == Level.TRUSTED;
    }

    private String remedy() {
        return "Fragments are checked by lb.fragments.policy = strict (README, \"Threat model\")";
    }

    /** Why this line is refused, or null. */
    String problem(ConfigWords line) {
        if (line.isEmpty()) {
            return null;
        }
        if (line.expandsEnvironment()) {
            return "'$NAME' and '${NAME}' make haproxy insert its own environment variables, which may hold"
                    + " secrets; write the value itself (or, inside double quotes, escape the '$' as '\\$')";
        }
        List<String> w = line.words();
        String keyword = w.get(0);
        String refused = refusedKeyword(keyword, w);
        if (refused != null) {
            return refused;
        }
        if (keyword.equals("errorfile") && w.size() > 2) {
            return pathProblem("'errorfile'", w.get(2));
        }
        if (keyword.equals("log") && w.size() > 1 && LOCAL_ADDRESS.matcher(w.get(1)).matches()) {
            return pathProblem("'log' to a local socket", w.get(1).replaceFirst("^[a-z]+@", ""));
        }
        if (keyword.equals("filter") && w.size() > 1 && (w.get(1).equals("spoe") || w.get(1).equals("opentracing"))) {
            String config = line.after("config", 2);
            if (config != null) {
                return pathProblem("'filter " + w.get(1) + " ... config'", config);
            }
        }
        if (SERVER_KEYWORDS.contains(keyword)) {
            String problem = serverProblem(keyword, w);
            if (problem != null) {
                return problem;
            }
        }
        if (RULE_KEYWORDS.contains(keyword)) {
            String problem = ruleProblem(keyword, w);
            if (problem != null) {
                return problem;
            }
        }
        return expressionProblem(w);
    }

    private static String refusedKeyword(String keyword, List<String> w) {
        return switch (keyword) {
            case "external-check" -> "'external-check' runs a program on the balancer (and needs a global setting)";
            case "option" -> w.size() > 1 && w.get(1).equals("external-check")
                    ? "'option external-check' runs a program on the balancer (and needs a global setting)" : null;
            case "server-state-file-name", "load-server-state-from-file" -> "'" + keyword + "' reads a state file"
                    + " named by the global section";
            case "stats" -> "'stats' pages list every fragment's backends and servers, and 'stats admin' lets"
                    + " visitors change them";
            default -> null;
        };
    }

    private String serverProblem(String keyword, List<String> w) {
        int addressAt = keyword.equals("server") ? 2 : keyword.equals("server-template") ? 3 : -1;
        if (addressAt > 0 && w.size() > addressAt && LOCAL_ADDRESS.matcher(w.get(addressAt)).matches()) {
            return "'" + keyword + "' address '" + Excerpt.of(w.get(addressAt)) + "' is a local socket, not a"
                    + " network address (it could be haproxy's own admin socket); use host:port";
        }
        for (int i = 1; i < w.size(); i++) {
            String option = w.get(i);
            if (option.equals("namespace")) {
                return "server option 'namespace' enters a network namespace of the host";
            }
            if (SERVER_FILE_OPTIONS.contains(option) && i + 1 < w.size()) {
                String value = w.get(i + 1);
                if (option.equals("ca-file") && value.equals("@system-ca")) {
                    continue;
                }
                String problem = pathProblem("server option '" + option + "'", value);
                if (problem != null) {
                    return problem;
                }
            }
        }
        return null;
    }

    private String ruleProblem(String keyword, List<String> w) {
        for (int i = 1; i < w.size(); i++) {
            String word = w.get(i);
            if (word.equals("use-service")) {
                return "'" + keyword + " ... use-service' hands the request to a service of haproxy itself"
                        + " (prometheus-exporter lists every backend; lua.* services run code)";
            }
            if (word.startsWith("lua.")) {
                return "'" + Excerpt.of(word) + "' is a Lua action, which runs code loaded by the global section";
            }
            if (RULE_FILE_OPTIONS.contains(word) && i + 1 < w.size()) {
                String problem = pathProblem("'" + keyword + " ... " + word + "'", w.get(i + 1));
                if (problem != null) {
                    return problem;
                }
            }
        }
        return null;
    }

    /** Anything on any line: pattern files (-f), map and ACL files, env(), Lua fetches and converters. */
    private String expressionProblem(List<String> w) {
        for (int i = 0; i < w.size(); i++) {
            String word = w.get(i);
            if (word.equals("-f") && i + 1 < w.size()) {
                String problem = pathProblem("pattern file '-f'", w.get(i + 1));
                if (problem != null) {
                    return problem;
                }
            }
            // Each pattern below needs a call's '(' or "lua.", which most words lack; matching every word against
            // all three was a tenth of the intake's time in a storm.
            if (word.indexOf('(') < 0 && !word.contains("lua.")) {
                continue;
            }
            if (ENV_FETCH.matcher(word).find()) {
                return "'env()' reads haproxy's own environment variables, which may hold secrets";
            }
            if (LUA.matcher(word).find()) {
                return "'" + Excerpt.of(word) + "' uses Lua, which runs code loaded by the global section";
            }
            Matcher m = FILE_FUNCTION.matcher(word);
            while (m.find()) {
                String problem = pathProblem("'" + m.group(1) + "()'", m.group(2).strip());
                if (problem != null) {
                    return problem;
                }
            }
        }
        return null;
    }

    /** Null if haproxy may read {@code raw}: an absolute path that resolves (symlinks followed) into a file dir. */
    String pathProblem(String what, String raw) {
        String shown = "'" + Excerpt.of(raw) + "'";
        Path path;
        try {
            path = Path.of(raw);
        } catch (InvalidPathException e) {
            return what + " names " + shown + ", which is not a file name";
        }
        if (!path.isAbsolute()) {
            return what + " names the relative path " + shown + " (haproxy resolves it from its own working"
                    + " directory); only absolute paths inside lb.fragments.file-dirs are allowed";
        }
        for (Path part : path) {
            if (part.toString().equals("..")) {
                return what + " names " + shown + ", which contains '..'; write the path inside"
                        + " lb.fragments.file-dirs directly";
            }
        }
        if (fileDirs.isEmpty()) {
            return what + " makes haproxy read the file " + shown + "; no fragment may name a file, as"
                    + " lb.fragments.file-dirs is empty (the balancer's operator lists there the directories whose"
                    + " files fragments may name, such as /etc/ssl/certs for the system's CA bundle)";
        }
        Path real;
        try {
            real = path.toRealPath();
        } catch (IOException e) {
            return what + " names " + shown + ", which does not exist (or cannot be resolved)";
        }
        for (Path dir : fileDirs) {
            if (real.startsWith(dir) && !real.equals(dir)) {
                return null;
            }
        }
        return what + " makes haproxy read " + shown + (real.equals(path) ? "" : " (which resolves to '"
                + Excerpt.of(real.toString()) + "')") + ", outside lb.fragments.file-dirs";
    }
}
