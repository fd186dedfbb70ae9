package haproxylb.certificates.status;

import haproxylb.certificates.policy.CertificateAuthority;
import haproxylb.certificates.policy.RateLimitLedger;
import haproxylb.certificates.policy.RenewalSchedule;
import haproxylb.certificates.store.CertificateStore;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.certificates.store.IssuedDetails;
import haproxylb.status.CertificateStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * What only the coverage check knows, added to a domain's {@link CoverageStatus}: how the name was judged to point
 * here, which CA issued its certificate with which profile, the CA's ARI window, any note on its order, and the
 * budgets an order for it would draw on.
 */
public final class CoverageStatusDetails {
    private final CertificateStore store;
    private final RenewalSchedule schedule;
    /** Every CA in the order they are tried. */
    private final List<CertificateAuthority> cas;
    /** How each name was found to point here. */
    private Function<String, Optional<String>> judgements = domain -> Optional.empty();
    private Map<String, InstalledCertificate> installedByName = Map.of();
    /** The origin of each certificate issued here, by fingerprint, as looked up during the running check. */
    private final Map<String, Origin> origins = new HashMap<>();

    public CoverageStatusDetails(CertificateStore store, RenewalSchedule schedule, List<CertificateAuthority> cas) {
        this.store = Objects.requireNonNull(store, "store");
        this.schedule = Objects.requireNonNull(schedule, "schedule");
        this.cas = Objects.requireNonNull(cas, "cas");
    }

    public void judgements(Function<String, Optional<String>> judgement) {
        this.judgements = Objects.requireNonNull(judgement, "judgement");
    }

    /** A check starts: the certificates it listed, by name; origins are looked up afresh. */
    public void startCheck(Map<String, InstalledCertificate> installedByName) {
        origins.clear();
        this.installedByName = installedByName;
    }

    /** {@code plain} with the details added. */
    public CertificateStatus complete(String domain, CertificateStatus plain) {
        CertificateStatus origin = withOrigin(plain);
        CertificateStatus judged = judgements.apply(domain).map(origin::withReachability).orElse(origin);
        return judged.withQuota(quota(domain));
    }

    /**
     * The budgets of every CA's ledger that an order for {@code domain} draws on (limits with nothing counted yet are
     * left out, so an idle name shows none), as "CA: limit (key): used of max per window, ...".
     */
    private List<String> quota(String domain) {
        List<String> lines = new ArrayList<>();
        for (CertificateAuthority ca : cas) {
            for (RateLimitLedger.Usage u : ca.ledger().usage(ca.accountId(), List.of(domain))) {
                if (u.used() > 0) {
                    lines.add(ca.name() + ": " + u.describe());
                }
            }
        }
        return lines;
    }

    /** Adds which CA issued the serving certificate, its profile, the CA's ARI window and any note on its order. */
    private CertificateStatus withOrigin(CertificateStatus s) {
        InstalledCertificate c = s.certificate() == null ? null : installedByName.get(s.certificate());
        if (c == null || !c.issuedHere()) {
            return s;
        }
        Origin o = origins.computeIfAbsent(c.fingerprint(), f -> origin(c));
        return s.withOrigin(o.ca(), o.profile(), o.ariWindow(), o.ariExplanation(), o.note());
    }

    /** Where a certificate issued here came from: the same for each of its names, so looked up once per check. */
    private record Origin(String ca, String profile, String ariWindow, String ariExplanation, String note) {}

    private Origin origin(InstalledCertificate c) {
        Optional<IssuedDetails> details = store.details(c.fingerprint());
        Optional<RenewalSchedule.Suggestion> ari = schedule.suggestion(c);
        return new Origin(details.map(IssuedDetails::ca).filter(ca -> !ca.isEmpty()).orElse(null),
                details.flatMap(IssuedDetails::profile).orElse(null),
                ari.map(a -> a.start() + "/" + a.end()).orElse(null),
                ari.flatMap(RenewalSchedule.Suggestion::explanation).map(Object::toString).orElse(null),
                details.flatMap(IssuedDetails::note).orElse(null));
    }
}
