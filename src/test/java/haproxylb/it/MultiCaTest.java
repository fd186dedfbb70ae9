package haproxylb.it;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.support.AcmeRecordingProxy;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.PebbleServer;
import java.io.IOException;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two real Pebbles as two CAs: the first behind the recording proxy (so it can be down, or answer rateLimited), the
 * second requiring External Account Binding. Names fall through to the second CA, and return to the first at their
 * next renewal; the status says which CA issued each certificate.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class MultiCaTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    /** base64url HMAC key for Pebble's externalAccountMACKeys. */
    private static final String HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    private Optional<X509Certificate> servedLeaf(String host) {
        try {
            return EdgeClient.https(daemon.httpsPort(), host, "/").peerChain().stream().findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private boolean servedBy(String host, PebbleServer ca) {
        String intermediate = ca.rootCertificates().intermediate().getSubjectX500Principal().getName();
        return servedLeaf(host).map(c -> c.getIssuerX500Principal().getName().equals(intermediate)).orElse(false);
    }

    private String issuerInStatus(String domain) {
        return inStatus(domain, "issuer");
    }

    @SuppressWarnings("unchecked")
    private String inStatus(String domain, String field) {
        try {
            Map<String, Object> all = daemon.status().certificates();
            Object c = all == null ? null : all.get(domain);
            return c == null ? "" : String.valueOf(((Map<String, Object>) c).get(field));
        } catch (IOException e) {
            return "";
        }
    }

    private CertificateMaintenance maintenance() {
        return daemon.context().getRegistry().lookupByNameAndType("certificateMaintenance", CertificateMaintenance.class);
    }

    private static String cfg(String backend) {
        return "backend " + backend + "\n    http-request return status 200 content-type text/plain string " + backend + "\n";
    }

    @Test
    void names_fall_through_to_the_second_ca_when_the_first_is_down_or_rate_limits_and_come_back_at_renewal()
            throws Exception {
        PebbleServer first = fixture.pebble();
        PebbleServer second = fixture.pebble(Map.of(), Map.of("externalAccountBindingRequired", true,
                "externalAccountMACKeys", Map.of("kid-1", HMAC)));
        AcmeRecordingProxy proxy = fixture.proxy(first);
        int firstPort = proxy.port();
        daemon = fixture.orderingThrough(proxy, first)
                .with("lb.acme.fallback-cas", "second")
                .with("lb.acme.ca.second.directory-url", second.directoryUrl())
                .with("lb.acme.ca.second.trust-ca", second.listenerCaPem().toString())
                .with("lb.acme.ca.second.eab-kid", "kid-1")
                .with("lb.acme.ca.second.eab-hmac", HMAC);
        proxy.close(); // the first CA is down
        daemon.start();

        daemon.drop("down", cfg("be_down"), "down.multi.test be_down\n");
        await("issued by the second CA while the first is down", LIMIT, () -> servedBy("down.multi.test", second));
        await("the status names the second CA", LIMIT, () -> issuerInStatus("down.multi.test").equals("second"));
        assertTrue(inStatus("down.multi.test", "note").startsWith("issued by second because pebble could not be "
                + "reached or failed (unreachable"), inStatus("down.multi.test", "note"));
        assertTrue(Files.exists(fixture.state().resolve("certificates/rate-limits-second.json")), "the second CA's own ledger");

        // the first CA is back: the next renewal goes to it again (without 'replaces': it never saw that certificate)
        proxy = fixture.proxy(first, firstPort);
        X509Certificate fromSecond = servedLeaf("down.multi.test").orElseThrow();
        Instant renewAt = fromSecond.getNotAfter().toInstant().minus(Duration.between(
                fromSecond.getNotBefore().toInstant(), fromSecond.getNotAfter().toInstant()).dividedBy(3));
        maintenance().checkAsOf(renewAt.plus(Duration.ofMinutes(1)));
        await("renewed by the first CA", LIMIT, () -> servedBy("down.multi.test", first));
        assertFalse(proxy.newOrders().get(proxy.newOrders().size() - 1).has("replaces"));
        maintenance().check();
        await("the status names the first CA", LIMIT, () -> issuerInStatus("down.multi.test").equals("pebble"));

        // the first CA rate limits: the second issues
        proxy.refuseWithRateLimit("too many new orders recently", Duration.ofHours(1));
        daemon.drop("limited", cfg("be_limited"), "limited.multi.test be_limited\n");
        await("issued by the second CA while the first rate limits", LIMIT,
                () -> servedBy("limited.multi.test", second));
        assertTrue(proxy.refusals() >= 1, "the first CA was asked first and said rateLimited");
        await("the status names the second CA", LIMIT, () -> issuerInStatus("limited.multi.test").equals("second"));
        String note = inStatus("limited.multi.test", "note");
        assertTrue(note.startsWith("issued by second because pebble rate limits them (rateLimited, retry after ")
                && note.contains("too many new orders recently"), note);
        assertEquals("pebble", issuerInStatus("down.multi.test"), "the other name keeps its CA");
    }
}
