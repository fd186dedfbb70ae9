package haproxylb.it;

import haproxylb.certificates.store.CertificateBundle;
import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.common.AtomicFiles;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.PebbleServer;
import haproxylb.support.TestCertificates;

import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Certificates end to end: the real daemon (routes, haproxy on loopback) against a real Pebble whose VA validates
 * HTTP-01 through haproxy's HTTP port. Names resolve through Pebble's mock DNS server, for Pebble and for the daemon
 * alike (lb.acme.dns-resolver points at it), so both agree on where every test name points: everything is 127.0.0.1
 * unless a test gives a name another address.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class CertificatesTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;
    private PebbleServer pebble;

    /** A daemon with ACME on, ordering from a Pebble that validates through this daemon's haproxy. */
    private DaemonHarness withPebble() {
        return withPebble(Map.of());
    }

    private DaemonHarness withPebble(Map<String, String> pebbleEnv) {
        pebble = fixture.pebble(pebbleEnv, Map.of());
        daemon = fixture.orderingFrom(pebble).with("lb.acme.email", "ops@cert.test");
        return daemon;
    }

    private static String cfg(String backend) {
        return "backend " + backend + "\n    http-request return status 200 content-type text/plain string "
                + backend + "\n";
    }

    /** The chain haproxy serves for SNI {@code host}, empty while the TLS handshake fails. */
    private List<X509Certificate> served(String host) {
        try {
            return EdgeClient.https(daemon.httpsPort(), host, "/").peerChain();
        } catch (IOException e) {
            return List.of();
        }
    }

    private Optional<X509Certificate> servedLeaf(String host) {
        return served(host).stream().findFirst();
    }

    private boolean servedFromPebbleFor(String host, Set<String> names) {
        return servedLeaf(host).map(leaf -> leaf.getIssuerX500Principal().getName().contains("Pebble")
                && names.equals(sans(leaf))).orElse(false);
    }

    private String stateOf(String domain) {
        return String.valueOf(daemon.certificateStatus(domain).get("state"));
    }

    private CertificateMaintenance maintenance() {
        return daemon.context().getRegistry().lookupByNameAndType("certificateMaintenance", CertificateMaintenance.class);
    }

    private long reloads() throws IOException {
        return daemon.status().reloads();
    }

    static Set<String> sans(X509Certificate c) {
        try {
            Collection<List<?>> all = c.getSubjectAlternativeNames();
            Set<String> names = new TreeSet<>();
            if (all != null) {
                all.stream().filter(san -> Integer.valueOf(2).equals(san.get(0))).forEach(san -> names.add((String) san.get(1)));
            }
            return names;
        } catch (CertificateParsingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void verifyChain(List<X509Certificate> chain, X509Certificate root) throws Exception {
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(chain),
                params);
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> all = Files.list(dir)) {
            return all.sorted().toList();
        }
    }

    // ------------------------------------------------------------------ issuance

    @Test
    void a_fragment_with_two_domains_gets_one_certificate_from_pebble_served_for_both_names() throws Exception {
        withPebble().start();
        daemon.drop("shop", cfg("be_shop"), "shop.cert.test be_shop\nwww.shop.cert.test be_shop\n");

        Set<String> both = Set.of("shop.cert.test", "www.shop.cert.test");
        await("Pebble's certificate served for shop.cert.test", LIMIT, () -> servedFromPebbleFor("shop.cert.test", both));
        List<X509Certificate> chain = served("www.shop.cert.test");
        assertEquals(both, sans(chain.get(0)), "one certificate for both names");
        assertEquals(chain.get(0), servedLeaf("shop.cert.test").orElseThrow());
        PebbleServer.CaCertificates ca = pebble.rootCertificates();
        assertEquals(2, chain.size(), "leaf and Pebble's intermediate");
        assertEquals(ca.intermediate(), chain.get(1));
        verifyChain(chain, ca.root());
        assertEquals("be_shop", EdgeClient.https(daemon.httpsPort(), "www.shop.cert.test", "/").body().strip());

        Path file = fixture.state().resolve("certs/be_shop.pem");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertTrue(Files.readString(fixture.state().resolve("certificates/issued.json")).contains("www.shop.cert.test"),
                "recorded as issued by haproxy-lb");
        await("status shows both names covered", LIMIT,
                () -> stateOf("shop.cert.test").equals("covered") && stateOf("www.shop.cert.test").equals("covered"));
        Map<String, Object> status = daemon.certificateStatus("www.shop.cert.test");
        assertEquals("be_shop", status.get("certificate"));
        assertEquals("issued", status.get("source"));
        assertEquals(chain.get(0).getNotAfter().toInstant(), Instant.parse((String) status.get("expires")));
        Instant nextRenewal = Instant.parse((String) status.get("nextRenewal"));
        Instant notBefore = chain.get(0).getNotBefore().toInstant();
        Duration lifetime = Duration.between(notBefore, chain.get(0).getNotAfter().toInstant());
        assertEquals(notBefore.plus(lifetime.minus(lifetime.dividedBy(3))), nextRenewal, "renewal with a third left");
        assertEquals(1, maintenance().orderAttempts());
        assertTrue(files(fixture.state().resolve("cert-inbox")).isEmpty(), "the inbox was emptied");
        X509Certificate unknown = served("nobody.cert.test").get(0);
        assertTrue(unknown.getSubjectX500Principal().getName().contains("haproxy-lb fallback"),
                "a name without a certificate gets the fallback, not a customer's: " + unknown.getSubjectX500Principal());
    }

    @Test
    void renewal_inside_the_window_replaces_the_served_certificate_without_a_reload() throws Exception {
        withPebble().start();
        daemon.drop("blog", cfg("be_blog"), "blog.cert.test be_blog\n");
        await("first certificate served", LIMIT, () -> servedFromPebbleFor("blog.cert.test", Set.of("blog.cert.test")));
        await("status covered", LIMIT, () -> stateOf("blog.cert.test").equals("covered"));
        X509Certificate first = servedLeaf("blog.cert.test").orElseThrow();
        Instant renewAt = Instant.parse((String) daemon.certificateStatus("blog.cert.test").get("nextRenewal"));
        long reloadsBefore = reloads();
        long ordersBefore = maintenance().orderAttempts();

        // Pebble's certificates live 5 years: the check decides as of one minute into the renewal window (a third of
        // the lifetime left); issuance, the inbox, the installer and haproxy's runtime API run for real, now.
        maintenance().checkAsOf(renewAt.plus(Duration.ofMinutes(1)));
        assertEquals(ordersBefore + 1, maintenance().orderAttempts());
        await("the renewed certificate served", LIMIT, () -> servedLeaf("blog.cert.test")
                .map(leaf -> !leaf.equals(first) && sans(leaf).equals(Set.of("blog.cert.test"))).orElse(false));

        X509Certificate renewed = servedLeaf("blog.cert.test").orElseThrow();
        assertFalse(renewed.getNotAfter().before(first.getNotAfter()));
        assertEquals(reloadsBefore, reloads(), "hot-installed through the runtime API, no reload");
        assertFalse(daemon.status().reloadPending());
        assertEquals(renewed, CertificateBundle.read("be_blog.pem",
                Files.readString(fixture.state().resolve("certs/be_blog.pem"))).leaf(), "the file on disk is the renewed one too");

        maintenance().check();
        assertEquals(ordersBefore + 1, maintenance().orderAttempts(), "a check at the real time renews nothing");
        await("status covered by the renewed certificate", LIMIT, () -> renewed.getNotAfter().toInstant()
                .toString().equals(daemon.certificateStatus("blog.cert.test").get("expires")));
    }

    @Test
    void with_pebble_down_the_daemon_backs_off_without_a_storm_and_issues_once_pebble_is_back() throws Exception {
        withPebble().with("lb.acme.check-cron", "0/1 * * * * ?").start();
        pebble.stop();
        daemon.drop("down", cfg("be_down"), "down.cert.test be_down\n");

        await("status shows the backoff", LIMIT, () -> stateOf("down.cert.test").equals("backing-off"));
        Map<String, Object> backingOff = daemon.certificateStatus("down.cert.test");
        assertEquals(1, backingOff.get("backoffStep"));
        assertTrue(String.valueOf(backingOff.get("lastError")).contains("cannot reach the CA"), backingOff.toString());
        assertTrue(backingOff.containsKey("nextAttempt"), backingOff.toString());
        long checks = maintenance().checks();
        await("three more checks (every second, Quartz)", LIMIT, () -> maintenance().checks() >= checks + 3);
        assertEquals(1, maintenance().orderAttempts(), "one order attempt while the CA is down, however many checks");
        assertEquals(1, daemon.certificateStatus("down.cert.test").get("backoffStep"));
        assertTrue(Files.readString(fixture.state().resolve("certificates/backoff.json")).contains("@ca"), "persisted");

        pebble.start();
        await("issued once Pebble is back", LIMIT, () -> servedFromPebbleFor("down.cert.test", Set.of("down.cert.test")));
        verifyChain(served("down.cert.test"), pebble.rootCertificates().root());
        assertEquals(2, maintenance().orderAttempts());
        await("status covered", LIMIT, () -> stateOf("down.cert.test").equals("covered"));
        assertEquals(0, daemon.certificateStatus("down.cert.test").get("backoffStep"));
    }

    @Test
    void with_nonces_rejected_and_the_ca_down_twice_every_certificate_is_eventually_issued() throws Exception {
        // Pebble rejects half of the good nonces (acme4j must retry badNonce) and goes away twice; the daemon keeps
        // Let's Encrypt's limits on.
        withPebble(Map.of("PEBBLE_WFE_NONCEREJECT", "50")).with("lb.acme.check-cron", "0/1 * * * * ?")
                .with("lb.acme.limits", "letsencrypt").start();
        pebble.stop();
        for (String name : List.of("one", "two", "three")) {
            daemon.drop(name, cfg("be_" + name), name + ".fault.test be_" + name + "\n");
        }
        await("backing off while the CA is down", LIMIT, () -> stateOf("one.fault.test").equals("backing-off"));
        pebble.start();
        await("a first certificate once Pebble is back", LIMIT, () -> Stream.of("one", "two", "three")
                .anyMatch(n -> servedFromPebbleFor(n + ".fault.test", Set.of(n + ".fault.test"))));
        pebble.stop();
        long checks = maintenance().checks();
        await("checks go on while the CA is down again", LIMIT, () -> maintenance().checks() >= checks + 2);
        pebble.start();
        for (String name : List.of("one", "two", "three")) {
            await(name + " issued in the end", Duration.ofSeconds(60),
                    () -> servedFromPebbleFor(name + ".fault.test", Set.of(name + ".fault.test")));
        }
        // 3 orders that succeed, plus at most one failed attempt per outage (the CA gate stops the rest).
        assertTrue(maintenance().orderAttempts() <= 5, "order attempts: " + maintenance().orderAttempts());
        assertTrue(Files.exists(fixture.state().resolve("certificates/rate-limits.json")), "the ledger is kept on disk");
        assertTrue(pebble.logs().contains("reject 50% of good nonces"), "Pebble really rejected nonces");
    }

    @Test
    void a_domain_that_does_not_resolve_here_is_skipped_and_never_ordered() throws Exception {
        withPebble().start();
        pebble.addARecord("away.cert.test", "192.0.2.1");
        daemon.drop("mixed", cfg("be_mixed"), "here.cert.test be_mixed\naway.cert.test be_mixed\n");

        await("here.cert.test served", LIMIT, () -> servedFromPebbleFor("here.cert.test", Set.of("here.cert.test")));
        await("away.cert.test reported as skipped", LIMIT, () -> stateOf("away.cert.test").equals("skipped"));
        String reason = String.valueOf(daemon.certificateStatus("away.cert.test").get("reason"));
        assertTrue(reason.contains("away.cert.test resolves to 192.0.2.1, not (only) to this balancer"), reason);
        await("here.cert.test covered", LIMIT, () -> stateOf("here.cert.test").equals("covered"));

        maintenance().check();
        assertEquals(1, maintenance().orderAttempts(), "re-checked, not re-ordered");
        assertEquals("skipped", stateOf("away.cert.test"));
        String pebbleLog = pebble.logs().substring(pebble.logs().indexOf("----- pebble.log -----"));
        assertTrue(pebbleLog.contains("here.cert.test"), "Pebble's log names the domains it was asked for");
        assertFalse(pebbleLog.contains("away.cert.test"), "Pebble never heard of away.cert.test");
    }

    @Test
    void a_restart_reissues_nothing() throws Exception {
        withPebble().start();
        daemon.drop("keep", cfg("be_keep"), "keep.cert.test be_keep\n");
        await("served", LIMIT, () -> servedFromPebbleFor("keep.cert.test", Set.of("keep.cert.test")));
        await("covered", LIMIT, () -> stateOf("keep.cert.test").equals("covered"));
        byte[] before = Files.readAllBytes(fixture.state().resolve("certs/be_keep.pem"));
        X509Certificate leaf = servedLeaf("keep.cert.test").orElseThrow();
        String account = Files.readString(files(fixture.state().resolve("acme")).get(0).resolve("account.key"));

        daemon.stop();
        daemon.start();
        await("the check after start-up ran", LIMIT, () -> maintenance().checks() >= 1);
        assertEquals(0, maintenance().orderAttempts(), "nothing ordered after the restart");
        assertArrayEquals(before, Files.readAllBytes(fixture.state().resolve("certs/be_keep.pem")));
        assertEquals(leaf, servedLeaf("keep.cert.test").orElseThrow());
        assertEquals(account, Files.readString(files(fixture.state().resolve("acme")).get(0).resolve("account.key")),
                "the same ACME account key");
        assertEquals(1, files(fixture.state().resolve("acme")).size(), "one account directory");
        assertEquals("covered", stateOf("keep.cert.test"));
    }

    @Test
    void removing_the_fragment_archives_its_certificate_but_never_the_fallback_or_an_operator_certificate()
            throws Exception {
        withPebble().start();
        TestCertificates.Leaf operator = TestCertificates.rootCa("Operator Root").intermediate("Operator CA")
                .leaf("operator.cert.test").issue();
        AtomicFiles.writePrivate(fixture.state().resolve("cert-inbox/operator.pem"), operator.pem().getBytes());
        daemon.drop("gone", cfg("be_gone"), "gone.cert.test be_gone\n");
        await("served", LIMIT, () -> servedFromPebbleFor("gone.cert.test", Set.of("gone.cert.test")));
        await("operator certificate served", LIMIT, () -> servedLeaf("operator.cert.test")
                .map(operator.certificate()::equals).orElse(false));
        byte[] fallback = Files.readAllBytes(fixture.state().resolve("certs/fallback.pem"));

        daemon.dropRemoval("gone");
        await("archived", LIMIT, () -> !Files.exists(fixture.state().resolve("certs/be_gone.pem")));
        List<Path> archive = files(fixture.state().resolve("certificates/archive"));
        assertEquals(1, archive.size(), archive.toString());
        assertTrue(archive.get(0).getFileName().toString().matches("be_gone-\\d{8}T\\d{6}Z\\.pem"), archive.toString());
        await("gone.cert.test gets the fallback again", LIMIT, () -> servedLeaf("gone.cert.test")
                .map(leaf -> leaf.getSubjectX500Principal().getName().contains("haproxy-lb fallback")).orElse(false));
        await("gone.cert.test leaves the status", LIMIT, () -> daemon.certificateStatus("gone.cert.test").isEmpty());

        maintenance().check();
        assertTrue(Files.exists(fixture.state().resolve("certs/operator.pem")), "operator certificate untouched");
        assertEquals(operator.certificate(), servedLeaf("operator.cert.test").orElseThrow());
        assertArrayEquals(fallback, Files.readAllBytes(fixture.state().resolve("certs/fallback.pem")), "fallback untouched");
        assertEquals(1, files(fixture.state().resolve("certificates/archive")).size());
    }

    // ------------------------------------------------------------------ the certificate inbox, ACME off

    @Test
    void with_acme_off_an_operator_certificate_dropped_into_the_inbox_is_installed_and_served_without_a_reload()
            throws Exception {
        daemon = fixture.daemon().with("lb.acme.first-check-delay", "100").start();
        daemon.drop("own", cfg("be_own"), "own.cert.test be_own\nbare.cert.test be_own\n");
        daemon.awaitFragmentState("own", "live", LIMIT);
        long reloadsBefore = reloads();
        TestCertificates.Leaf leaf = TestCertificates.rootCa("Own Root").intermediate("Own CA")
                .leaf("own.cert.test").issue();
        AtomicFiles.writePrivate(fixture.state().resolve("cert-inbox/own.cert.test.pem"),
                leaf.pem(TestCertificates.KeyFormat.TRADITIONAL).getBytes());

        await("served", LIMIT, () -> servedLeaf("own.cert.test").map(leaf.certificate()::equals).orElse(false));
        assertEquals(leaf.leafFirst(), served("own.cert.test"), "with its intermediate");
        assertEquals(reloadsBefore, reloads(), "hot-installed through the runtime API");
        Path file = fixture.state().resolve("certs/own.cert.test.pem");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        await("status: covered by the operator's certificate", LIMIT, () -> stateOf("own.cert.test").equals("covered"));
        assertEquals("operator", daemon.certificateStatus("own.cert.test").get("source"));
        assertFalse(daemon.certificateStatus("own.cert.test").containsKey("nextRenewal"), "never renewed by haproxy-lb");
        assertEquals("not-covered", stateOf("bare.cert.test"));
        assertTrue(String.valueOf(daemon.certificateStatus("bare.cert.test").get("reason")).contains("ACME is off"));
        assertFalse(Files.exists(fixture.state().resolve("acme")), "no ACME account without a directory URL");
    }

    @Test
    void a_certificate_whose_key_does_not_match_is_rejected_with_an_error_naming_the_file() throws Exception {
        daemon = fixture.daemon().start();
        TestCertificates.Authority ca = TestCertificates.rootCa("Mismatch Root");
        TestCertificates.Leaf one = ca.leaf("bad.cert.test").issue();
        TestCertificates.Leaf other = ca.leaf("bad.cert.test").issue();
        AtomicFiles.write(fixture.state().resolve("cert-inbox/bad.pem"),
                one.certificatesPem() + other.keyPem(TestCertificates.KeyFormat.PKCS8));

        Path error = fixture.state().resolve("rejected-certs/bad.error");
        await("rejected", LIMIT, () -> Files.exists(error));
        String text = Files.readString(error);
        assertTrue(text.startsWith("cert-inbox/bad.pem: the private key does not match the certificate"), text);
        assertTrue(text.contains("Put the key that was used for the CSR in the same file"), text);
        assertTrue(text.contains("fix the file and drop it into " + fixture.state().resolve("cert-inbox") + " again"), text);
        assertTrue(Files.exists(fixture.state().resolve("rejected-certs/bad.pem")), "the file is kept for the operator");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
                fixture.state().resolve("rejected-certs/bad.pem"))), "it holds a private key");
        await("gone from the inbox", LIMIT, () -> !Files.exists(fixture.state().resolve("cert-inbox/bad.pem")));
        assertFalse(Files.exists(fixture.state().resolve("certs/bad.pem")));
        assertNotEquals(one.certificate(), servedLeaf("bad.cert.test").orElseThrow());
    }
}
