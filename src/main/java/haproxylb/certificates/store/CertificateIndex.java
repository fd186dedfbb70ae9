package haproxylb.certificates.store;

import haproxylb.common.DomainName;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The installed certificates by the names they carry, so "which certificate covers this host" is two map lookups (the
 * exact name and the wildcard one label up) instead of a walk over every certificate: the coverage check asks it for
 * every mapped domain, and at 10,000 domains on 10,000 certificates the walk was 10^8 comparisons per check.
 */
public final class CertificateIndex {
    private final List<InstalledCertificate> all;
    private final Map<DomainName, List<Integer>> byName = new HashMap<>();

    private CertificateIndex(List<InstalledCertificate> installed) {
        this.all = List.copyOf(installed);
        for (int i = 0; i < all.size(); i++) {
            for (String name : all.get(i).dnsNames()) {
                if (name.isEmpty()) {
                    continue; // a blank name in a certificate matches no host
                }
                byName.computeIfAbsent(DomainName.of(name), k -> new ArrayList<>(1)).add(i);
            }
        }
    }

    public static CertificateIndex of(Collection<InstalledCertificate> installed) {
        return new CertificateIndex(List.copyOf(installed));
    }

    /** Every certificate, in the order given. */
    public List<InstalledCertificate> all() {
        return all;
    }

    /**
     * The certificate that serves {@code domain} at {@code now}: valid, not the fallback, covering it, with the latest
     * expiry; of two expiring at once, the one given first.
     */
    public Optional<InstalledCertificate> best(String domain, Instant now) {
        DomainName host = DomainName.of(domain);
        int best = -1;
        best = better(best, byName.get(host), now);
        Optional<DomainName> wildcard = host.wildcardAbove();
        if (wildcard.isPresent()) {
            best = better(best, byName.get(wildcard.get()), now);
        }
        return best < 0 ? Optional.empty() : Optional.of(all.get(best));
    }

    private int better(int best, List<Integer> candidates, Instant now) {
        if (candidates == null) {
            return best;
        }
        for (int i : candidates) {
            InstalledCertificate c = all.get(i);
            if (c.isFallback() || !c.isValidAt(now)) {
                continue;
            }
            if (best < 0) {
                best = i;
                continue;
            }
            int byExpiry = c.notAfter().compareTo(all.get(best).notAfter());
            if (byExpiry > 0 || byExpiry == 0 && i < best) {
                best = i;
            }
        }
        return best;
    }
}
