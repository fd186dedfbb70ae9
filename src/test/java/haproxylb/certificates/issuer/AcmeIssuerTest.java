package haproxylb.certificates.issuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.storage.LocalStorage;
import haproxylb.support.PebbleServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real issuance against a real Pebble: the VA fetches every HTTP-01 token from the {@link ChallengeResponder}
 * (Pebble's httpPort is the responder's port; the mock DNS resolves every name to 127.0.0.1).
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class AcmeIssuerTest {
    static ChallengeResponder responder;
    static PebbleServer pebble;
    static PebbleServer current;

    @TempDir
    static Path tmp;

    @RegisterExtension
    static TestWatcher pebbleLogs = PebbleServer.printLogsOnFailure(() -> current);

    @BeforeAll
    static void startPebble() throws IOException {
        responder = new ChallengeResponder(new InetSocketAddress("127.0.0.1", 0));
        responder.start();
        pebble = PebbleServer.start(responder.port());
        current = pebble;
    }

    @AfterAll
    static void stopPebble() {
        if (pebble != null) {
            pebble.close();
        }
        if (responder != null) {
            responder.stop();
        }
    }

    private static AcmeSettings settings(PebbleServer p) {
        return AcmeSettings.forTestCa(p.directoryUrl(), p.listenerCaPem());
    }

    private static AcmeAccountStore store(String name) {
        return new AcmeAccountStore(new LocalStorage(tmp), name);
    }

    // ------------------------------------------------------------------ issuance

    @Test
    void a_certificate_for_two_names_is_issued_after_real_http01_validation_and_chains_to_pebbles_root() throws Exception {
        AcmeIssuer issuer = new AcmeIssuer(settings(pebble), store("two-names"), responder);
        int requestsBefore = responder.requestCount();

        long t0 = System.nanoTime();
        IssuedCertificate issued = issuer.issue(OrderRequest.of(List.of("app.issue.test", "www.issue.test")));
        long firstMs = (System.nanoTime() - t0) / 1_000_000;
        t0 = System.nanoTime();
        issuer.issue(OrderRequest.of(List.of("again.issue.test")));
        long secondMs = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("issuance against Pebble: first certificate (incl. account registration) " + firstMs
                + " ms, next certificate " + secondMs + " ms");

        assertTrue(responder.requestCount() - requestsBefore >= 3, "Pebble's VA fetched the tokens from the responder");
        assertEquals(0, responder.size(), "challenge tokens are removed when done");
        assertEquals(List.of("app.issue.test", "www.issue.test"), issued.domains());

        List<X509Certificate> chain = issued.certificates();
        X509Certificate leaf = chain.get(0);
        assertEquals(Set.of("app.issue.test", "www.issue.test"), sans(leaf));
        assertTrue(issued.notAfter().isAfter(Instant.now().plus(Duration.ofDays(1))));
        assertEquals(leaf.getNotAfter().toInstant(), issued.notAfter());
        assertEquals(leaf.getNotBefore().toInstant(), issued.notBefore());
        assertTrue(leaf.getPublicKey() instanceof ECPublicKey, "ECDSA P-256 by default");

        PebbleServer.CaCertificates ca = pebble.rootCertificates();
        assertEquals(ca.intermediate(), chain.get(1), "the chain carries Pebble's current intermediate");
        verifyChain(chain, ca.root());

        PrivateKey key = readPrivateKey(issued.privateKeyPem(), "EC");
        assertKeyMatches(key, leaf, "SHA256withECDSA");
        assertTrue(issued.haproxyPem().startsWith("-----BEGIN CERTIFICATE-----"));
        assertTrue(issued.haproxyPem().contains("-----BEGIN PRIVATE KEY-----"));
    }

    @Test
    void an_rsa_key_is_used_when_the_setting_asks_for_it() throws Exception {
        AcmeIssuer issuer = new AcmeIssuer(settings(pebble).withKeyType(AcmeSettings.KeyType.RSA2048), store("rsa"), responder);
        IssuedCertificate issued = issuer.issue(OrderRequest.of(List.of("rsa.issue.test")));
        X509Certificate leaf = issued.leaf();
        assertTrue(leaf.getPublicKey() instanceof RSAPublicKey);
        assertEquals(2048, ((RSAPublicKey) leaf.getPublicKey()).getModulus().bitLength());
        assertKeyMatches(readPrivateKey(issued.privateKeyPem(), "RSA"), leaf, "SHA256withRSA");
    }

    // ------------------------------------------------------------------ account

    @Test
    void the_account_is_reused_by_a_second_issuer_with_the_same_store_and_its_key_is_private() throws Exception {
        AcmeSettings s = settings(pebble);
        AcmeAccountStore first = store("reuse");
        new AcmeIssuer(s, first, responder).issue(OrderRequest.of(List.of("one.reuse.test")));
        AcmeAccountStore.StoredAccount stored = first.stored(s.directoryUrl()).orElseThrow();
        Path keyFile = tmp.resolve("reuse").resolve(AcmeAccountStore.hash(s.directoryUrl())).resolve("account.key");
        byte[] keyBefore = Files.readAllBytes(keyFile);

        AcmeAccountStore second = store("reuse");
        new AcmeIssuer(s, second, responder).issue(OrderRequest.of(List.of("two.reuse.test")));

        assertEquals(stored.location(), second.stored(s.directoryUrl()).orElseThrow().location(), "same account URL");
        assertTrue(Files.readAllBytes(keyFile).length > 0);
        assertEquals(new String(keyBefore, StandardCharsets.US_ASCII), Files.readString(keyFile), "same account key");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile)));
        Path expectedDir = tmp.resolve("reuse").resolve(AcmeAccountStore.hash(s.directoryUrl()));
        assertEquals(expectedDir.resolve("account.key"), keyFile);
        assertEquals(16, expectedDir.getFileName().toString().length());
        assertTrue(Files.readString(expectedDir.resolve("account.json")).contains(stored.location().toExternalForm()));
        try (var files = Files.list(expectedDir)) {
            assertEquals(Set.of("account.key", "account.json"),
                    Set.copyOf(files.map(p -> p.getFileName().toString()).toList()), "no stray temp files");
        }
    }

    @Test
    void no_account_is_created_without_agreeing_to_the_terms() throws Exception {
        AcmeIssuer issuer = new AcmeIssuer(settings(pebble).withAgreeToTerms(false), store("no-terms"), responder);
        IssuanceException e = assertThrows(IssuanceException.class,
                () -> issuer.issue(OrderRequest.of(List.of("terms.test"))));
        assertEquals(IssuanceException.Kind.CONFIGURATION, e.kind());
        assertTrue(e.getMessage().contains("terms of service"), e.getMessage());
        assertFalse(e.failedAuthorization());
        assertFalse(Files.exists(tmp.resolve("no-terms").resolve(AcmeAccountStore.hash(pebble.directoryUrl()))
                .resolve("account.json")));
    }

    // ------------------------------------------------------------------ failures

    @Test
    void a_name_whose_http_port_points_nowhere_fails_its_authorization_with_the_cas_detail() throws Exception {
        pebble.addARecord("nowhere.fail.test", "127.0.0.2");
        try {
            AcmeIssuer issuer = new AcmeIssuer(settings(pebble), store("fail-nowhere"), responder);
            IssuanceException e = assertThrows(IssuanceException.class,
                    () -> issuer.issue(OrderRequest.of(List.of("ok.fail.test", "nowhere.fail.test"))));
            System.out.println("authorization failure: " + e.getMessage());
            assertTrue(e.failedAuthorization());
            assertFalse(e.caUnreachable());
            assertEquals(List.of("nowhere.fail.test"), e.failedDomains(), "only the unreachable name counts as failed");
            assertEquals(Optional.of("nowhere.fail.test"), e.domain());
            String detail = e.caProblem().orElseThrow();
            assertTrue(detail.contains("127.0.0.2"), detail);
            assertTrue(detail.toLowerCase().contains("refused"), detail);
            assertTrue(e.getMessage().startsWith("pebble: authorization for nowhere.fail.test is INVALID: "), e.getMessage());
            assertEquals(0, responder.size(), "tokens are removed after a failure too");
        } finally {
            pebble.clearARecord("nowhere.fail.test");
        }
    }

    @Test
    void a_token_the_responder_does_not_know_fails_the_authorization_with_the_cas_detail() throws Exception {
        // the issuer registers its tokens on a responder Pebble never talks to; Pebble's VA gets 404s
        ChallengeResponder unreachable = new ChallengeResponder(new InetSocketAddress("127.0.0.1", 0));
        AcmeIssuer issuer = new AcmeIssuer(settings(pebble), store("fail-404"), unreachable);
        IssuanceException e = assertThrows(IssuanceException.class,
                () -> issuer.issue(OrderRequest.of(List.of("notoken.fail.test"))));
        System.out.println("authorization failure: " + e.getMessage());
        assertTrue(e.failedAuthorization());
        assertEquals(List.of("notoken.fail.test"), e.failedDomains());
        assertTrue(e.caProblem().orElseThrow().contains("404"), e.caProblem().orElseThrow());
        assertEquals(0, unreachable.size());
    }

    @Test
    void a_stopped_ca_is_reported_as_unreachable_quickly_and_issuance_works_again_once_it_is_back() throws Exception {
        try (PebbleServer own = PebbleServer.start(responder.port())) {
            current = own;
            AcmeSettings s = settings(own);
            AcmeAccountStore accounts = store("down");
            AcmeIssuer issuer = new AcmeIssuer(s, accounts, responder);
            issuer.issue(OrderRequest.of(List.of("before.down.test")));
            String accountBefore = accounts.stored(s.directoryUrl()).orElseThrow().location().toExternalForm();

            own.stop();
            long t0 = System.nanoTime();
            IssuanceException e = assertThrows(IssuanceException.class,
                    () -> issuer.issue(OrderRequest.of(List.of("during.down.test"))));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("CA down detected in " + ms + " ms: " + e.getMessage());
            assertTrue(e.caUnreachable(), e.kind() + ": " + e.getMessage());
            assertFalse(e.failedAuthorization());
            assertTrue(ms < 15_000, "bounded: " + ms + " ms");
            assertEquals(0, responder.size());
            // a fresh issuer (as after a daemon restart) sees the same
            IssuanceException e2 = assertThrows(IssuanceException.class,
                    () -> new AcmeIssuer(s, accounts, responder).issue(OrderRequest.of(List.of("during.down.test"))));
            assertTrue(e2.caUnreachable(), e2.getMessage());

            own.start();
            IssuedCertificate issued = issuer.issue(OrderRequest.of(List.of("after.down.test")));
            assertEquals(Set.of("after.down.test"), sans(issued.leaf()));
            verifyChain(issued.certificates(), own.rootCertificates().root());
            // Pebble forgot its accounts on restart: the same key was registered again, and the store records it
            String accountAfter = accounts.stored(s.directoryUrl()).orElseThrow().location().toExternalForm();
            System.out.println("account before restart " + accountBefore + ", after " + accountAfter);
        } finally {
            current = pebble;
        }
    }

    @Test
    void without_the_extra_trusted_ca_the_test_cas_tls_certificate_is_refused() {
        AcmeSettings untrusting = new AcmeSettings(pebble.directoryUrl(), Optional.empty(), true, AcmeSettings.KeyType.EC256,
                Optional.empty(), Duration.ofMillis(100), Duration.ofSeconds(10));
        IssuanceException e = assertThrows(IssuanceException.class,
                () -> new AcmeIssuer(untrusting, store("untrusted"), responder).issue(OrderRequest.of(List.of("untrusted.test"))));
        assertTrue(e.getMessage().contains("PKIX"), e.getMessage());
        assertTrue(e.caUnreachable(), e.getMessage());
    }

    // ------------------------------------------------------------------ ARI

    @Test
    void renewal_information_is_returned_when_the_ca_offers_it_and_empty_otherwise() throws Exception {
        AcmeIssuer issuer = new AcmeIssuer(settings(pebble), store("ari"), responder);
        IssuedCertificate issued = issuer.issue(OrderRequest.of(List.of("ari.test")));
        boolean supported = issuer.supportsRenewalInfo();
        Optional<RenewalInfoWindow> window = issuer.renewalInfo(issued.leaf());
        System.out.println("Pebble offers ARI: " + supported + ", window: " + window);
        assertEquals(supported, window.isPresent());
        window.ifPresent(w -> {
            assertTrue(w.start().isBefore(w.end()));
            assertTrue(w.start().isAfter(issued.notBefore()));
            assertTrue(w.end().isBefore(issued.notAfter().plusSeconds(1)));
        });
    }

    // ------------------------------------------------------------------ settings

    @Test
    void lets_encrypt_is_known_by_name_and_other_directories_must_be_https() {
        assertEquals(AcmeSettings.LETSENCRYPT, AcmeSettings.of("letsencrypt", "", true, "", "", null, null).directoryUrl());
        assertEquals(AcmeSettings.LETSENCRYPT_STAGING, AcmeSettings.of("letsencrypt-staging", null, true, null, null, null, null).directoryUrl());
        assertEquals("https://ca.example/dir", AcmeSettings.of("https://ca.example/dir", null, true, null, null, null, null).directoryUrl());
        assertThrows(IllegalArgumentException.class, () -> AcmeSettings.of("http://ca.example/dir", null, true, null, null, null, null));
        assertThrows(IllegalArgumentException.class, () -> AcmeSettings.of("", null, true, null, null, null, null));
        assertThrows(IllegalArgumentException.class, () -> AcmeSettings.of("letsencrypt", "not-an-email", true, null, null, null, null));
        assertThrows(IllegalArgumentException.class, () -> AcmeSettings.of("letsencrypt", null, true, null, "/nonexistent/ca.pem", null, null));
    }

    @Test
    void key_types_default_to_ecdsa_p256_and_rsa_sizes_are_accepted() {
        assertEquals(AcmeSettings.KeyType.EC256, AcmeSettings.of("letsencrypt", null, true, null, null, null, null).keyType());
        assertEquals(AcmeSettings.KeyType.RSA2048, AcmeSettings.KeyType.parse("rsa2048"));
        assertEquals(AcmeSettings.KeyType.RSA3072, AcmeSettings.KeyType.parse("RSA-3072"));
        assertEquals(AcmeSettings.KeyType.RSA4096, AcmeSettings.KeyType.parse("rsa4096"));
        assertThrows(IllegalArgumentException.class, () -> AcmeSettings.KeyType.parse("dsa1024"));
    }

    @Test
    void wildcards_and_malformed_names_are_refused_before_anything_is_ordered() {
        AcmeIssuer issuer = new AcmeIssuer(settings(pebble), store("names"), responder);
        assertThrows(IllegalArgumentException.class, () -> issuer.issue(OrderRequest.of(List.of("*.wild.test"))));
        assertThrows(IllegalArgumentException.class, () -> issuer.issue(OrderRequest.of(List.of("bad name.test"))));
        assertThrows(IllegalArgumentException.class, () -> issuer.issue(OrderRequest.of(List.of())));
        assertFalse(Files.exists(tmp.resolve("names").resolve(AcmeAccountStore.hash(pebble.directoryUrl()))
                .resolve("account.key")), "nothing was sent to the CA");
    }

    // ------------------------------------------------------------------ helpers

    static Set<String> sans(X509Certificate cert) throws Exception {
        Collection<List<?>> names = cert.getSubjectAlternativeNames();
        List<String> out = new ArrayList<>();
        for (List<?> n : names) {
            if (Integer.valueOf(2).equals(n.get(0))) {
                out.add((String) n.get(1));
            }
        }
        return Set.copyOf(out);
    }

    static void verifyChain(List<X509Certificate> chain, X509Certificate root) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(chain), params);
    }

    static PrivateKey readPrivateKey(String pem, String algorithm) throws Exception {
        String b64 = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
    }

    static void assertKeyMatches(PrivateKey key, X509Certificate cert, String algorithm) throws Exception {
        byte[] data = "haproxy-lb".getBytes(StandardCharsets.US_ASCII);
        Signature sign = Signature.getInstance(algorithm);
        sign.initSign(key);
        sign.update(data);
        byte[] sig = sign.sign();
        Signature verify = Signature.getInstance(algorithm);
        verify.initVerify(cert.getPublicKey());
        verify.update(data);
        assertTrue(verify.verify(sig), "the private key belongs to the certificate");
    }
}
