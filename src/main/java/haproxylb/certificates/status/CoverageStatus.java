package haproxylb.certificates.status;

import haproxylb.certificates.policy.CaGate;
import haproxylb.certificates.policy.CoverageDecision;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.status.CertificateStatus;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * What one {@link CoverageDecision} means for each domain of its group, as {@code haproxy-config status} shows it.
 * Pure: reads the decision's inputs (installed certificates, backoff, renewal windows, clock) and the reachability
 * problems found during the check.
 *
 * <p>A domain whose certificate is valid and not due for renewal shows {@value #COVERED} whatever else is going on
 * in its group; the others show why nothing is served yet, or what is being done about it. The states
 * {@value #ISSUING} and {@value #RENEWING} are what the check is about to do; the coverage check replaces them with
 * what happened ({@link #replacePlanned}).
 */
public final class CoverageStatus {
    public static final String COVERED = "covered";
    static final String ISSUING = "issuing";
    public static final String RENEWING = "renewing";
    public static final String INSTALLING = "installing";
    public static final String PENDING = "pending";
    static final String SKIPPED = "skipped";
    static final String BACKING_OFF = "backing-off";
    public static final String NOT_COVERED = "not-covered";

    private CoverageStatus() {}

    /** Domain → status for every domain of the decision's group, in the group's order. */
    public static Map<String, CertificateStatus> of(CoverageDecision decision, CoverageDecision.Inputs in,
                                             Map<String, Optional<String>> reachability) {
        Instant now = in.clock().instant();
        String group = decision.group().name();
        Map<String, CertificateStatus> result = new LinkedHashMap<>();
        for (String domain : decision.group().domains()) {
            Optional<InstalledCertificate> cover = in.certificates().best(domain, now);
            boolean coveredNotDue = cover.isPresent()
                    && !(cover.get().issuedHere() && in.windows().apply(cover.get()).isDue(now));
            String waitingKey = !in.backoff().mayAttempt(domain) ? domain
                    : !in.backoff().mayAttempt(group) ? group : null;
            Optional<String> problem = reachability.getOrDefault(domain, Optional.empty());

            String state;
            String reason = null;
            if (decision instanceof CoverageDecision.Covered || coveredNotDue) {
                state = COVERED;
            } else if (decision instanceof CoverageDecision.NeedsIssue issue && issue.names().contains(domain)) {
                state = ISSUING;
            } else if (decision instanceof CoverageDecision.NeedsRenewal renewal && renewal.names().contains(domain)) {
                state = RENEWING;
            } else if (problem.isPresent()) {
                state = SKIPPED;
                reason = problem.get();
            } else if (waitingKey != null) {
                state = BACKING_OFF;
                reason = Optional.ofNullable(skipReason(decision, domain)).orElse("the last attempt for "
                        + (waitingKey.equals(domain) ? domain : "certificate " + group) + " failed; retried after the backoff");
            } else {
                state = SKIPPED;
                reason = skipReason(decision, domain);
            }
            String key = waitingKey != null ? waitingKey
                    : in.backoff().failures(domain) >= in.backoff().failures(group) ? domain : group;
            int step = in.backoff().failures(key);
            result.put(domain, new CertificateStatus(state,
                    cover.map(InstalledCertificate::name).orElse(null),
                    cover.map(c -> c.issuedHere() ? "issued" : "operator").orElse(null),
                    cover.map(c -> c.notAfter().toString()).orElse(null),
                    cover.filter(InstalledCertificate::issuedHere)
                            .map(c -> in.windows().apply(c).renewAt().toString()).orElse(null),
                    step,
                    waitingKey == null ? null : in.backoff().nextAttempt(waitingKey).map(Instant::toString).orElse(null),
                    step == 0 ? null : in.backoff().lastError(key).orElse(null),
                    reason).withLastErrorType(step == 0 ? null : in.backoff().lastErrorType(key).orElse(null)));
        }
        return result;
    }

    /** Replaces the planned states ({@value #ISSUING}, {@value #RENEWING}) by what {@code change} makes of them. */
    public static void replacePlanned(Map<String, CertificateStatus> statuses, UnaryOperator<CertificateStatus> change) {
        statuses.replaceAll((domain, s) -> s.state().equals(ISSUING) || s.state().equals(RENEWING) ? change.apply(s) : s);
    }

    /** {@code s} in another state, for another reason; the certificate fields stay. */
    public static CertificateStatus with(CertificateStatus s, String state, String reason) {
        return new CertificateStatus(state, s.certificate(), s.source(), s.expires(), s.nextRenewal(), s.backoffStep(),
                s.nextAttempt(), s.lastError(), reason).withLastErrorType(s.lastErrorType());
    }

    /** {@code s} waiting for the CA: its backoff step, next attempt and last error are the CA's. */
    public static CertificateStatus waitingForCa(CertificateStatus s, CaGate gate) {
        return new CertificateStatus(BACKING_OFF, s.certificate(), s.source(), s.expires(), s.nextRenewal(),
                gate.failures(), gate.nextAttempt().map(Instant::toString).orElse(null),
                gate.lastError().orElse(null), gate.reason()).withLastErrorType(gate.lastErrorType().orElse(null));
    }

    private static String skipReason(CoverageDecision decision, String domain) {
        if (decision instanceof CoverageDecision.Skipped skipped) {
            return skipped.reason();
        }
        if (decision instanceof CoverageDecision.NeedsIssue issue) {
            return issue.excluded().get(domain);
        }
        if (decision instanceof CoverageDecision.NeedsRenewal renewal) {
            return renewal.excluded().get(domain);
        }
        return null;
    }
}
