package haproxylb.certificates.issuer;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/** Why an issuance failed, in terms the scheduler (backoff, rate-limit ledger) can act on. */
public final class IssuanceException extends Exception {
    private static final long serialVersionUID = 1L;

    public enum Kind {
        /** An authorization became INVALID: counts against the CA's failed-validation limit for these names. */
        AUTHORIZATION_FAILED,
        /** The CA could not be reached or answered with a server error: retry later, nothing was counted. */
        CA_UNREACHABLE,
        /** The CA said we are over one of its rate limits ({@link #retryAfter()} says until when). */
        RATE_LIMITED,
        /** The CA refused the request (e.g. a name it will not issue for, a bad CSR, an order that went INVALID). */
        CA_REJECTED,
        /** The whole issuance took longer than the configured timeout. */
        TIMEOUT,
        /** Account set-up needs the operator (terms of service not agreed, new terms to accept). */
        CONFIGURATION,
        /** A local problem (account key unreadable, interrupted). */
        LOCAL,
        /** The DNS provider could not publish a DNS-01 record, or it did not become visible in time. */
        DNS_PROVIDER,
        /**
         * The CA refused a request for a reason that blames neither the CA, the account nor the names: its
         * anti-replay nonce ({@code badNonce}), still after every retry. Ordered again at the next check; nothing backs
         * off.
         */
        TRANSIENT
    }

    private final Kind kind;
    private final List<String> failedDomains;
    private final String caProblem;
    private final String problemType;
    private final Instant retryAfter;

    public IssuanceException(Kind kind, String message, List<String> failedDomains, String caProblem,
                             Instant retryAfter, Throwable cause) {
        this(kind, message, failedDomains, caProblem, null, retryAfter, cause);
    }

    /** @param problemType the ACME problem type the CA answered with ({@code urn:ietf:params:acme:error:...}) */
    public IssuanceException(Kind kind, String message, List<String> failedDomains, String caProblem,
                             String problemType, Instant retryAfter, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
        this.failedDomains = failedDomains == null ? List.of() : List.copyOf(failedDomains);
        this.caProblem = caProblem;
        this.problemType = problemType;
        this.retryAfter = retryAfter;
    }

    public Kind kind() {
        return kind;
    }

    /** True when an authorization failed at the CA: counts against "5 failed validations per name per hour". */
    public boolean failedAuthorization() {
        return kind == Kind.AUTHORIZATION_FAILED;
    }

    /** True when the CA was not reachable (network error, 5xx): nothing was counted against any limit. */
    public boolean caUnreachable() {
        return kind == Kind.CA_UNREACHABLE;
    }

    /** The names whose authorization failed (or, for other kinds, the names concerned when known). */
    public List<String> failedDomains() {
        return failedDomains;
    }

    /** The first failed name, if any. */
    public Optional<String> domain() {
        return failedDomains.stream().findFirst();
    }

    /** The CA's problem detail, if the CA sent one. */
    public Optional<String> caProblem() {
        return Optional.ofNullable(caProblem);
    }

    public Optional<Instant> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    /**
     * True when the CA has paused these names for this account: Let's Encrypt answers {@code rateLimited} (or, at
     * some CAs, {@code unauthorized}) with a detail that links to an "unpause" page. No Retry-After ends it; an
     * operator has to unpause the names, and another CA may issue meanwhile.
     */
    public boolean paused() {
        return (kind == Kind.RATE_LIMITED || kind == Kind.CA_REJECTED)
                && mentionsPause(caProblem().orElse(String.valueOf(getMessage())));
    }

    /**
     * A short, bounded name for what went wrong, fit for a metric label: the ACME problem type without its
     * {@code urn:ietf:params:acme:error:} prefix when it is one of RFC 8555's (or ARI's {@code alreadyReplaced}),
     * {@code paused} for paused names, else a name for the kind ({@code unreachable}, {@code timeout}, ...).
     * Never the CA's free-form text.
     */
    public String errorType() {
        if (paused()) {
            return "paused";
        }
        Optional<String> acme = Optional.ofNullable(problemType).filter(t -> t.startsWith(ACME_ERROR_PREFIX))
                .map(t -> t.substring(ACME_ERROR_PREFIX.length())).filter(ACME_ERROR_TYPES::contains);
        if (acme.isPresent()) {
            return acme.get();
        }
        return switch (kind) {
            case AUTHORIZATION_FAILED -> "authorizationFailed";
            case CA_UNREACHABLE -> "unreachable";
            case RATE_LIMITED -> "rateLimited";
            case CA_REJECTED -> "rejected";
            case TIMEOUT -> "timeout";
            case CONFIGURATION -> "userActionRequired";
            case LOCAL -> "local";
            case DNS_PROVIDER -> "dnsProvider";
            case TRANSIENT -> "transient";
        };
    }

    private static final String ACME_ERROR_PREFIX = "urn:ietf:params:acme:error:";

    /** Let's Encrypt's paused-names answers say "paused" or link to an "unpause" page. */
    static boolean mentionsPause(String problemDetail) {
        String text = problemDetail.toLowerCase(Locale.ROOT);
        return text.contains("paused") || text.contains("unpause");
    }
    /**
     * The problem types of RFC 8555 section 6.7 (the IANA "ACME Error Types" registry), RFC 9773's alreadyReplaced
     * and the profiles draft's invalidProfile: the only ones that become a metric label, so a CA cannot grow the label
     * set.
     */
    private static final Set<String> ACME_ERROR_TYPES = Set.of("accountDoesNotExist", "alreadyReplaced",
            "alreadyRevoked", "badCSR", "badNonce", "badPublicKey", "badRevocationReason", "badSignatureAlgorithm",
            "caa", "compound", "connection", "dns", "externalAccountRequired", "incorrectResponse", "invalidContact",
            "invalidProfile", "malformed", "orderNotReady", "rateLimited", "rejectedIdentifier", "serverInternal", "tls",
            "unauthorized", "unsupportedContact", "unsupportedIdentifier", "userActionRequired");
}
