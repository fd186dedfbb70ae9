package haproxylb.certificates.issuer;

import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;

/**
 * Issues certificates with acme4j 4.0 from one CA: one order per call, HTTP-01 answered by the daemon's
 * {@link ChallengeResponder}, short polling bounded by {@link AcmeSettings#timeout()} that honours the CA's
 * Retry-After, a fresh domain key per certificate (ECDSA P-256 by default). The work is done beside it:
 * {@link AcmeOrdering} (an order from creation to download) with {@link AcmeAuthorizations} (its challenges),
 * {@link AcmeRenewalInfo} (ARI), {@link AcmeSessions} (directory and login), {@link AcmePolling}, {@link AcmeErrors}.
 *
 * <p>The CA's TLS listener is verified against the JVM's trust anchors plus, when configured,
 * {@link AcmeSettings#extraTrustedCaPem()} ({@link TrustingProvider}); no JVM-global property is set.
 *
 * <p>Not designed for concurrent {@link #issue} calls on one instance sharing domains; distinct calls are safe.
 */
public final class AcmeIssuer implements Issuer {
    private final AcmeSettings settings;
    private final AcmeOrdering ordering;
    private final AcmeRenewalInfo renewalInfo;

    public AcmeIssuer(AcmeSettings settings, AcmeAccountStore accounts, ChallengeResponder responder) {
        this(settings, accounts, responder, null);
    }

    /** @param dns DNS-01 for wildcards and the names it asks for; null: HTTP-01 only */
    public AcmeIssuer(AcmeSettings settings, AcmeAccountStore accounts, ChallengeResponder responder,
                      DnsChallenges dns) {
        this.settings = Objects.requireNonNull(settings, "settings");
        AcmeSessions sessions = new AcmeSessions(settings, Objects.requireNonNull(accounts, "accounts"),
                new TrustingProvider(settings));
        AcmeErrors errors = new AcmeErrors(settings);
        AcmePolling polling = new AcmePolling(settings.pollInterval(), errors);
        AcmeAuthorizations authorizations = new AcmeAuthorizations(settings, errors, polling,
                Objects.requireNonNull(responder, "responder"), dns);
        this.ordering = new AcmeOrdering(settings, sessions, errors, polling, authorizations);
        this.renewalInfo = new AcmeRenewalInfo(settings, sessions, errors);
        BouncyCastle.ensureRegistered();
    }

    @Override
    public String caName() {
        return settings.caName();
    }

    @Override
    public String accountId() {
        return settings.directoryUrl();
    }

    @Override
    public Optional<String> off() {
        return Optional.empty();
    }

    public AcmeSettings settings() {
        return settings;
    }

    /**
     * Orders one certificate for the request's names (the first becomes the subject; all are SANs), answers every
     * challenge (HTTP-01 through the responder, DNS-01 through the DNS provider) and downloads the chain; challenge
     * tokens are removed when done, whatever the outcome. With ARI's {@code replaces} and a profile when the request
     * has them and the CA offers them. A CA that refuses {@code replaces} ({@code alreadyReplaced}: another order
     * already replaced that certificate; {@code malformed}: it does not know it) gets the order once more without it,
     * and the outcome says why.
     */
    @Override
    public IssuedCertificate issue(OrderRequest request) throws IssuanceException {
        return ordering.issue(request);
    }

    /**
     * The CA's suggested renewal window for {@code cert} (ARI), or empty when the CA does not offer ARI or cannot
     * be asked right now (the caller then falls back to its own lifetime rule).
     */
    @Override
    public Optional<RenewalInfoWindow> renewalInfo(X509Certificate cert) {
        return renewalInfo.window(cert);
    }

    /** Whether the CA's directory lists a renewalInfo endpoint (ARI). */
    @Override
    public boolean supportsRenewalInfo() throws IssuanceException {
        return renewalInfo.offered();
    }
}
