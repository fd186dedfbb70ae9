package haproxylb.certificates.policy;

import haproxylb.certificates.store.CertificateIndex;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.certificates.store.RenewalWindow;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * What to do about one {@link CertificateGroup}: {@link Covered}, {@link NeedsIssue}, {@link NeedsRenewal} or
 * {@link Skipped} (with why). Pure: it reads the installed certificates, the backoff, the rate-limit ledger and the
 * clock, and changes nothing.
 *
 * <p>The rules, in order:
 * <ol>
 * <li>Each name is covered by the valid installed certificate (the fallback aside) with the latest expiry that covers
 *     it, whoever issued it.</li>
 * <li>All names covered and no certificate issued here due for renewal: {@link Covered}. Operator-supplied
 *     certificates are never renewed; once one expires its names are uncovered and get a certificate from the CA.</li>
 * <li>A wildcard group that is not covered: {@link Skipped} (HTTP-01 cannot validate wildcards).</li>
 * <li>Names that do not point at this balancer ({@link Reachability}) or whose own backoff key is waiting are left
 *     out of the order ({@code excluded}); if that leaves no uncovered name to order and nothing due for renewal, or
 *     no name at all, {@link Skipped}: an order is never placed just to repeat names that are covered and not due.
 *     {@link Reachability} is asked only here, for groups that would otherwise be ordered.</li>
 * <li>The group's own backoff key ({@link CertificateGroup#name()}) waiting, or the ledger refusing the order:
 *     {@link Skipped}, with the time it may be retried.</li>
 * <li>Otherwise {@link NeedsIssue} (some name uncovered) or {@link NeedsRenewal}.</li>
 * </ol>
 * The issuer should record a failure that concerns the whole order (CA unreachable, order refused) under the group
 * name, and a failed authorization under that domain, so one broken name does not hold back the others.
 */
public sealed interface CoverageDecision
        permits CoverageDecision.Covered, CoverageDecision.NeedsIssue, CoverageDecision.NeedsRenewal,
                CoverageDecision.Skipped {

    enum Kind { COVERED, NEEDS_ISSUE, NEEDS_RENEWAL, SKIPPED }

    Kind kind();

    CertificateGroup group();

    /** One line for logs and status. */
    String describe();

    /** Every name has a valid certificate; the earliest of them expires at {@code until}. */
    record Covered(CertificateGroup group, Instant until, Optional<Instant> renewAt) implements CoverageDecision {
        public Kind kind() {
            return Kind.COVERED;
        }

        public String describe() {
            return "covered until " + until + renewAt.map(r -> ", renewal from " + r).orElse("");
        }
    }

    /** Some name has no valid certificate: order one for {@code names}; {@code excluded} maps names left out to why. */
    record NeedsIssue(CertificateGroup group, List<String> names, Map<String, String> excluded)
            implements CoverageDecision {
        public Kind kind() {
            return Kind.NEEDS_ISSUE;
        }

        public String describe() {
            return "needs a certificate for " + String.join(", ", names) + excludedText(excluded);
        }
    }

    /**
     * The certificate {@code replacing} (issued here) is due for renewal since {@code since}: order one for
     * {@code names}. Pass {@code replacing} to the ACME order's {@code replaces} field where the CA supports ARI.
     */
    record NeedsRenewal(CertificateGroup group, Instant since, List<String> names, Map<String, String> excluded,
                        InstalledCertificate replacing) implements CoverageDecision {
        public Kind kind() {
            return Kind.NEEDS_RENEWAL;
        }

        public String describe() {
            return "renewal due since " + since + " for " + String.join(", ", names) + " (replacing "
                    + replacing.name() + ", expires " + replacing.notAfter() + ")" + excludedText(excluded);
        }
    }

    /** Nothing will be ordered now, because of {@code reason}; {@code retryAt} when that is known to change. */
    record Skipped(CertificateGroup group, String reason, Optional<Instant> retryAt) implements CoverageDecision {
        public Kind kind() {
            return Kind.SKIPPED;
        }

        public String describe() {
            return "skipped: " + reason;
        }
    }

    /** Whether a domain can be validated here: empty when it points at this balancer, else why not. */
    @FunctionalInterface
    interface Reachability {
        Optional<String> problem(String domain);

        /** Assumes every domain points here (tests, or a deployment that checks elsewhere). */
        static Reachability assumeAll() {
            return domain -> Optional.empty();
        }
    }

    /**
     * Everything a decision reads.
     *
     * @param windows the renewal window of an installed certificate: {@link InstalledCertificate#renewalWindow()}, or
     *                one the caller keeps with the CA's ARI window applied (keep it: its random point is chosen once)
     */
    record Inputs(CertificateIndex certificates, Backoff backoff, RateLimitLedger ledger, String accountId,
                  Reachability reachability, Function<InstalledCertificate, RenewalWindow> windows, Clock clock,
                  boolean dnsValidation) {
        public Inputs(List<InstalledCertificate> installed, Backoff backoff, RateLimitLedger ledger, String accountId,
                      Reachability reachability, Function<InstalledCertificate, RenewalWindow> windows, Clock clock,
                      boolean dnsValidation) {
            this(CertificateIndex.of(installed), backoff, ledger, accountId, reachability, windows, clock,
                    dnsValidation);
        }

        public Inputs(List<InstalledCertificate> installed, Backoff backoff, RateLimitLedger ledger, String accountId,
                      Reachability reachability, Function<InstalledCertificate, RenewalWindow> windows, Clock clock) {
            this(installed, backoff, ledger, accountId, reachability, windows, clock, false);
        }

        public Inputs {
            Objects.requireNonNull(certificates, "certificates");
            Objects.requireNonNull(backoff, "backoff");
            Objects.requireNonNull(ledger, "ledger");
            Objects.requireNonNull(accountId, "accountId");
            Objects.requireNonNull(reachability, "reachability");
            Objects.requireNonNull(windows, "windows");
            Objects.requireNonNull(clock, "clock");
        }

        /** Every domain assumed reachable, renewal by the one-third rule. */
        public static Inputs of(List<InstalledCertificate> installed, Backoff backoff, RateLimitLedger ledger,
                                String accountId, Clock clock) {
            return new Inputs(installed, backoff, ledger, accountId, Reachability.assumeAll(),
                    InstalledCertificate::renewalWindow, clock);
        }

        /** The installed certificates, in the order given. */
        public List<InstalledCertificate> installed() {
            return certificates.all();
        }

        public Inputs withReachability(Reachability r) {
            return new Inputs(certificates, backoff, ledger, accountId, r, windows, clock, dnsValidation);
        }

        /** The same, with {@code now} in place of the installed certificate of its name. */
        public Inputs withInstalled(InstalledCertificate now) {
            List<InstalledCertificate> updated = new java.util.ArrayList<>(installed());
            updated.removeIf(c -> c.name().equals(now.name()));
            updated.add(now);
            return new Inputs(updated, backoff, ledger, accountId, reachability, windows, clock, dnsValidation);
        }

        /** The same inputs judged by another CA's ledger and account. */
        public Inputs withLedger(RateLimitLedger otherLedger, String otherAccountId) {
            return new Inputs(certificates, backoff, otherLedger, otherAccountId, reachability, windows, clock,
                    dnsValidation);
        }

        /** With a DNS-01 provider, wildcard names can be ordered. */
        public Inputs withDnsValidation(boolean on) {
            return new Inputs(certificates, backoff, ledger, accountId, reachability, windows, clock, on);
        }

        public Inputs withWindows(Function<InstalledCertificate, RenewalWindow> w) {
            return new Inputs(certificates, backoff, ledger, accountId, reachability, w, clock, dnsValidation);
        }
    }

    static CoverageDecision decide(CertificateGroup group, Inputs in) {
        Instant now = in.clock().instant();
        Map<String, InstalledCertificate> cover = new LinkedHashMap<>();
        List<String> uncovered = new ArrayList<>();
        for (String domain : group.domains()) {
            in.certificates().best(domain, now).ifPresentOrElse(c -> cover.put(domain, c), () -> uncovered.add(domain));
        }
        // Loops rather than streams: this runs for every group of every check, the first after a start on a cold JVM.
        Set<InstalledCertificate> covering = new LinkedHashSet<>(cover.values());
        InstalledCertificate due = null;
        Instant dueAt = null;
        Instant until = null;
        Instant renewAt = null;
        for (InstalledCertificate c : covering) {
            if (until == null || c.notAfter().isBefore(until)) {
                until = c.notAfter();
            }
            if (!c.issuedHere()) {
                continue;
            }
            RenewalWindow window = in.windows().apply(c);
            if (renewAt == null || window.renewAt().isBefore(renewAt)) {
                renewAt = window.renewAt();
            }
            // the earliest due, the first of equals
            if (window.isDue(now) && (due == null || window.renewAt().isBefore(dueAt))) {
                due = c;
                dueAt = window.renewAt();
            }
        }

        if (uncovered.isEmpty() && due == null) {
            if (until == null) {
                throw new IllegalArgumentException("group " + group.name() + " has no domains");
            }
            return new Covered(group, until, Optional.ofNullable(renewAt));
        }
        if (!uncovered.isEmpty() && group.isWildcard() && !in.dnsValidation()) {
            String wildcards = uncovered.stream().filter(d -> d.startsWith("*.")).collect(
                    java.util.stream.Collectors.joining(", "));
            return new Skipped(group, "wildcard " + (wildcards.isEmpty() ? String.join(", ", uncovered) : wildcards)
                    + " needs DNS-01 (HTTP-01 cannot validate wildcards): set lb.acme.dns.* (provider rfc2136 or exec), "
                    + "or supply a certificate by hand (certificate inbox)", Optional.empty());
        }

        Map<String, String> excluded = new TreeMap<>();
        List<Instant> excludedUntil = new ArrayList<>();
        for (String domain : group.domains()) {
            Optional<String> problem = in.reachability().problem(domain);
            if (problem.isPresent()) {
                excluded.put(domain, problem.get());
            } else if (!in.backoff().mayAttempt(domain)) {
                excluded.put(domain, backingOff(in.backoff(), domain));
                in.backoff().nextAttempt(domain).ifPresent(excludedUntil::add);
            }
        }
        List<String> names = group.domains().stream().filter(d -> !excluded.containsKey(d)).toList();
        boolean issuable = uncovered.stream().anyMatch(d -> !excluded.containsKey(d));
        if (names.isEmpty() || (!issuable && due == null)) {
            Set<String> blocking = new HashSet<>(names.isEmpty() ? group.domains() : uncovered);
            StringJoiner reason = new StringJoiner("; ");
            excluded.forEach((d, why) -> {
                if (blocking.contains(d)) {
                    reason.add(d + ": " + why);
                }
            });
            return new Skipped(group, reason.toString(), excludedUntil.stream().min(Comparator.naturalOrder()));
        }

        if (!in.backoff().mayAttempt(group.name())) {
            return new Skipped(group, backingOff(in.backoff(), group.name()), in.backoff().nextAttempt(group.name()));
        }
        boolean renewal = !issuable;
        boolean sameNames = due != null && due.dnsNames().equals(new HashSet<>(names));
        Optional<RateLimitLedger.Refusal> refusal = in.ledger().check(in.accountId(), names, renewal && sameNames);
        if (refusal.isPresent()) {
            return new Skipped(group, "rate limit: " + refusal.get().message(), Optional.of(refusal.get().freesAt()));
        }
        if (renewal) {
            return new NeedsRenewal(group, dueAt, names, excluded, due);
        }
        return new NeedsIssue(group, names, excluded);
    }

    private static String backingOff(Backoff backoff, String key) {
        return "backing off after " + backoff.failures(key) + " failure" + (backoff.failures(key) == 1 ? "" : "s")
                + backoff.lastError(key).filter(e -> !e.isBlank()).map(e -> " (last: " + e + ")").orElse("")
                + backoff.nextAttempt(key).map(t -> "; next attempt at " + t).orElse("");
    }

    private static String excludedText(Map<String, String> excluded) {
        if (excluded.isEmpty()) {
            return "";
        }
        StringJoiner text = new StringJoiner("; ", " (left out: ", ")");
        excluded.forEach((d, why) -> text.add(d + ": " + why));
        return text.toString();
    }
}
