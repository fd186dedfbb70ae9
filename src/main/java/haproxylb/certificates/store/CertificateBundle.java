package haproxylb.certificates.store;

import haproxylb.certificates.issuer.BouncyCastle;
import haproxylb.common.DomainName;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util;
import org.bouncycastle.math.ec.ECCurve;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * A TLS certificate with its chain and private key, checked the way haproxy needs it: the key belongs to the leaf
 * certificate, the chain runs leaf first and each certificate is followed by its issuer, and (unless read back from
 * the crt directory with {@link #read}) the leaf has not expired.
 *
 * <p>Accepts PEM with the key as PKCS#8 ({@code PRIVATE KEY}) or in the traditional OpenSSL forms
 * ({@code EC PRIVATE KEY}, {@code RSA PRIVATE KEY}); an {@code EC PARAMETERS} block (from {@code openssl ecparam
 * -genkey}) is ignored. Immutable.
 */
public final class CertificateBundle {
    private static final String FIX_ORDER =
            "Put the certificate first, then the intermediate that issued it, then that one's issuer, and so on.";

    static {
        BouncyCastle.ensureRegistered();
    }

    private final String sourceName;
    private final List<X509Certificate> certificates;
    private final PrivateKey key;
    private final Set<String> dnsNames;
    private final Instant notBefore;
    private final Instant notAfter;
    /** Computed on first use: the store and the coverage check ask for it per certificate and check. */
    private volatile String fingerprint;

    private CertificateBundle(String sourceName, List<X509Certificate> certificates, PrivateKey key,
                              Set<String> dnsNames) {
        this.sourceName = sourceName;
        this.certificates = List.copyOf(certificates);
        this.key = key;
        this.dnsNames = Set.copyOf(dnsNames);
        this.notBefore = leaf().getNotBefore().toInstant();
        this.notAfter = leaf().getNotAfter().toInstant();
    }

    /** Parses and checks a PEM bundle, rejecting an expired certificate (by the system clock). */
    public static CertificateBundle parse(String sourceName, String pem) throws CertificateProblem {
        return parse(sourceName, pem, Clock.systemUTC());
    }

    /** Parses and checks a PEM bundle, rejecting a certificate expired at {@code clock}'s now. */
    public static CertificateBundle parse(String sourceName, String pem, Clock clock) throws CertificateProblem {
        CertificateBundle bundle = read(sourceName, pem);
        bundle.requireUnexpired(clock.instant());
        return bundle;
    }

    /**
     * Parses and checks a PEM bundle like {@link #parse} but accepts an expired certificate: for files already in the
     * crt directory, which are listed and reported on whether or not they have expired.
     */
    public static CertificateBundle read(String sourceName, String pem) throws CertificateProblem {
        Objects.requireNonNull(sourceName, "sourceName");
        Objects.requireNonNull(pem, "pem");
        List<X509Certificate> certificates = new ArrayList<>();
        List<PrivateKey> keys = new ArrayList<>();
        JcaX509CertificateConverter certConverter = new JcaX509CertificateConverter();
        JcaPEMKeyConverter keyConverter = new JcaPEMKeyConverter();
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            Object block;
            while ((block = parser.readObject()) != null) {
                if (block instanceof X509CertificateHolder holder) {
                    certificates.add(certConverter.getCertificate(holder));
                } else if (block instanceof PrivateKeyInfo info) {
                    keys.add(keyConverter.getPrivateKey(info));
                } else if (block instanceof PEMKeyPair pair) {
                    // Only the private half: an EC PRIVATE KEY block need not carry the public key.
                    keys.add(keyConverter.getPrivateKey(pair.getPrivateKeyInfo()));
                } else if (block instanceof PEMEncryptedKeyPair || block instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new CertificateProblem(sourceName, "the private key is encrypted, and haproxy cannot ask for "
                            + "a passphrase. Decrypt it (openssl pkey -in key.pem -out plain-key.pem) and put the "
                            + "plain key in the file.");
                } else if (!(block instanceof ASN1ObjectIdentifier)) {
                    throw new CertificateProblem(sourceName, "contains a " + describeBlock(block)
                            + ", which does not belong in a certificate file. Keep only the certificate, its "
                            + "intermediates and its private key.");
                }
            }
        } catch (IOException | CertificateException | RuntimeException e) {
            // BouncyCastle reports malformed base64 or DER with unchecked exceptions (DecoderException, ...).
            throw new CertificateProblem(sourceName, "is not a readable PEM file (" + e.getMessage() + "). Expected "
                    + "-----BEGIN CERTIFICATE----- blocks and one -----BEGIN PRIVATE KEY----- (or EC/RSA PRIVATE KEY) "
                    + "block.", e);
        }
        if (certificates.isEmpty()) {
            throw new CertificateProblem(sourceName, "contains no certificate. Put the certificate, its intermediates "
                    + "and its private key in one PEM file.");
        }
        if (keys.isEmpty()) {
            throw new CertificateProblem(sourceName, "contains no private key (subject "
                    + subject(certificates.get(0)) + "). haproxy needs the key in the same file: append the key that "
                    + "was used for the CSR.");
        }
        if (keys.size() > 1) {
            throw new CertificateProblem(sourceName, "contains " + keys.size() + " private keys. Keep only the one "
                    + "that belongs to the certificate.");
        }
        return check(sourceName, certificates, keys.get(0));
    }

    /**
     * A bundle from certificates already in memory (e.g. what the ACME client returned), with the same checks as
     * {@link #parse}. {@code leafFirst} is the leaf followed by its chain.
     */
    public static CertificateBundle of(String sourceName, List<X509Certificate> leafFirst, PrivateKey key, Clock clock)
            throws CertificateProblem {
        if (leafFirst.isEmpty()) {
            throw new CertificateProblem(sourceName, "contains no certificate.");
        }
        CertificateBundle bundle = check(sourceName, leafFirst, Objects.requireNonNull(key, "key"));
        bundle.requireUnexpired(clock.instant());
        return bundle;
    }

    private static CertificateBundle check(String sourceName, List<X509Certificate> certificates, PrivateKey key)
            throws CertificateProblem {
        X509Certificate first = certificates.get(0);
        if (!keyMatches(key, first.getPublicKey())) {
            for (int i = 1; i < certificates.size(); i++) {
                if (keyMatches(key, certificates.get(i).getPublicKey())) {
                    throw new CertificateProblem(sourceName, "the certificates are out of order: the one the private "
                            + "key belongs to (subject " + subject(certificates.get(i)) + ") is number " + (i + 1)
                            + " of " + certificates.size() + " in the file. " + FIX_ORDER);
                }
            }
            throw new CertificateProblem(sourceName, "the private key does not match the certificate (subject "
                    + subject(first) + "). Put the key that was used for the CSR in the same file.");
        }
        for (int i = 0; i + 1 < certificates.size(); i++) {
            X509Certificate child = certificates.get(i);
            X509Certificate parent = certificates.get(i + 1);
            if (!issued(parent, child)) {
                throw new CertificateProblem(sourceName, "certificate " + (i + 2) + " (subject " + subject(parent)
                        + ") did not issue certificate " + (i + 1) + " (subject " + subject(child) + ", issuer "
                        + child.getIssuerX500Principal().getName() + "). " + FIX_ORDER);
            }
        }
        return new CertificateBundle(sourceName, certificates, key, namesOf(sourceName, first));
    }

    private void requireUnexpired(Instant now) throws CertificateProblem {
        if (!now.isBefore(notAfter())) {
            throw new CertificateProblem(sourceName, "the certificate (subject " + subject(leaf()) + ", names "
                    + String.join(", ", dnsNames) + ") expired at " + notAfter() + ". Drop a renewed certificate "
                    + "instead; for names that point at this balancer haproxy-lb obtains certificates itself.");
        }
    }

    private static boolean issued(X509Certificate issuer, X509Certificate child) {
        if (!child.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            return false;
        }
        try {
            child.verify(issuer.getPublicKey());
            return true;
        } catch (NoSuchAlgorithmException | java.security.NoSuchProviderException e) {
            // A signature algorithm this JVM cannot check: the names match, which is what haproxy relies on.
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /**
     * True when {@code key} is the private half of {@code publicKey}. An EC key's public point is worked out from it
     * (the private scalar times the curve's generator) and compared, as OpenSSL compares them when haproxy loads the
     * file; other keys sign a random nonce that must verify with {@code publicKey}. Signing and verifying an EC
     * signature was 90 % of reading a certificate file, which a start does for every file it has no index entry for.
     */
    static boolean keyMatches(PrivateKey key, PublicKey publicKey) {
        if (key instanceof ECPrivateKey ec) {
            return publicKey instanceof ECPublicKey ecPublic && ecPublicKeyOf(ec, ecPublic);
        }
        String algorithm = switch (key.getAlgorithm()) {
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "Ed448" -> "Ed448";
            default -> null;
        };
        if (algorithm == null) {
            return false;
        }
        try {
            byte[] nonce = new byte[32];
            new SecureRandom().nextBytes(nonce);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(nonce);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(nonce);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** True when {@code publicKey} is on {@code key}'s curve and is its private scalar times the generator. */
    private static boolean ecPublicKeyOf(ECPrivateKey key, ECPublicKey publicKey) {
        try {
            ECCurve curve = EC5Util.convertCurve(key.getParams().getCurve());
            if (!curve.equals(EC5Util.convertCurve(publicKey.getParams().getCurve()))
                    || !key.getParams().getGenerator().equals(publicKey.getParams().getGenerator())) {
                return false;
            }
            ECPoint derived = EC5Util.convertPoint(curve, key.getParams().getGenerator()).multiply(key.getS())
                    .normalize();
            return !derived.isInfinity() && derived.equals(EC5Util.convertPoint(curve, publicKey.getW()));
        } catch (RuntimeException e) {
            // a point or curve BouncyCastle does not accept is no match
            return false;
        }
    }

    private static Set<String> namesOf(String sourceName, X509Certificate leaf) throws CertificateProblem {
        Set<String> names = new LinkedHashSet<>();
        try {
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    // GeneralName type 2 is dNSName (RFC 5280 section 4.2.1.6).
                    if (san.size() >= 2 && Integer.valueOf(2).equals(san.get(0)) && san.get(1) instanceof String dns) {
                        addName(names, dns);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new CertificateProblem(sourceName, "the certificate's subject alternative names cannot be read ("
                    + e.getMessage() + ").", e);
        }
        if (names.isEmpty()) {
            X500Name subject = X500Name.getInstance(leaf.getSubjectX500Principal().getEncoded());
            for (RDN rdn : subject.getRDNs(BCStyle.CN)) {
                addName(names, IETFUtils.valueToString(rdn.getFirst().getValue()));
            }
        }
        return names;
    }

    /** A blank name (or a lone ".") in a certificate is kept as "" as before, matching no host. */
    private static void addName(Set<String> names, String name) {
        names.add(name.isBlank() || name.strip().equals(".") ? "" : DomainName.of(name).value());
    }

    private static String subject(X509Certificate certificate) {
        return certificate.getSubjectX500Principal().getName();
    }

    private static String describeBlock(Object block) {
        String type = block.getClass().getSimpleName();
        return switch (type) {
            case "X509CRLHolder" -> "certificate revocation list";
            case "PKCS10CertificationRequest" -> "certificate signing request (CSR)";
            case "SubjectPublicKeyInfo" -> "public key";
            case "ContentInfo", "CMSSignedData" -> "PKCS#7 structure";
            default -> "PEM block of another kind (" + type + ")";
        };
    }

    /** Where the bundle came from (a file name), as used in error messages. */
    public String sourceName() {
        return sourceName;
    }

    /** The end-entity certificate, the one the key belongs to. */
    public X509Certificate leaf() {
        return certificates.get(0);
    }

    /** The intermediates after the leaf, in order (each followed by its issuer); empty when the file had none. */
    public List<X509Certificate> chain() {
        return certificates.subList(1, certificates.size());
    }

    /** The leaf followed by {@link #chain()}. */
    public List<X509Certificate> certificates() {
        return certificates;
    }

    public PrivateKey key() {
        return key;
    }

    /** The leaf's DNS subject alternative names, lower-cased; its subject CN when it has none. */
    public Set<String> dnsNames() {
        return dnsNames;
    }

    public Instant notBefore() {
        return notBefore;
    }

    public Instant notAfter() {
        return notAfter;
    }

    /** True when {@code now} is inside the leaf's validity period. */
    public boolean isValidAt(Instant now) {
        return !now.isBefore(notBefore()) && now.isBefore(notAfter());
    }

    /** The renewal window by the one-third rule; apply ARI with {@link RenewalWindow#withAri}. */
    public RenewalWindow renewalWindow() {
        return RenewalWindow.of(notBefore(), notAfter());
    }

    /** True when the certificate is valid for {@code domain} ({@link CertificateSummary#covers}). */
    public boolean covers(String domain) {
        return CertificateSummary.covers(dnsNames, domain);
    }

    /** SHA-256 of the leaf certificate (DER), lower-case hex: the certificate's identity. */
    public String fingerprint() {
        String f = fingerprint;
        if (f == null) {
            f = CertificateSummary.fingerprintOf(leaf());
            fingerprint = f;
        }
        return f;
    }

    /** The file haproxy loads: the leaf, the chain in order, then the private key (PKCS#8). */
    public String toHaproxyPem() {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            for (X509Certificate certificate : certificates) {
                writer.writeObject(certificate);
            }
            writer.writeObject(new JcaPKCS8Generator(key, null));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write PEM to memory", e);
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "CertificateBundle[" + sourceName + ", " + String.join(",", dnsNames) + ", until " + notAfter() + "]";
    }
}
