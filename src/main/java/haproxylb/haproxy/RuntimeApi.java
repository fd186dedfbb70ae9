package haproxylb.haproxy;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * haproxy's runtime API over the admin stats socket ({@code stats socket PATH level admin}): map entries and
 * TLS certificates changed in memory, visible to the very next request. Changes are not persisted: the caller
 * writes the files too, or a reload brings back what is on disk.
 *
 * <p>haproxy answers errors as ordinary text, so every answer is compared with the success text haproxy 2.6
 * prints for that command (captured from a real 2.6.12, see RuntimeApiTest) and anything else becomes an
 * IOException carrying haproxy's words. Names given to haproxy must be exactly the paths in its configuration.
 */
public final class RuntimeApi {
    // "Key not found." is del map's answer for an absent key; "entry not found." is set map's.
    private static final String DEL_MAP_ABSENT = "Key not found.";
    private static final String SET_MAP_ABSENT = "entry not found.";
    private static final Pattern TRANSACTION = Pattern.compile("^Transaction (?:created|updated) for certificate (\\S+)!");

    private final HaproxySocket statsSocket;

    public RuntimeApi(HaproxySocket statsSocket) {
        this.statsSocket = Objects.requireNonNull(statsSocket, "statsSocket");
    }

    /** "add map": haproxy keeps duplicates, so adding a key that is present adds a second entry. */
    public void addMapEntry(String mapFile, String key, String value) throws IOException {
        run(silent(), "add map", mapFile, key, value);
    }

    public void setOrAddMapEntry(String mapFile, String key, String value) throws IOException {
        String line = line("set map", mapFile, key, value);
        String answer = statsSocket.command(line);
        if (answer.strip().equals(SET_MAP_ABSENT)) {
            addMapEntry(mapFile, key, value);
        } else {
            check(line, answer, silent());
        }
    }

    /** "del map" removes every entry for the key; an absent key is not an error. */
    public void deleteMapEntry(String mapFile, String key) throws IOException {
        run(a -> a.isBlank() || a.strip().equals(DEL_MAP_ABSENT), "del map", mapFile, key);
    }

    /** Parses "show map" lines "0x55d0... key value"; for a key listed twice, the first entry is kept. */
    public Map<String, String> showMap(String mapFile) throws IOException {
        String answer = run(a -> a.lines().allMatch(l -> l.isBlank() || l.startsWith("0x")), "show map", mapFile);
        Map<String, String> entries = new LinkedHashMap<>();
        answer.lines().filter(l -> l.startsWith("0x")).forEach(l -> {
            String[] parts = l.split(" ", 3);
            entries.putIfAbsent(parts[1], parts.length > 2 ? parts[2] : "");
        });
        return entries;
    }

    /**
     * Hot-installs a PEM bundle (cert chain + key) as certFile: new ssl cert (if new) / set ssl cert / commit
     * ssl cert, then add ssl crt-list crtList certFile (if new). A step that fails aborts the transaction and,
     * for a certificate this call created, deletes it again, so haproxy is left as it was.
     *
     * <p>haproxy has one certificate transaction at a time, hence synchronized. One left open on another file
     * (by a run that crashed between set and commit) is aborted first: haproxy 2.6.12 would otherwise answer
     * "set ssl cert" by putting this payload into that other file's transaction.
     */
    public synchronized void installCertificate(String crtList, String certFile, String pemBundle) throws IOException {
        String pem = normalizePem(pemBundle);
        boolean listed = crtListEntries(crtList).contains(certFile);
        CertificateStore store = showSslCert();
        if (store.openTransaction() != null && !store.openTransaction().equals(certFile)) {
            abort(store.openTransaction());
        }
        boolean created = !store.files().contains(certFile);
        if (created) {
            run(a -> a.startsWith("New empty certificate store"), "new ssl cert", certFile);
        }
        try {
            setCertificate(certFile, pem);
            try {
                run(a -> a.startsWith("Committing " + certFile) && a.contains("Success!") && !a.contains("Failed!"),
                        "commit ssl cert", certFile);
            } catch (IOException e) {
                abortQuietly(certFile, e);
                throw e;
            }
            if (!listed) {
                run(a -> a.startsWith("Inserting certificate") && a.contains("Success!") && !a.contains("Failed!"),
                        "add ssl crt-list", crtList, certFile);
            }
        } catch (IOException e) {
            if (created) {
                deleteQuietly(certFile, e);
            }
            throw e;
        }
    }

    /** "del ssl crt-list" then "del ssl cert"; a certificate that is already gone from either is not an error. */
    public synchronized void removeCertificate(String crtList, String certFile) throws IOException {
        String gone = "certificate '" + certFile + "' ";
        run(a -> a.startsWith("Entry '" + certFile + "' deleted")
                        || a.contains(gone + "can't be found in crt-list") || a.contains(gone + "does not exist!"),
                "del ssl crt-list", crtList, certFile);
        run(a -> a.startsWith("Certificate '" + certFile + "' deleted!") || a.contains(gone + "doesn't exist!"),
                "del ssl cert", certFile);
    }

    /** The committed certificates' file names from "show ssl cert" (an open transaction is not listed). */
    public Set<String> loadedCertificates() throws IOException {
        return showSslCert().files();
    }

    public String showInfo() throws IOException {
        return run(a -> a.startsWith("Name: "), "show info");
    }

    /** "show ssl cert": a "# transaction" section ("*path") while one is open, then "# filename" and the files. */
    private CertificateStore showSslCert() throws IOException {
        String answer = run(a -> a.startsWith("# "), "show ssl cert");
        Set<String> files = new LinkedHashSet<>();
        String transaction = null;
        String section = "";
        for (String line : answer.lines().map(String::strip).filter(l -> !l.isEmpty()).toList()) {
            if (line.startsWith("#")) {
                section = line;
            } else if (section.equals("# transaction")) {
                transaction = line.startsWith("*") ? line.substring(1) : line;
            } else if (section.equals("# filename")) {
                files.add(line);
            }
        }
        return new CertificateStore(files, transaction);
    }

    private record CertificateStore(Set<String> files, String openTransaction) {}

    private void setCertificate(String certFile, String pem) throws IOException {
        String line = line("set ssl cert", certFile);
        String answer = statsSocket.commandWithPayload(line, pem);
        Matcher named = TRANSACTION.matcher(answer);
        String transaction = named.find() ? named.group(1) : null;
        if (certFile.equals(transaction)) {
            return;
        }
        IOException refused = refusal(line, answer);
        // The payload may have landed in another file's transaction: it must never be committed there.
        abortQuietly(transaction != null ? transaction : certFile, refused);
        throw refused;
    }

    private Set<String> crtListEntries(String crtList) throws IOException {
        String answer = run(a -> a.startsWith("# "), "show ssl crt-list", crtList);
        Set<String> files = new LinkedHashSet<>();
        // Entry lines are "<cert> [ssl options] [sni filters]"; the list's own name comes as a "# " comment.
        answer.lines().filter(l -> !l.isBlank() && !l.startsWith("#"))
                .forEach(l -> files.add(l.strip().split("\\s+", 2)[0]));
        return files;
    }

    private void abort(String certFile) throws IOException {
        run(a -> a.startsWith("Transaction aborted"), "abort ssl cert", certFile);
    }

    /** Best effort: after a failed step the transaction may or may not exist ("No ongoing transaction!"). */
    private void abortQuietly(String certFile, IOException cause) {
        try {
            statsSocket.command(line("abort ssl cert", certFile));
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }

    private void deleteQuietly(String certFile, IOException cause) {
        try {
            run(a -> a.contains("deleted!"), "del ssl cert", certFile);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }

    private String run(Predicate<String> success, String verb, String... args) throws IOException {
        String line = line(verb, args);
        return check(line, statsSocket.command(line), success);
    }

    private String check(String line, String answer, Predicate<String> success) throws IOException {
        if (!success.test(answer)) {
            throw refusal(line, answer);
        }
        return answer;
    }

    private IOException refusal(String line, String answer) {
        String said = answer.isBlank() ? "(no answer)" : answer.strip();
        return new IOException("haproxy " + statsSocket.path() + " refused '" + line + "': " + said);
    }

    /** Map changes answer nothing at all when they succeed. */
    private static Predicate<String> silent() {
        return String::isBlank;
    }

    private static String line(String verb, String... args) {
        StringBuilder line = new StringBuilder(verb);
        for (String arg : args) {
            requireToken(arg);
            line.append(' ').append(arg);
        }
        return line.toString();
    }

    /**
     * The CLI splits on spaces, runs ";"-separated commands one after another and reads "\" as an escape, so an
     * argument carrying any of them (or a control character) could change what haproxy executes; refused.
     */
    private static void requireToken(String arg) {
        Objects.requireNonNull(arg, "argument");
        if (arg.isEmpty() || !arg.chars().allMatch(c -> c > ' ' && c != ';' && c != '\\' && c != 0x7f)) {
            throw new IllegalArgumentException("not usable as a haproxy CLI argument: '" + arg + "'");
        }
    }

    /** haproxy ends a payload at its first blank line, so blank lines (harmless between PEM blocks) and CRs go. */
    private static String normalizePem(String pem) {
        StringBuilder out = new StringBuilder(pem.length());
        pem.replace("\r", "").lines().filter(l -> !l.isBlank()).forEach(l -> out.append(l).append('\n'));
        if (out.length() == 0) {
            throw new IllegalArgumentException("empty PEM bundle");
        }
        return out.toString();
    }
}
