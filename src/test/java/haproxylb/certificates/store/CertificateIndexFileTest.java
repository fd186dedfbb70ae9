package haproxylb.certificates.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.support.MutableClock;
import haproxylb.support.TestCertificates;
import haproxylb.support.TestCertificates.Authority;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's saved index: a start trusts an entry only while its file is the version that was parsed, and falls
 * back to parsing when the index is stale, changed or corrupt. "Trusted" is shown by a planted entry whose names
 * differ from the file's: listed with the planted names means the file was not parsed.
 */
class CertificateIndexFileTest {
    private static final Instant START = Instant.parse("2025-06-01T00:00:00Z");
    private static final Authority CA = TestCertificates.rootCa("Index Root", TestCertificates.ecKey(),
            START.minus(Duration.ofDays(30)), START.plus(Duration.ofDays(3650)));

    @TempDir
    Path state;

    private final MutableClock clock = new MutableClock(START.plus(Duration.ofDays(10)));
    private Path certDir;
    private Path archiveDir;
    private Path indexFile;

    @BeforeEach
    void setUp() {
        certDir = state.resolve("haproxy/certs");
        archiveDir = state.resolve("certificates/archive");
        indexFile = state.resolve("certificates").resolve(CertificateStore.INDEX_FILE);
    }

    private CertificateStore start() {
        return new CertificateStore(certDir, archiveDir, clock);
    }

    private CertificateBundle bundle(String... names) throws CertificateProblem {
        return CertificateBundle.read("test", CA.leaf(names).validity(START, Duration.ofDays(90)).issue().pem());
    }

    private static Map<String, Set<String>> namesByCertificate(CertificateStore store) throws Exception {
        Map<String, Set<String>> names = new HashMap<>();
        store.list().forEach(c -> names.put(c.name(), c.dnsNames()));
        return names;
    }

    /** Rewrites the index (with a valid checksum) with {@code file}'s entry claiming {@code names}. */
    private void plant(String file, String... names) throws Exception {
        Map<String, CertificateIndexFile.Entry> entries = new HashMap<>(CertificateIndexFile.load(indexFile));
        CertificateIndexFile.Entry e = entries.get(file);
        CertificateSummary s = e.summary();
        entries.put(file, new CertificateIndexFile.Entry(e.version(),
                new CertificateSummary(Set.of(names), s.notBefore(), s.notAfter(), s.fingerprint())));
        CertificateIndexFile.save(indexFile, entries);
    }

    @Test
    void a_start_takes_an_unchanged_file_from_the_index_without_parsing_it() throws Exception {
        CertificateStore first = start();
        first.install("web", bundle("a.example.com"));
        first.install("api", bundle("b.example.com"));
        assertEquals(2, first.list().size());
        assertTrue(Files.exists(indexFile), "the first listing writes the index");

        plant("web.pem", "planted.example.com");

        assertEquals(Map.of("web", Set.of("planted.example.com"), "api", Set.of("b.example.com")),
                namesByCertificate(start()));
    }

    @Test
    void a_file_changed_since_the_index_was_written_is_parsed_again() throws Exception {
        CertificateStore first = start();
        first.install("web", bundle("a.example.com"));
        first.list();
        plant("web.pem", "planted.example.com");

        Path byHand = certDir.resolve(".web.tmp");
        Files.writeString(byHand, bundle("c.example.com", "d.example.com").toHaproxyPem());
        Files.move(byHand, certDir.resolve("web.pem"), StandardCopyOption.ATOMIC_MOVE);

        assertEquals(Map.of("web", Set.of("c.example.com", "d.example.com")), namesByCertificate(start()));
        assertEquals(Set.of("c.example.com", "d.example.com"),
                CertificateIndexFile.load(indexFile).get("web.pem").summary().dnsNames(), "the index is brought up to date");
    }

    @Test
    void a_file_rewritten_in_place_with_its_old_modification_time_is_parsed_again_when_its_size_differs()
            throws Exception {
        CertificateStore first = start();
        first.install("web", bundle("a.example.com"));
        first.list();
        plant("web.pem", "planted.example.com");
        Path file = certDir.resolve("web.pem");
        BasicFileAttributes before = Files.readAttributes(file, BasicFileAttributes.class);

        Files.writeString(file, bundle("a-much-longer-name.example.com").toHaproxyPem());
        Files.setLastModifiedTime(file, before.lastModifiedTime());

        assertEquals(Map.of("web", Set.of("a-much-longer-name.example.com")), namesByCertificate(start()));
    }

    @Test
    void a_file_rewritten_in_place_with_its_old_size_and_modification_time_is_parsed_again() throws Exception {
        CertificateStore first = start();
        first.install("web", bundle("a.example.com"));
        first.list();
        plant("web.pem", "planted.example.com");
        Path file = certDir.resolve("web.pem");
        BasicFileAttributes before = Files.readAttributes(file, BasicFileAttributes.class);

        // Another certificate, padded with trailing newlines (which PEM ignores) to the old file's exact size, written
        // into the same inode and given back its old modification time, as cp -p over it would.
        String pem = bundle("b.example.com").toHaproxyPem();
        int padding = (int) before.size() - pem.length();
        assertTrue(padding >= 0 && padding < 64, "a replacement of about the same size: " + padding);
        Files.writeString(file, pem + "\n".repeat(padding));
        Files.setLastModifiedTime(file, before.lastModifiedTime());
        assertEquals(before.size(), Files.size(file));
        assertEquals(before.fileKey(), Files.readAttributes(file, BasicFileAttributes.class).fileKey());

        assertEquals(Map.of("web", Set.of("b.example.com")), namesByCertificate(start()));
    }

    @Test
    void an_entry_whose_file_is_gone_is_not_listed_and_leaves_the_index() throws Exception {
        CertificateStore first = start();
        first.install("web", bundle("a.example.com"));
        first.install("old", bundle("old.example.com"));
        first.list();

        Files.delete(certDir.resolve("old.pem"));

        assertEquals(Map.of("web", Set.of("a.example.com")), namesByCertificate(start()));
        assertEquals(Set.of("web.pem"), CertificateIndexFile.load(indexFile).keySet());
    }

    @Test
    void a_corrupt_index_is_ignored_every_file_is_parsed_and_the_index_is_written_anew() throws Exception {
        CertificateStore first = start();
        first.install("web", bundle("a.example.com"));
        first.list();
        plant("web.pem", "planted.example.com");
        String planted = Files.readString(indexFile);

        // an edited line without the checksum to match
        Files.writeString(indexFile, planted.replace("planted.example.com", "other.example.com"));
        assertEquals(Map.of("web", Set.of("a.example.com")), namesByCertificate(start()));
        assertEquals(Set.of("a.example.com"), CertificateIndexFile.load(indexFile).get("web.pem").summary().dnsNames());

        for (String corrupt : List.of("", "garbage\n", planted.substring(0, planted.length() / 2),
                planted.replace(CertificateIndexFile.HEADER, "haproxy-lb certificate index 999"))) {
            Files.writeString(indexFile, corrupt, StandardCharsets.UTF_8);
            assertEquals(Map.of("web", Set.of("a.example.com")), namesByCertificate(start()), "index: " + corrupt);
        }
    }

    @Test
    void the_index_holds_dates_not_a_verdict_so_an_indexed_certificate_expires_on_time() throws Exception {
        CertificateStore first = start();
        first.install("web", bundle("a.example.com"));
        first.list();

        clock.set(START.plus(Duration.ofDays(91)));
        InstalledCertificate web = start().list().get(0);

        assertFalse(web.isValidAt(clock.instant()));
        assertEquals(START.plus(Duration.ofDays(90)), web.notAfter());
    }

    @Test
    void the_index_is_written_when_the_files_change_not_at_every_listing() throws Exception {
        CertificateStore store = start();
        store.install("web", bundle("a.example.com"));
        store.list();
        Object written = Files.readAttributes(indexFile, BasicFileAttributes.class).fileKey();

        store.list();
        assertEquals(written, Files.readAttributes(indexFile, BasicFileAttributes.class).fileKey());

        store.install("api", bundle("b.example.com"));
        store.list();
        assertFalse(written.equals(Files.readAttributes(indexFile, BasicFileAttributes.class).fileKey()),
                "an atomic write is a new file");
    }

    @Test
    void a_certificate_listed_from_the_index_reads_its_leaf_from_the_file_when_asked() throws Exception {
        CertificateBundle web = bundle("a.example.com");
        start().install("web", web);
        start().list();
        InstalledCertificate listed = start().list().get(0);

        assertEquals(web.leaf(), listed.leaf().orElseThrow());

        Files.writeString(certDir.resolve("web.pem"), bundle("a.example.com").toHaproxyPem());
        assertTrue(start().list().get(0).leaf().isPresent());
        assertTrue(listed.leaf().isPresent(), "read once, kept");
        InstalledCertificate stale = new InstalledCertificate("web", certDir.resolve("web.pem"),
                CertificateSummary.of(web), true);
        assertTrue(stale.leaf().isEmpty(), "a file that no longer holds the listed certificate gives no leaf");
    }
}
