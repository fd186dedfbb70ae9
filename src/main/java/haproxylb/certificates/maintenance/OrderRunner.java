package haproxylb.certificates.maintenance;

import haproxylb.certificates.issuer.IssuanceException;
import haproxylb.certificates.issuer.IssuedCertificate;
import haproxylb.certificates.issuer.Issuer;
import haproxylb.certificates.issuer.OrderRequest;
import haproxylb.certificates.policy.Backoff;
import haproxylb.certificates.policy.CaGate;
import haproxylb.certificates.policy.CertificateAuthority;
import haproxylb.certificates.policy.CertificateGroup;
import haproxylb.certificates.policy.CoverageDecision;
import haproxylb.certificates.policy.CoverageDecision.NeedsIssue;
import haproxylb.certificates.policy.CoverageDecision.NeedsRenewal;
import haproxylb.certificates.policy.FailureScope;
import haproxylb.certificates.policy.ProfileChoice;
import haproxylb.certificates.policy.RateLimitLedger;
import haproxylb.certificates.status.CoverageStatus;
import haproxylb.certificates.store.CertificateBundle;
import haproxylb.certificates.store.CertificateProblem;
import haproxylb.certificates.store.CertificateStore;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.certificates.store.IssuedDetails;
import haproxylb.common.AtomicFiles;
import haproxylb.status.CertificateStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coverage check's orders: one group at a time, from the CAs in the order they are tried, skipping a CA whose
 * gate is closed or whose ledger refuses, until one issues or fails for a reason another CA would not change. A new
 * certificate is recorded as issued here ({@link CertificateStore#recordIssued}) and handed to the certificate inbox
 * as {@code <group>.pem} (atomically, mode 0600). Failures back off the domains, the group or the CA
 * ({@link FailureScope}) and are counted in the ledger; the {@link AttemptRecords} are saved before every order and
 * after every outcome.
 */
final class OrderRunner {
    private static final Logger LOG = LoggerFactory.getLogger(OrderRunner.class);

    /** Every CA in the order they are tried. */
    private final List<CertificateAuthority> cas;
    private final Backoff backoff;
    private final CertificateStore store;
    private final Path inbox;
    private final ProfileChoice profiles;
    private final AttemptRecords records;
    private final Clock clock;
    /** True once the daemon is stopping: no second round of an order. */
    private final BooleanSupplier stopping;
    /** Per CA, whether it may be sent orders in the running check (asked once per check). */
    private final Map<CertificateAuthority, Boolean> open = new HashMap<>();
    private final AtomicLong orders = new AtomicLong();
    /** "CA\nerror type" → failed orders since start, for the metrics. */
    private final Map<String, Long> errors = new ConcurrentSkipListMap<>();
    /** The gate of the CA an order last failed at as a whole, for the status of the names waiting for it. */
    private CaGate lastClosedGate;

    OrderRunner(List<CertificateAuthority> cas, CaGate firstGate, Backoff backoff, CertificateStore store, Path inbox,
                ProfileChoice profiles, AttemptRecords records, Clock clock, BooleanSupplier stopping) {
        this.cas = cas;
        this.lastClosedGate = firstGate;
        this.backoff = backoff;
        this.store = store;
        this.inbox = inbox;
        this.profiles = profiles;
        this.records = records;
        this.clock = clock;
        this.stopping = stopping;
    }

    /** Each check asks each CA's gate afresh. */
    void startCheck() {
        open.clear();
    }

    /** Orders sent to the CAs since start (successful or not). */
    long attempts() {
        return orders.get();
    }

    /** Failed orders since start, by "CA\nerror type". */
    Map<String, Long> errors() {
        return errors;
    }

    /**
     * Orders the decision's names; after authorizations failed for some of them, orders once more without those (the
     * decision, made again, leaves them out while they back off), so the others are not held back until the next
     * check. Returns the group's status afterwards.
     */
    Map<String, CertificateStatus> order(CertificateGroup group, CoverageDecision decision, String certName,
                                         CoverageDecision.Inputs in, Map<String, Optional<String>> problems, int firstCa) {
        for (int round = 1; ; round++) {
            List<String> names = decision instanceof NeedsIssue i ? i.names() : ((NeedsRenewal) decision).names();
            Optional<InstalledCertificate> replacing = decision instanceof NeedsRenewal r
                    ? Optional.of(r.replacing()) : Optional.empty();
            Optional<FailureScope> failure = orderFromCas(group, certName, names, replacing, firstCa);
            Map<String, CertificateStatus> after = CoverageStatus.of(decision, in, problems);
            if (failure.isEmpty()) {
                CoverageStatus.replacePlanned(after, st -> CoverageStatus.with(st, CoverageStatus.INSTALLING,
                        "issued; waiting for the certificate inbox to install " + certName + ".pem"));
                return after;
            }
            if (failure.get().kind() == FailureScope.Kind.CA || failure.get().kind() == FailureScope.Kind.CA_UNREACHABLE) {
                CaGate closed = lastClosedGate;
                CoverageStatus.replacePlanned(after, st -> CoverageStatus.waitingForCa(st, closed));
                return after;
            }
            if (failure.get().kind() == FailureScope.Kind.NONE) {
                CoverageStatus.replacePlanned(after, st -> CoverageStatus.with(st, CoverageStatus.PENDING,
                        "the last order for certificate " + certName + " was cut short for a reason that blames neither "
                                + "the names nor the CA; ordered again at the next check"));
                return after;
            }
            CoverageDecision again = CoverageDecision.decide(group, in);
            if (round == 1 && failure.get().kind() == FailureScope.Kind.DOMAINS && !stopping.getAsBoolean()
                    && (again instanceof NeedsIssue || again instanceof NeedsRenewal)) {
                decision = again;
                continue;
            }
            Map<String, CertificateStatus> s = CoverageStatus.of(again, in, problems);
            CoverageStatus.replacePlanned(s, st -> CoverageStatus.with(st, CoverageStatus.PENDING,
                    "the last order failed for other names of certificate " + certName + "; ordered again without "
                            + "them at the next check"));
            return s;
        }
    }

    /**
     * Orders from the CAs in turn, starting at {@code firstCa}, skipping those whose gate is closed or whose ledger
     * refuses, until one issues or fails for a reason another CA would not change. Empty on success.
     */
    private Optional<FailureScope> orderFromCas(CertificateGroup group, String certName, List<String> names,
                                                Optional<InstalledCertificate> replacing, int firstCa) {
        boolean renewal = replacing.isPresent();
        List<String> passedOver = new ArrayList<>();
        for (int i = firstCa; i < cas.size(); i++) {
            CertificateAuthority ca = cas.get(i);
            if (!isOpen(ca)) {
                continue;
            }
            String held = heldAt(group, ca);
            if (!backoff.mayAttempt(held) && cas.subList(i + 1, cas.size()).stream().anyMatch(this::isOpen)) {
                passedOver.add(ca.name() + " holds these names until " + backoff.nextAttempt(held).map(Instant::toString)
                        .orElse("?") + " (" + backoff.lastErrorType(held).orElse("refused") + ")");
                continue;
            }
            if (i > firstCa) {
                boolean sameNames = replacing.map(c -> c.dnsNames().equals(new HashSet<>(names))).orElse(false);
                Optional<RateLimitLedger.Refusal> refusal = ca.ledger().check(ca.accountId(), names, renewal && sameNames);
                if (refusal.isPresent()) {
                    LOG.info("certificate {}: not ordered from {}: {}", certName, ca.name(), refusal.get().message());
                    continue;
                }
            }
            boolean another = cas.subList(i + 1, cas.size()).stream().anyMatch(this::isOpen);
            LOG.info("certificate {}: ordering {} for {} from {}", certName, renewal ? "a renewal" : "a certificate",
                    String.join(", ", names), ca.name());
            Attempt attempt = orderOnce(ca, group, certName, names, replacing, another, passedOver);
            // a failure that closed the gate holds back the rest of this check's groups too
            open.put(ca, !ca.gate().isClosed());
            if (!attempt.fellThrough()) {
                return attempt.failure();
            }
        }
        return Optional.of(new FailureScope(FailureScope.Kind.CA, List.of()));
    }

    /**
     * The backoff key of a group at one CA: set when that CA rate limits the group's names or has paused them while
     * another CA may take the order. It holds only this group back at this CA (until the CA's Retry-After, if it sent
     * one), so the CA keeps every other name; with no later CA open, the CA is asked anyway. {@code @} is in no
     * domain or group name.
     */
    private static String heldAt(CertificateGroup group, CertificateAuthority ca) {
        return group.name() + "@" + ca.name();
    }

    /** Whether any CA from {@code firstCa} on may be sent an order in this check. */
    boolean anyOpen(int firstCa) {
        return cas.subList(firstCa, cas.size()).stream().anyMatch(this::isOpen);
    }

    private boolean isOpen(CertificateAuthority ca) {
        return open.computeIfAbsent(ca, c -> c.gate().mayOrder(() -> caAnswers(c)));
    }

    /** How one order at one CA went: issued (no failure), failed (recorded), or handed on to the next CA. */
    private record Attempt(Optional<FailureScope> failure, boolean fellThrough) {}

    /**
     * Whether another CA could issue what this one did not: this one is unreachable or failing, rate limits, needs
     * the operator (terms, EAB), or has paused the names (Let's Encrypt's "paused" identifiers). A failed
     * authorization is the name's own problem, and goes to no other CA.
     */
    static boolean otherCaMayHelp(IssuanceException e) {
        return switch (e.kind()) {
            case CA_UNREACHABLE, RATE_LIMITED, CONFIGURATION -> true;
            case CA_REJECTED -> e.paused();
            case AUTHORIZATION_FAILED, TIMEOUT, LOCAL, DNS_PROVIDER, TRANSIENT -> false;
        };
    }

    /** The CA that issued a certificate, by the name kept in issued.json; the first CA when unknown. */
    String issuingCa(InstalledCertificate c) {
        return store.details(c.fingerprint()).map(IssuedDetails::ca).filter(n -> !n.isEmpty())
                .orElse(cas.isEmpty() ? "" : cas.get(0).name());
    }

    /** One order at {@code ca}; the failure is recorded in the backoff and that CA's ledger. */
    private Attempt orderOnce(CertificateAuthority ca, CertificateGroup group, String certName, List<String> names,
                              Optional<InstalledCertificate> replacing, boolean anotherCa, List<String> passedOver) {
        Issuer issuer = ca.issuer();
        RateLimitLedger ledger = ca.ledger();
        CaGate gate = ca.gate();
        orders.incrementAndGet();
        ledger.recordOrder(ca.accountId());
        // Stored before the order is sent: in a cluster the next leader counts it even if this node dies mid-order.
        records.save();
        try {
            // 'replaces' names a certificate of this CA's: another CA does not know it
            Optional<X509Certificate> replaces = replacing
                    .filter(c -> issuingCa(c).equals(ca.name())).flatMap(InstalledCertificate::leaf);
            IssuedCertificate issued = issue(issuer, ca, new OrderRequest(names, replaces,
                    profiles.forNames(group.domains())));
            CertificateBundle bundle = CertificateBundle.parse(certName + ".pem", issued.haproxyPem(), clock);
            store.recordIssued(bundle, IssuedDetails.of(issued.outcome(), passedOver.isEmpty() ? Optional.empty()
                    : Optional.of(String.join("; ", passedOver))));
            ledger.recordIssued(names);
            gate.succeeded();
            backoff.recordSuccess(group.name());
            names.forEach(backoff::recordSuccess);
            AtomicFiles.writePrivate(inbox.resolve(certName + ".pem"),
                    bundle.toHaproxyPem().getBytes(StandardCharsets.US_ASCII));
            LOG.info("certificate {}: issued by {} for {} (valid until {}); handed to the certificate inbox", certName,
                    ca.name(), String.join(", ", names), bundle.notAfter());
            return new Attempt(Optional.empty(), false);
        } catch (IssuanceException e) {
            FailureScope scope = FailureScope.of(e, names);
            String reason = e.getMessage();
            String type = e.errorType();
            errors.merge(ca.name() + "\n" + type, 1L, Long::sum);
            if (anotherCa && otherCaMayHelp(e)) {
                if (e.kind() == IssuanceException.Kind.RATE_LIMITED || e.paused()) {
                    gate.succeeded(); // the CA answered: it refuses these names, not every name
                    backoff.recordFailure(heldAt(group, ca), reason, type, e.retryAfter());
                } else {
                    gate.failed(reason, scope.kind() == FailureScope.Kind.CA_UNREACHABLE, type, e.retryAfter());
                    lastClosedGate = gate;
                }
                passedOver.add(ca.name() + " " + (e.paused() ? "has paused these names"
                        : switch (e.kind()) {
                            case RATE_LIMITED -> "rate limits them";
                            case CA_UNREACHABLE -> "could not be reached or failed";
                            default -> "needs the operator";
                        }) + " (" + type + e.retryAfter().map(t -> ", retry after " + t).orElse("")
                        + e.caProblem().map(p -> ": " + p).orElse("") + ")");
                LOG.warn("certificate {}: {} cannot issue for {} ({}); trying the next CA", certName, ca.name(),
                        String.join(", ", names), reason);
                return new Attempt(Optional.empty(), true);
            }
            if (scope.kind() == FailureScope.Kind.CA || scope.kind() == FailureScope.Kind.CA_UNREACHABLE) {
                lastClosedGate = gate;
            }
            switch (scope.kind()) {
                case DOMAINS -> {
                    gate.succeeded(); // the CA answered: the names failed, not the CA
                    scope.domains().forEach(d -> {
                        ledger.recordFailedAuthorization(d);
                        backoff.recordFailure(d, reason, type, e.retryAfter());
                    });
                }
                case GROUP -> {
                    gate.succeeded();
                    backoff.recordFailure(group.name(), reason, type, e.retryAfter());
                }
                case CA -> gate.failed(reason, false, type, e.retryAfter());
                case CA_UNREACHABLE -> gate.failed(reason, true, type, e.retryAfter());
                case NONE -> { }
            }
            if (scope.kind() != FailureScope.Kind.NONE || e.kind() == IssuanceException.Kind.TRANSIENT) {
                LOG.warn("certificate {}: the order for {} failed ({}); {}", certName, String.join(", ", names),
                        reason, backsOff(scope, group));
            }
            return new Attempt(Optional.of(scope), false);
        } catch (CertificateProblem | IOException | RuntimeException e) {
            backoff.recordFailure(group.name(), e.getMessage());
            LOG.error("certificate {}: could not store the certificate issued for {}: {}; retried after the backoff",
                    certName, String.join(", ", names), e.toString());
            return new Attempt(Optional.of(new FailureScope(FailureScope.Kind.GROUP, List.of())), false);
        } finally {
            records.save();
        }
    }

    /**
     * The issuer's answer. An issuer reports every failure as an {@link IssuanceException}; anything else it throws is
     * a failure nobody classified, and counts as the CA's (its gate closes, as for an error answer), never as this
     * certificate's store failing, so the rest of the check's orders do not follow it to the CA.
     */
    private static IssuedCertificate issue(Issuer issuer, CertificateAuthority ca, OrderRequest request)
            throws IssuanceException {
        try {
            return issuer.issue(request);
        } catch (RuntimeException e) {
            throw new IssuanceException(IssuanceException.Kind.LOCAL, ca.name() + ": the order for " + request.names()
                    + " failed in an unexpected way: " + e, request.names(), null, null, e);
        }
    }

    private String backsOff(FailureScope scope, CertificateGroup group) {
        return switch (scope.kind()) {
            case DOMAINS -> String.join(", ", scope.domains()) + " left out of orders until "
                    + scope.domains().stream().map(backoff::nextAttempt).flatMap(Optional::stream).max(Instant::compareTo)
                    .map(Instant::toString).orElse("the next check");
            case GROUP -> "next attempt at " + backoff.nextAttempt(group.name()).map(Instant::toString).orElse("?");
            case CA, CA_UNREACHABLE -> "no orders to the CA until " + lastClosedGate.nextAttempt().map(Instant::toString)
                    .orElse("?") + (scope.kind() == FailureScope.Kind.CA_UNREACHABLE
                    ? " or until its directory answers again (checked at every check)" : "");
            case NONE -> "nothing backs off; ordered again at the next check";
        };
    }

    /** A GET of the CA's directory: creates nothing at the CA and counts against no limit. */
    private boolean caAnswers(CertificateAuthority ca) {
        if (!ca.answers()) {
            return false;
        }
        LOG.info("the CA {} answers again: resuming orders", ca.name());
        return true;
    }
}
