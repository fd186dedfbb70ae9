package haproxylb.certificates.store;

import haproxylb.support.StderrCapture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.support.MutableClock;
import haproxylb.support.TestCertificates.Authority;
import haproxylb.support.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateStoreTest {
    private static final Instant START = Instant.parse("2025-06-01T00:00:00Z");
    private static final Authority CA = TestCertificates.rootCa("Store Root", TestCertificates.ecKey(),
            START.minus(Duration.ofDays(30)), START.plus(Duration.ofDays(3650))).intermediate("Store Intermediate");

    @TempDir
    Path state;

    private final MutableClock clock = new MutableClock(START.plus(Duration.ofDays(10)));
    private Path certDir;
    private Path archiveDir;
    private CertificateStore store;

    @BeforeEach
    void setUp() {
        certDir = state.resolve("haproxy/certs");
        archiveDir = state.resolve("certificates/archive");
        store = new CertificateStore(certDir, archiveDir, clock);
    }

    private CertificateBundle bundle(Instant from, Duration lifetime, String... names) throws CertificateProblem {
        return CertificateBundle.read("test", CA.leaf(names).validity(from, lifetime).issue().pem());
    }

    private CertificateBundle bundle(String... names) throws CertificateProblem {
        return bundle(START, Duration.ofDays(90), names);
    }

    private Optional<InstalledCertificate> covering(String domain) throws Exception {
        return CertificateIndex.of(store.list()).best(domain, clock.instant());
    }

    private Path issuedFile() {
        return state.resolve("certificates").resolve(CertificateStore.ISSUED_FILE);
    }

    @Test
    void installs_a_bundle_as_name_dot_pem_with_mode_0600_and_it_parses_back() throws Exception {
        CertificateBundle b = bundle("a.example.com", "b.example.com");

        Path file = store.install("web", b);

        assertEquals(certDir.resolve("web.pem"), file);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        CertificateBundle back = CertificateBundle.parse("web.pem", Files.readString(file), clock);
        assertEquals(b.fingerprint(), back.fingerprint());
        assertEquals(b.chain(), back.chain());
        try (Stream<Path> files = Files.list(certDir)) {
            assertEquals(List.of("web.pem"), files.map(p -> p.getFileName().toString()).toList(), "no temp files left");
        }
    }

    @Test
    void installing_again_replaces_the_file_atomically() throws Exception {
        store.install("web", bundle("a.example.com"));
        CertificateBundle renewed = bundle(START.plus(Duration.ofDays(60)), Duration.ofDays(90), "a.example.com");

        store.install("web", renewed);

        assertEquals(renewed.fingerprint(), store.get("web").orElseThrow().fingerprint());
        assertEquals(1, store.list().size());
    }

    @Test
    void refuses_unsafe_names_and_the_fallback_name() throws Exception {
        CertificateBundle b = bundle("a.example.com");

        assertThrows(IllegalArgumentException.class, () -> store.install("../escape", b));
        assertThrows(IllegalArgumentException.class, () -> store.install(".hidden", b));
        assertThrows(IllegalArgumentException.class, () -> store.install("a/b", b));
        assertThrows(IllegalArgumentException.class, () -> store.install("fallback", b));
    }

    @Test
    void lists_readable_certificates_by_name_and_skips_unreadable_ones_with_a_warning() throws Exception {
        store.install("b-site", bundle("b.example.com"));
        store.install("a-site", bundle("a.example.com"));
        Files.writeString(certDir.resolve("broken.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        Files.writeString(certDir.resolve("notes.txt"), "not a certificate");
        Files.writeString(certDir.resolve(".tmp-x.pem-123"), "half written");

        StderrCapture.Result<List<InstalledCertificate>> first = StderrCapture.capture(this::listQuietly);
        StderrCapture.Result<List<InstalledCertificate>> second = StderrCapture.capture(this::listQuietly);

        assertEquals(List.of("a-site", "b-site"), first.value().stream().map(InstalledCertificate::name).toList());
        assertTrue(first.stderr().contains("broken.pem"), first.stderr());
        assertFalse(second.stderr().contains("broken.pem"), "reported once, not on every check: " + second.stderr());
    }

    private List<InstalledCertificate> listQuietly() {
        try {
            return store.list();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void lists_a_link_to_a_certificate_and_skips_directories_and_dangling_links() throws Exception {
        store.install("a-site", bundle("a.example.com"));
        Path elsewhere = Files.createDirectories(certDir.resolveSibling("elsewhere"));
        Path target = Files.writeString(elsewhere.resolve("own.pem"), bundle("own.example.com").toHaproxyPem());
        Files.createSymbolicLink(certDir.resolve("linked.pem"), target);
        Files.createDirectory(certDir.resolve("dir.pem"));
        Files.createSymbolicLink(certDir.resolve("gone.pem"), elsewhere.resolve("missing.pem"));

        StderrCapture.Result<List<InstalledCertificate>> listed = StderrCapture.capture(this::listQuietly);

        assertEquals(List.of("a-site", "linked"), listed.value().stream().map(InstalledCertificate::name).toList());
        assertEquals(Set.of("own.example.com"), listed.value().get(1).dnsNames());
        assertFalse(listed.stderr().contains("dir.pem") || listed.stderr().contains("gone.pem"), listed.stderr());
    }

    @Test
    void an_empty_or_missing_directory_lists_nothing() throws Exception {
        assertEquals(List.of(), store.list());
        assertEquals(Optional.empty(), covering("a.example.com"));
    }

    @Test
    void archives_a_certificate_issued_here_under_its_name_and_the_time() throws Exception {
        CertificateBundle b = bundle("a.example.com");
        store.installIssued("web", b);
        assertTrue(store.list().get(0).issuedHere());
        assertTrue(store.isArchivable("web"));

        Path archived = store.archive("web");

        assertEquals(archiveDir.resolve("web-20250611T000000Z.pem"), archived);
        assertFalse(Files.exists(certDir.resolve("web.pem")));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(archived)));
        assertEquals(b.fingerprint(), CertificateBundle.read("x", Files.readString(archived)).fingerprint());
        assertFalse(store.isIssuedHere(b), "archived certificates are forgotten");
    }

    @Test
    void two_archives_of_one_name_in_the_same_second_do_not_overwrite_each_other() throws Exception {
        store.installIssued("web", bundle("a.example.com"));
        Path first = store.archive("web");
        store.installIssued("web", bundle("a.example.com"));

        Path second = store.archive("web");

        assertEquals(archiveDir.resolve("web-20250611T000000Z-2.pem"), second);
        assertTrue(Files.exists(first));
    }

    @Test
    void the_issuer_can_record_a_certificate_before_it_reaches_the_crt_directory_through_the_inbox() throws Exception {
        CertificateBundle b = bundle("a.example.com");
        store.recordIssued(b);

        store.install("web", CertificateBundle.parse("cert-inbox/web.pem", b.toHaproxyPem(), clock));

        assertTrue(store.get("web").orElseThrow().issuedHere());
        assertTrue(Files.exists(state.resolve("certificates/issued.json")));
    }

    @Test
    void the_fallback_certificate_is_never_archived() throws Exception {
        FallbackCertificate.ensure(certDir, clock);

        assertFalse(store.isArchivable("fallback"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> store.archive("fallback"));

        assertTrue(e.getMessage().contains("never archived"), e.getMessage());
        assertTrue(Files.exists(certDir.resolve("fallback.pem")));
        assertTrue(store.list().get(0).isFallback());
    }

    @Test
    void an_operator_supplied_certificate_is_never_archived() throws Exception {
        store.install("operator", bundle("shop.example.com"));

        assertFalse(store.list().get(0).issuedHere());
        assertFalse(store.isArchivable("operator"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> store.archive("operator"));

        assertTrue(e.getMessage().contains("operator-supplied"), e.getMessage());
        assertTrue(Files.exists(certDir.resolve("operator.pem")));
    }

    @Test
    void an_operator_who_replaces_a_file_issued_here_takes_it_over() throws Exception {
        store.installIssued("web", bundle("a.example.com"));

        store.install("web", bundle("a.example.com"));

        assertFalse(store.get("web").orElseThrow().issuedHere());
        assertThrows(IllegalStateException.class, () -> store.archive("web"));
    }

    @Test
    void a_file_is_parsed_once_until_it_changes_on_disk() throws Exception {
        store.install("web", bundle("a.example.com"));
        java.util.Set<String> listed = store.list().get(0).dnsNames();

        assertTrue(listed == store.list().get(0).dnsNames(), "an unchanged file is not parsed again");

        CertificateBundle byHand = bundle("a.example.com", "b.example.com");
        Path tmp = certDir.resolve(".byhand.tmp");
        Files.writeString(tmp, byHand.toHaproxyPem());
        Files.move(tmp, certDir.resolve("web.pem"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);

        assertEquals(byHand.fingerprint(), store.list().get(0).fingerprint(),
                "a file replaced by hand is read again");
        Files.delete(certDir.resolve("web.pem"));
        assertEquals(List.of(), store.list());
    }

    @Test
    void a_corrupt_issued_file_makes_every_certificate_look_operator_supplied() throws Exception {
        store.installIssued("web", bundle("a.example.com"));
        Files.writeString(issuedFile(), "{ broken");

        StderrCapture.Result<Boolean> r = StderrCapture.capture(() -> {
            try {
                return store.isArchivable("web");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });

        assertFalse(r.value());
        assertTrue(r.stderr().contains(issuedFile().toString()), r.stderr());
    }

    @Test
    void archiving_a_missing_certificate_fails() {
        assertThrows(java.nio.file.NoSuchFileException.class, () -> store.archive("nothing"));
    }

    @Test
    void covering_picks_the_valid_certificate_with_the_latest_expiry() throws Exception {
        store.install("older", bundle(START, Duration.ofDays(90), "a.example.com", "b.example.com"));
        store.install("newer", bundle(START.plus(Duration.ofDays(5)), Duration.ofDays(90), "a.example.com"));
        store.install("expired", bundle(START.minus(Duration.ofDays(10)), Duration.ofDays(15), "a.example.com"));
        store.install("future", bundle(START.plus(Duration.ofDays(20)), Duration.ofDays(90), "a.example.com"));
        store.install("wild", bundle(START, Duration.ofDays(90), "*.example.org"));
        FallbackCertificate.ensure(certDir, clock);

        assertEquals("newer", covering("a.example.com").orElseThrow().name());
        assertEquals("older", covering("B.example.com").orElseThrow().name());
        assertEquals("wild", covering("www.example.org").orElseThrow().name());
        assertEquals(Optional.empty(), covering("c.example.com"));
        assertEquals(Optional.empty(), covering("haproxy-lb fallback"));
    }

    @Test
    void the_issued_record_forgets_expired_certificates_that_are_gone() throws Exception {
        CertificateBundle gone = bundle(START.minus(Duration.ofDays(100)), Duration.ofDays(90), "old.example.com");
        store.recordIssued(gone);
        CertificateBundle current = bundle("a.example.com");

        store.installIssued("web", current);

        String json = Files.readString(issuedFile());
        assertFalse(json.contains(gone.fingerprint()), json);
        assertTrue(json.contains(current.fingerprint()), json);
    }
}
