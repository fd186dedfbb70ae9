package haproxylb.certificates.issuer;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.PollableResource;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeNetworkException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.exception.AcmeUserActionRequiredException;

/**
 * Turns what acme4j throws, and orders or authorizations that went wrong, into {@link IssuanceException}s the
 * scheduler can act on (backoff, rate-limit ledger, next CA), with one line an operator can read.
 */
final class AcmeErrors {
    private static final String SERVER_INTERNAL = "urn:ietf:params:acme:error:serverInternal";
    private static final String BAD_NONCE = "urn:ietf:params:acme:error:badNonce";

    private final AcmeSettings settings;

    AcmeErrors(AcmeSettings settings) {
        this.settings = settings;
    }

    IssuanceException timeout(String what, List<? extends PollableResource> resources, Set<Status> waiting) {
        List<String> pendingNames = new ArrayList<>();
        for (PollableResource r : resources) {
            if (r instanceof Authorization a && waiting.contains(a.getStatus())) {
                pendingNames.add(a.getIdentifier().getValue());
            }
        }
        return new IssuanceException(IssuanceException.Kind.TIMEOUT, settings.caName() + ": gave up waiting for " + what
                + " after " + settings.timeout().toSeconds() + " s" + (pendingNames.isEmpty() ? "" : " (still pending: "
                + pendingNames + ")"), pendingNames, null, null, null);
    }

    IssuanceException orderFailed(Order order, List<String> names, String when) {
        Optional<String> problem = order.getError().map(AcmeErrors::describe);
        return new IssuanceException(IssuanceException.Kind.CA_REJECTED, settings.caName() + ": order for " + names
                + " is " + order.getStatus() + " " + when + problem.map(p -> ": " + p).orElse(""), names,
                problem.orElse(null), order.getError().map(AcmeErrors::typeOf).orElse(null), null, null);
    }

    IssuanceException translate(AcmeException e, List<String> names) {
        String ca = settings.caName();
        if (e instanceof AcmeNetworkException) {
            Throwable root = e.getCause() != null ? e.getCause() : e;
            return new IssuanceException(IssuanceException.Kind.CA_UNREACHABLE, ca + ": cannot reach the CA at "
                    + settings.directoryUrl() + ": " + describe(root), names, null, null, e);
        }
        if (e instanceof AcmeRateLimitedException rl) {
            String detail = describe(rl.getProblem());
            return new IssuanceException(IssuanceException.Kind.RATE_LIMITED, ca + ": rate limited for " + names + ": "
                    + detail + rl.getRetryAfter().map(t -> " (retry after " + t + ")").orElse(""), names, detail,
                    typeOf(rl.getProblem()), rl.getRetryAfter().orElse(null), e);
        }
        if (e instanceof AcmeUserActionRequiredException ua) {
            return new IssuanceException(IssuanceException.Kind.CONFIGURATION, ca + ": the CA requires operator action: "
                    + describe(ua.getProblem()) + ua.getTermsOfServiceUri().map(u -> " (terms: " + u + ")").orElse(""),
                    names, describe(ua.getProblem()), typeOf(ua.getProblem()), null, e);
        }
        if (e instanceof AcmeServerException se && badNonce(se)) {
            String detail = describe(se.getProblem());
            return new IssuanceException(IssuanceException.Kind.TRANSIENT, ca + ": the CA refused the anti-replay nonce "
                    + "of a request for " + names + " " + CaConnection.ROUNDS
                    * CaConnection.TRIES_PER_ROUND + " times in a row: " + detail, names, detail,
                    BAD_NONCE, null, e);
        }
        if (e instanceof AcmeServerException se) {
            String detail = describe(se.getProblem());
            String type = se.getType() == null ? "" : se.getType().toString();
            IssuanceException.Kind kind = SERVER_INTERNAL.equals(type) ? IssuanceException.Kind.CA_UNREACHABLE
                    : IssuanceException.Kind.CA_REJECTED;
            return new IssuanceException(kind, ca + ": request for " + names + " refused: " + detail, names, detail,
                    type, null, e);
        }
        if (e instanceof AcmeAccountStore.TermsNotAgreedException) {
            return new IssuanceException(IssuanceException.Kind.CONFIGURATION, ca + ": " + e.getMessage(), names, null, null, e);
        }
        String msg = String.valueOf(e.getMessage());
        if (msg.matches("(?s)HTTP 5\\d\\d.*")) {
            return new IssuanceException(IssuanceException.Kind.CA_UNREACHABLE, ca + ": the CA answered " + msg, names,
                    null, null, e);
        }
        return new IssuanceException(IssuanceException.Kind.CA_REJECTED, ca + ": " + msg, names, null, null, e);
    }

    /**
     * Whether the CA refused the request's anti-replay nonce: it then did nothing with the request, so the same
     * request may be sent again with a fresh nonce, and the refusal says nothing about the CA, the account or the names.
     */
    static boolean badNonce(AcmeServerException e) {
        return e.getType() != null && BAD_NONCE.equals(e.getType().toString());
    }

    static String typeOf(Problem p) {
        return p == null || p.getType() == null ? null : p.getType().toString();
    }

    /** The ACME problem type of the first failed challenge of {@code auth}, if any. */
    static Optional<String> problemTypeOf(Authorization auth) {
        for (Challenge c : auth.getChallenges()) {
            Optional<Problem> p = c.getError();
            if (p.isPresent()) {
                return Optional.ofNullable(typeOf(p.get()));
            }
        }
        return Optional.empty();
    }

    static Optional<String> problemOf(Authorization auth) {
        for (Challenge c : auth.getChallenges()) {
            Optional<Problem> p = c.getError();
            if (p.isPresent()) {
                return Optional.of(describe(p.get()));
            }
        }
        return Optional.empty();
    }

    static String describe(Problem p) {
        StringBuilder sb = new StringBuilder();
        sb.append(p.getDetail().orElseGet(() -> p.getTitle().orElse(String.valueOf(p.getType()))));
        for (Problem sub : p.getSubProblems()) {
            sb.append("; ").append(sub.getIdentifier().map(i -> i.getValue() + ": ").orElse(""))
                    .append(sub.getDetail().orElse(String.valueOf(sub.getType())));
        }
        return sb.toString();
    }

    /** "ConnectException: Connection refused", without repeating wrapper classes or messages. */
    static String describe(Throwable t) {
        List<String> parts = new ArrayList<>();
        Set<Throwable> seen = new LinkedHashSet<>();
        for (Throwable c = t; c != null && seen.add(c); c = c.getCause()) {
            String m = c.getMessage();
            String part = m == null || m.isBlank() ? c.getClass().getSimpleName() : m;
            if (parts.stream().noneMatch(p -> p.contains(part))) {
                parts.add(part);
            }
        }
        if (t instanceof AcmeNetworkException && parts.size() > 1) {
            parts.remove(0);
        }
        return String.join(": ", parts);
    }

    IssuanceException noChallenge(Authorization auth, String domain, String type) {
        return new IssuanceException(IssuanceException.Kind.CA_REJECTED, settings.caName() + " offers no " + type
                + " challenge for " + domain + " (offered: " + auth.getChallenges().stream().map(Challenge::getType)
                .collect(Collectors.joining(", ")) + ")", List.of(domain), null, null, null);
    }
}
