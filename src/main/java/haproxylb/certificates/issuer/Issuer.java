package haproxylb.certificates.issuer;

import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * Where certificates come from: a CA over ACME ({@link AcmeIssuer}) or, with ACME off, nowhere ({@link DisabledIssuer}).
 * The coverage check orders through this and never asks which one it has, except for {@link #off()}, which it shows.
 */
public interface Issuer {

    /** The CA's short name, for logs, the status and metrics. */
    String caName();

    /** Identifies the account at the CA in the rate-limit ledger: one account per directory URL. */
    String accountId();

    /** Why this issuer orders nothing at all (for the status and the log), or empty when it orders. */
    Optional<String> off();

    /** Orders one certificate for the request's names and waits for it. */
    IssuedCertificate issue(OrderRequest request) throws IssuanceException;

    /** The CA's suggested renewal window for a certificate it issued (ARI), if it offers one and answers. */
    Optional<RenewalInfoWindow> renewalInfo(X509Certificate certificate);

    /** Reads the CA's directory (no account, no order, no limit); throws when the CA does not answer. */
    boolean supportsRenewalInfo() throws IssuanceException;
}
