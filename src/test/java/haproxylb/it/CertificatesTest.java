package haproxylb.it;

import haproxylb.common.AtomicFiles;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.PebbleServer;
import haproxylb.support.TestCertificates;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static haproxylb.it.EdgeCertificates.cfg;
import static haproxylb.it.EdgeCertificates.files;
import static haproxylb.it.EdgeCertificates.sans;
import static haproxylb.it.EdgeCertificates.verifyChain;
import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Certificates end to end: the real daemon (routes, haproxy on loopback) against a real Pebble whose VA validates
 * HTTP-01 through haproxy's HTTP port. Names resolve through Pebble's mock DNS server, for Pebble and for the daemon
 * alike (lb.acme.dns-resolver points at it), so both agree on where every test name points: everything is 127.0.0.1
 * unless a test gives a name another address.
 *
 * <p>A daemon and a Pebble per test, not per class. Sharing one first showed a race, since closed: with an ACME
 * account already registered, an order can be done within the reload its fragment started, and a certificate
 * hot-installed then went to the old haproxy worker only (runtime changes now wait outside a reload,
 * {@code haproxy.ReloadWindow}).
 * Renewal and the CA going away are {@link AcmeOverTimeTest}'s, ACME off is {@link CertificateInboxTest}'s.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class CertificatesTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;
    private PebbleServer pebble;
    private EdgeCertificates edge;

    @BeforeEach
    void start() throws Exception {
        pebble = fixture.pebble();
        daemon = fixture.orderingFrom(pebble).with("lb.acme.email", "ops@cert.test").start();
        edge = new EdgeCertificates(daemon);
    }

    @Test
    void a_fragment_with_two_domains_gets_one_certificate_from_pebble_served_for_both_names() throws Exception {
        long ordersBefore = edge.maintenance().orderAttempts();
        daemon.drop("shop", cfg("be_shop"), "shop.cert.test be_shop\nwww.shop.cert.test be_shop\n");

        Set<String> both = Set.of("shop.cert.test", "www.shop.cert.test");
        await("Pebble's certificate served for shop.cert.test", LIMIT, () -> edge.servedFromPebbleFor("shop.cert.test", both));
        List<X509Certificate> chain = edge.served("www.shop.cert.test");
        assertEquals(both, sans(chain.get(0)), "one certificate for both names");
        assertEquals(chain.get(0), edge.servedLeaf("shop.cert.test").orElseThrow());
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
                () -> edge.stateOf("shop.cert.test").equals("covered") && edge.stateOf("www.shop.cert.test").equals("covered"));
        Map<String, Object> status = daemon.certificateStatus("www.shop.cert.test");
        assertEquals("be_shop", status.get("certificate"));
        assertEquals("issued", status.get("source"));
        assertEquals(chain.get(0).getNotAfter().toInstant(), Instant.parse((String) status.get("expires")));
        Instant nextRenewal = Instant.parse((String) status.get("nextRenewal"));
        Instant notBefore = chain.get(0).getNotBefore().toInstant();
        Duration lifetime = Duration.between(notBefore, chain.get(0).getNotAfter().toInstant());
        assertEquals(notBefore.plus(lifetime.minus(lifetime.dividedBy(3))), nextRenewal, "renewal with a third left");
        assertEquals(ordersBefore + 1, edge.maintenance().orderAttempts());
        assertTrue(files(fixture.state().resolve("cert-inbox")).isEmpty(), "the inbox was emptied");
        X509Certificate unknown = edge.served("nobody.cert.test").get(0);
        assertTrue(unknown.getSubjectX500Principal().getName().contains("haproxy-lb fallback"),
                "a name without a certificate gets the fallback, not a customer's: " + unknown.getSubjectX500Principal());
    }

    @Test
    void a_domain_that_does_not_resolve_here_is_skipped_and_never_ordered() throws Exception {
        long ordersBefore = edge.maintenance().orderAttempts();
        pebble.addARecord("away.cert.test", "192.0.2.1");
        daemon.drop("mixed", cfg("be_mixed"), "here.cert.test be_mixed\naway.cert.test be_mixed\n");

        await("here.cert.test served", LIMIT, () -> edge.servedFromPebbleFor("here.cert.test", Set.of("here.cert.test")));
        await("away.cert.test reported as skipped", LIMIT, () -> edge.stateOf("away.cert.test").equals("skipped"));
        String reason = String.valueOf(daemon.certificateStatus("away.cert.test").get("reason"));
        assertTrue(reason.contains("away.cert.test resolves to 192.0.2.1, not (only) to this balancer"), reason);
        await("here.cert.test covered", LIMIT, () -> edge.stateOf("here.cert.test").equals("covered"));

        edge.maintenance().check();
        assertEquals(ordersBefore + 1, edge.maintenance().orderAttempts(), "re-checked, not re-ordered");
        assertEquals("skipped", edge.stateOf("away.cert.test"));
        String pebbleLog = pebble.logs().substring(pebble.logs().indexOf("----- pebble.log -----"));
        assertTrue(pebbleLog.contains("here.cert.test"), "Pebble's log names the domains it was asked for");
        assertFalse(pebbleLog.contains("away.cert.test"), "Pebble never heard of away.cert.test");
    }

    @Test
    void a_restart_reissues_nothing() throws Exception {
        daemon.drop("keep", cfg("be_keep"), "keep.cert.test be_keep\n");
        await("served", LIMIT, () -> edge.servedFromPebbleFor("keep.cert.test", Set.of("keep.cert.test")));
        await("covered", LIMIT, () -> edge.stateOf("keep.cert.test").equals("covered"));
        byte[] before = Files.readAllBytes(fixture.state().resolve("certs/be_keep.pem"));
        X509Certificate leaf = edge.servedLeaf("keep.cert.test").orElseThrow();
        String account = Files.readString(files(fixture.state().resolve("acme")).get(0).resolve("account.key"));

        daemon.stop();
        daemon.start();
        await("the check after start-up ran", LIMIT, () -> edge.maintenance().checks() >= 1);
        assertEquals(0, edge.maintenance().orderAttempts(), "nothing ordered after the restart");
        assertArrayEquals(before, Files.readAllBytes(fixture.state().resolve("certs/be_keep.pem")));
        assertEquals(leaf, edge.servedLeaf("keep.cert.test").orElseThrow());
        assertEquals(account, Files.readString(files(fixture.state().resolve("acme")).get(0).resolve("account.key")),
                "the same ACME account key");
        assertEquals(1, files(fixture.state().resolve("acme")).size(), "one account directory");
        assertEquals("covered", edge.stateOf("keep.cert.test"));
    }

    @Test
    void removing_the_fragment_archives_its_certificate_but_never_the_fallback_or_an_operator_certificate()
            throws Exception {
        TestCertificates.Leaf operator = TestCertificates.rootCa("Operator Root").intermediate("Operator CA")
                .leaf("operator.cert.test").issue();
        AtomicFiles.writePrivate(fixture.state().resolve("cert-inbox/operator.pem"), operator.pem().getBytes());
        daemon.drop("gone", cfg("be_gone"), "gone.cert.test be_gone\n");
        await("served", LIMIT, () -> edge.servedFromPebbleFor("gone.cert.test", Set.of("gone.cert.test")));
        await("operator certificate served", LIMIT, () -> edge.servedLeaf("operator.cert.test")
                .map(operator.certificate()::equals).orElse(false));
        byte[] fallback = Files.readAllBytes(fixture.state().resolve("certs/fallback.pem"));

        daemon.dropRemoval("gone");
        await("archived", LIMIT, () -> !Files.exists(fixture.state().resolve("certs/be_gone.pem")));
        List<Path> archive = files(fixture.state().resolve("certificates/archive"));
        assertEquals(1, archive.size(), archive.toString());
        assertTrue(archive.get(0).getFileName().toString().matches("be_gone-\\d{8}T\\d{6}Z\\.pem"), archive.toString());
        await("gone.cert.test gets the fallback again", LIMIT, () -> edge.servedLeaf("gone.cert.test")
                .map(leaf -> leaf.getSubjectX500Principal().getName().contains("haproxy-lb fallback")).orElse(false));
        await("gone.cert.test leaves the status", LIMIT, () -> daemon.certificateStatus("gone.cert.test").isEmpty());

        edge.maintenance().check();
        assertTrue(Files.exists(fixture.state().resolve("certs/operator.pem")), "operator certificate untouched");
        assertEquals(operator.certificate(), edge.servedLeaf("operator.cert.test").orElseThrow());
        assertArrayEquals(fallback, Files.readAllBytes(fixture.state().resolve("certs/fallback.pem")), "fallback untouched");
        assertEquals(1, files(fixture.state().resolve("certificates/archive")).size());
    }
}
