package haproxylb.it;

import haproxylb.common.AtomicFiles;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.TestCertificates;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

import static haproxylb.it.EdgeCertificates.cfg;
import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The certificate inbox with ACME off: operators' certificates installed and served without a reload, bad ones
 * rejected naming the file. One daemon for the class: each test uses names of its own.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class CertificateInboxTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    static final DaemonFixture fixture = new DaemonFixture();
    private static DaemonHarness daemon;
    private static EdgeCertificates edge;

    @BeforeAll
    static void start() throws Exception {
        daemon = fixture.daemon().with("lb.acme.first-check-delay", "100").start();
        edge = new EdgeCertificates(daemon);
    }

    @Test
    void with_acme_off_an_operator_certificate_dropped_into_the_inbox_is_installed_and_served_without_a_reload()
            throws Exception {
        daemon.drop("own", cfg("be_own"), "own.cert.test be_own\nbare.cert.test be_own\n");
        daemon.awaitFragmentState("own", "live", LIMIT);
        long reloadsBefore = edge.reloads();
        TestCertificates.Leaf leaf = TestCertificates.rootCa("Own Root").intermediate("Own CA")
                .leaf("own.cert.test").issue();
        AtomicFiles.writePrivate(fixture.state().resolve("cert-inbox/own.cert.test.pem"),
                leaf.pem(TestCertificates.KeyFormat.TRADITIONAL).getBytes());

        await("served", LIMIT, () -> edge.servedLeaf("own.cert.test").map(leaf.certificate()::equals).orElse(false));
        assertEquals(leaf.leafFirst(), edge.served("own.cert.test"), "with its intermediate");
        assertEquals(reloadsBefore, edge.reloads(), "hot-installed through the runtime API");
        Path file = fixture.state().resolve("certs/own.cert.test.pem");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        await("status: covered by the operator's certificate", LIMIT, () -> edge.stateOf("own.cert.test").equals("covered"));
        assertEquals("operator", daemon.certificateStatus("own.cert.test").get("source"));
        assertFalse(daemon.certificateStatus("own.cert.test").containsKey("nextRenewal"), "never renewed by haproxy-lb");
        assertEquals("not-covered", edge.stateOf("bare.cert.test"));
        assertTrue(String.valueOf(daemon.certificateStatus("bare.cert.test").get("reason")).contains("ACME is off"));
        assertFalse(Files.exists(fixture.state().resolve("acme")), "no ACME account without a directory URL");
    }

    @Test
    void a_certificate_whose_key_does_not_match_is_rejected_with_an_error_naming_the_file() throws Exception {
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
        assertNotEquals(one.certificate(), edge.servedLeaf("bad.cert.test").orElseThrow());
    }
}
