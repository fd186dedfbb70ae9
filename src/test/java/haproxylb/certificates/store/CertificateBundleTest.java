package haproxylb.certificates.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.support.MutableClock;
import haproxylb.support.TestCertificates.Authority;
import haproxylb.support.TestCertificates.KeyFormat;
import haproxylb.support.TestCertificates.Leaf;
import haproxylb.support.TestCertificates;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CertificateBundleTest {
    private static final Instant START = Instant.parse("2025-06-01T00:00:00Z");
    private static final Authority ROOT = TestCertificates.rootCa("Test Root",
            TestCertificates.ecKey(), START.minus(Duration.ofDays(365)), START.plus(Duration.ofDays(3650)));
    private static final Authority INTERMEDIATE = ROOT.intermediate("Test Intermediate");
    private final MutableClock clock = new MutableClock(START.plus(Duration.ofDays(1)));

    /** Same private key, whichever provider's object holds it. */
    private static void assertSameKey(PrivateKey expected, PrivateKey actual) {
        if (expected instanceof ECPrivateKey e) {
            assertEquals(e.getS(), ((ECPrivateKey) actual).getS());
        } else {
            assertEquals(((RSAPrivateKey) expected).getPrivateExponent(), ((RSAPrivateKey) actual).getPrivateExponent());
        }
    }

    private static Leaf leaf(String... names) {
        return INTERMEDIATE.leaf(names).validity(START, Duration.ofDays(90)).issue();
    }

    @Test
    void parses_an_ec_certificate_with_its_chain_and_a_pkcs8_key() throws Exception {
        Leaf leaf = leaf("a.example.com", "b.example.com");

        CertificateBundle b = CertificateBundle.parse("cert-inbox/a.pem", leaf.pem(KeyFormat.PKCS8), clock);

        assertEquals(leaf.certificate(), b.leaf());
        assertEquals(List.of(INTERMEDIATE.certificate()), b.chain());
        assertSameKey(leaf.keyPair().getPrivate(), b.key());
        assertEquals(Set.of("a.example.com", "b.example.com"), b.dnsNames());
        assertEquals(START, b.notBefore());
        assertEquals(START.plus(Duration.ofDays(90)), b.notAfter());
        assertEquals("cert-inbox/a.pem", b.sourceName());
    }

    @Test
    void parses_a_traditional_ec_private_key() throws Exception {
        Leaf leaf = leaf("a.example.com");
        String pem = leaf.pem(KeyFormat.TRADITIONAL);
        assertTrue(pem.contains("BEGIN EC PRIVATE KEY"), pem);

        assertSameKey(leaf.keyPair().getPrivate(), CertificateBundle.parse("a.pem", pem, clock).key());
    }

    @Test
    void parses_an_ec_key_preceded_by_an_ec_parameters_block_as_openssl_ecparam_writes_it() throws Exception {
        Leaf leaf = leaf("a.example.com");
        String ecParameters = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";

        CertificateBundle b = CertificateBundle.parse("a.pem",
                leaf.certificatesPem() + ecParameters + leaf.keyPem(KeyFormat.TRADITIONAL), clock);

        assertEquals(Set.of("a.example.com"), b.dnsNames());
    }

    @Test
    void parses_rsa_keys_in_pkcs8_and_traditional_form() throws Exception {
        Leaf leaf = INTERMEDIATE.leaf("rsa.example.com").validity(START, Duration.ofDays(90)).rsa().issue();
        assertTrue(leaf.pem(KeyFormat.TRADITIONAL).contains("BEGIN RSA PRIVATE KEY"));

        for (KeyFormat format : KeyFormat.values()) {
            CertificateBundle b = CertificateBundle.parse("rsa.pem", leaf.pem(format), clock);
            assertEquals("RSA", b.key().getAlgorithm(), format.name());
            assertTrue(b.covers("rsa.example.com"));
        }
    }

    @Test
    void accepts_a_certificate_under_an_rsa_ca() throws Exception {
        Authority rsaRoot = TestCertificates.rootCa("RSA Root", TestCertificates.rsaKey(),
                START.minus(Duration.ofDays(1)), START.plus(Duration.ofDays(365)));
        Leaf leaf = rsaRoot.leaf("a.example.com").validity(START, Duration.ofDays(90)).issue();

        CertificateBundle b = CertificateBundle.parse("a.pem", leaf.pem(), clock);

        assertEquals(List.of(), b.chain());
    }

    @Test
    void rejects_a_key_that_does_not_match_the_certificate_and_says_what_to_do() {
        Leaf leaf = leaf("foo.example.com");
        Leaf other = leaf("foo.example.com");
        String pem = leaf.certificatesPem() + other.keyPem(KeyFormat.PKCS8);

        CertificateProblem p = assertThrows(CertificateProblem.class,
                () -> CertificateBundle.parse("cert-inbox/foo.pem", pem, clock));

        assertEquals("cert-inbox/foo.pem: the private key does not match the certificate (subject CN=foo.example.com). "
                + "Put the key that was used for the CSR in the same file.", p.getMessage());
        assertEquals("cert-inbox/foo.pem", p.sourceName());
    }

    @Test
    void rejects_an_rsa_key_beside_an_ec_certificate() {
        Leaf leaf = leaf("foo.example.com");
        String pem = leaf.certificatesPem()
                + TestCertificates.keyToPem(TestCertificates.rsaKey().getPrivate(), KeyFormat.PKCS8);

        CertificateProblem p = assertThrows(CertificateProblem.class, () -> CertificateBundle.parse("f.pem", pem, clock));
        assertTrue(p.getMessage().contains("does not match"), p.getMessage());
    }

    @Test
    void rejects_an_ec_key_on_another_curve_beside_an_ec_certificate() throws Exception {
        Leaf leaf = leaf("foo.example.com");
        KeyPairGenerator p384 = KeyPairGenerator.getInstance("EC");
        p384.initialize(new ECGenParameterSpec("secp384r1"));
        String pem = leaf.certificatesPem() + TestCertificates.keyToPem(p384.generateKeyPair().getPrivate(),
                KeyFormat.PKCS8);

        CertificateProblem p = assertThrows(CertificateProblem.class, () -> CertificateBundle.parse("f.pem", pem, clock));
        assertTrue(p.getMessage().contains("does not match"), p.getMessage());
    }

    @Test
    void rejects_an_expired_certificate() {
        Leaf leaf = INTERMEDIATE.leaf("old.example.com").validity(START, Duration.ofDays(6)).issue();
        clock.set(START.plus(Duration.ofDays(6)));

        CertificateProblem p = assertThrows(CertificateProblem.class,
                () -> CertificateBundle.parse("cert-inbox/old.pem", leaf.pem(), clock));

        assertTrue(p.getMessage().startsWith("cert-inbox/old.pem: the certificate (subject CN=old.example.com, names "
                + "old.example.com) expired at " + START.plus(Duration.ofDays(6))), p.getMessage());
    }

    @Test
    void read_accepts_an_expired_certificate_so_installed_files_can_still_be_listed() throws Exception {
        Leaf leaf = INTERMEDIATE.leaf("old.example.com").validity(START.minus(Duration.ofDays(100)), Duration.ofDays(90))
                .issue();

        CertificateBundle b = CertificateBundle.read("old.pem", leaf.pem());

        assertFalse(b.isValidAt(clock.instant()));
    }

    @Test
    void rejects_a_file_where_the_intermediate_comes_before_the_certificate() {
        Leaf leaf = leaf("a.example.com");
        String pem = TestCertificates.pem(INTERMEDIATE.certificate(), leaf.certificate()) + leaf.keyPem(KeyFormat.PKCS8);

        CertificateProblem p = assertThrows(CertificateProblem.class, () -> CertificateBundle.parse("a.pem", pem, clock));

        assertTrue(p.getMessage().contains("out of order"), p.getMessage());
        assertTrue(p.getMessage().contains("number 2 of 2"), p.getMessage());
        assertTrue(p.getMessage().contains("Put the certificate first"), p.getMessage());
    }

    @Test
    void rejects_intermediates_in_the_wrong_order() throws Exception {
        Authority lower = INTERMEDIATE.intermediate("Lower Intermediate");
        Leaf leaf = lower.leaf("a.example.com").validity(START, Duration.ofDays(90)).issue();
        assertEquals(List.of(lower.certificate(), INTERMEDIATE.certificate()), leaf.chain());
        CertificateBundle.parse("ok.pem", leaf.pem(), clock);

        String swapped = TestCertificates.pem(leaf.certificate(), INTERMEDIATE.certificate(), lower.certificate())
                + leaf.keyPem(KeyFormat.PKCS8);
        CertificateProblem p = assertThrows(CertificateProblem.class,
                () -> CertificateBundle.parse("swapped.pem", swapped, clock));

        assertTrue(p.getMessage().startsWith("swapped.pem: certificate 2 (subject CN=Test Intermediate) did not issue "
                + "certificate 1 (subject CN=a.example.com"), p.getMessage());
    }

    @Test
    void rejects_a_chain_certificate_that_did_not_issue_the_one_before() {
        Authority stranger = TestCertificates.rootCa("Stranger CA").intermediate("Stranger Intermediate");
        Leaf leaf = leaf("a.example.com");
        String pem = TestCertificates.pem(leaf.certificate(), stranger.certificate()) + leaf.keyPem(KeyFormat.PKCS8);

        CertificateProblem p = assertThrows(CertificateProblem.class, () -> CertificateBundle.parse("a.pem", pem, clock));
        assertTrue(p.getMessage().contains("did not issue"), p.getMessage());
    }

    @Test
    void rejects_files_without_a_certificate_or_without_a_key_or_with_two_keys_or_garbage() {
        Leaf leaf = leaf("a.example.com");

        assertTrue(assertThrows(CertificateProblem.class, () -> CertificateBundle.parse("k.pem",
                leaf.keyPem(KeyFormat.PKCS8), clock)).getMessage().contains("contains no certificate"));
        assertTrue(assertThrows(CertificateProblem.class, () -> CertificateBundle.parse("c.pem",
                leaf.certificatesPem(), clock)).getMessage().contains("contains no private key"));
        assertTrue(assertThrows(CertificateProblem.class, () -> CertificateBundle.parse("2.pem",
                leaf.pem() + leaf.keyPem(KeyFormat.TRADITIONAL), clock)).getMessage().contains("2 private keys"));
        assertTrue(assertThrows(CertificateProblem.class, () -> CertificateBundle.parse("empty.pem", "", clock))
                .getMessage().contains("contains no certificate"));
        assertTrue(assertThrows(CertificateProblem.class, () -> CertificateBundle.parse("bad.pem",
                "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n", clock))
                .getMessage().startsWith("bad.pem: is not a readable PEM file"));
    }

    @Test
    void subject_alternative_names_are_lower_cased_and_win_over_the_common_name() throws Exception {
        Leaf leaf = INTERMEDIATE.leaf("WWW.Example.com", "Shop.Example.com.").commonName("legacy.example.com")
                .validity(START, Duration.ofDays(90)).issue();

        CertificateBundle b = CertificateBundle.parse("a.pem", leaf.pem(), clock);

        assertEquals(Set.of("www.example.com", "shop.example.com"), b.dnsNames());
        assertFalse(b.covers("legacy.example.com"));
    }

    @Test
    void without_subject_alternative_names_the_common_name_is_the_name() throws Exception {
        Leaf leaf = INTERMEDIATE.leaf("Old.Example.com").withoutSubjectAltNames().validity(START, Duration.ofDays(90))
                .issue();

        CertificateBundle b = CertificateBundle.parse("a.pem", leaf.pem(), clock);

        assertEquals(Set.of("old.example.com"), b.dnsNames());
        assertTrue(b.covers("OLD.example.com"));
    }

    @Test
    void a_wildcard_covers_exactly_one_label() throws Exception {
        CertificateBundle b = CertificateBundle.parse("w.pem", leaf("*.example.com", "example.org").pem(), clock);

        assertTrue(b.covers("www.example.com"));
        assertTrue(b.covers("API.example.com."));
        assertTrue(b.covers("*.example.com"));
        assertFalse(b.covers("example.com"));
        assertFalse(b.covers("a.b.example.com"));
        assertFalse(b.covers("wwwexample.com"));
        assertTrue(b.covers("example.org"));
        assertFalse(b.covers("www.example.org"));
        assertFalse(b.covers(".example.com"));
    }

    @Test
    void the_haproxy_pem_has_the_certificate_then_the_chain_then_the_key_and_parses_back() throws Exception {
        Authority lower = INTERMEDIATE.intermediate("Lower Intermediate");
        Leaf leaf = lower.leaf("a.example.com").validity(START, Duration.ofDays(90)).issue();
        CertificateBundle b = CertificateBundle.parse("a.pem", leaf.pem(KeyFormat.TRADITIONAL), clock);

        String pem = b.toHaproxyPem();

        int cert1 = pem.indexOf("BEGIN CERTIFICATE");
        int cert2 = pem.indexOf("BEGIN CERTIFICATE", cert1 + 1);
        int cert3 = pem.indexOf("BEGIN CERTIFICATE", cert2 + 1);
        int key = pem.indexOf("BEGIN PRIVATE KEY");
        assertTrue(cert1 >= 0 && cert1 < cert2 && cert2 < cert3 && cert3 < key, pem);
        CertificateBundle back = CertificateBundle.parse("installed.pem", pem, clock);
        assertEquals(b.certificates(), back.certificates());
        assertEquals(b.fingerprint(), back.fingerprint());
        assertEquals(64, b.fingerprint().length());
    }

    @Test
    void a_bundle_can_be_made_from_certificates_in_memory_with_the_same_checks() throws Exception {
        Leaf leaf = leaf("a.example.com");

        CertificateBundle b = CertificateBundle.of("acme order", leaf.leafFirst(), leaf.keyPair().getPrivate(), clock);
        assertEquals(Set.of("a.example.com"), b.dnsNames());

        assertThrows(CertificateProblem.class, () -> CertificateBundle.of("acme order", leaf.leafFirst(),
                TestCertificates.ecKey().getPrivate(), clock));
    }
}
