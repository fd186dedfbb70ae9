package haproxylb.certificates.issuer;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.challenge.Dns01Challenge;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The authorizations of one order: every pending one answered (HTTP-01 through the daemon's {@link ChallengeResponder},
 * DNS-01 through the DNS provider for wildcards and the names it is set up for), waited for, and the failures
 * reported together. What was published for the CA is withdrawn when the order is done, whatever its outcome.
 */
final class AcmeAuthorizations {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeAuthorizations.class);

    private final AcmeSettings settings;
    private final AcmeErrors errors;
    private final AcmePolling polling;
    private final ChallengeResponder responder;
    /** Null: HTTP-01 only. */
    private final DnsChallenges dns;

    AcmeAuthorizations(AcmeSettings settings, AcmeErrors errors, AcmePolling polling, ChallengeResponder responder,
                       DnsChallenges dns) {
        this.settings = settings;
        this.errors = errors;
        this.polling = polling;
        this.responder = responder;
        this.dns = dns;
    }

    boolean dnsChallenges() {
        return dns != null;
    }

    /** The challenge answers published for one order (HTTP-01 tokens, DNS-01 TXT records). */
    static final class Published {
        private final List<String> tokens = new ArrayList<>();
        private final List<DnsChallenges.TxtRecord> txtRecords = new ArrayList<>();
    }

    /**
     * Answers every pending authorization of {@code order} and waits until the CA has validated them all; throws
     * {@link IssuanceException.Kind#AUTHORIZATION_FAILED} naming each name that failed. What it publishes is added
     * to {@code published}, also when it throws.
     */
    void authorize(Order order, List<String> names, Published published, Instant deadline)
            throws AcmeException, InterruptedException, IssuanceException {
        List<Authorization> waiting = new ArrayList<>();
        List<Challenge> dnsChallenges = new ArrayList<>();
        for (Authorization auth : order.getAuthorizations()) {
            Status status = auth.getStatus();
            String domain = auth.getIdentifier().getValue();
            if (status == Status.VALID) {
                LOG.debug("{}: authorization for {} is already valid", settings.caName(), domain);
                continue;
            }
            if (status != Status.PENDING) {
                throw new IssuanceException(IssuanceException.Kind.CA_REJECTED, settings.caName() + ": authorization for "
                        + domain + " is " + status + " before any challenge was answered", List.of(domain),
                        AcmeErrors.problemOf(auth).orElse(null), null, null);
            }
            if (dns != null && (auth.isWildcard() || dns.usesDns(domain))) {
                Dns01Challenge challenge = auth.findChallenge(Dns01Challenge.class).orElseThrow(() -> errors.noChallenge(
                        auth, domain, Dns01Challenge.TYPE));
                DnsChallenges.TxtRecord txt = new DnsChallenges.TxtRecord(challenge.getRRName(auth.getIdentifier()),
                        challenge.getDigest());
                try {
                    published.txtRecords.add(txt);
                    dns.publish(txt);
                } catch (IOException e) {
                    throw new IssuanceException(IssuanceException.Kind.DNS_PROVIDER, settings.caName() + ": DNS-01 for "
                            + (auth.isWildcard() ? "*." : "") + domain + ": cannot publish TXT " + txt.fqdn() + ": "
                            + e.getMessage(), List.of(domain), null, null, e);
                }
                if (challenge.getStatus() == Status.PENDING) {
                    dnsChallenges.add(challenge);
                }
                waiting.add(auth);
                continue;
            }
            Http01Challenge challenge = auth.findChallenge(Http01Challenge.class).orElseThrow(() -> new IssuanceException(
                    IssuanceException.Kind.CA_REJECTED, settings.caName() + " offers no http-01 challenge for " + domain
                    + " (offered: " + auth.getChallenges().stream().map(Challenge::getType).collect(Collectors.joining(", "))
                    + ")", List.of(domain), null, null, null));
            responder.put(challenge.getToken(), challenge.getAuthorization());
            published.tokens.add(challenge.getToken());
            if (challenge.getStatus() == Status.PENDING) {
                challenge.trigger();
            }
            waiting.add(auth);
        }
        if (!dnsChallenges.isEmpty()) {
            try {
                dns.awaitPropagation(published.txtRecords);
            } catch (IOException e) {
                throw new IssuanceException(IssuanceException.Kind.DNS_PROVIDER, settings.caName() + ": DNS-01 for " + names
                        + ": " + e.getMessage(), names, null, null, e);
            }
            for (Challenge c : dnsChallenges) {
                c.trigger();
            }
        }
        polling.awaitAll(waiting, Set.of(Status.PENDING, Status.PROCESSING), deadline, "validation of " + names);
        throwIfAnyFailed(waiting);
    }

    /** Takes back what {@link #authorize} published. */
    void withdraw(Published published) {
        published.tokens.forEach(responder::remove);
        if (dns != null) {
            published.txtRecords.forEach(dns::withdraw);
        }
    }

    private void throwIfAnyFailed(List<Authorization> answered) throws IssuanceException {
        List<String> failed = new ArrayList<>();
        List<String> details = new ArrayList<>();
        String firstProblem = null;
        String firstProblemType = null;
        for (Authorization auth : answered) {
            Status status = auth.getStatus();
            if (status == Status.VALID) {
                continue;
            }
            String domain = auth.getIdentifier().getValue();
            Optional<String> problem = AcmeErrors.problemOf(auth);
            failed.add(domain);
            details.add("authorization for " + domain + " is " + status + problem.map(p -> ": " + p).orElse(""));
            if (firstProblem == null) {
                firstProblem = problem.orElse(null);
                firstProblemType = AcmeErrors.problemTypeOf(auth).orElse(null);
            }
        }
        if (!failed.isEmpty()) {
            String message = settings.caName() + ": " + String.join("; ", details);
            LOG.warn(message);
            throw new IssuanceException(IssuanceException.Kind.AUTHORIZATION_FAILED, message, failed, firstProblem,
                    firstProblemType, null, null);
        }
    }
}
