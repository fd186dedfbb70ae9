package haproxylb.certificates.store;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;

/**
 * A certificate file in haproxy's crt directory.
 *
 * @param name       the file name without {@code .pem}
 * @param path       the file
 * @param bundle     its parsed content
 * @param issuedHere true when this daemon obtained it from the CA (see {@link CertificateStore}); false for
 *                   operator-supplied certificates and the fallback, which are never archived
 */
public record InstalledCertificate(String name, Path path, CertificateBundle bundle, boolean issuedHere) {

    /** The self-signed certificate haproxy serves for unknown names; never renewed, never archived. */
    public boolean isFallback() {
        return FallbackCertificate.NAME.equals(name);
    }

    public Set<String> dnsNames() {
        return bundle.dnsNames();
    }

    public Instant notBefore() {
        return bundle.notBefore();
    }

    public Instant notAfter() {
        return bundle.notAfter();
    }

    public boolean isValidAt(Instant now) {
        return bundle.isValidAt(now);
    }

    public boolean covers(String domain) {
        return bundle.covers(domain);
    }

    public RenewalWindow renewalWindow() {
        return bundle.renewalWindow();
    }
}
