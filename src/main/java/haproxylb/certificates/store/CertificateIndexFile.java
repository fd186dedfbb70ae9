package haproxylb.certificates.store;

import haproxylb.common.AtomicFiles;
import haproxylb.common.FileVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's index saved beside {@code issued.json}: for every certificate file, the version of the file that was
 * parsed ({@link FileVersion}: identity, size, modification and change time) and its {@link CertificateSummary}. A
 * start reads it and parses only the files that are new or changed since, instead of every file (parsing checks the
 * key with a signature: about 30 s at 10,000 files).
 *
 * <p>Never trusted beyond what it can prove: an entry counts only while the file on disk is exactly the version
 * recorded (the test the in-memory index makes between checks); the whole file is ignored, and every certificate
 * parsed, when its header (an older format's too), its SHA-256 or any line is wrong. An entry stores no verdict, only
 * the names and dates, so a certificate is judged valid or not against the clock each time. Written atomically.
 *
 * <p>One line per file: {@code name TAB size TAB mtime-ns TAB ctime-ns TAB file-key TAB notBefore-ms TAB notAfter-ms
 * TAB fingerprint TAB names,comma-separated} (X.509 times have no finer precision than the millisecond a Date holds),
 * sorted by name, after a header line and a {@code sha256} line over the lines that follow.
 */
final class CertificateIndexFile {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateIndexFile.class);
    static final String HEADER = "haproxy-lb certificate index 2";
    private static final String CHECKSUM = "sha256 ";
    private static final int FIELDS = 9;
    /** Characters that would break a line or its list of names apart. */
    private static final Pattern LINE_BREAKING = Pattern.compile("[\t\n\r]");
    private static final Pattern NAME_BREAKING = Pattern.compile("[\t\n\r,]");

    private CertificateIndexFile() {}

    /** A file as parsed, with the version of it on disk that was parsed. */
    record Entry(FileVersion version, CertificateSummary summary) {
        boolean isUnchanged(FileVersion now) {
            return version.equals(now);
        }
    }

    /** File name → entry; empty when there is no index, and empty (logged) when it is not one this class wrote. */
    static Map<String, Entry> load(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Map.of();
        } catch (IOException e) {
            LOG.warn("certificate index {} cannot be read ({}): parsing every certificate file", file, e.getMessage());
            return Map.of();
        }
        try {
            return parse(new String(bytes, StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            LOG.warn("certificate index {} is not usable ({}): parsing every certificate file; it is written anew",
                    file, e.getMessage());
            return Map.of();
        }
    }

    private static Map<String, Entry> parse(String text) {
        int first = text.indexOf('\n');
        int second = first < 0 ? -1 : text.indexOf('\n', first + 1);
        if (second < 0 || !text.substring(0, first).equals(HEADER)
                || !text.startsWith(CHECKSUM, first + 1)) {
            throw new IllegalArgumentException("not a certificate index (header)");
        }
        String body = text.substring(second + 1);
        if (!text.substring(first + 1 + CHECKSUM.length(), second).equals(sha256(body))) {
            throw new IllegalArgumentException("checksum mismatch");
        }
        Map<String, Entry> entries = new HashMap<>();
        // by hand, without a split per line or a regular expression per fingerprint: this runs at start-up, on a
        // cold JVM, over 10,000 lines
        for (int start = 0; start < body.length(); ) {
            int end = body.indexOf('\n', start);
            if (end < 0) {
                end = body.length();
            }
            if (end > start) {
                String[] f = fields(body, start, end);
                if (f == null || !isFingerprint(f[7]) || f[0].isEmpty()) {
                    throw new IllegalArgumentException("malformed line: " + body.substring(start, end));
                }
                Set<String> names = Set.copyOf(Arrays.asList(f[8].split(",", -1)));
                CertificateSummary summary = new CertificateSummary(names, Instant.ofEpochMilli(Long.parseLong(f[5])),
                        Instant.ofEpochMilli(Long.parseLong(f[6])), f[7]);
                FileVersion version = new FileVersion(f[4], Long.parseLong(f[1]),
                        FileTime.from(Long.parseLong(f[2]), TimeUnit.NANOSECONDS), Long.parseLong(f[3]));
                entries.put(f[0], new Entry(version, summary));
            }
            start = end + 1;
        }
        return entries;
    }

    /** The {@value #FIELDS} tab-separated fields of {@code text[start, end)}, or null when there are more or fewer. */
    private static String[] fields(String text, int start, int end) {
        String[] f = new String[FIELDS];
        int from = start;
        for (int i = 0; i < FIELDS - 1; i++) {
            int tab = text.indexOf('\t', from);
            if (tab < 0 || tab >= end) {
                return null;
            }
            f[i] = text.substring(from, tab);
            from = tab + 1;
        }
        int extra = text.indexOf('\t', from);
        if (extra >= 0 && extra < end) {
            return null;
        }
        f[FIELDS - 1] = text.substring(from, end);
        return f;
    }

    /** 64 lower-case hex digits. */
    private static boolean isFingerprint(String text) {
        if (text.length() != 64) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    /** Writes {@code entries} (file name → entry) atomically. */
    static void save(Path file, Map<String, Entry> entries) throws IOException {
        StringBuilder body = new StringBuilder(entries.size() * 160);
        for (Map.Entry<String, Entry> e : new TreeMap<>(entries).entrySet()) {
            Entry entry = e.getValue();
            CertificateSummary s = entry.summary();
            String names = String.join(",", s.dnsNames());
            // a file with no name, or a name that cannot be written on one line, is parsed at each start
            if (s.dnsNames().isEmpty() || LINE_BREAKING.matcher(e.getKey()).find()
                    || LINE_BREAKING.matcher(entry.version().key()).find()
                    || s.dnsNames().stream().anyMatch(n -> NAME_BREAKING.matcher(n).find())) {
                continue;
            }
            FileVersion v = entry.version();
            body.append(e.getKey()).append('\t').append(v.size()).append('\t')
                    .append(v.modified().to(TimeUnit.NANOSECONDS)).append('\t').append(v.changed()).append('\t')
                    .append(v.key()).append('\t')
                    .append(s.notBefore().toEpochMilli()).append('\t').append(s.notAfter().toEpochMilli()).append('\t').append(s.fingerprint())
                    .append('\t').append(names).append('\n');
        }
        String text = HEADER + "\n" + CHECKSUM + sha256(body.toString()) + "\n" + body;
        AtomicFiles.write(file, text.getBytes(StandardCharsets.UTF_8));
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
