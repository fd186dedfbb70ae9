package haproxylb.certificates.policy;

import haproxylb.certificates.issuer.IssuanceException;
import haproxylb.common.Causes;
import java.util.List;
import java.util.Set;
import org.shredzone.acme4j.exception.AcmeNetworkException;

/**
 * Whose failure a failed issuance is, which decides what backs off: the names whose authorization failed (they are
 * left out of the group's next order, so one broken name does not hold back the others, and each counts against the
 * CA's failed-validation limit), the group (the order as a whole), the CA (every group waits, see {@link CaGate}), or
 * nobody (the daemon is shutting down, or the CA refused a nonce past every retry).
 *
 * @param kind    whose failure
 * @param domains for {@link Kind#DOMAINS}: the names that failed
 */
public record FailureScope(Kind kind, List<String> domains) {
    public enum Kind {
        /** Authorizations failed for {@link #domains()}: back off each of them; the ledger counts each. */
        DOMAINS,
        /** The order failed as a whole (refused, rate limited, timed out): back off the group. */
        GROUP,
        /** The CA answered with a server error, or the account needs the operator: back off the CA. */
        CA,
        /** The CA could not be reached at all: back off the CA, resume as soon as its directory answers. */
        CA_UNREACHABLE,
        /**
         * Interrupted (shutting down), or a transient refusal (a stale anti-replay nonce): nothing went wrong with the
         * CA or the names; record nothing, order again at the next check.
         */
        NONE
    }

    public FailureScope {
        domains = List.copyOf(domains);
    }

    public static FailureScope of(IssuanceException e, List<String> ordered) {
        return switch (e.kind()) {
            case AUTHORIZATION_FAILED -> {
                List<String> failed = e.failedDomains().stream().filter(Set.copyOf(ordered)::contains).toList();
                yield new FailureScope(Kind.DOMAINS, failed.isEmpty() ? ordered : failed);
            }
            case CA_UNREACHABLE -> new FailureScope(Causes.find(e, AcmeNetworkException.class).isPresent()
                    ? Kind.CA_UNREACHABLE : Kind.CA, List.of());
            case CONFIGURATION -> new FailureScope(Kind.CA, List.of());
            case LOCAL -> new FailureScope(e.getCause() instanceof InterruptedException ? Kind.NONE : Kind.CA, List.of());
            case TRANSIENT -> new FailureScope(Kind.NONE, List.of());
            case RATE_LIMITED, CA_REJECTED, TIMEOUT, DNS_PROVIDER -> new FailureScope(Kind.GROUP, List.of());
        };
    }
}
