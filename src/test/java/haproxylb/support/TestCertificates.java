package haproxylb.support;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made in the test: a root CA, intermediates, and leaf certificates with chosen names, validity and key
 * type, plus their PEM forms.
 *
 * <pre>{@code
 * TestCertificates.Authority root = TestCertificates.rootCa("Test Root");
 * TestCertificates.Authority ca = root.intermediate("Test Intermediate");
 * TestCertificates.Leaf leaf = ca.leaf("a.example.com", "b.example.com")
 *         .validity(Instant.parse("2025-01-01T00:00:00Z"), Duration.ofDays(90))
 *         .issue();
 * String pem = leaf.pem(); // leaf, intermediates, PKCS#8 key
 * }</pre>
 *
 * Defaults: ECDSA P-256 keys, validity from one hour ago for 90 days, CA certificates valid for ten years.
 */
public final class TestCertificates {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    static {
        if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
            Security.addProvider(new BouncyCastleProvider());
        }
    }

    /** How a private key is written. */
    public enum KeyFormat {
        /** {@code -----BEGIN PRIVATE KEY-----} */
        PKCS8,
        /** {@code -----BEGIN EC PRIVATE KEY-----} or {@code -----BEGIN RSA PRIVATE KEY-----} */
        TRADITIONAL
    }

    private TestCertificates() {}

    public static KeyPair ecKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static KeyPair rsaKey() {
        return rsaKey(2048);
    }

    public static KeyPair rsaKey(int bits) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(bits, RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A self-signed root CA with an EC key, valid from a day ago for ten years. */
    public static Authority rootCa(String commonName) {
        Instant now = Instant.now();
        return rootCa(commonName, ecKey(), now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(3650)));
    }

    public static Authority rootCa(String commonName, KeyPair keyPair, Instant notBefore, Instant notAfter) {
        X500Name subject = new X500Name("CN=" + commonName);
        X509Certificate certificate = sign(ca(subject, subject, keyPair, notBefore, notAfter), keyPair.getPrivate());
        return new Authority(certificate, keyPair, List.of());
    }

    /** A CA: the root or an intermediate. */
    public static final class Authority {
        private final X509Certificate certificate;
        private final KeyPair keyPair;
        /** The CAs above this one up to, not including, the root. */
        private final List<X509Certificate> parents;

        private Authority(X509Certificate certificate, KeyPair keyPair, List<X509Certificate> parents) {
            this.certificate = certificate;
            this.keyPair = keyPair;
            this.parents = parents;
        }

        public X509Certificate certificate() {
            return certificate;
        }

        public KeyPair keyPair() {
            return keyPair;
        }

        public boolean isRoot() {
            return certificate.getSubjectX500Principal().equals(certificate.getIssuerX500Principal());
        }

        /**
         * What a server sends after a leaf this CA issued: this CA (unless it is the root) and the intermediates
         * above it, nearest first; never the root.
         */
        public List<X509Certificate> chain() {
            List<X509Certificate> chain = new ArrayList<>();
            if (!isRoot()) {
                chain.add(certificate);
            }
            chain.addAll(parents);
            return chain;
        }

        /** An intermediate CA under this one, EC key, with this CA's validity. */
        public Authority intermediate(String commonName) {
            KeyPair key = ecKey();
            X509Certificate c = sign(ca(new X500Name("CN=" + commonName), subject(certificate), key,
                    certificate.getNotBefore().toInstant(), certificate.getNotAfter().toInstant()), keyPair.getPrivate());
            return new Authority(c, key, chain());
        }

        /** A leaf for {@code dnsNames} (SANs; CN = the first name), to be adjusted and {@link LeafBuilder#issue()}d. */
        public LeafBuilder leaf(String... dnsNames) {
            return new LeafBuilder(this, List.of(dnsNames));
        }

        public String certificatePem() {
            return pem(certificate);
        }
    }

    /** Adjusts a leaf before it is issued. */
    public static final class LeafBuilder {
        private final Authority issuer;
        private List<String> dnsNames;
        private String commonName;
        private boolean subjectAltNames = true;
        private Instant notBefore = Instant.now().minus(Duration.ofHours(1));
        private Instant notAfter = notBefore.plus(Duration.ofDays(90));
        private KeyPair keyPair;

        private LeafBuilder(Authority issuer, List<String> dnsNames) {
            this.issuer = issuer;
            this.dnsNames = dnsNames;
            this.commonName = dnsNames.isEmpty() ? "test leaf" : dnsNames.get(0);
        }

        public LeafBuilder commonName(String cn) {
            this.commonName = cn;
            return this;
        }

        /** Only the subject CN names the host, as in certificates from before SANs were required. */
        public LeafBuilder withoutSubjectAltNames() {
            this.subjectAltNames = false;
            return this;
        }

        public LeafBuilder validity(Instant from, Instant until) {
            this.notBefore = from;
            this.notAfter = until;
            return this;
        }

        public LeafBuilder validity(Instant from, Duration lifetime) {
            return validity(from, from.plus(lifetime));
        }

        public LeafBuilder key(KeyPair key) {
            this.keyPair = key;
            return this;
        }

        public LeafBuilder rsa() {
            return key(rsaKey());
        }

        public Leaf issue() {
            KeyPair key = keyPair != null ? keyPair : ecKey();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject(issuer.certificate()), serial(),
                    Date.from(notBefore), Date.from(notAfter), new X500Name("CN=" + commonName), key.getPublic());
            try {
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
                b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature
                        | (key.getPrivate().getAlgorithm().equals("RSA") ? KeyUsage.keyEncipherment : 0)));
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
                if (subjectAltNames && !dnsNames.isEmpty()) {
                    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(dnsNames.stream()
                            .map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            X509Certificate c = sign(b, issuer.keyPair().getPrivate());
            return new Leaf(c, key, issuer.chain());
        }
    }

    /** An issued leaf certificate with its key and the chain a server would send after it. */
    public record Leaf(X509Certificate certificate, KeyPair keyPair, List<X509Certificate> chain) {
        /** Leaf, chain, PKCS#8 key: a complete haproxy bundle. */
        public String pem() {
            return pem(KeyFormat.PKCS8);
        }

        public String pem(KeyFormat format) {
            return certificatesPem() + keyPem(format);
        }

        /** Leaf then chain, no key. */
        public String certificatesPem() {
            List<Object> all = new ArrayList<>();
            all.add(certificate);
            all.addAll(chain);
            return TestCertificates.pem(all.toArray());
        }

        public String keyPem(KeyFormat format) {
            return keyToPem(keyPair.getPrivate(), format);
        }

        /** The leaf followed by its chain. */
        public List<X509Certificate> leafFirst() {
            List<X509Certificate> all = new ArrayList<>();
            all.add(certificate);
            all.addAll(chain);
            return all;
        }
    }

    public static String keyToPem(PrivateKey key, KeyFormat format) {
        try {
            if (format == KeyFormat.PKCS8) {
                return pem(new JcaPKCS8Generator(key, null).generate());
            }
            // The JDK's EC keys keep the curve only in the PKCS#8 wrapper; re-encoded by BouncyCastle the inner
            // structure names the curve too, as in the EC PRIVATE KEY files OpenSSL writes.
            PrivateKey withParameters = KeyFactory.getInstance(key.getAlgorithm(), BouncyCastleProvider.PROVIDER_NAME)
                    .generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
            return pem(withParameters);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** PEM of certificates, keys (traditional form) or other BouncyCastle PEM objects, in the order given. */
    public static String pem(Object... objects) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            for (Object o : objects) {
                w.writeObject(o);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static X509v3CertificateBuilder ca(X500Name subject, X500Name issuer, KeyPair key, Instant notBefore,
                                               Instant notAfter) {
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, serial(), Date.from(notBefore),
                Date.from(notAfter), subject, key.getPublic());
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b;
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey) {
        String algorithm = issuerKey.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        try {
            return new JcaX509CertificateConverter().getCertificate(builder.build(
                    new JcaContentSignerBuilder(algorithm).setProvider(BouncyCastleProvider.PROVIDER_NAME)
                            .build(issuerKey)));
        } catch (OperatorCreationException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a test certificate", e);
        }
    }

    private static X500Name subject(X509Certificate c) {
        return X500Name.getInstance(c.getSubjectX500Principal().getEncoded());
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIAL.incrementAndGet()).shiftLeft(16).add(BigInteger.valueOf(RANDOM.nextInt(1 << 16)));
    }
}
