package haproxylb.certificates;

import haproxylb.certificates.AcmeIssuer.IssuanceException;
import haproxylb.certificates.CoverageDecision.NeedsIssue;
import haproxylb.certificates.CoverageDecision.NeedsRenewal;
import haproxylb.common.AtomicFiles;
import haproxylb.status.CertificateStatus;
import haproxylb.status.StatusBoard;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.random.RandomGenerator;
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
 * <li>Orders what is missing or due, one group at a time, through the {@link AcmeIssuer}, unless the CA itself is
 *     backing off ({@link CaGate}). A new certificate is recorded as issued here ({@link CertificateStore#recordIssued})
 *     and handed to the certificate inbox as {@code <group>.pem} (atomically, mode 0600), from where the
 *     {@link CertificateInstaller} installs it like any other. Failures back off the domains, the group or the CA
 *     ({@link FailureScope}) and are counted in the ledger; both are saved after every outcome, so a restart is no
 *     way around them.</li>
 * <li>Archives the certificates issued here whose names have all left the map, and tells haproxy to drop them. The
 *     fallback and operator-supplied certificates are never touched.</li>
 * <li>Publishes the state of every domain ({@link CoverageStatus}) to the status board, and logs what it decided for a
 *     group when that changes, not at every check.</li>
 * </ol>
 * Never two checks at once: a second caller waits for the running check to finish. Without an issuer (ACME is off)
 * the check still reports coverage and archives, and orders nothing.
 */
public final class CertificateMaintenance {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateMaintenance.class);

    /** Where the check reads and writes. */
    public record Locations(Path liveMap, Path inbox, Path backoffFile, Path ledgerFile) {}

    private final Path liveMap;
    private final Path inbox;
    private final Path backoffFile;
    private final Path ledgerFile;
    private final CertificateStore store;
    private final AcmeIssuer issuer;
    private final CoverageDecision.Reachability reachability;
    private final Backoff backoff;
    private final RateLimitLedger ledger;
    private final CaGate gate;
    private final RenewalSchedule schedule;
    private final HaproxyCertificates haproxy;
    private final StatusBoard status;
    private final Clock clock;
    private final boolean perDomain;
    private final String accountId;
    private final ProfileChoice profiles;

    private final ReentrantLock running = new ReentrantLock();
    private final Map<String, CertificateStatus> published = new TreeMap<>();
    private final Map<String, String> logged = new HashMap<>();
    private final AtomicLong checks = new AtomicLong();
    private final AtomicLong orders = new AtomicLong();
    private volatile boolean stopping;
    private boolean reportedMissingMap;
    private Map<String, InstalledCertificate> installedByName = Map.of();

    /**
     * @param issuer       null when ACME is off
     * @param reachability whether a domain may be ordered (DNS points here, the probe passes); asked for candidates
     *                     only
     * @param perDomain    one certificate per domain instead of one per backend
     */
    public CertificateMaintenance(Locations files, CertificateStore store, AcmeIssuer issuer,
                                  CoverageDecision.Reachability reachability, Backoff backoff, RateLimitLedger ledger,
                                  HaproxyCertificates haproxy, StatusBoard status, Clock clock, boolean perDomain) {
        this(files, store, issuer, reachability, backoff, ledger, haproxy, status, clock, perDomain, ProfileChoice.none());
    }

    /** @param profiles the ACME profile each certificate is ordered with (and renewed with) */
    public CertificateMaintenance(Locations files, CertificateStore store, AcmeIssuer issuer,
                                  CoverageDecision.Reachability reachability, Backoff backoff, RateLimitLedger ledger,
                                  HaproxyCertificates haproxy, StatusBoard status, Clock clock, boolean perDomain,
                                  ProfileChoice profiles) {
        this.profiles = Objects.requireNonNull(profiles, "profiles");
        this.liveMap = files.liveMap();
        this.inbox = files.inbox();
        this.backoffFile = files.backoffFile();
        this.ledgerFile = files.ledgerFile();
        this.store = Objects.requireNonNull(store, "store");
        this.issuer = issuer;
        this.reachability = Objects.requireNonNull(reachability, "reachability");
        this.backoff = Objects.requireNonNull(backoff, "backoff");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.gate = new CaGate(backoff);
        this.schedule = new RenewalSchedule(clock, RandomGenerator.getDefault());
        this.haproxy = Objects.requireNonNull(haproxy, "haproxy");
        this.status = Objects.requireNonNull(status, "status");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.perDomain = perDomain;
        // One account per directory URL (AcmeAccountStore), so the URL identifies the account in the ledger.
        this.accountId = issuer == null ? "none" : issuer.settings().directoryUrl();
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

    private void run(Clock decisionClock) throws IOException {
        running.lock();
        try {
            if (!Files.exists(liveMap)) {
                // Before the first assembly there is no map: an empty one would make every certificate an orphan.
                if (!reportedMissingMap) {
                    LOG.info("certificate check: no backend map at {} yet; nothing to check", liveMap);
                    reportedMissingMap = true;
                }
                return;
            }
            reportedMissingMap = false;
            Map<String, String> map = LiveMap.read(liveMap);
            List<CertificateGroup> groups = CertificateGroup.group(map, perDomain);
            List<InstalledCertificate> installed = store.list();
            installedByName = new HashMap<>();
            installed.forEach(c -> installedByName.put(c.name(), c));
            if (issuer != null && !gate.isClosed()) {
                schedule.refresh(installed, issuer::renewalInfo);
            }
            Map<String, Optional<String>> problems = new HashMap<>();
            CoverageDecision.Reachability memo = domain -> problems.computeIfAbsent(domain, reachability::problem);
            CoverageDecision.Inputs in = new CoverageDecision.Inputs(installed, backoff, ledger, accountId, memo,
                    schedule::window, decisionClock);

            Map<String, CertificateStatus> statuses = new TreeMap<>();
            Boolean caOpen = null;
            for (CertificateGroup group : groups) {
                if (stopping) {
                    return;
                }
                CoverageDecision decision = CoverageDecision.decide(group, in);
                logOnce(decision);
                Map<String, CertificateStatus> s = CoverageStatus.of(decision, in, problems);
                if (decision instanceof NeedsIssue || decision instanceof NeedsRenewal) {
                    String certName = certificateName(group);
                    if (issuer == null) {
                        CoverageStatus.replacePlanned(s, st -> st.state().equals(CoverageStatus.RENEWING)
                                ? CoverageStatus.with(st, CoverageStatus.COVERED, "renewal due, but ACME is off "
                                        + "(lb.acme.directory-url is empty): drop a renewed certificate into the "
                                        + "certificate inbox")
                                : CoverageStatus.with(st, CoverageStatus.NOT_COVERED, "ACME is off "
                                        + "(lb.acme.directory-url is empty): drop a certificate into the certificate "
                                        + "inbox"));
                    } else if (Files.exists(inbox.resolve(certName + ".pem"))) {
                        CoverageStatus.replacePlanned(s, st -> CoverageStatus.with(st, CoverageStatus.INSTALLING,
                                "issued; waiting for the certificate inbox to install " + certName + ".pem"));
                    } else {
                        if (caOpen == null) {
                            caOpen = gate.mayOrder(this::caAnswers);
                        }
                        if (!caOpen) {
                            CoverageStatus.replacePlanned(s, st -> CoverageStatus.waitingForCa(st, gate));
                        } else {
                            publish(s);
                            s = order(group, decision, certName, in, problems);
                            caOpen = !gate.isClosed();
                        }
                    }
                }
                statuses.putAll(s);
                publish(s);
            }
            logged.keySet().retainAll(groups.stream().map(CertificateGroup::name).toList());
            forgetWaitedOut(groups);
            archiveOrphans(map.keySet(), installed);
            Set<String> gone = new HashSet<>(published.keySet());
            gone.removeAll(statuses.keySet());
            for (String domain : gone) {
                published.remove(domain);
                status.certificate(domain, null);
            }
            checks.incrementAndGet();
        } finally {
            running.unlock();
        }
    }

    /**
     * Orders the decision's names; after authorizations failed for some of them, orders once more without those (the
     * decision, made again, leaves them out while they back off), so the others are not held back until the next
     * check. Returns the group's status afterwards.
     */
    private Map<String, CertificateStatus> order(CertificateGroup group, CoverageDecision decision, String certName,
                                                 CoverageDecision.Inputs in, Map<String, Optional<String>> problems) {
        for (int round = 1; ; round++) {
            List<String> names = decision instanceof NeedsIssue i ? i.names() : ((NeedsRenewal) decision).names();
            boolean renewal = decision instanceof NeedsRenewal;
            LOG.info("certificate {}: ordering {} for {} from {}", certName, renewal ? "a renewal" : "a certificate",
                    String.join(", ", names), issuer.settings().caName());
            Optional<InstalledCertificate> replacing = decision instanceof NeedsRenewal r
                    ? Optional.of(r.replacing()) : Optional.empty();
            Optional<FailureScope> failure = orderOnce(group, certName, names, replacing);
            Map<String, CertificateStatus> after = CoverageStatus.of(decision, in, problems);
            if (failure.isEmpty()) {
                CoverageStatus.replacePlanned(after, st -> CoverageStatus.with(st, CoverageStatus.INSTALLING,
                        "issued; waiting for the certificate inbox to install " + certName + ".pem"));
                return after;
            }
            if (failure.get().kind() == FailureScope.Kind.CA || failure.get().kind() == FailureScope.Kind.CA_UNREACHABLE) {
                CoverageStatus.replacePlanned(after, st -> CoverageStatus.waitingForCa(st, gate));
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

    /** One order; empty on success, else whose failure it was (already recorded in the backoff and the ledger). */
    private Optional<FailureScope> orderOnce(CertificateGroup group, String certName, List<String> names,
                                             Optional<InstalledCertificate> replacing) {
        orders.incrementAndGet();
        ledger.recordOrder(accountId);
        try {
            AcmeIssuer.IssuedCertificate issued = issuer.issue(new AcmeIssuer.OrderRequest(names,
                    replacing.map(c -> c.bundle().leaf()), profiles.forNames(group.domains())));
            CertificateBundle bundle = CertificateBundle.parse(certName + ".pem", issued.haproxyPem(), clock);
            store.recordIssued(bundle, IssuedDetails.of(issued.outcome()));
            ledger.recordIssued(names);
            gate.succeeded();
            backoff.recordSuccess(group.name());
            names.forEach(backoff::recordSuccess);
            AtomicFiles.writePrivate(inbox.resolve(certName + ".pem"),
                    bundle.toHaproxyPem().getBytes(StandardCharsets.US_ASCII));
            LOG.info("certificate {}: issued for {} (valid until {}); handed to the certificate inbox", certName,
                    String.join(", ", names), bundle.notAfter());
            return Optional.empty();
        } catch (IssuanceException e) {
            FailureScope scope = FailureScope.of(e, names);
            String reason = e.getMessage();
            switch (scope.kind()) {
                case DOMAINS -> {
                    gate.succeeded(); // the CA answered: the names failed, not the CA
                    scope.domains().forEach(d -> {
                        ledger.recordFailedAuthorization(d);
                        backoff.recordFailure(d, reason);
                    });
                }
                case GROUP -> {
                    gate.succeeded();
                    backoff.recordFailure(group.name(), reason);
                }
                case CA -> gate.failed(reason, false);
                case CA_UNREACHABLE -> gate.failed(reason, true);
                case NONE -> { }
            }
            if (scope.kind() != FailureScope.Kind.NONE) {
                LOG.warn("certificate {}: the order for {} failed ({}); {}", certName, String.join(", ", names),
                        reason, backsOff(scope, group));
            }
            return Optional.of(scope);
        } catch (CertificateProblem | IOException | RuntimeException e) {
            backoff.recordFailure(group.name(), e.getMessage());
            LOG.error("certificate {}: could not store the certificate issued for {}: {}; retried after the backoff",
                    certName, String.join(", ", names), e.toString());
            return Optional.of(new FailureScope(FailureScope.Kind.GROUP, List.of()));
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
            case CA, CA_UNREACHABLE -> "no orders to the CA until " + gate.nextAttempt().map(Instant::toString)
                    .orElse("?") + (scope.kind() == FailureScope.Kind.CA_UNREACHABLE
                    ? " or until its directory answers again (checked at every check)" : "");
            case NONE -> "";
        };
    }

    /**
     * Drops the backoff of domains and groups that left the map once their wait is over, so backoff.json does not
     * grow forever; while a wait runs it is kept, so removing and re-adding a name is no way around it.
     */
    private void forgetWaitedOut(List<CertificateGroup> groups) {
        Set<String> current = new HashSet<>();
        current.add(CaGate.KEY);
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
    private boolean caAnswers() {
        try {
            issuer.supportsRenewalInfo();
            LOG.info("the CA {} answers again: resuming orders", issuer.settings().caName());
            return true;
        } catch (IssuanceException e) {
            return false;
        }
    }

    private void archiveOrphans(Set<String> mapDomains, List<InstalledCertificate> installed) {
        for (InstalledCertificate c : installed) {
            if (!c.issuedHere() || c.isFallback() || mapDomains.stream().anyMatch(c::covers)) {
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
                if (issuer == null) {
                    LOG.warn("certificate {} ({}): {}; not ordered: ACME is off (lb.acme.directory-url is empty)",
                            certificateName(decision.group()), names, text);
                } else {
                    LOG.info("certificate {} ({}): {}", certificateName(decision.group()), names, text);
                }
            }
        }
    }

    private void publish(Map<String, CertificateStatus> statuses) {
        Map<String, CertificateStatus> changed = new LinkedHashMap<>();
        statuses.forEach((domain, plain) -> {
            CertificateStatus s = withOrigin(plain);
            if (!s.equals(published.get(domain))) {
                changed.put(domain, s);
            }
        });
        changed.forEach((domain, s) -> {
            published.put(domain, s);
            status.certificate(domain, s);
        });
    }

    /** Adds which CA issued the serving certificate, its profile, the CA's ARI window and any note on its order. */
    private CertificateStatus withOrigin(CertificateStatus s) {
        InstalledCertificate c = s.certificate() == null ? null : installedByName.get(s.certificate());
        if (c == null || !c.issuedHere()) {
            return s;
        }
        Optional<IssuedDetails> details = store.details(c.bundle().fingerprint());
        Optional<RenewalSchedule.Suggestion> ari = schedule.suggestion(c);
        return s.withOrigin(details.map(IssuedDetails::ca).filter(ca -> !ca.isEmpty()).orElse(null),
                details.flatMap(IssuedDetails::profile).orElse(null),
                ari.map(a -> a.start() + "/" + a.end()).orElse(null),
                ari.flatMap(RenewalSchedule.Suggestion::explanation).map(Object::toString).orElse(null),
                details.flatMap(IssuedDetails::note).orElse(null));
    }

    private void saveState() {
        try {
            backoff.save(backoffFile);
            ledger.save(ledgerFile);
        } catch (IOException e) {
            LOG.error("could not save the certificate backoff or rate-limit ledger ({}): {}", backoffFile.getParent(),
                    e.getMessage());
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
