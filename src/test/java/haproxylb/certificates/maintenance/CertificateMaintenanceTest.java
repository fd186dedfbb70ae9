package haproxylb.certificates.maintenance;

import haproxylb.certificates.issuer.DisabledIssuer;
import haproxylb.certificates.issuer.IssuedCertificate;
import haproxylb.certificates.issuer.Issuer;
import haproxylb.certificates.issuer.OrderRequest;
import haproxylb.certificates.issuer.RenewalInfoWindow;
import haproxylb.certificates.policy.Backoff;
import haproxylb.certificates.policy.CoverageDecision;
import haproxylb.certificates.policy.RateLimitLedger;
import haproxylb.certificates.store.CertificateBundle;
import haproxylb.certificates.store.CertificateProblem;
import haproxylb.certificates.store.CertificateStore;
import haproxylb.certificates.store.HaproxyCertificates;
import haproxylb.certificates.store.InstalledCertificate;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.ReloadWindow;
import haproxylb.haproxy.RuntimeApi;
import haproxylb.status.CertificateStatus;
import haproxylb.status.StatusBoard;
import haproxylb.storage.LocalStorage;
import haproxylb.support.MutableClock;
import haproxylb.support.TestCertificates.Authority;
import haproxylb.support.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coverage check's decisions with ACME off ({@link DisabledIssuer}), on a real store, status board and map file in
 * a temporary state dir, with a clock the test moves instead of waiting. Ordering is covered by the integration tests
 * against Pebble (CertificatesTest, MultiCaTest).
 */
class CertificateMaintenanceTest {
    private static final Instant START = Instant.parse("2025-06-01T00:00:00Z");
    private static final Authority CA = TestCertificates.rootCa("Maintenance Root", TestCertificates.ecKey(),
            START.minus(Duration.ofDays(30)), START.plus(Duration.ofDays(3650)));

    @TempDir
    Path state;

    private final MutableClock clock = new MutableClock(START.plus(Duration.ofDays(10)));
    private final AtomicInteger reloadsRequested = new AtomicInteger();
    private Path liveMap;
    private CertificateStore store;
    private StatusBoard status;
    private CertificateMaintenance check;

    @BeforeEach
    void setUp() {
        check = checkOrderingFrom(new DisabledIssuer());
    }

    private CertificateMaintenance checkOrderingFrom(Issuer issuer) {
        liveMap = state.resolve("backend.map");
        store = new CertificateStore(state.resolve("certs"), state.resolve("certificates/archive"), clock);
        status = new StatusBoard(state.resolve("status.json"), clock);
        // no haproxy listens on this socket: dropping a certificate falls back to asking for a reload
        HaproxyCertificates haproxy = new HaproxyCertificates(
                new RuntimeApi(new HaproxySocket(state.resolve("no-haproxy.sock"), Duration.ofSeconds(1))),
                state.resolve("certs").toString(), new ReloadWindow(), reloadsRequested::incrementAndGet);
        return new CertificateMaintenance(
                new CertificateMaintenance.Locations(LiveDomains.file(liveMap), state.resolve("cert-inbox"), new LocalStorage(state),
                        "certificates/backoff.json", "certificates/rate-limits.json"),
                store, issuer, CoverageDecision.Reachability.assumeAll(),
                new Backoff(clock, new SplittableRandom(1)), new RateLimitLedger(clock), haproxy, status, clock, false);
    }

    private CertificateBundle bundle(String... names) throws CertificateProblem {
        return CertificateBundle.read("test", CA.leaf(names).validity(START, Duration.ofDays(90)).issue().pem());
    }

    private void map(String text) throws Exception {
        Files.writeString(liveMap, text);
    }

    private CertificateStatus statusOf(String domain) {
        return (CertificateStatus) status.snapshot().certificates().get(domain);
    }

    @Test
    void without_a_map_there_is_nothing_to_check_and_nothing_is_archived() throws Exception {
        store.installIssued("web", bundle("a.example.com"));

        check.check();

        assertEquals(1, store.list().size(), "before the first assembly every certificate would look orphaned");
        assertEquals(0, check.checks());
        assertTrue(status.snapshot().certificates().isEmpty());
    }

    @Test
    void acme_off_reports_covered_names_and_says_how_to_cover_the_others() throws Exception {
        store.install("web", bundle("a.example.com"));
        map("a.example.com web\nb.example.com other\n");

        check.check();

        assertEquals("covered", statusOf("a.example.com").state());
        assertEquals("web", statusOf("a.example.com").certificate());
        assertEquals("operator", statusOf("a.example.com").source());
        CertificateStatus b = statusOf("b.example.com");
        assertEquals("not-covered", b.state());
        assertEquals("ACME is off (lb.acme.directory-url is empty): drop a certificate into the certificate inbox",
                b.reason());
        assertEquals(0, check.orderAttempts());
    }

    @Test
    void a_renewal_falling_due_with_acme_off_keeps_the_name_covered_and_says_so() throws Exception {
        store.installIssued("web", bundle("a.example.com"));
        map("a.example.com web\n");

        check.check();
        assertEquals("covered", statusOf("a.example.com").state());
        assertNull(statusOf("a.example.com").reason());

        clock.set(START.plus(Duration.ofDays(61))); // past two thirds of 90 days
        check.check();

        CertificateStatus s = statusOf("a.example.com");
        assertEquals("covered", s.state());
        assertEquals("renewal due, but ACME is off (lb.acme.directory-url is empty): drop a renewed certificate into "
                + "the certificate inbox", s.reason());
    }

    @Test
    void an_expired_certificate_no_longer_covers_its_name() throws Exception {
        store.install("web", bundle("a.example.com"));
        map("a.example.com web\n");

        clock.set(START.plus(Duration.ofDays(91)));
        check.check();

        assertEquals("not-covered", statusOf("a.example.com").state());
        assertEquals("web", store.list().get(0).name(), "an expired file stays listed");
    }

    @Test
    void a_certificate_issued_here_is_archived_once_its_names_leave_the_map_and_an_operators_is_kept()
            throws Exception {
        store.installIssued("gone", bundle("old.example.com"));
        store.install("mine", bundle("also-old.example.com"));
        store.installIssued("wild", bundle("*.example.com"));
        map("a.example.com web\n");

        check.check();

        assertEquals(java.util.List.of("mine", "wild"), store.list().stream().map(InstalledCertificate::name).toList(),
                "the wildcard still covers a.example.com; the operator's certificate is never archived");
        try (var archived = Files.list(state.resolve("certificates/archive"))) {
            assertEquals(1, archived.filter(f -> f.getFileName().toString().startsWith("gone-")).count());
        }
        assertEquals(1, reloadsRequested.get(), "haproxy is told to drop it (by reload without a runtime API)");
        assertEquals("covered", statusOf("a.example.com").state());
        assertEquals("wild", statusOf("a.example.com").certificate());
    }

    @Test
    void a_check_that_changes_nothing_does_not_rewrite_the_status_and_names_that_leave_are_dropped()
            throws Exception {
        store.install("web", bundle("a.example.com", "b.example.com"));
        map("a.example.com web\nb.example.com web\n");
        check.check();
        Object written = Files.readAttributes(state.resolve("status.json"), BasicFileAttributes.class).fileKey();

        check.check();

        assertEquals(written, Files.readAttributes(state.resolve("status.json"), BasicFileAttributes.class).fileKey(),
                "status.json is replaced by rename on every write: the same file means no write");

        map("a.example.com web\n");
        check.check();

        Map<String, Object> certificates = status.snapshot().certificates();
        assertTrue(certificates.containsKey("b.example.com"));
        assertNull(certificates.get("b.example.com"), "a name that left the map is cleared");
        assertFalse(certificates.get("a.example.com") == null);
        assertEquals(3, check.checks());
    }

    @Test
    void an_issuer_failing_in_a_way_nobody_classified_holds_back_the_ca_not_just_one_certificate() throws Exception {
        // what acme4j threw when the CA went away in the middle of an answer, before CaConnection read it as a network
        // failure; whatever the next such surprise is, it must not send every certificate's order after it
        Issuer surprised = new Issuer() {
            int orders;

            public String caName() { return "surprise"; }
            public String accountId() { return "surprise-account"; }
            public Optional<String> off() { return Optional.empty(); }
            public IssuedCertificate issue(OrderRequest request) {
                orders++;
                throw new java.io.UncheckedIOException(new java.io.IOException("closed (order " + orders + ")"));
            }
            public Optional<RenewalInfoWindow> renewalInfo(X509Certificate certificate) { return Optional.empty(); }
            public boolean supportsRenewalInfo() { return true; }
        };
        check = checkOrderingFrom(surprised);
        map("a.example.com web\nb.example.com other\nc.example.com third\n");

        check.check();

        assertEquals(1, check.orderAttempts(), "one order, then the CA's gate is closed for the other certificates");
        assertTrue(check.caBackoff().get("surprise").isPresent(), "the CA backs off: " + check.caBackoff());
        assertEquals(List.of(new CertificateMaintenance.ErrorCount("surprise", "local", 1)), check.errorCounts(),
                "counted among the failed orders");
        assertTrue(Files.readString(state.resolve("certificates/backoff.json")).contains("failed in an unexpected way: "
                + "java.io.UncheckedIOException: java.io.IOException: closed (order 1)"), "the reason is kept for the status");

        check.check();
        assertEquals(1, check.orderAttempts(), "nor at the next check: the gate stays closed for its backoff");
    }
}
