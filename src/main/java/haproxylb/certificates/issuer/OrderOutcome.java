package haproxylb.certificates.issuer;

import java.util.Optional;

/**
 * How an order went, beyond the certificate: worth keeping beside it and showing in the status.
 *
 * @param ca              the CA's short name ({@link AcmeSettings#caName()})
 * @param replaced        the ARI id of the certificate the CA accepted as replaced, if {@code replaces} was sent
 * @param replacesDropped why {@code replaces} was left out after the CA refused it (alreadyReplaced, malformed)
 * @param profile         the profile the certificate was ordered with, if any
 * @param profileNote     why the requested profile was not sent (the CA does not list it)
 */
public record OrderOutcome(String ca, Optional<String> replaced, Optional<String> replacesDropped,
                           Optional<String> profile, Optional<String> profileNote) {
    static OrderOutcome unknown() {
        return new OrderOutcome("", Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }
}
