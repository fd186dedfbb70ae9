package haproxylb.status;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The certificate state of one domain of the live map, as {@code haproxy-config status} shows it.
 *
 * @param state        covered, issuing, renewing, installing, skipped, backing-off, or not-covered (ACME off)
 * @param certificate  the file in haproxy's crt directory that serves the domain (without .pem), if any
 * @param source       issued (by haproxy-lb from the CA) or operator (dropped by hand; never renewed by haproxy-lb)
 * @param expires      when that certificate expires (ISO-8601)
 * @param nextRenewal  when haproxy-lb renews it (issued certificates only)
 * @param backoffStep  consecutive failed attempts (0 when none); the next attempt waits 1 min × 2^(step−1), ≤ 6 h
 * @param nextAttempt  when the next attempt may be made, while backing off
 * @param lastError    the error of the last failed attempt, while backing off
 * @param reason       why nothing is ordered now (skipped, backing-off, not-covered)
 * @param issuer       the ACME CA that issued the certificate (issued certificates only)
 * @param profile      the ACME profile it was ordered with, if any
 * @param ariWindow    the renewal window the CA suggests (ARI, RFC 9773), as {@code start/end}, if it offers one
 * @param ariExplanation the page the CA links to explain an unusual window, if any
 * @param note         something worth knowing about the last order (e.g. ARI's {@code replaces} refused and left out)
 * @param reachability how the name was last found to point at this balancer before an order (the configured
 *                     addresses, or a probe of the addresses it resolves to)
 * @param quota        per CA, the rate-limit budgets the name's certificate draws on: used, limit, when one frees up
 * @param lastErrorType the kind of the last error, while backing off: the ACME problem type without its prefix
 *                     ({@code rateLimited}, {@code unauthorized}, ...), {@code paused}, {@code unreachable}, ...
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CertificateStatus(String state, String certificate, String source, String expires, String nextRenewal,
                                int backoffStep, String nextAttempt, String lastError, String reason, String issuer,
                                String profile, String ariWindow, String ariExplanation, String note,
                                String reachability, java.util.List<String> quota, String lastErrorType) {

    public CertificateStatus(String state, String certificate, String source, String expires, String nextRenewal,
                             int backoffStep, String nextAttempt, String lastError, String reason) {
        this(state, certificate, source, expires, nextRenewal, backoffStep, nextAttempt, lastError, reason, null, null,
                null, null, null, null, null, null);
    }

    /** This status with where its certificate came from and what the CA says about its renewal. */
    public CertificateStatus withOrigin(String issuer, String profile, String ariWindow, String ariExplanation,
                                        String note) {
        return new CertificateStatus(state, certificate, source, expires, nextRenewal, backoffStep, nextAttempt,
                lastError, reason, issuer, profile, ariWindow, ariExplanation, note, reachability, quota,
                lastErrorType);
    }

    /** This status with how the name was judged to point here. */
    public CertificateStatus withReachability(String judgement) {
        return new CertificateStatus(state, certificate, source, expires, nextRenewal, backoffStep, nextAttempt,
                lastError, reason, issuer, profile, ariWindow, ariExplanation, note, judgement, quota, lastErrorType);
    }

    /** This status with the rate-limit budgets its certificate draws on. */
    public CertificateStatus withQuota(java.util.List<String> budgets) {
        return new CertificateStatus(state, certificate, source, expires, nextRenewal, backoffStep, nextAttempt,
                lastError, reason, issuer, profile, ariWindow, ariExplanation, note, reachability,
                budgets == null || budgets.isEmpty() ? null : java.util.List.copyOf(budgets), lastErrorType);
    }

    /** This status with the kind of its last error ({@code rateLimited}, {@code paused}, ...). */
    public CertificateStatus withLastErrorType(String type) {
        return new CertificateStatus(state, certificate, source, expires, nextRenewal, backoffStep, nextAttempt,
                lastError, reason, issuer, profile, ariWindow, ariExplanation, note, reachability, quota, type);
    }
}
