package haproxylb.certificates.store;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A certificate file in haproxy's crt directory, as the store listed it: its {@link CertificateSummary} (from the
 * store's index; the file is not parsed again to list it) and whether it was issued here.
 */
public final class InstalledCertificate {
    private static final String BEGIN = "-----BEGIN CERTIFICATE-----";
    private static final String END = "-----END CERTIFICATE-----";

    private final String name;
    private final Path path;
    private final CertificateSummary summary;
    private final boolean issuedHere;
    /** The leaf when it was at hand; otherwise read from the file when first asked for. */
    private volatile X509Certificate leaf;
    /** Worked out once: the coverage check asks for it, and hashes the certificate, several times per domain. */
    private volatile RenewalWindow renewalWindow;
    private int hash;

    /**
     * @param name       the file name without {@code .pem}
     * @param path       the file
     * @param bundle     its parsed content
     * @param issuedHere true when this daemon obtained it from the CA (see {@link CertificateStore}); false for
     *                   operator-supplied certificates and the fallback, which are never archived
     */
    public InstalledCertificate(String name, Path path, CertificateBundle bundle, boolean issuedHere) {
        this(name, path, CertificateSummary.of(bundle), issuedHere);
        this.leaf = bundle.leaf();
    }

    /** Listed from the store's index: the leaf is read from {@code path} if it is asked for. */
    InstalledCertificate(String name, Path path, CertificateSummary summary, boolean issuedHere) {
        this.name = Objects.requireNonNull(name, "name");
        this.path = Objects.requireNonNull(path, "path");
        this.summary = Objects.requireNonNull(summary, "summary");
        this.issuedHere = issuedHere;
    }

    public String name() {
        return name;
    }

    public Path path() {
        return path;
    }

    public boolean issuedHere() {
        return issuedHere;
    }

    /** The self-signed certificate haproxy serves for unknown names; never renewed, never archived. */
    public boolean isFallback() {
        return FallbackCertificate.NAME.equals(name);
    }

    /** SHA-256 of the leaf (DER), lower-case hex: the certificate's identity. */
    public String fingerprint() {
        return summary.fingerprint();
    }

    public Set<String> dnsNames() {
        return summary.dnsNames();
    }

    public Instant notBefore() {
        return summary.notBefore();
    }

    public Instant notAfter() {
        return summary.notAfter();
    }

    public boolean isValidAt(Instant now) {
        return summary.isValidAt(now);
    }

    public boolean covers(String domain) {
        return summary.covers(domain);
    }

    public RenewalWindow renewalWindow() {
        RenewalWindow known = renewalWindow;
        if (known == null) {
            known = summary.renewalWindow();
            renewalWindow = known;
        }
        return known;
    }

    /**
     * The leaf certificate (for the CA's ARI questions and an order's {@code replaces}); empty when the file no longer
     * holds the certificate that was listed (replaced or removed since: the next listing sees what is there now).
     */
    public Optional<X509Certificate> leaf() {
        X509Certificate known = leaf;
        if (known == null) {
            known = readLeaf().filter(c -> CertificateSummary.fingerprintOf(c).equals(fingerprint())).orElse(null);
            leaf = known;
        }
        return Optional.ofNullable(known);
    }

    /** The first certificate of the file, which the store checked is the leaf when it listed the file. */
    private Optional<X509Certificate> readLeaf() {
        try {
            String pem = Files.readString(path, StandardCharsets.US_ASCII);
            int begin = pem.indexOf(BEGIN);
            int end = pem.indexOf(END, begin);
            if (begin < 0 || end < 0) {
                return Optional.empty();
            }
            byte[] block = pem.substring(begin, end + END.length()).getBytes(StandardCharsets.US_ASCII);
            return Optional.of((X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(block)));
        } catch (IOException | CertificateException | RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InstalledCertificate c && name.equals(c.name) && path.equals(c.path)
                && summary.equals(c.summary) && issuedHere == c.issuedHere;
    }

    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = Objects.hash(name, path, summary, issuedHere);
            hash = h;
        }
        return h;
    }

    @Override
    public String toString() {
        return "InstalledCertificate[" + name + ", " + String.join(",", dnsNames()) + ", until " + notAfter()
                + (issuedHere ? ", issued here" : "") + "]";
    }
}
