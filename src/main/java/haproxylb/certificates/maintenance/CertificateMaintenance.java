package haproxylb.certificates.maintenance;

import haproxylb.common.Pacing;
import haproxylb.certificates.issuer.IssuanceException;
import haproxylb.certificates.issuer.Issuer;
import haproxylb.certificates.policy.Backoff;
import haproxylb.certificates.policy.CaGate;
import haproxylb.certificates.policy.CertificateAuthority;
import haproxylb.certificates.policy.CertificateGroup;
import haproxylb.certificates.policy.CoverageDecision.NeedsIssue;
import haproxylb.certificates.policy.CoverageDecision.NeedsRenewal;
import haproxylb.certificates.policy.CoverageDecision;
import haproxylb.certificates.policy.ProfileChoice;
import haproxylb.certificates.policy.RateLimitLedger;
import haproxylb.certificates.policy.RenewalSchedule;
import haproxylb.certificates.status.CoverageStatus;
import haproxylb.certificates.status.CoverageStatusDetails;
import haproxylb.certificates.status.CoverageStatusPublisher;
import haproxylb.certificates.store.CertificateInstaller;
import haproxylb.certificates.store.CertificateStore;
import haproxylb.certificates.store.FallbackCertificate;
import haproxylb.certificates.store.HaproxyCertificates;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.status.CertificateStatus;
import haproxylb.status.StatusBoard;
import haproxylb.storage.Storage;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
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
 * <li>Orders what is missing or due, one group at a time, through the {@link OrderRunner}, unless every CA is
 *     backing off ({@link CaGate}). A new certificate goes to the certificate inbox, from where the
 *     {@link CertificateInstaller} installs it like any other. The backoff and the ledgers the decisions read are
 *     reloaded at the start of each check and saved after every outcome ({@link AttemptRecords}), so a restart is
 *     no way around them.</li>
 * <li>Archives the certificates issued here whose names have all left the map, and tells haproxy to drop them
 *     ({@link OrphanArchiver}). The fallback and operator-supplied certificates are never touched.</li>
 * <li>Publishes the state of every domain ({@link CoverageStatus}, completed by {@link CoverageStatusDetails}) to
 *     the status board, in one write per check ({@link CoverageStatusPublisher}), and logs what it decided for a group when that changes, not at every
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
    /** A check is O(domains) and every assembly asks for one: in a storm, at most a third of a core's worth. */
    private final Pacing pacing = new Pacing(2);
    private final Path inbox;
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
    /** Every CA in the order they are tried; the first is {@link #issuer} with {@link #ledger} and {@link #gate}. */
    private final List<CertificateAuthority> cas = new ArrayList<>();
    /** A DNS-01 provider is configured: wildcards are ordered, grouped with their backend. */
    private boolean dnsValidation;

    private final ReentrantLock running = new ReentrantLock();
    private final CoverageStatusPublisher publisher;
    private final CoverageStatusDetails details;
    private final AttemptRecords records;
    private final OrderRunner runner;
    private final OrphanArchiver archiver;
    /** The decision last logged per group. */
    private final Map<String, CoverageDecision> logged = new HashMap<>();
    /**
     * Groups first seen covered in this check: counted into one line, not a line each (after a restart that was a
     * line per certificate, 10,000 of them, and 14 % of the first check's time). status.json has each one.
     */
    private final List<String> firstSeenCovered = new ArrayList<>();
    private final AtomicLong checks = new AtomicLong();
    private volatile boolean stopping;
    private boolean reportedMissingMap;
    private Map<String, InstalledCertificate> installedByName = Map.of();

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
        this.live = Objects.requireNonNull(files.live(), "live");
        this.store = Objects.requireNonNull(store, "store");
        this.issuer = Objects.requireNonNull(issuer, "issuer");
        this.reachability = Objects.requireNonNull(reachability, "reachability");
        this.backoff = Objects.requireNonNull(backoff, "backoff");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.gate = new CaGate(backoff);
        this.schedule = new RenewalSchedule(clock, RandomGenerator.getDefault());
        this.publisher = new CoverageStatusPublisher(status);
        this.details = new CoverageStatusDetails(store, schedule, cas);
        this.archiver = new OrphanArchiver(store, haproxy);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.perDomain = perDomain;
        this.inbox = files.inbox();
        // One account per directory URL (AcmeAccountStore), so the URL identifies the account in the ledger.
        this.accountId = issuer.accountId();
        if (issuer.off().isEmpty()) {
            cas.add(new CertificateAuthority(issuer, ledger, files.ledgerKey(), gate));
        }
        this.records = new AttemptRecords(Objects.requireNonNull(files.state(), "state"), files.backoffKey(),
                files.ledgerKey(), backoff, ledger, cas);
        this.runner = new OrderRunner(cas, gate, backoff, store, inbox, Objects.requireNonNull(profiles, "profiles"),
                records, clock, () -> stopping);
    }

    /** Where the status learns how each name was judged to point here ({@link ReachabilityCheck#judgement}). */
    public CertificateMaintenance withJudgements(java.util.function.Function<String, Optional<String>> judgement) {
        details.judgements(judgement);
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
        pacing.run(() -> {
            run(clock);
            return null;
        });
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
        pacing.stop();
    }

    /** Completed checks since start. */
    public long checks() {
        return checks.get();
    }

    /** Orders sent to the CA since start (successful or not). */
    public long orderAttempts() {
        return runner.attempts();
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
        runner.errors().forEach((key, n) -> {
            int split = key.indexOf('\n');
            all.add(new ErrorCount(key.substring(0, split), key.substring(split + 1), n));
        });
        return all;
    }

    private void run(Clock decisionClock) throws IOException {
        running.lock();
        try {
            firstSeenCovered.clear();
            records.reload();
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
            installedByName = new HashMap<>();
            installed.forEach(c -> installedByName.put(c.name(), c));
            details.startCheck(installedByName);
            runner.startCheck();
            if (!cas.isEmpty()) {
                schedule.refresh(installed, ariOfIssuingCa(installed));
            }
            Map<String, Optional<String>> problems = new HashMap<>();
            CoverageDecision.Reachability memo = domain -> problems.computeIfAbsent(domain, reachability::problem);
            CoverageDecision.Inputs in = new CoverageDecision.Inputs(installed, backoff, ledger, accountId, memo,
                    schedule::window, decisionClock, dnsValidation);

            // hashed: the publisher asks it for every published domain
            Map<String, CertificateStatus> statuses = new HashMap<>();
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
                        if (!runner.anyOpen(firstCa)) {
                            CoverageStatus.replacePlanned(s, st -> CoverageStatus.waitingForCa(st, gate));
                        } else {
                            // shown as being ordered while the order runs, which takes seconds
                            stage(s);
                            publisher.publish();
                            s = runner.order(group, decision, certName, in, problems, firstCa);
                        }
                    }
                }
                statuses.putAll(s);
                stage(s);
            }
            if (!firstSeenCovered.isEmpty()) {
                LOG.info("certificate check: {} certificate(s) seen for the first time cover their domains ({}{});"
                        + " status.json has each one's expiry and renewal", firstSeenCovered.size(),
                        String.join(", ", firstSeenCovered.subList(0, Math.min(3, firstSeenCovered.size()))),
                        firstSeenCovered.size() > 3 ? ", ..." : "");
                firstSeenCovered.clear();
            }
            // a set: retainAll asks contains() once per logged group, and a list made that groups × groups
            logged.keySet().retainAll(groups.stream().map(CertificateGroup::name).collect(Collectors.toSet()));
            records.forgetWaitedOut(groups);
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

    /** ARI questions go to the CA that issued the certificate, while its gate is open. */
    private RenewalSchedule.Ari ariOfIssuingCa(List<InstalledCertificate> installed) {
        Map<String, CertificateAuthority> byFingerprint = new HashMap<>();
        for (InstalledCertificate c : installed) {
            if (c.issuedHere() && !c.isFallback()) {
                String name = runner.issuingCa(c);
                cas.stream().filter(ca -> ca.name().equals(name)).findFirst()
                        .ifPresent(ca -> byFingerprint.put(c.fingerprint(), ca));
            }
        }
        // the leaf is read from its file only here, for the certificates whose CA is asked
        return c -> Optional.ofNullable(byFingerprint.get(c.fingerprint())).filter(ca -> !ca.gate().isClosed())
                .flatMap(ca -> c.leaf().flatMap(leaf -> ca.issuer().renewalInfo(leaf)));
    }

    private boolean installedSinceListed(CertificateGroup group, String certName, CoverageDecision.Inputs in)
            throws IOException {
        Optional<InstalledCertificate> now = store.reread(certName);
        InstalledCertificate listed = installedByName.get(certName);
        if (now.isEmpty() || listed != null && listed.fingerprint().equals(now.get().fingerprint())) {
            return false;
        }
        CoverageDecision again = CoverageDecision.decide(group, in.withInstalled(now.get()));
        return !(again instanceof NeedsIssue || again instanceof NeedsRenewal);
    }

    private void logOnce(CoverageDecision decision) {
        String group = decision.group().name();
        CoverageDecision last = logged.put(group, decision);
        // an equal decision says the same, so its text (an instant or two formatted) is made only when it may differ
        if (last != null && (last.equals(decision) || last.describe().equals(decision.describe()))) {
            return;
        }
        if (last == null && decision.kind() == CoverageDecision.Kind.COVERED) {
            firstSeenCovered.add(certificateName(decision.group()));
            return;
        }
        String text = decision.describe();
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
        statuses.forEach((domain, plain) -> publisher.stage(domain, details.complete(domain, plain)));
    }

    /**
     * The file a group's certificate is stored under: the group's name, except that the fallback's name is
     * reserved (a backend called "fallback" gets "_fallback").
     */
    static String certificateName(CertificateGroup group) {
        return FallbackCertificate.NAME.equals(group.name()) ? "_" + group.name() : group.name();
    }
}
