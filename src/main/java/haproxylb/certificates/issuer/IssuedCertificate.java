package haproxylb.certificates.issuer;

import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/** A certificate fresh from the CA. */
public record IssuedCertificate(List<String> domains, String chainPem, String privateKeyPem,
                                Instant notBefore, Instant notAfter, OrderOutcome outcome) {
    public IssuedCertificate {
        domains = List.copyOf(domains);
        outcome = outcome == null ? OrderOutcome.unknown() : outcome;
    }

    public IssuedCertificate(List<String> domains, String chainPem, String privateKeyPem, Instant notBefore,
                             Instant notAfter) {
        this(domains, chainPem, privateKeyPem, notBefore, notAfter, OrderOutcome.unknown());
    }

    /** The chain parsed, leaf first. */
    public List<X509Certificate> certificates() {
        try {
            return Pem.parseCertificates(chainPem.getBytes(StandardCharsets.US_ASCII));
        } catch (CertificateException e) {
            throw new IllegalStateException("chain PEM does not parse", e);
        }
    }

    public X509Certificate leaf() {
        return certificates().get(0);
    }

    /** Chain followed by the key: the single-file bundle haproxy loads. */
    public String haproxyPem() {
        return chainPem + privateKeyPem;
    }

    @Override
    public String toString() {
        return "IssuedCertificate" + domains + " valid " + notBefore + " .. " + notAfter;
    }
}
