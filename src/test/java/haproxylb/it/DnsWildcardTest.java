package haproxylb.it;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.certificates.issuer.DnsChallenges;
import haproxylb.certificates.issuer.Rfc2136Publisher;
import haproxylb.support.BindServer;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.PebbleServer;
import java.io.IOException;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * DNS-01 against a real authoritative server: BIND 9 serves example.test on a loopback port and takes RFC 2136
 * updates signed with TSIG; Pebble resolves through it, so it validates the TXT records the daemon publishes there. A
 * wildcard and its apex get one certificate, haproxy serves it for a.example.test and example.test, and no challenge
 * record is left, including one a crashed earlier run left behind.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class DnsWildcardTest {
    private static final Duration LIMIT = Duration.ofSeconds(40);

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

    static Set<String> sans(X509Certificate c) {
        try {
            Collection<List<?>> all = c.getSubjectAlternativeNames();
            Set<String> names = new TreeSet<>();
            if (all == null) {
                return names;
            }
            all.stream().filter(san -> Integer.valueOf(2).equals(san.get(0))).forEach(san -> names.add((String) san.get(1)));
            return names;
        } catch (java.security.cert.CertificateParsingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void a_wildcard_and_its_apex_get_one_certificate_over_dns01_and_no_txt_record_is_left() throws Exception {
        BindServer bind = fixture.closeAfter(BindServer.start("example.test"));
        fixture.printOnFailure("named.log", bind::log);
        PebbleServer pebble = fixture.pebbleWithDns(bind.port());
        String server = "127.0.0.1:" + bind.port();

        // a run that crashed between publishing a challenge record and removing it
        Files.createDirectories(fixture.state().resolve("certificates"));
        DnsChallenges crashed = new DnsChallenges(new Rfc2136Publisher(bind.address(), "hmac-sha256",
                bind.tsigKeyName(), bind.tsigSecret(), Duration.ofSeconds(5)), List.of(bind.address()), d -> false,
                fixture.state().resolve("certificates/dns-challenges.json"), Duration.ofSeconds(5));
        crashed.publish(new DnsChallenges.TxtRecord("_acme-challenge.old.example.test.", "left-by-a-crash"));
        assertEquals(List.of("left-by-a-crash"), bind.txt("_acme-challenge.old.example.test"));

        daemon = fixture.orderingFrom(pebble)
                .with("lb.acme.dns.provider", "rfc2136")
                .with("lb.acme.dns.rfc2136.server", server)
                .with("lb.acme.dns.rfc2136.tsig-key", bind.tsigKeyName())
                .with("lb.acme.dns.rfc2136.tsig-secret", bind.tsigSecret())
                .with("lb.acme.dns.propagation-timeout", "10000")
                .with("lb.acme.dns.domains", "example.test") // the apex over DNS-01 too: two TXT values, one name
                .start();
        assertEquals(List.of(), bind.txt("_acme-challenge.old.example.test"), "removed at start-up");

        daemon.drop("wild", "backend be_wild\n    http-request return status 200 content-type text/plain string wild\n",
                "example.test be_wild\n*.example.test be_wild\n");
        await("one Pebble certificate for the wildcard and the apex, served for a.example.test", LIMIT,
                () -> servedLeaf("a.example.test").map(c -> sans(c).equals(Set.of("*.example.test", "example.test"))
                        && c.getIssuerX500Principal().getName().contains("Pebble")).orElse(false));
        assertEquals(servedLeaf("a.example.test"), servedLeaf("example.test"), "the same certificate for the apex");
        assertEquals(List.of(), bind.txt("_acme-challenge.example.test"), "challenge records removed");
        assertTrue(crashed.pending().isEmpty(), "the journal is empty: " + crashed.pending());
        assertTrue(bind.log().contains("_acme-challenge.example.test"), "BIND saw the updates");
    }
}
