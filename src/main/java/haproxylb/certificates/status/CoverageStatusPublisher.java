package haproxylb.certificates.status;

import haproxylb.status.CertificateStatus;
import haproxylb.status.StatusBoard;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The certificate part of status.json as the coverage check last found it: states are staged as the check decides
 * them and written together, once per check (and once before an order, so the status shows what is being ordered
 * while the CA works), and only what changed. A write per domain cost 10,000 rewrites of status.json per check at
 * 10,000 domains.
 */
public final class CoverageStatusPublisher {
    private final StatusBoard status;
    /** What status.json says now, by domain. */
    private final Map<String, CertificateStatus> published = new HashMap<>();
    /** Changed states waiting for the next write (null: the domain left the map). */
    private final Map<String, CertificateStatus> unpublished = new LinkedHashMap<>();

    public CoverageStatusPublisher(StatusBoard status) {
        this.status = Objects.requireNonNull(status, "status");
    }

    /** {@code domain}'s state, kept for the next write if it changed. */
    public void stage(String domain, CertificateStatus state) {
        if (!state.equals(published.get(domain))) {
            published.put(domain, state);
            unpublished.put(domain, state);
        }
    }

    /** Clears the state of every published domain not in {@code current} (it left the map) at the next write. */
    public void dropAllBut(Set<String> current) {
        for (Iterator<String> it = published.keySet().iterator(); it.hasNext(); ) {
            String domain = it.next();
            if (!current.contains(domain)) {
                it.remove();
                unpublished.put(domain, null);
            }
        }
    }

    /** One write of status.json for everything staged since the last; none when nothing changed. */
    public void publish() {
        if (unpublished.isEmpty()) {
            return;
        }
        try (StatusBoard.Publication batch = status.publication()) {
            unpublished.forEach(status::certificate);
        }
        unpublished.clear();
    }
}
