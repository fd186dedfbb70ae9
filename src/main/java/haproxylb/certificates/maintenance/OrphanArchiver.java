package haproxylb.certificates.maintenance;

import haproxylb.certificates.store.CertificateStore;
import haproxylb.certificates.store.HaproxyCertificates;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.common.DomainName;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Archives the certificates issued here whose names have all left the backend map, and tells haproxy to drop them.
 * The fallback and operator-supplied certificates are never touched ({@link CertificateStore#archive} refuses them
 * too).
 */
final class OrphanArchiver {
    private static final Logger LOG = LoggerFactory.getLogger(OrphanArchiver.class);

    private final CertificateStore store;
    private final HaproxyCertificates haproxy;

    OrphanArchiver(CertificateStore store, HaproxyCertificates haproxy) {
        this.store = Objects.requireNonNull(store, "store");
        this.haproxy = Objects.requireNonNull(haproxy, "haproxy");
    }

    void archiveOrphans(Set<String> mapDomains, List<InstalledCertificate> installed) {
        // A certificate name covers a mapped domain when it is the domain, or the wildcard one label above it: the
        // set of both answers per name instead of per domain (CertificateBundle#covers).
        Set<String> coveringNames = new HashSet<>(mapDomains);
        mapDomains.forEach(d -> DomainName.of(d).wildcardAbove().ifPresent(w -> coveringNames.add(w.value())));
        for (InstalledCertificate c : installed) {
            if (!c.issuedHere() || c.isFallback() || c.dnsNames().stream().anyMatch(coveringNames::contains)) {
                continue;
            }
            try {
                Path archived = store.archive(c.name());
                HaproxyCertificates.Via via = haproxy.remove(c.path());
                LOG.info("certificate {} ({}): none of its names is in the backend map any more; archived to {} "
                        + "and dropped from haproxy ({})", c.name(), String.join(", ", c.dnsNames()), archived,
                        via == HaproxyCertificates.Via.RUNTIME_API ? "runtime API" : "by reload");
            } catch (IOException | RuntimeException e) {
                LOG.warn("certificate {}: could not archive it: {}", c.name(), e.getMessage());
            }
        }
    }
}
