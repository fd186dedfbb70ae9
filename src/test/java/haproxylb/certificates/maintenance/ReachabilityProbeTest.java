package haproxylb.certificates.maintenance;

import haproxylb.certificates.issuer.ChallengeResponder;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

/**
 * Judging by probe with real HTTP: the resolved address is the port of a real challenge responder, ours (the token
 * comes back) or another one (it does not).
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ReachabilityProbeTest {
    private ChallengeResponder ours;
    private ChallengeResponder other;

    @BeforeEach
    void start() throws Exception {
        ours = new ChallengeResponder(new InetSocketAddress("127.0.0.1", 0));
        ours.start();
        other = new ChallengeResponder(new InetSocketAddress("127.0.0.1", 0));
        other.start();
    }

    @AfterEach
    void stop() {
        ours.stop();
        other.stop();
    }

    private ReachabilityCheck check(String resolvesTo, int port) {
        return new ReachabilityCheck(Set.of(), false, new InetSocketAddress("127.0.0.1", 1), ours,
                host -> List.of(InetAddress.getByName(resolvesTo)), Duration.ofSeconds(2)).judgingByProbe(port);
    }

    @Test
    void a_name_whose_address_returns_our_token_is_here_and_the_judgement_says_how() {
        ReachabilityCheck c = check("127.0.0.1", ours.port());
        assertTrue(c.judgesByProbe());
        assertEquals(Optional.empty(), c.check("a.probe.test"));
        assertTrue(c.judgement("a.probe.test").orElseThrow().contains("judged by probe"));
        assertEquals(0, ours.size(), "the one-time token is gone");
    }

    @Test
    void a_name_whose_address_is_another_server_or_nothing_is_not_here() {
        String why = check("127.0.0.1", other.port()).check("b.probe.test").orElseThrow();
        assertTrue(why.contains("did not come back (HTTP 404"), why);
        String nothing = check("127.0.0.2", ours.port()).check("c.probe.test").orElseThrow();
        assertTrue(nothing.contains("127.0.0.2") && nothing.contains("probe failed"), nothing);
    }

    @Test
    void configured_addresses_override_the_probe() throws Exception {
        ReachabilityCheck c = new ReachabilityCheck(Set.of(InetAddress.getByName("203.0.113.7")), false,
                new InetSocketAddress("127.0.0.1", 1), ours, host -> List.of(InetAddress.getByName("127.0.0.1")),
                Duration.ofSeconds(2)).judgingByProbe(ours.port());
        assertFalse(c.judgesByProbe());
        assertTrue(c.check("d.probe.test").orElseThrow().contains("not (only) to this balancer"));
    }
}
