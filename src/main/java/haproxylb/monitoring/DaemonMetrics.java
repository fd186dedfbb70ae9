package haproxylb.monitoring;

import haproxylb.status.FragmentStatus;
import haproxylb.status.ReloadStatus;
import haproxylb.status.Status;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;

/**
 * The daemon's own Prometheus metrics, next to Camel's route metrics on {@code /observe/metrics}. Names as
 * Prometheus shows them (Micrometer adds {@code _total}, {@code _seconds}):
 * <pre>
 *   haproxylb_reloads_total                     reloads that haproxy confirmed (and starts of a supervised haproxy)
 *   haproxylb_reload_failures_total             reloads that failed (retried after the rate limit)
 *   haproxylb_reloads_coalesced_total           reload requests folded into a pending one by the rate limit
 *   haproxylb_reload_pending                    1 while a reload waits for the rate limit
 *   haproxylb_reload_last_timestamp_seconds     when the last reload was attempted
 *   haproxylb_reload_last_ok                    1 if it succeeded
 *   haproxylb_config_generation{kind}           kind=assembled: newest validated config; kind=live: what haproxy runs
 *   haproxylb_fragments{state}                  fragments by state: pending, assembled, live, rejected
 *   haproxylb_pending_changes                   changes accepted at intake, waiting for assembly
 *   haproxylb_rejections_total                  fragments (or removals) rejected
 *   haproxylb_assembly_seconds_{count,sum,max}  assembly stage runs, including every haproxy -c
 *   haproxylb_assembly_validations_total        haproxy -c runs (one per assembly, more while bisecting)
 *   haproxylb_haproxy_up                        1 while haproxy runs and answers on its stats socket
 *   haproxylb_haproxy_starts_total              haproxy starts by the supervisor (supervise mode)
 *   haproxylb_haproxy_dropped_logs              log lines haproxy's current worker could not write (show info)
 *   haproxylb_certificate_days_left{domain}     days until the domain's certificate expires
 *   haproxylb_certificates_failing              domains whose last ACME attempt failed (backing off)
 *   haproxylb_acme_orders_total                 orders sent to the CA (the certificate stage's count)
 *   haproxylb_acme_failures_total               failed ACME attempts (seen as a domain's backoff step growing)
 *   haproxylb_acme_quota_used{ca,limit}         per CA and ledger limit, the events counted in the fullest budget
 *   haproxylb_acme_quota_limit{ca,limit}        the most that budget allows per window
 *   haproxylb_acme_quota_frees_in_seconds{ca,limit}  until its oldest counted event leaves the window (0: none)
 *   haproxylb_acme_ca_backoff_seconds{ca}       until the CA, backing off as a whole, gets orders again (0: it does)
 *   haproxylb_acme_errors_total{ca,type}        failed orders by CA and error type (rateLimited, paused, ...)
 *   haproxylb_acme_last_error{domain,type}      1 per domain backing off, labelled with its last error's type
 *   haproxylb_certificate_ari_window_{start,end}_timestamp_seconds{certificate}  the CA's suggested renewal window
 * </pre>
 */
final class DaemonMetrics {
    private static final List<String> FRAGMENT_STATES = List.of("pending", "assembled", "live", "rejected");

    private final Monitored daemon;
    private final StatusTally tally;
    private final List<Meter> meters = new ArrayList<>();
    private MeterRegistry registry;
    private SteadyRows<Instant> certificateDays;
    private SteadyRows<Integer> lastErrors;
    private SteadyRows<Long> ariStart;
    private SteadyRows<Long> ariEnd;
    private final java.util.Set<String> errorSeries = new java.util.HashSet<>();
    private Timer assembly;

    DaemonMetrics(Monitored daemon, StatusTally tally) {
        this.daemon = daemon;
        this.tally = tally;
    }

    synchronized void bindTo(MeterRegistry registry) {
        this.registry = registry;
        counter("haproxylb.reloads", "reloads haproxy confirmed, and starts of a supervised haproxy",
                t -> t.last().reloads());
        counter("haproxylb.reload.failures", "failed reloads (retried after the rate limit)",
                StatusTally::reloadFailures);
        meters.add(FunctionCounter.builder("haproxylb.reloads.coalesced", daemon.reloader().gate(),
                        g -> g.coalesced())
                .description("reload requests folded into a pending one by the rate limit").register(registry));
        gauge("haproxylb.reload.pending", "1 while a reload waits for the rate limit",
                t -> t.last().reloadPending() ? 1 : 0);
        meters.add(Gauge.builder("haproxylb.reload.last.timestamp", tally, t -> lastReloadEpoch(t.last()))
                .baseUnit("seconds").description("when the last reload was attempted (epoch)").register(registry));
        gauge("haproxylb.reload.last.ok", "1 if the last reload succeeded",
                t -> t.last().lastReload() != null && t.last().lastReload().ok() ? 1 : 0);
        meters.add(Gauge.builder("haproxylb.config.generation", tally, t -> t.last().configGeneration())
                .tag("kind", "assembled").description("newest validated config generation").register(registry));
        meters.add(Gauge.builder("haproxylb.config.generation", tally, t -> t.last().liveGeneration())
                .tag("kind", "live").description("config generation haproxy runs").register(registry));
        for (String state : FRAGMENT_STATES) {
            meters.add(Gauge.builder("haproxylb.fragments", tally, t -> countState(t.last(), state))
                    .tag("state", state).description("fragments by state").register(registry));
        }
        meters.add(Gauge.builder("haproxylb.pending.changes", daemon, d -> d.pendingChanges().count())
                .description("changes accepted at intake, waiting for assembly").register(registry));
        counter("haproxylb.rejections", "fragments or removals rejected", StatusTally::rejections);
        assembly = Timer.builder("haproxylb.assembly")
                .description("assembly stage runs: fragments to a validated haproxy.cfg, every haproxy -c included")
                .register(registry);
        meters.add(assembly);
        counter("haproxylb.assembly.validations", "haproxy -c runs (one per assembly, more while bisecting)",
                StatusTally::validations);
        gauge("haproxylb.haproxy.old.workers", "haproxy workers still draining connections after a reload",
                t -> t.last().oldWorkers() == null ? 0 : t.last().oldWorkers().workers());
        gauge("haproxylb.haproxy.old.connections", "connections held by haproxy's old workers",
                t -> t.last().oldWorkers() == null ? 0 : t.last().oldWorkers().connections());
        meters.add(Gauge.builder("haproxylb.haproxy.up", daemon.haproxy(), p -> p.probe().up() ? 1 : 0)
                .description("1 while haproxy runs and answers on its stats socket").register(registry));
        meters.add(Gauge.builder("haproxylb.haproxy.dropped.logs", daemon.haproxy(), DaemonMetrics::droppedLogs)
                .description("log lines haproxy's current worker could not write (its log target was full or busy)")
                .register(registry));
        if (daemon.supervisor() != null) {
            meters.add(FunctionCounter.builder("haproxylb.haproxy.starts", daemon.supervisor(), s -> s.starts())
                    .description("haproxy starts by the supervisor").register(registry));
        }
        certificateDays = new SteadyRows<>(MultiGauge.builder("haproxylb.certificate.days.left")
                .description("days until the domain's certificate expires"), registry,
                expiry -> Duration.between(daemon.clock().instant(), expiry).toSeconds() / 86400.0);
        gauge("haproxylb.certificates.failing", "domains whose last ACME attempt failed (backing off)",
                t -> CertificateView.of(t.last().certificates()).values().stream()
                        .filter(d -> d.backoffStep() > 0).count());
        if (daemon.acmeOrders() != null) {
            meters.add(FunctionCounter.builder("haproxylb.acme.orders", daemon.acmeOrders(), LongSupplier::getAsLong)
                    .description("orders sent to the CA (successful or not)").register(registry));
        } else {
            counter("haproxylb.acme.orders", "ACME orders started", StatusTally::acmeOrders);
        }
        counter("haproxylb.acme.failures", "failed ACME attempts", StatusTally::acmeFailures);
        lastErrors = new SteadyRows<>(MultiGauge.builder("haproxylb.acme.last.error")
                .description("1 per domain backing off after a failed ACME attempt, labelled with the error's type"),
                registry, Integer::doubleValue);
        ariStart = new SteadyRows<>(MultiGauge.builder("haproxylb.certificate.ari.window.start.timestamp")
                .baseUnit("seconds").description("start of the CA's suggested renewal window (ARI) for the certificate"),
                registry, Long::doubleValue);
        ariEnd = new SteadyRows<>(MultiGauge.builder("haproxylb.certificate.ari.window.end.timestamp")
                .baseUnit("seconds").description("end of the CA's suggested renewal window (ARI) for the certificate"),
                registry, Long::doubleValue);
        bindAcme();
        refresh(tally.last());
    }

    /** The CAs' budgets and backoff: a fixed set of series (CAs and limits are known at start), read on scrape. */
    private void bindAcme() {
        AcmeFigures acme = daemon.acme();
        if (acme == null) {
            return;
        }
        for (AcmeFigures.Budget b : acme.budgets()) {
            Tags tags = Tags.of("ca", b.ca(), "limit", b.limit());
            meters.add(Gauge.builder("haproxylb.acme.quota.used", acme, a -> budget(a, b).map(u -> (double) u.used())
                            .orElse(Double.NaN))
                    .tags(tags).description("events counted in the fullest budget of the CA's ledger limit")
                    .register(registry));
            meters.add(Gauge.builder("haproxylb.acme.quota.limit", acme, a -> budget(a, b).map(u -> (double) u.max())
                            .orElse(Double.NaN))
                    .tags(tags).description("the most the limit allows per window").register(registry));
            meters.add(Gauge.builder("haproxylb.acme.quota.frees.in", acme, a -> budget(a, b)
                            .flatMap(AcmeFigures.Budget::freesOneAt).map(this::secondsUntil).orElse(0.0))
                    .baseUnit("seconds").tags(tags)
                    .description("until the oldest event counted in that budget leaves the window (0: none counted)")
                    .register(registry));
        }
        for (String ca : acme.caBackoff().keySet()) {
            meters.add(Gauge.builder("haproxylb.acme.ca.backoff", acme, a -> a.caBackoff()
                            .getOrDefault(ca, Optional.empty()).map(this::secondsUntil).orElse(0.0))
                    .baseUnit("seconds").tag("ca", ca)
                    .description("until the CA, backing off as a whole (down, rate limiting), gets orders again")
                    .register(registry));
        }
        registerErrorCounters();
    }

    private static Optional<AcmeFigures.Budget> budget(AcmeFigures acme, AcmeFigures.Budget like) {
        return acme.budgets().stream().filter(b -> b.ca().equals(like.ca()) && b.limit().equals(like.limit()))
                .findFirst();
    }

    private double secondsUntil(Instant t) {
        return Math.max(0, Duration.between(daemon.clock().instant(), t).toMillis() / 1000.0);
    }

    /** One counter per CA and error type seen so far; the types are a bounded set ({@code errorType}). */
    private void registerErrorCounters() {
        AcmeFigures acme = daemon.acme();
        if (acme == null || registry == null) {
            return;
        }
        for (AcmeFigures.Errors e : acme.errors()) {
            if (errorSeries.add(e.ca() + "\n" + e.type())) {
                meters.add(FunctionCounter.builder("haproxylb.acme.errors", acme, a -> a.errors().stream()
                                .filter(x -> x.ca().equals(e.ca()) && x.type().equals(e.type()))
                                .mapToLong(AcmeFigures.Errors::count).sum())
                        .tags("ca", e.ca(), "type", e.type())
                        .description("failed ACME orders by CA and error type").register(registry));
            }
        }
    }

    /** Called with every new status observation: keeps one days-left series per domain that has a certificate. */
    synchronized void refresh(Status status) {
        if (certificateDays == null) {
            return;
        }
        java.util.Map<Tags, Instant> expiries = new java.util.HashMap<>();
        java.util.Map<Tags, Integer> errors = new java.util.HashMap<>();
        java.util.Map<Tags, Long> starts = new java.util.HashMap<>();
        java.util.Map<Tags, Long> ends = new java.util.HashMap<>();
        CertificateView.of(status.certificates()).forEach((domain, cert) -> {
            cert.expires().ifPresent(at -> expiries.put(Tags.of("domain", domain), at));
            if (cert.backoffStep() > 0 && !cert.lastErrorType().isEmpty()) {
                errors.put(Tags.of("domain", domain, "type", cert.lastErrorType()), 1);
            }
            cert.certificate().ifPresent(name -> cert.ariWindow().ifPresent(w -> {
                starts.put(Tags.of("certificate", name), w.start().getEpochSecond());
                ends.put(Tags.of("certificate", name), w.end().getEpochSecond());
            }));
        });
        certificateDays.update(expiries);
        lastErrors.update(errors);
        ariStart.update(starts);
        ariEnd.update(ends);
        registerErrorCounters();
    }

    synchronized void recordAssembly(long millis) {
        if (assembly != null) {
            assembly.record(millis, TimeUnit.MILLISECONDS);
        }
    }

    synchronized void close() {
        if (registry == null) {
            return;
        }
        for (SteadyRows<?> rows : java.util.Arrays.asList(certificateDays, lastErrors, ariStart, ariEnd)) {
            if (rows != null) {
                rows.clear();
            }
        }
        meters.forEach(registry::remove);
        meters.clear();
        certificateDays = null;
        lastErrors = null;
        ariStart = null;
        ariEnd = null;
        errorSeries.clear();
        assembly = null;
        registry = null;
    }

    private void counter(String name, String description, ToDoubleFunction<StatusTally> f) {
        meters.add(FunctionCounter.builder(name, tally, f).description(description).register(registry));
    }

    private void gauge(String name, String description, ToDoubleFunction<StatusTally> f) {
        meters.add(Gauge.builder(name, tally, f).description(description).register(registry));
    }

    private static long countState(Status s, String state) {
        return s.fragments().values().stream().map(FragmentStatus::state).filter(state::equals).count();
    }

    private static double lastReloadEpoch(Status s) {
        ReloadStatus r = s.lastReload();
        if (r == null) {
            return Double.NaN;
        }
        try {
            return Instant.parse(r.at()).toEpochMilli() / 1000.0;
        } catch (DateTimeParseException e) {
            return Double.NaN;
        }
    }

    /** Dropped logs reuse the 'show info' of the up gauge (read just before it in a scrape) within this long. */
    private static final Duration ONE_SCRAPE = Duration.ofSeconds(1);

    /** show info's DroppedLogs of the worker answering the stats socket; NaN while haproxy does not answer. */
    private static double droppedLogs(HaproxyProbe probe) {
        Object dropped = probe.recent(ONE_SCRAPE).details().get("droppedlogs");
        try {
            return dropped == null ? Double.NaN : Double.parseDouble(dropped.toString());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }
}
