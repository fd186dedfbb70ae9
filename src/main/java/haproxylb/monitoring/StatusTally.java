package haproxylb.monitoring;

import haproxylb.assembly.AssemblyService.AssemblyReport;
import haproxylb.status.FragmentStatus;
import haproxylb.status.ReloadStatus;
import haproxylb.status.Status;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Turns the status board's successive states into event counts: reload failures, rejections, assemblies (and
 * their time and haproxy -c runs), ACME orders and failed attempts. The status board keeps only the latest outcome
 * of each thing, so the tally compares each observation with the previous one. Assembly reports are handed in after
 * every exchange (a cheap check; each assembly ends its exchange); the status board is observed a few times a
 * second at most, which is often enough, as reloads are at least lb.reload.min-interval apart and a fragment's
 * rejections at least one assembly. Counts start at zero with the process, like any Prometheus counter.
 */
final class StatusTally {
    /** Certificate states in which an ACME order is under way (see haproxylb.status.CertificateStatus). */
    private static final Set<String> ORDERING = Set.of("issuing", "renewing");

    private volatile Status last;
    private ReloadStatus lastReload;
    /**
     * Guards the assembly counts, apart from the status observation's lock: every exchange of every route hands in a
     * report, and waiting behind an observation (O(domains)) cost the intake's thread half a second per storm.
     */
    private final Object reports = new Object();
    private AssemblyReport lastReport;
    private final Map<String, String> rejectionsSeen = new HashMap<>();
    private final Map<String, CertificateView.Domain> certificatesSeen = new HashMap<>();
    private Consumer<AssemblyReport> assemblyListener = r -> {};

    private long reloadFailures;
    private long rejections;
    private long assemblies;
    private long assemblyMillis;
    private long validations;
    private long acmeOrders;
    private long acmeFailures;

    /** What was there before this process: remembered, not counted. */
    StatusTally(Status baseline) {
        last = baseline;
        lastReload = baseline.lastReload();
        baseline.fragments().forEach((name, f) -> {
            if ("rejected".equals(f.state())) {
                rejectionsSeen.put(name, key(f));
            }
        });
        certificatesSeen.putAll(CertificateView.of(baseline.certificates()));
    }

    void onAssembly(Consumer<AssemblyReport> listener) {
        synchronized (reports) {
            this.assemblyListener = listener;
        }
    }

    /** A report not seen before is one more assembly. */
    void observe(AssemblyReport report) {
        synchronized (reports) {
            if (report != null && report != lastReport) {
                lastReport = report;
                assemblies++;
                assemblyMillis += report.millis();
                validations += report.validations();
                assemblyListener.accept(report);
            }
        }
    }

    synchronized void observe(Status now) {
        last = now;
        ReloadStatus reload = now.lastReload();
        if (reload != null && !reload.equals(lastReload)) {
            if (!reload.ok()) {
                reloadFailures++;
            }
            lastReload = reload;
        }
        now.fragments().forEach((name, f) -> {
            if ("rejected".equals(f.state())) {
                String key = key(f);
                if (!key.equals(rejectionsSeen.put(name, key))) {
                    rejections++;
                }
            } else {
                rejectionsSeen.remove(name);
            }
        });
        rejectionsSeen.keySet().retainAll(now.fragments().keySet());
        CertificateView.of(now.certificates()).forEach((domain, cert) -> {
            CertificateView.Domain before = certificatesSeen.put(domain, cert);
            if (ORDERING.contains(cert.state()) && (before == null || !before.state().equals(cert.state()))) {
                acmeOrders++;
            }
            if (cert.backoffStep() > (before == null ? 0 : before.backoffStep())) {
                acmeFailures++;
            }
        });
    }

    private static String key(FragmentStatus f) {
        return f.updatedAt() + "|" + f.id();
    }

    Status last() {
        return last;
    }

    synchronized long reloadFailures() {
        return reloadFailures;
    }

    synchronized long rejections() {
        return rejections;
    }

    long assemblies() {
        synchronized (reports) {
            return assemblies;
        }
    }

    long assemblyMillis() {
        synchronized (reports) {
            return assemblyMillis;
        }
    }

    long validations() {
        synchronized (reports) {
            return validations;
        }
    }

    synchronized long acmeOrders() {
        return acmeOrders;
    }

    synchronized long acmeFailures() {
        return acmeFailures;
    }
}
