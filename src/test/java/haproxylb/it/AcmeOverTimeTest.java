package haproxylb.it;

import haproxylb.certificates.store.CertificateBundle;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.PebbleServer;

import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static haproxylb.it.EdgeCertificates.cfg;
import static haproxylb.it.EdgeCertificates.sans;
import static haproxylb.it.EdgeCertificates.verifyChain;
import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Certificates over time, end to end, each test with a daemon and a real Pebble of its own: renewal (a check as of a
 * later time renews every certificate of its daemon that is due by then), and the CA going away and coming back
 * (Pebble stopped and started again on the same ports, its accounts and orders lost, as with a real restart; checks
 * every second).
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class AcmeOverTimeTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;
    private PebbleServer pebble;
    private EdgeCertificates edge;

    private DaemonHarness withPebble(Map<String, String> pebbleEnv) {
        pebble = fixture.pebble(pebbleEnv, Map.of());
        daemon = fixture.orderingFrom(pebble).with("lb.acme.email", "ops@cert.test");
        edge = new EdgeCertificates(daemon);
        return daemon;
    }

    @Test
    void renewal_inside_the_window_replaces_the_served_certificate_without_a_reload() throws Exception {
        withPebble(Map.of()).start();
        daemon.drop("blog", cfg("be_blog"), "blog.cert.test be_blog\n");
        await("first certificate served", LIMIT, () -> edge.servedFromPebbleFor("blog.cert.test", Set.of("blog.cert.test")));
        await("status covered", LIMIT, () -> edge.stateOf("blog.cert.test").equals("covered"));
        X509Certificate first = edge.servedLeaf("blog.cert.test").orElseThrow();
        Instant renewAt = Instant.parse((String) daemon.certificateStatus("blog.cert.test").get("nextRenewal"));
        long reloadsBefore = edge.reloads();
        long ordersBefore = edge.maintenance().orderAttempts();

        // Pebble's certificates live 5 years: the check decides as of one minute into the renewal window (a third of
        // the lifetime left); issuance, the inbox, the installer and haproxy's runtime API run for real, now.
        edge.maintenance().checkAsOf(renewAt.plus(Duration.ofMinutes(1)));
        assertEquals(ordersBefore + 1, edge.maintenance().orderAttempts());
        await("the renewed certificate served", LIMIT, () -> edge.servedLeaf("blog.cert.test")
                .map(leaf -> !leaf.equals(first) && sans(leaf).equals(Set.of("blog.cert.test"))).orElse(false));

        X509Certificate renewed = edge.servedLeaf("blog.cert.test").orElseThrow();
        assertFalse(renewed.getNotAfter().before(first.getNotAfter()));
        assertEquals(reloadsBefore, edge.reloads(), "hot-installed through the runtime API, no reload");
        assertFalse(daemon.status().reloadPending());
        assertEquals(renewed, CertificateBundle.read("be_blog.pem",
                Files.readString(fixture.state().resolve("certs/be_blog.pem"))).leaf(), "the file on disk is the renewed one too");

        edge.maintenance().check();
        assertEquals(ordersBefore + 1, edge.maintenance().orderAttempts(), "a check at the real time renews nothing");
        await("status covered by the renewed certificate", LIMIT, () -> renewed.getNotAfter().toInstant()
                .toString().equals(daemon.certificateStatus("blog.cert.test").get("expires")));
    }

    @Test
    void with_pebble_down_the_daemon_backs_off_without_a_storm_and_issues_once_pebble_is_back() throws Exception {
        withPebble(Map.of()).with("lb.acme.check-cron", "0/1 * * * * ?").start();
        pebble.stop();
        daemon.drop("down", cfg("be_down"), "down.cert.test be_down\n");

        await("status shows the backoff", LIMIT, () -> edge.stateOf("down.cert.test").equals("backing-off"));
        Map<String, Object> backingOff = daemon.certificateStatus("down.cert.test");
        assertEquals(1, backingOff.get("backoffStep"));
        assertTrue(String.valueOf(backingOff.get("lastError")).contains("cannot reach the CA"), backingOff.toString());
        assertTrue(backingOff.containsKey("nextAttempt"), backingOff.toString());
        long checks = edge.maintenance().checks();
        await("three more checks (every second, Quartz)", LIMIT, () -> edge.maintenance().checks() >= checks + 3);
        assertEquals(1, edge.maintenance().orderAttempts(), "one order attempt while the CA is down, however many checks");
        assertEquals(1, daemon.certificateStatus("down.cert.test").get("backoffStep"));
        assertTrue(Files.readString(fixture.state().resolve("certificates/backoff.json")).contains("@ca"), "persisted");

        pebble.start();
        await("issued once Pebble is back", LIMIT, () -> edge.servedFromPebbleFor("down.cert.test", Set.of("down.cert.test")));
        verifyChain(edge.served("down.cert.test"), pebble.rootCertificates().root());
        assertEquals(2, edge.maintenance().orderAttempts());
        await("status covered", LIMIT, () -> edge.stateOf("down.cert.test").equals("covered"));
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
        await("backing off while the CA is down", LIMIT, () -> edge.stateOf("one.fault.test").equals("backing-off"));
        pebble.start();
        await("a first certificate once Pebble is back", LIMIT, () -> Stream.of("one", "two", "three")
                .anyMatch(n -> edge.servedFromPebbleFor(n + ".fault.test", Set.of(n + ".fault.test"))));
        pebble.stop();
        long checks = edge.maintenance().checks();
        await("checks go on while the CA is down again", LIMIT, () -> edge.maintenance().checks() >= checks + 2);
        pebble.start();
        for (String name : List.of("one", "two", "three")) {
            await(name + " issued in the end", Duration.ofSeconds(60),
                    () -> edge.servedFromPebbleFor(name + ".fault.test", Set.of(name + ".fault.test")));
        }
        // 3 orders that succeed, plus at most one failed attempt per outage (the CA gate stops the rest).
        assertTrue(edge.maintenance().orderAttempts() <= 5, "order attempts: " + edge.maintenance().orderAttempts()
                + ", failed by type: " + edge.maintenance().errorCounts());
        assertTrue(Files.exists(fixture.state().resolve("certificates/rate-limits.json")), "the ledger is kept on disk");
        assertTrue(pebble.logs().contains("reject 50% of good nonces"), "Pebble really rejected nonces");
    }
}
