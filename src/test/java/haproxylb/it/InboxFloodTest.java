package haproxylb.it;

import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 8, item 4, bounded for the suite: 20,000 files dropped into the inbox at once. The intake takes them in
 * chunks of lb.intake.max-per-poll, and meanwhile the health endpoint answers every request within a second (the
 * client gives up after one: a slower answer fails the test). bench/inbox-flood.sh runs the 100,000-file version
 * and records memory and drain time.
 */
class InboxFloodTest {
    private static final int FILES = 20_000;
    /** Probing lasts this long, short of 20,000 files draining (so the probes overlap the intake's work)... */
    private static final Duration PROBING = Duration.ofSeconds(6);
    /** ... or longer, up to this, until the prober has sent its 20 probes (a loaded machine answers slower). */
    private static final Duration PROBING_AT_MOST = Duration.ofSeconds(15);
    private static final int PROBES = 20;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    @Test
    void twenty_thousand_files_at_once_are_taken_in_chunks_while_health_answers_within_a_second() throws Exception {
        daemon = fixture.daemon().with("lb.intake.max-per-poll", "200").start();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + daemon.managementPort()
                + "/observe/health")).timeout(Duration.ofSeconds(1)).build();
        await("health answers", Duration.ofSeconds(30), () -> status(health) > 0);

        // Halves without partners: each is read and staged (a write and fsyncs), the costly path per file.
        Path inbox = daemon.inbox();
        for (int i = 0; i < FILES; i++) {
            Files.writeString(inbox.resolve(String.format("flood-%05d.cfg", i)), "backend be_flood_" + i + "\n");
        }

        AtomicBoolean probing = new AtomicBoolean(true);
        AtomicInteger probes = new AtomicInteger();
        AtomicLong slowestMillis = new AtomicLong();
        List<String> failures = new CopyOnWriteArrayList<>();
        Thread prober = new Thread(() -> {
            while (probing.get()) {
                long t0 = System.nanoTime();
                try {
                    HttpResponse<String> r = HTTP.send(health, HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() != 200 && r.statusCode() != 503) {
                        failures.add("HTTP " + r.statusCode());
                    }
                } catch (IOException e) {
                    failures.add(e.toString()); // includes HttpTimeoutException: no answer within a second
                } catch (InterruptedException e) {
                    return;
                }
                slowestMillis.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                probes.incrementAndGet();
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "health-prober");
        prober.start();

        long start = System.nanoTime();
        long enough = start + PROBING.toNanos();
        long deadline = start + PROBING_AT_MOST.toNanos();
        long left = FILES;
        while (System.nanoTime() < deadline && left > 0 && (System.nanoTime() < enough || probes.get() < PROBES)) {
            Thread.sleep(500);
            left = countIn(inbox, ".cfg");
        }
        probing.set(false);
        prober.join(5_000);
        long taken = FILES - left;
        double seconds = (System.nanoTime() - start) / 1e9;
        System.gc();
        long heapMb = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20;
        System.out.printf("InboxFloodTest: %d files dropped; %d taken in %.1f s; %d health probes, slowest %d ms,"
                + " %d failures; heap after GC %d MB%n", FILES, taken, seconds, probes.get(), slowestMillis.get(),
                failures.size(), heapMb);

        assertEquals(List.of(), failures, "every health probe answered within a second");
        assertTrue(probes.get() >= PROBES, "the prober ran: " + probes.get());
        assertTrue(taken >= 200, "the intake kept taking files: " + taken);
        assertTrue(daemon.context().getRouteController().getRouteStatus("fragment-intake").isStarted());
        daemon.context().getRouteController().stopRoute("fragment-intake");
        // By name: until the poll's fsyncs are committed, a staged half's claimed original is kept as well (a crash
        // then finds it in claimed/ and gives it back unless it is staged), so one file may be in two folders here.
        Set<String> names = new HashSet<>();
        for (Path dir : List.of(inbox, fixture.state().resolve("staging"), fixture.state().resolve("claimed"))) {
            names.addAll(namesIn(dir, ".cfg"));
        }
        assertEquals(FILES, names.size(), "every file is in the inbox, claimed or staged: none lost");
    }

    private static int status(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static Set<String> namesIn(Path dir, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(suffix) && !n.startsWith(".")).collect(Collectors.toSet());
        }
    }

    private static long countIn(Path dir, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(suffix)
                    && !p.getFileName().toString().startsWith(".")).count();
        }
    }
}
