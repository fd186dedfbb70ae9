package haproxylb.certificates.issuer;

import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.shredzone.acme4j.RenewalInfo;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.connector.Resource;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeNotSupportedException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ACME Renewal Information (ARI, RFC 9773) from one CA: its suggested renewal window for a certificate, and whether it
 * offers ARI at all. Holds back after a rateLimited answer until the CA's Retry-After.
 */
final class AcmeRenewalInfo {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeRenewalInfo.class);

    private final AcmeSettings settings;
    private final AcmeSessions sessions;
    private final AcmeErrors errors;
    /** The CA answered a renewalInfo request rateLimited with a Retry-After: no ARI question to it before then. */
    private volatile Instant notBefore = Instant.MIN;

    AcmeRenewalInfo(AcmeSettings settings, AcmeSessions sessions, AcmeErrors errors) {
        this.settings = settings;
        this.sessions = sessions;
        this.errors = errors;
    }

    /**
     * The CA's suggested renewal window for {@code cert}, or empty when the CA does not offer ARI or cannot be asked
     * right now (the caller then falls back to its own lifetime rule). After a rateLimited answer with a Retry-After,
     * the CA is not asked again before then (RFC 9773 section 4.3: clients honour Retry-After).
     */
    Optional<RenewalInfoWindow> window(X509Certificate cert) {
        if (Instant.now().isBefore(notBefore)) {
            LOG.debug("{}: renewal information not asked before {} (the CA's Retry-After)", settings.caName(), notBefore);
            return Optional.empty();
        }
        try {
            Session s = sessions.session();
            if (s.resourceUrlOptional(Resource.RENEWAL_INFO).isEmpty()) {
                LOG.debug("{} does not offer ACME renewal information", settings.caName());
                return Optional.empty();
            }
            RenewalInfo info = sessions.login().bindRenewalInfo(cert);
            Optional<Instant> retryAfter = info.fetch();
            return Optional.of(new RenewalInfoWindow(info.getSuggestedWindowStart(), info.getSuggestedWindowEnd(),
                    retryAfter, info.getExplanation()));
        } catch (AcmeNotSupportedException e) {
            return Optional.empty();
        } catch (AcmeRateLimitedException e) {
            e.getRetryAfter().ifPresent(t -> notBefore = t);
            LOG.warn("{}: renewal information rate limited{}: {}", settings.caName(),
                    e.getRetryAfter().map(t -> " until " + t).orElse(""), AcmeErrors.describe(e.getProblem()));
            return Optional.empty();
        } catch (AcmeException | IOException | RuntimeException e) {
            LOG.warn("{}: no renewal information for {}: {}", settings.caName(),
                    cert.getSubjectX500Principal().getName(), e.toString());
            sessions.forgetLogin();
            return Optional.empty();
        }
    }

    /** Whether the CA's directory lists a renewalInfo endpoint. */
    boolean offered() throws IssuanceException {
        try {
            return sessions.session().resourceUrlOptional(Resource.RENEWAL_INFO).isPresent();
        } catch (AcmeException e) {
            throw errors.translate(e, List.of());
        }
    }
}
