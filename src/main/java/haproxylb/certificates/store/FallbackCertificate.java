package haproxylb.certificates.store;

import haproxylb.certificates.issuer.BouncyCastle;
import haproxylb.common.AtomicFiles;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The self-signed {@code fallback.pem} in haproxy's crt directory. haproxy refuses to start when {@code ssl crt <dir>}
 * names an empty directory, and it serves the first certificate it loaded to clients whose SNI matches no other; this
 * one says plainly that the name is not configured here. Browsers never trust it, which is the point.
 */
public final class FallbackCertificate {
    private static final Logger LOG = LoggerFactory.getLogger(FallbackCertificate.class);

    /** The store name (file name without {@code .pem}); {@link CertificateStore} never archives it. */
    public static final String NAME = "fallback";
    public static final String FILE_NAME = NAME + ".pem";
    static final String COMMON_NAME = "haproxy-lb fallback";
    /** Ten years (3653 days): nobody trusts it anyway, so a long life only means it never needs attention. */
    static final Duration VALIDITY = Duration.ofDays(3653);
    /** Back-dated by an hour so that a client whose clock is a little behind does not see "not yet valid". */
    static final Duration BACKDATE = Duration.ofHours(1);

    private FallbackCertificate() {}

    public static Path path(Path certDir) {
        return certDir.resolve(FILE_NAME);
    }

    /** Creates {@code <certDir>/fallback.pem} unless a usable one is there. */
    public static void ensure(Path certDir) throws IOException {
        ensure(certDir, Clock.systemUTC());
    }

    /**
     * Creates {@code <certDir>/fallback.pem} (mode 0600, atomically) unless a readable, unexpired one is there. An
     * existing usable file is kept as it is, so an operator may put a default certificate of their own there.
     */
    public static void ensure(Path certDir, Clock clock) throws IOException {
        Path file = path(certDir);
        if (Files.exists(file)) {
            try {
                CertificateBundle.parse(FILE_NAME, Files.readString(file, StandardCharsets.US_ASCII), clock);
                return;
            } catch (CertificateProblem | IOException e) {
                LOG.warn("replacing the fallback certificate {}: {}", file, e.getMessage());
            }
        }
        AtomicFiles.writePrivate(file, generatePem(clock).getBytes(StandardCharsets.US_ASCII));
        LOG.info("created the self-signed fallback certificate {} (served for names without a certificate)", file);
    }

    /** A new self-signed ECDSA P-256 certificate and its key, as a haproxy PEM bundle. */
    static String generatePem(Clock clock) throws IOException {
        BouncyCastle.ensureRegistered();
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            KeyPair keyPair = generator.generateKeyPair();
            Instant now = clock.instant();
            X500Name subject = new X500Name("CN=" + COMMON_NAME);
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
                    new BigInteger(63, new SecureRandom()).add(BigInteger.ONE),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(VALIDITY)),
                    subject, keyPair.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            X509CertificateHolder certificate = builder.build(new JcaContentSignerBuilder("SHA256withECDSA")
                    .setProvider(BouncyCastleProvider.PROVIDER_NAME).build(keyPair.getPrivate()));
            StringWriter out = new StringWriter();
            try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
                writer.writeObject(certificate);
                writer.writeObject(new JcaPKCS8Generator(keyPair.getPrivate(), null));
            }
            return out.toString();
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IOException("cannot generate the fallback certificate: " + e.getMessage(), e);
        }
    }
}
