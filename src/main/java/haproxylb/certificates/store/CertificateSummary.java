package haproxylb.certificates.store;

import haproxylb.common.DomainName;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;

/**
 * What the coverage check needs of a certificate file: the leaf's names, validity and identity. Kept for every file in
 * the store's saved index ({@link CertificateIndexFile}), so a start reads it instead of parsing the file.
 *
 * @param dnsNames    the leaf's DNS names, lower-cased (its subject CN when it has none)
 * @param fingerprint SHA-256 of the leaf (DER), lower-case hex: the certificate's identity
 */
public record CertificateSummary(Set<String> dnsNames, Instant notBefore, Instant notAfter, String fingerprint) {

    public CertificateSummary {
        dnsNames = Set.copyOf(dnsNames);
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
        Objects.requireNonNull(fingerprint, "fingerprint");
    }

    public static CertificateSummary of(CertificateBundle bundle) {
        return new CertificateSummary(bundle.dnsNames(), bundle.notBefore(), bundle.notAfter(), bundle.fingerprint());
    }

    /** True when {@code now} is inside the leaf's validity period. */
    public boolean isValidAt(Instant now) {
        return !now.isBefore(notBefore) && now.isBefore(notAfter);
    }

    /**
     * True when the certificate is valid for {@code domain}: one of its names is {@code domain} (case-insensitive), or
     * is a wildcard {@code *.rest} where {@code domain} is one more label in front of {@code rest} (RFC 6125 section
     * 6.4.3: the wildcard stands for exactly one whole label, so {@code *.example.com} covers {@code www.example.com},
     * not {@code example.com} nor {@code a.b.example.com}).
     */
    public boolean covers(String domain) {
        return covers(dnsNames, domain);
    }

    static boolean covers(Set<String> names, String domain) {
        DomainName d = DomainName.of(domain);
        return names.contains(d.value()) || d.wildcardAbove().map(w -> names.contains(w.value())).orElse(false);
    }

    /** The renewal window by the one-third rule. */
    public RenewalWindow renewalWindow() {
        return RenewalWindow.of(notBefore, notAfter);
    }

    static String fingerprintOf(X509Certificate leaf) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(leaf.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint a parsed certificate", e);
        }
    }
}
