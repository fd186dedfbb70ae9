package haproxylb.certificates.maintenance;

import haproxylb.certificates.issuer.IssuanceException;
import haproxylb.certificates.issuer.IssuedCertificate;
import haproxylb.certificates.issuer.Issuer;
import haproxylb.certificates.issuer.OrderRequest;
import haproxylb.certificates.policy.Backoff;
import haproxylb.certificates.policy.CaGate;
import haproxylb.certificates.policy.CertificateAuthority;
import haproxylb.certificates.policy.CertificateGroup;
import haproxylb.certificates.policy.CoverageDecision.NeedsIssue;
import haproxylb.certificates.policy.CoverageDecision.NeedsRenewal;
import haproxylb.certificates.policy.CoverageDecision;
import haproxylb.certificates.policy.FailureScope;
import haproxylb.certificates.policy.ProfileChoice;
import haproxylb.certificates.policy.RateLimitLedger;
import haproxylb.certificates.policy.RenewalSchedule;
import haproxylb.certificates.status.CoverageStatus;
import haproxylb.certificates.status.CoverageStatusPublisher;
import haproxylb.certificates.store.CertificateBundle;
import haproxylb.certificates.store.CertificateInstaller;
import haproxylb.certificates.store.CertificateProblem;
import haproxylb.certificates.store.CertificateStore;
import haproxylb.certificates.store.FallbackCertificate;
import haproxylb.certificates.store.HaproxyCertificates;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.certificates.store.IssuedDetails;
import haproxylb.common.AtomicFiles;
import haproxylb.status.CertificateStatus;
import haproxylb.status.StatusBoard;
import haproxylb.storage.Storage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coverage check (issue 3): compares the domains of the live backend map with the certificates in haproxy's crt
 * directory and acts on what it finds.
 * <ol>
 * <li>Groups the map's domains into certificates ({@link CertificateGroup}: one per backend, or per domain) and
 *     decides per group ({@link CoverageDecision}) with the backoff, the rate-limit ledger, the renewal windows (with
 *     the CA's ARI suggestion, {@link RenewalSchedule}) and the reachability check (DNS and an HTTP probe through
 *     haproxy), which is asked only for groups that would otherwise be ordered.</li>
 * <li>Orders what is missing or due, one group at a time, through the {@link Issuer}, unless the CA itself is
 *     backing off ({@link CaGate}). A new certificate is recorded as issued here ({@link CertificateStore#recordIssued})
 *     and handed to the certificate inbox as {@code <group>.pem} (atomically, mode 0600), from where the
 *     {@link CertificateInstaller} installs it like any other. Failures back off the domains, the group or the CA
 *     ({@link FailureScope}) and are counted in the ledger; both are saved after every outcome, so a restart is no
 *     way around them.</li>
 * <li>Archives the certificates issued here whose names have all left the map, and tells haproxy to drop them
 *     ({@link OrphanArchiver}). The fallback and operator-supplied certificates are never touched.</li>
 * <li>Publishes the state of every domain ({@link CoverageStatus}) to the status board, in one write per check
 *     ({@link CoverageStatusPublisher}), and logs what it decided for a group when that changes, not at every
 *     check.</li>
 * </ol>
 * Never two checks at once: a second caller waits for the running check to finish. With a {@link DisabledIssuer}
 * (ACME off) the check still reports coverage and archives, and orders nothing.
 */
public final class CertificateMaintenance {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateMaintenance.class);

    /**
     * Where the check reads and writes: the domains it covers come from {@code live}; the backoff and the ledger are
     * kept in {@code state} (the state directory, or in a cluster the storage all nodes share) under {@code backoffKey}
     * and {@code ledgerKey}.
     */
    public record Locations(LiveDomains live, Path inbox, Storage state, String backoffKey, String ledgerKey) {}

    /** A CA tried after the first when it cannot issue (lb.acme.fallback-cas), with its own ledger (under ledgerKey). */
    public record FallbackCa(Issuer issuer, RateLimitLedger ledger, String ledgerKey) {}

    private final LiveDomains live;
    private final Path inbox;
    private final Storage state;
    private final String backoffKey;
    private final String ledgerKey;
    /** False after a failed save: this node's backoff and ledger are then newer than the stored ones. */
    private boolean stateSaved = true;
    private final CertificateStore store;
    private final Issuer issuer;
    private final CoverageDecision.Reachability reachability;
    private final Backoff backoff;
    private final RateLimitLedger ledger;
    private final CaGate gate;
    private final RenewalSchedule schedule;
    private final Clock clock;
    private final boolean perDomain;
    private final String accountId;
    private final ProfileChoice profiles;
    /** Every CA in the order they are tried; the first is {@link #issuer} with {@link #ledger} and {@link #gate}. */
    private final List<CertificateAuthority> cas = new ArrayList<>();
    /** How each name was found to point here (for the status). */
    private java.util.function.Function<String, Optional<String>> judgements = domain -> Optional.empty();
    /** A DNS-01 provider is configured: wildcards are ordered, grouped with their backend. */
    private boolean dnsValidation;
    /** The gate of the CA an order last failed at as a whole, for the status of the names waiting for it. */
    private CaGate lastClosedGate;

    private final ReentrantLock running = new ReentrantLock();
    private final CoverageStatusPublisher publisher;
    private final OrphanArchiver archiver;
    private final Map<String, String> logged = new HashMap<>();
    private final AtomicLong checks = new AtomicLong();
    private final AtomicLong orders = new AtomicLong();
    /** "CA\nerror type" → failed orders since start, for the metrics. */
    private final Map<String, Long> errors = new java.util.concurrent.ConcurrentSkipListMap<>();
    private volatile boolean stopping;
    private boolean reportedMissingMap;
    private Map<String, InstalledCertificate> installedByName = Map.of();
    /** The origin of each certificate issued here, by fingerprint, as looked up during the running check. */
    private final Map<String, Origin> origins = new HashMap<>();

    /**
     * @param issuer       the first CA, or a {@link DisabledIssuer} when ACME is off
     * @param reachability whether a domain may be ordered (DNS points here, the probe passes); asked for candidates
     *                     only
     * @param perDomain    one certificate per domain instead of one per backend
     */
    public CertificateMaintenance(Locations files, CertificateStore store, Issuer issuer,
                                  CoverageDecision.Reachability reachability, Backoff backoff, RateLimitLedger ledger,
                                  HaproxyCertificates haproxy, StatusBoard status, Clock clock, boolean perDomain) {
        this(files, store, issuer, reachability, backoff, ledger, haproxy, status, clock, perDomain, ProfileChoice.none());
    }

    /** @param profiles the ACME profile each certificate is ordered with (and renewed with) */
    public CertificateMaintenance(Locations files, CertificateStore store, Issuer issuer,
                                  CoverageDecision.Reachability reachability, Backoff backoff, RateLimitLedger ledger,
                                  HaproxyCertificates haproxy, StatusBoard status, Clock clock, boolean perDomain,
                                  ProfileChoice profiles) {
        this.profiles = Objects.requireNonNull(profiles, "profiles");
        this.live = Objects.requireNonNull(files.live(), "live");
        this.inbox = files.inbox();
        this.state = Objects.requireNonNull(files.state(), "state");
        this.backoffKey = files.backoffKey();
        this.ledgerKey = files.ledgerKey();
        this.store = Objects.requireNonNull(store, "store");
        this.issuer = Objects.requireNonNull(issuer, "issuer");
        this.reachability = Objects.requireNonNull(reachability, "reachability");
        this.backoff = Objects.requireNonNull(backoff, "backoff");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.gate = new CaGate(backoff);
        this.schedule = new RenewalSchedule(clock, RandomGenerator.getDefault());
        this.publisher = new CoverageStatusPublisher(status);
        this.archiver = new OrphanArchiver(store, haproxy);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.perDomain = perDomain;
        // One account per directory URL (AcmeAccountStore), so the URL identifies the account in the ledger.
        this.accountId = issuer.accountId();
        if (issuer.off().isEmpty()) {
            cas.add(new CertificateAuthority(issuer, ledger, ledgerKey, gate));
        }
        this.lastClosedGate = gate;
    }

    /** Where the status learns how each name was judged to point here ({@link ReachabilityCheck#judgement}). */
    public CertificateMaintenance withJudgements(java.util.function.Function<String, Optional<String>> judgement) {
        this.judgements = Objects.requireNonNull(judgement, "judgement");
        return this;
    }

    /** Wildcards (and the names the DNS settings ask for) are validated over DNS-01 by the issuers. */
    public CertificateMaintenance withDnsValidation(boolean on) {
        this.dnsValidation = on;
        return this;
    }

    /**
     * Adds CAs tried, in this order, after the first when it is unreachable, rate limits or has paused the names;
     * each has its own account, ledger and backoff. The first CA is tried again for every later order (a CA that
     * rate limited or paused some names holds only those back, until its Retry-After if it sent one).
     */
    public CertificateMaintenance withFallbacks(List<FallbackCa> fallbacks) {
        if (issuer.off().isPresent() && !fallbacks.isEmpty()) {
            throw new IllegalArgumentException("fallback CAs need a first CA (lb.acme.directory-url)");
        }
        for (FallbackCa f : fallbacks) {
            String name = f.issuer().caName();
            if (cas.stream().anyMatch(c -> c.name().equals(name))) {
                throw new IllegalArgumentException("two CAs are called '" + name + "': give each a name of its own");
            }
            cas.add(new CertificateAuthority(f.issuer(), f.ledger(), f.ledgerKey(),
                    new CaGate(backoff, CaGate.keyOf(name))));
        }
        return this;
    }

    /** One coverage check, now. Called by the certificate-check route (one at a time); waits if one is running. */
    public void check() throws IOException {
        run(clock);
    }

    /**
     * One coverage check that decides renewals as if it were {@code asOf} (the backoff, the ledger and everything
     * else keep the real time): what the check at that time would renew, it renews now. For tests, and for an
     * operator who wants to renew ahead of time.
     */
    public void checkAsOf(Instant asOf) throws IOException {
        run(Clock.fixed(asOf, ZoneOffset.UTC));
    }

    /** Stops between two orders: called when the daemon shuts down, so a long check does not hold it up. */
    public void stop() {
        stopping = true;
    }

    /** Completed checks since start. */
    public long checks() {
        return checks.get();
    }

    /** Orders sent to the CA since start (successful or not). */
    public long orderAttempts() {
        return orders.get();
    }

    /** One rate-limit budget of one CA's ledger: the fullest of its kind ({@link RateLimitLedger#fullest()}). */
    public record Budget(String ca, RateLimitLedger.Usage usage) {}

    /** Per CA, in the order they are tried, the fullest budget of each of its ledger's limits. */
    public List<Budget> budgets() {
        List<Budget> all = new ArrayList<>();
        for (CertificateAuthority ca : cas) {
            ca.ledger().fullest().forEach(u -> all.add(new Budget(ca.name(), u)));
        }
        return all;
    }

    /** When each CA may be sent orders again while it backs off as a whole (empty: its gate is open). */
    public Map<String, Optional<Instant>> caBackoff() {
        Map<String, Optional<Instant>> all = new LinkedHashMap<>();
        cas.forEach(ca -> all.put(ca.name(), ca.gate().isClosed() ? ca.gate().nextAttempt() : Optional.empty()));
        return all;
    }

    /** Failed orders since start, by CA and by the type of error ({@link IssuanceException#errorType()}). */
    public record ErrorCount(String ca, String type, long count) {}

    public List<ErrorCount> errorCounts() {
        List<ErrorCount> all = new ArrayList<>();
        errors.forEach((key, n) -> {
            int split = key.indexOf('\n');
            all.add(new ErrorCount(key.substring(0, split), key.substring(split + 1), n));
        });
        return all;
    }

    private void run(Clock decisionClock) throws IOException {
        running.lock();
        try {
            reloadState();
            Optional<SortedMap<String, String>> current = live.current();
            if (current.isEmpty()) {
                // Before the first assembly there is no map: an empty one would make every certificate an orphan.
                if (!reportedMissingMap) {
                    LOG.info("certificate check: no backend map yet; nothing to check");
                    reportedMissingMap = true;
                }
                return;
            }
            reportedMissingMap = false;
            Map<String, String> map = current.get();
            List<CertificateGroup> groups = CertificateGroup.group(map, perDomain,
                    CertificateGroup.MAX_NAMES_PER_CERTIFICATE, !dnsValidation);
            List<InstalledCertificate> installed = store.list();
            origins.clear();
            installedByName = new HashMap<>();
            installed.forEach(c -> installedByName.put(c.name(), c));
            if (!cas.isEmpty()) {
                schedule.refresh(installed, ariOfIssuingCa(installed));
            }
            Map<String, Optional<String>> problems = new HashMap<>();
            CoverageDecision.Reachability memo = domain -> problems.computeIfAbsent(domain, reachability::problem);
            CoverageDecision.Inputs in = new CoverageDecision.Inputs(installed, backoff, ledger, accountId, memo,
                    schedule::window, decisionClock, dnsValidation);

            Map<String, CertificateStatus> statuses = new TreeMap<>();
            Map<CertificateAuthority, Boolean> open = new HashMap<>();
            for (CertificateGroup group : groups) {
                if (stopping) {
                    return;
                }
                CoverageDecision decision = CoverageDecision.decide(group, in);
                int firstCa = 0;
                for (int i = 1; i < cas.size() && decision instanceof CoverageDecision.Skipped; i++) {
                    // the first CA's ledger may refuse what a fallback CA's allows
                    CoverageDecision withOwnLedger = CoverageDecision.decide(group,
                            in.withLedger(cas.get(i).ledger(), cas.get(i).accountId()));
                    if (withOwnLedger instanceof NeedsIssue || withOwnLedger instanceof NeedsRenewal) {
                        decision = withOwnLedger;
                        firstCa = i;
                    }
                }
                logOnce(decision);
                Map<String, CertificateStatus> s = CoverageStatus.of(decision, in, problems);
                if (decision instanceof NeedsIssue || decision instanceof NeedsRenewal) {
                    String certName = certificateName(group);
                    if (issuer.off().isPresent()) {
                        String off = issuer.off().get();
                        CoverageStatus.replacePlanned(s, st -> st.state().equals(CoverageStatus.RENEWING)
                                ? CoverageStatus.with(st, CoverageStatus.COVERED, "renewal due, but " + off
                                        + ": drop a renewed certificate into the certificate inbox")
                                : CoverageStatus.with(st, CoverageStatus.NOT_COVERED, off
                                        + ": drop a certificate into the certificate inbox"));
                    } else if (CertificateInstaller.onItsWay(inbox, certName)) {
                        CoverageStatus.replacePlanned(s, st -> CoverageStatus.with(st, CoverageStatus.INSTALLING,
                                "issued; waiting for the certificate inbox to install " + certName + ".pem"));
                    } else if (installedSinceListed(group, certName, in)) {
                        // The previous check's order landed after this check listed the store: ordering again
                        // would be a duplicate certificate (CertificatesTest saw one). The next check reports it.
                        CoverageStatus.replacePlanned(s, st -> CoverageStatus.with(st, CoverageStatus.INSTALLING,
                                "installed while this check ran; the next check confirms it"));
                    } else {
                        if (!anyOpen(firstCa, open)) {
                            CoverageStatus.replacePlanned(s, st -> CoverageStatus.waitingForCa(st, gate));
                        } else {
                            // shown as being ordered while the order runs, which takes seconds
                            stage(s);
                            publisher.publish();
                            s = order(group, decision, certName, in, problems, firstCa, open);
                        }
                    }
                }
                statuses.putAll(s);
                stage(s);
            }
            // a set: retainAll asks contains() once per logged group, and a list made that groups × groups
            logged.keySet().retainAll(groups.stream().map(CertificateGroup::name).collect(Collectors.toSet()));
            forgetWaitedOut(groups);
            archiver.archiveOrphans(map.keySet(), installed);
            publisher.dropAllBut(statuses.keySet());
            checks.incrementAndGet();
        } finally {
            try {
                publisher.publish();
            } finally {
                running.unlock();
            }
        }
    }

    /**
     * Orders the decision's names; after authorizations failed for some of them, orders once more without those (the
     * decision, made again, leaves them out while they back off), so the others are not held back until the next
     * check. Returns the group's status afterwards.
     */
    private Map<String, CertificateStatus> order(CertificateGroup group, CoverageDecision decision, String certName,
                                                 CoverageDecision.Inputs in, Map<String, Optional<String>> problems,
                                                 int firstCa, Map<CertificateAuthority, Boolean> open) {
        for (int round = 1; ; round++) {
            List<String> names = decision instanceof NeedsIssue i ? i.names() : ((NeedsRenewal) decision).names();
            Optional<InstalledCertificate> replacing = decision instanceof NeedsRenewal r
                    ? Optional.of(r.replacing()) : Optional.empty();
            Optional<FailureScope> failure = orderFromCas(group, certName, names, replacing, firstCa, open);
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
            CoverageDecision again = CoverageDecision.decide(group, in);
            if (round == 1 && failure.get().kind() == FailureScope.Kind.DOMAINS && !stopping
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
                                                Optional<InstalledCertificate> replacing, int firstCa,
                                                Map<CertificateAuthority, Boolean> open) {
        boolean renewal = replacing.isPresent();
        List<String> passedOver = new ArrayList<>();
        for (int i = firstCa; i < cas.size(); i++) {
            CertificateAuthority ca = cas.get(i);
            if (!isOpen(ca, open)) {
                continue;
            }
            String held = heldAt(group, ca);
            if (!backoff.mayAttempt(held) && cas.subList(i + 1, cas.size()).stream().anyMatch(c -> isOpen(c, open))) {
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
            boolean another = cas.subList(i + 1, cas.size()).stream().anyMatch(c -> isOpen(c, open));
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

    private boolean anyOpen(int firstCa, Map<CertificateAuthority, Boolean> open) {
        return cas.subList(firstCa, cas.size()).stream().anyMatch(c -> isOpen(c, open));
    }

    private boolean isOpen(CertificateAuthority ca, Map<CertificateAuthority, Boolean> open) {
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
            case AUTHORIZATION_FAILED, TIMEOUT, LOCAL, DNS_PROVIDER -> false;
        };
    }

    /** The CA that issued a certificate, by the name kept in issued.json; the first CA when unknown. */
    private String issuingCa(InstalledCertificate c) {
        return store.details(c.bundle().fingerprint()).map(IssuedDetails::ca).filter(n -> !n.isEmpty())
                .orElse(cas.isEmpty() ? "" : cas.get(0).name());
    }

    /** ARI questions go to the CA that issued the certificate, while its gate is open. */
    private RenewalSchedule.Ari ariOfIssuingCa(List<InstalledCertificate> installed) {
        Map<java.security.cert.X509Certificate, CertificateAuthority> byLeaf = new HashMap<>();
        for (InstalledCertificate c : installed) {
            if (c.issuedHere() && !c.isFallback()) {
                String name = issuingCa(c);
                cas.stream().filter(ca -> ca.name().equals(name)).findFirst()
                        .ifPresent(ca -> byLeaf.put(c.bundle().leaf(), ca));
            }
        }
        return leaf -> Optional.ofNullable(byLeaf.get(leaf)).filter(ca -> !ca.gate().isClosed())
                .flatMap(ca -> ca.issuer().renewalInfo(leaf));
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
        saveState();
        try {
            // 'replaces' names a certificate of this CA's: another CA does not know it
            Optional<java.security.cert.X509Certificate> replaces = replacing
                    .filter(c -> issuingCa(c).equals(ca.name())).map(c -> c.bundle().leaf());
            IssuedCertificate issued = issuer.issue(new OrderRequest(names, replaces,
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
            if (scope.kind() != FailureScope.Kind.NONE) {
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
            saveState();
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
            case NONE -> "";
        };
    }

    private boolean installedSinceListed(CertificateGroup group, String certName, CoverageDecision.Inputs in)
            throws IOException {
        Optional<InstalledCertificate> now = store.reread(certName);
        InstalledCertificate listed = installedByName.get(certName);
        if (now.isEmpty() || listed != null && listed.bundle().fingerprint().equals(now.get().bundle().fingerprint())) {
            return false;
        }
        CoverageDecision again = CoverageDecision.decide(group, in.withInstalled(now.get()));
        return !(again instanceof NeedsIssue || again instanceof NeedsRenewal);
    }

    /**
     * Drops the backoff of domains and groups that left the map once their wait is over, so backoff.json does not
     * grow forever; while a wait runs it is kept, so removing and re-adding a name is no way around it.
     */
    private void forgetWaitedOut(List<CertificateGroup> groups) {
        Set<String> current = new HashSet<>();
        current.add(CaGate.KEY);
        cas.forEach(ca -> current.add(ca.gate().key()));
        groups.forEach(g -> {
            current.add(g.name());
            current.addAll(g.domains());
        });
        boolean changed = false;
        for (String key : backoff.keys()) {
            if (!current.contains(key) && backoff.mayAttempt(key)) {
                backoff.recordSuccess(key);
                changed = true;
            }
        }
        if (changed) {
            saveState();
        }
    }

    /** A GET of the CA's directory: creates nothing at the CA and counts against no limit. */
    private boolean caAnswers(CertificateAuthority ca) {
        if (!ca.answers()) {
            return false;
        }
        LOG.info("the CA {} answers again: resuming orders", ca.name());
        return true;
    }

    private void logOnce(CoverageDecision decision) {
        String group = decision.group().name();
        String text = decision.describe();
        if (text.equals(logged.put(group, text))) {
            return;
        }
        String names = String.join(", ", decision.group().domains());
        switch (decision.kind()) {
            case COVERED -> LOG.info("certificate {} ({}): {}", certificateName(decision.group()), names, text);
            case SKIPPED -> LOG.warn("certificate {} ({}): {}", certificateName(decision.group()), names, text);
            case NEEDS_ISSUE, NEEDS_RENEWAL -> {
                if (issuer.off().isPresent()) {
                    LOG.warn("certificate {} ({}): {}; not ordered: {}", certificateName(decision.group()), names, text,
                            issuer.off().get());
                } else {
                    LOG.info("certificate {} ({}): {}", certificateName(decision.group()), names, text);
                }
            }
        }
    }

    /** Keeps what changed in {@code statuses}, with what only this check knows added, for the next status write. */
    private void stage(Map<String, CertificateStatus> statuses) {
        statuses.forEach((domain, plain) -> {
            CertificateStatus origin = withOrigin(plain);
            CertificateStatus judged = judgements.apply(domain).map(origin::withReachability).orElse(origin);
            publisher.stage(domain, judged.withQuota(quota(domain)));
        });
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
        Origin o = origins.computeIfAbsent(c.bundle().fingerprint(), f -> origin(c));
        return s.withOrigin(o.ca(), o.profile(), o.ariWindow(), o.ariExplanation(), o.note());
    }

    /** Where a certificate issued here came from: the same for each of its names, so looked up once per check. */
    private record Origin(String ca, String profile, String ariWindow, String ariExplanation, String note) {}

    private Origin origin(InstalledCertificate c) {
        Optional<IssuedDetails> details = store.details(c.bundle().fingerprint());
        Optional<RenewalSchedule.Suggestion> ari = schedule.suggestion(c);
        return new Origin(details.map(IssuedDetails::ca).filter(ca -> !ca.isEmpty()).orElse(null),
                details.flatMap(IssuedDetails::profile).orElse(null),
                ari.map(a -> a.start() + "/" + a.end()).orElse(null),
                ari.flatMap(RenewalSchedule.Suggestion::explanation).map(Object::toString).orElse(null),
                details.flatMap(IssuedDetails::note).orElse(null));
    }

    private void saveState() {
        try {
            backoff.save(state, backoffKey);
            ledger.save(state, ledgerKey);
            for (CertificateAuthority ca : cas.subList(Math.min(1, cas.size()), cas.size())) {
                ca.saveLedger(state);
            }
            stateSaved = true;
        } catch (IOException e) {
            stateSaved = false;
            LOG.error("could not save the certificate backoff or rate-limit ledger ({}): {}", state.where(backoffKey),
                    e.getMessage());
        }
    }

    /**
     * Starts each check from the stored backoff and ledgers: in a cluster another node may have been the certificate
     * leader since this one last checked, and its orders and failures count here too. Skipped while a save has failed
     * (this node's memory is then the newest); an unreadable storage keeps the memory as it is.
     */
    private void reloadState() {
        if (!stateSaved) {
            return;
        }
        try {
            backoff.reload(state, backoffKey);
            ledger.reload(state, ledgerKey);
            for (CertificateAuthority ca : cas.subList(Math.min(1, cas.size()), cas.size())) {
                ca.reloadLedger(state);
            }
        } catch (IOException e) {
            LOG.warn("certificate check: the stored backoff and rate-limit ledger could not be read ({}); deciding on "
                    + "this node's copy", e.getMessage());
        }
    }

    /**
     * The file a group's certificate is stored under: the group's name, except that the fallback's name is
     * reserved (a backend called "fallback" gets "_fallback").
     */
    static String certificateName(CertificateGroup group) {
        return FallbackCertificate.NAME.equals(group.name()) ? "_" + group.name() : group.name();
    }
}
