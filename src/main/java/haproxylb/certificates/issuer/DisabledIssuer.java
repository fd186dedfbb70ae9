package haproxylb.certificates.issuer;

import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * ACME off ({@code lb.acme.directory-url} empty): orders nothing. The coverage check still reports coverage and
 * archives; certificates come from the certificate inbox only.
 */
public final class DisabledIssuer implements Issuer {
    static final String WHY = "ACME is off (lb.acme.directory-url is empty)";

    @Override
    public String caName() {
        return "none";
    }

    @Override
    public String accountId() {
        return "none";
    }

    @Override
    public Optional<String> off() {
        return Optional.of(WHY);
    }

    @Override
    public IssuedCertificate issue(OrderRequest request) throws IssuanceException {
        throw new IssuanceException(IssuanceException.Kind.CONFIGURATION, WHY + ": drop a certificate into the "
                + "certificate inbox", request.names(), null, null, null);
    }

    @Override
    public Optional<RenewalInfoWindow> renewalInfo(X509Certificate certificate) {
        return Optional.empty();
    }

    @Override
    public boolean supportsRenewalInfo() {
        return false;
    }
}
