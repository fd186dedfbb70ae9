package haproxylb.monitoring;

import haproxylb.assembly.AssemblyService;
import haproxylb.common.StateLayout;
import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.haproxy.Reloader;
import haproxylb.intake.FragmentStore;
import haproxylb.intake.InboxBacklog;
import haproxylb.intake.PendingChange;
import haproxylb.status.StatusBoard;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The parts of the running daemon that monitoring reads (and, for the JMX operations, acts on).
 *
 * @param supervisor null in systemd mode
 * @param acmeOrders orders sent to the CA since start, as the certificate stage counts them; null without it
 * @param acme       the CAs' budgets, backoff and errors; null without the certificate stage
 * @param backlog    whether a storm of drops is being taken in
 */
public record Monitored(Clock clock, StateLayout layout, StatusBoard status, FragmentStore fragments,
                        AssemblyService assembly, Reloader reloader, HaproxySupervisor supervisor,
                        HaproxyProbe haproxy, LongSupplier acmeOrders, AcmeFigures acme, InboxBacklog backlog) {

    public Path inbox() {
        return layout.inbox();
    }

    /** Changes accepted at intake and waiting for assembly, as the fragment store holds them (pending/). */
    public PendingChanges pendingChanges() {
        List<PendingChange> pending = fragments.pendingChanges();
        Optional<Instant> oldest = pending.stream().mapToLong(PendingChange::receivedAtMillis).min().stream()
                .mapToObj(Instant::ofEpochMilli).findFirst();
        return new PendingChanges(pending.size(), oldest);
    }

    /** @param oldest when the longest-waiting change arrived */
    public record PendingChanges(int count, Optional<Instant> oldest) {}
}
