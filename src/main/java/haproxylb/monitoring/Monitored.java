package haproxylb.monitoring;

import haproxylb.assembly.AssemblyService;
import haproxylb.common.StateLayout;
import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.haproxy.Reloader;
import haproxylb.intake.FragmentStore;
import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

/**
 * The parts of the running daemon that monitoring reads (and, for the JMX operations, acts on).
 *
 * @param supervisor null in systemd mode
 * @param acmeOrders orders sent to the CA since start, as the certificate stage counts them; null without it
 * @param acme       the CAs' budgets, backoff and errors; null without the certificate stage
 */
public record Monitored(Clock clock, StateLayout layout, StatusBoard status, FragmentStore fragments,
                        AssemblyService assembly, Reloader reloader, HaproxySupervisor supervisor,
                        HaproxyProbe haproxy, LongSupplier acmeOrders, AcmeFigures acme) {

    public Path inbox() {
        return layout.inbox();
    }

    /** Changes accepted at intake and waiting for assembly: {@code <state>/pending/NAME.json}. */
    public PendingChanges pendingChanges() {
        Path dir = layout.pending();
        if (!Files.isDirectory(dir)) {
            return new PendingChanges(0, Optional.empty());
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> pending = files.filter(p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".json") && !n.startsWith(".");
            }).toList();
            Optional<Instant> oldest = pending.stream().map(Monitored::modified).flatMap(Optional::stream)
                    .min(Instant::compareTo);
            return new PendingChanges(pending.size(), oldest);
        } catch (IOException e) {
            return new PendingChanges(0, Optional.empty());
        }
    }

    private static Optional<Instant> modified(Path p) {
        try {
            FileTime t = Files.getLastModifiedTime(p);
            return Optional.of(t.toInstant());
        } catch (IOException e) {
            return Optional.empty(); // assembled (and deleted) while we looked
        }
    }

    /** @param oldest when the longest-waiting change arrived */
    public record PendingChanges(int count, Optional<Instant> oldest) {}
}
