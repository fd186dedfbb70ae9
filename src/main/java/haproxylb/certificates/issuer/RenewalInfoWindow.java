package haproxylb.certificates.issuer;

import java.net.URL;
import java.time.Instant;
import java.util.Optional;

/**
 * The renewal window suggested by the CA (ACME Renewal Information, RFC 9773).
 *
 * @param start       renew after this instant
 * @param end         renew before this instant
 * @param retryAfter  when to ask the CA again (its Retry-After), if it said
 * @param explanation a page explaining an unusual window (e.g. a mass revocation), if any
 */
public record RenewalInfoWindow(Instant start, Instant end, Optional<Instant> retryAfter, Optional<URL> explanation) {}
