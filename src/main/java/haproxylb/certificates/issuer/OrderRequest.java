package haproxylb.certificates.issuer;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What to order.
 *
 * @param names    the names (the first becomes the subject)
 * @param replaces the certificate this order renews: sent as ARI's {@code replaces} (RFC 9773 section 5) when the
 *                 CA offers renewal information, which also exempts the renewal from Let's Encrypt's rate limits
 * @param profile  the certificate profile to ask for (draft-aaron-acme-profiles), when the CA lists it
 */
public record OrderRequest(List<String> names, Optional<X509Certificate> replaces, Optional<String> profile) {
    public OrderRequest {
        names = List.copyOf(names);
        Objects.requireNonNull(replaces, "replaces");
        profile = Objects.requireNonNull(profile, "profile").map(String::strip).filter(p -> !p.isEmpty());
    }

    public static OrderRequest of(List<String> names) {
        return new OrderRequest(names, Optional.empty(), Optional.empty());
    }
}
