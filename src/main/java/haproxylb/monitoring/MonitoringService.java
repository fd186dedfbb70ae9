package haproxylb.monitoring;

import haproxylb.common.Pacing;

import io.micrometer.core.instrument.MeterRegistry;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How operators watch haproxy-lb, tied to the CamelContext's life: the {@code haproxylb:type=Daemon} MBean, the
 * daemon's Prometheus metrics on Camel's meter registry, and the health checks (bound in the registry, where
 * Camel's health-check registry finds them). Exchanges end when the status board may have changed: the newest
 * assembly report is checked at once, and an observation of the whole board (which feeds the event counters and the
 * per-domain certificate series) is scheduled on a thread of its own, at most one per {@link #OBSERVE_DELAY_MS}, so
 * a storm of drops costs neither the pipeline's threads nor the status board's lock more than a few reads a second.
 * An observation costs in proportion to the domains (~0.2 s of CPU at 10,000), so it is also paced ({@link Pacing}):
 * during a storm at that size, five observations a second had taken 42 % of the JVM's CPU (bench/daemon-storm.sh).
 */
public final class MonitoringService extends ServiceSupport {
    private static final Logger LOG = LoggerFactory.getLogger(MonitoringService.class);
    /** Camel's micrometer-prometheus support binds its registry under this name (MicrometerConstants). */
    private static final String METER_REGISTRY = "metricsRegistry";
    static final long OBSERVE_DELAY_MS = 200;

    private final CamelContext context;
    private final Monitored daemon;
    private final StatusTally tally;
    private final DaemonMetrics metrics;
    private final HaproxyLbControl control;
    private final EventNotifierSupport exchanges = new ExchangeObserver();
    private final MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
    private final AtomicBoolean observationDue = new AtomicBoolean();
    /** Observations take at most a tenth of a core. */
    private final Pacing pacing = new Pacing(10);
    private volatile ScheduledExecutorService observer;

    /**
     * Builds the monitoring pieces and binds the health checks; call before the context starts.
     *
     * @param staleAfter         how long a change may wait for assembly, or for its reload beyond the rate limit,
     *                           before health is DOWN (lb.health.stale-after)
     * @param certificateMinDays health is DOWN while a certificate expires within this many days
     */
    public static MonitoringService install(CamelContext context, Monitored daemon, Duration staleAfter,
                                            int certificateMinDays) {
        return install(context, daemon, staleAfter, certificateMinDays, 0);
    }

    /** @param minFreeBytes the state-dir check is DOWN below this much free space (lb.health.min-free-space) */
    public static MonitoringService install(CamelContext context, Monitored daemon, Duration staleAfter,
                                            int certificateMinDays, long minFreeBytes) {
        MonitoringService service = new MonitoringService(context, daemon);
        bindCheck(context, "healthCheckHaproxy", new HaproxyHealthCheck(daemon.haproxy()));
        bindCheck(context, "healthCheckConfigFreshness", new ConfigFreshnessHealthCheck(daemon,
                new ConfigFreshness(daemon.reloader().gate().minInterval(), staleAfter)));
        bindCheck(context, "healthCheckCertificates", new CertificateHealthCheck(daemon, certificateMinDays));
        bindCheck(context, "healthCheckStateDir", new StateDirHealthCheck(daemon.layout().root(), daemon.status(),
                minFreeBytes));
        context.getManagementStrategy().addEventNotifier(service.exchanges);
        // Not bound in the registry: Camel would start a registry Service a second time.
        try {
            context.addService(service, true, true);
        } catch (Exception e) {
            throw new IllegalStateException("cannot add the monitoring service: " + e.getMessage(), e);
        }
        return service;
    }

    private static void bindCheck(CamelContext context, String name, HealthCheck check) {
        if (check instanceof CamelContextAware aware) {
            aware.setCamelContext(context);
        }
        context.getRegistry().bind(name, check);
    }

    private MonitoringService(CamelContext context, Monitored daemon) {
        this.context = context;
        this.daemon = daemon;
        this.tally = new StatusTally(daemon.status().snapshot());
        this.metrics = new DaemonMetrics(daemon, tally);
        this.control = new HaproxyLbControl(context, daemon, tally);
        tally.onAssembly(report -> metrics.recordAssembly(report.millis()));
    }

    HaproxyLbControl control() {
        return control;
    }

    @Override
    protected void doStart() throws Exception {
        observer = context.getExecutorServiceManager().newSingleThreadScheduledExecutor(this, "haproxylb-monitoring");
        MeterRegistry registry = context.getRegistry().lookupByNameAndType(METER_REGISTRY, MeterRegistry.class);
        if (registry == null) {
            registry = context.getRegistry().findSingleByType(MeterRegistry.class);
        }
        if (registry != null) {
            metrics.bindTo(registry);
        } else {
            LOG.info("No Micrometer registry (camel.metrics.enabled = false): haproxy-lb metrics are off");
        }
        observe();
        if (mbeans.isRegistered(HaproxyLbControl.NAME)) {
            // Left by another daemon in this JVM (tests run several one after another): the newest one wins.
            LOG.warn("{} was registered already; replacing it", HaproxyLbControl.NAME);
            unregister();
        }
        mbeans.registerMBean(control.mbean(), HaproxyLbControl.NAME);
        LOG.info("Monitoring: MBean {}, health checks haproxy, config-freshness, certificates, state-dir", HaproxyLbControl.NAME);
    }

    @Override
    protected void doStop() {
        ScheduledExecutorService executor = observer;
        observer = null;
        if (executor != null) {
            context.getExecutorServiceManager().shutdownNow(executor);
        }
        unregister();
        control.close();
        metrics.close();
    }

    private void unregister() {
        try {
            mbeans.unregisterMBean(HaproxyLbControl.NAME);
        } catch (InstanceNotFoundException e) {
            // not registered: nothing to do
        } catch (JMException e) {
            LOG.warn("Could not unregister {}: {}", HaproxyLbControl.NAME, e.getMessage());
        }
    }

    /** Reads the status board once and feeds the counters and the certificate series. */
    void observe() {
        tally.observe(daemon.assembly().lastReport());
        var status = daemon.status().snapshot();
        tally.observe(status);
        metrics.refresh(status);
    }

    private void observeSoon() {
        ScheduledExecutorService executor = observer;
        if (executor != null && observationDue.compareAndSet(false, true)) {
            try {
                long delay = Math.max(TimeUnit.MILLISECONDS.toNanos(OBSERVE_DELAY_MS), pacing.waitNanos());
                executor.schedule(() -> {
                    // Mid-storm the figures are stale within a poll, and an observation (O(domains)) would take
                    // CPU from the intake; what a storm changes is observed once it is taken in.
                    daemon.backlog().awaitCalm();
                    observationDue.set(false);
                    long start = System.nanoTime();
                    try {
                        observe();
                    } catch (RuntimeException e) {
                        LOG.warn("Monitoring could not read the daemon's status: {}", e.getMessage());
                    }
                    pacing.ran(start, System.nanoTime());
                }, delay, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                observationDue.set(false); // shutting down
            }
        }
    }

    /** Every stage ends an exchange: that is when the status board may have changed. */
    private final class ExchangeObserver extends ExchangeEndNotifier {
        @Override
        public void notify(CamelEvent event) {
            if (MonitoringService.this.isStarted()) {
                tally.observe(daemon.assembly().lastReport());
                observeSoon();
            }
        }
    }
}
