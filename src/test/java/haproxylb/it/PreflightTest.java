package haproxylb.it;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.PebbleServer;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Pre-flight without configuration: no lb.acme.balancer-addresses and loopback not counted, yet a name whose
 * address answers with this balancer's one-time probe token is ordered, and one whose address does not is reported;
 * the status says how each was judged.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class PreflightTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    private boolean servedByPebble(String host) {
        try {
            return EdgeClient.https(daemon.httpsPort(), host, "/").peerChain().stream().findFirst()
                    .map(c -> c.getIssuerX500Principal().getName().contains("Pebble")).orElse(false);
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void without_balancer_addresses_a_name_is_judged_by_a_probe_of_the_addresses_it_resolves_to() throws Exception {
        PebbleServer pebble = fixture.pebble();
        pebble.addARecord("elsewhere.probe.test", "127.0.0.2"); // nothing of ours listens there
        // the port the CA connects to is haproxy's HTTP port here (80 in production)
        daemon = fixture.orderingFrom(pebble)
                .with("lb.acme.loopback-is-here", "false")
                .with("lb.acme.probe-port", Integer.toString(fixture.daemon().httpPort()))
                .start();
        daemon.drop("probe", """
                backend be_here
                    http-request return status 200 content-type text/plain string here
                backend be_elsewhere
                    http-request return status 200 content-type text/plain string elsewhere
                """, "here.probe.test be_here\nelsewhere.probe.test be_elsewhere\n");

        await("the name that answers the probe is ordered and served", LIMIT, () -> servedByPebble("here.probe.test"));
        CertificateMaintenance maintenance = daemon.context().getRegistry()
                .lookupByNameAndType("certificateMaintenance", CertificateMaintenance.class);
        maintenance.check();
        await("the status says it was judged by probe", LIMIT, () -> String.valueOf(
                daemon.certificateStatus("here.probe.test").get("reachability")).contains("judged by probe"));
        Map<String, Object> elsewhere = daemon.certificateStatus("elsewhere.probe.test");
        assertEquals("skipped", elsewhere.get("state"), elsewhere.toString());
        assertTrue(String.valueOf(elsewhere.get("reason")).contains("127.0.0.2"), elsewhere.toString());
        assertEquals(1, maintenance.orderAttempts(), "the name that is not here was never ordered");
    }
}
