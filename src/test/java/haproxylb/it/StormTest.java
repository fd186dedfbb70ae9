package haproxylb.it;

import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.MasterCli;
import haproxylb.intake.Fragment;
import haproxylb.status.FragmentStatus;
import haproxylb.status.Status;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.RouteProcessors;

import org.apache.camel.processor.aggregate.AggregateProcessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 5, item 4: 1,000 fragment drops in 10 s through the real daemon (real routes, real haproxy). 930 distinct
 * names, 70 of them dropped a second time with new content, 30 deliberately broken (at intake, at haproxy -c and at
 * haproxy-lb's own rules). Afterwards every name is accounted for (live with the id of its last version, or rejected
 * with its reason), reloads are at most one per lb.reload.min-interval (status.json and haproxy's master agree) and
 * the heap after GC has not grown beyond a bound.
 *
 * <p>The interval is 10 s instead of the default 60 s to keep the test short: the test ends one trailing reload after
 * the backlog is worked off, so the interval is its tail. The first change reloads at once; whatever is accepted later
 * coalesces into one trailing reload per interval until the backlog is worked off (two or three more reloads on a quiet
 * machine, where 1,000 drops are processed within ~30 s; more on a loaded one, where the intake's fsyncs and
 * status.json rewrites make it ~14 drops/s). What is asserted holds either way: reloads at least one interval apart,
 * and as many in status.json as haproxy's master counts.
 *
 * <p>Heap growth is bounded rather than zero: the daemon keeps a little state per fragment (status, certificate
 * coverage), ~7 MB for these 1,000 (class histogram before/after).
 */
class StormTest {
    private static final int DISTINCT = 930;
    private static final int REPLACED = 70;
    private static final int BAD_EACH = 10; // x3 kinds
    private static final Duration STORM = Duration.ofSeconds(10);
    private static final Duration INTERVAL = Duration.ofSeconds(10);
    private static final long HEAP_GROWTH_LIMIT = 48L << 20;

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    /** What the test sent last under each name, and what should become of it. */
    private record Expected(String name, String cfg, String map, String version, Kind kind) {
        String id() {
            return Fragment.idOf(cfg, map);
        }
    }

    private enum Kind { GOOD, BAD_INTAKE, BAD_HAPROXY, BAD_RULES }

    @Test
    void a_storm_of_1000_drops_in_10_seconds_ends_all_accounted_for_with_at_most_one_reload_per_interval()
            throws Exception {
        daemon = fixture.daemon()
                .with("lb.reload.min-interval", Long.toString(INTERVAL.toMillis()))
                .start();
        await("haproxy's start to be recorded", Duration.ofSeconds(30), () -> reloadsInStatus() >= 1);
        MasterCli master = new MasterCli(new HaproxySocket(fixture.state().resolve("run/master.sock"),
                Duration.ofSeconds(5)));
        long statusReloadsBefore = daemon.status().reloads();
        int masterReloadsBefore = master.showProc().reloads();
        long heapBefore = heapAfterGc();

        // Which drop is what: names s000..s929; every 31st one broken in one of three ways; the last 70 drops are
        // second versions of good names dropped early in the storm.
        List<Expected> drops = new ArrayList<>();
        Map<String, Expected> last = new TreeMap<>();
        int bad = 0;
        for (int i = 0; i < DISTINCT; i++) {
            String name = String.format("s%03d", i);
            Kind kind = Kind.GOOD;
            if (i % 31 == 7 && bad < 3 * BAD_EACH) {
                kind = Kind.values()[1 + bad++ % 3];
            }
            Expected e = version(name, "v1", kind);
            drops.add(e);
            last.put(name, e);
        }
        assertEquals(3 * BAD_EACH, bad);
        List<String> replaced = new ArrayList<>();
        for (int i = 0, n = 0; i < REPLACED; n++) {
            String name = String.format("s%03d", n);
            if (last.get(name).kind() == Kind.GOOD) {
                Expected e = version(name, "v2", Kind.GOOD);
                drops.add(e);
                last.put(name, e);
                replaced.add(name);
                i++;
            }
        }
        assertEquals(1000, drops.size());

        // When haproxy reloads, as its master sees it: polled every 50 ms over the master CLI (cheap, unlike parsing
        // the whole status.json that often).
        List<Instant> reloads = new CopyOnWriteArrayList<>();
        AtomicBoolean watching = new AtomicBoolean(true);
        Thread watcher = new Thread(() -> watchReloads(master, masterReloadsBefore, reloads, watching),
                "reload-watcher");
        watcher.setDaemon(true);
        watcher.start();

        Instant start = Instant.now();
        long period = STORM.toNanos() / drops.size();
        long t0 = System.nanoTime();
        int waitedForInbox = 0;
        for (int i = 0; i < drops.size(); i++) {
            long due = t0 + i * period;
            long now = System.nanoTime();
            if (due > now) {
                Thread.sleep((due - now) / 1_000_000, (int) ((due - now) % 1_000_000));
            }
            Expected e = drops.get(i);
            if (e.version().equals("v2") && firstVersionStillInInbox(e.name())) {
                // Same-name pairs are matched by name only: a second version must not overtake the first one's files
                // inside the inbox. Operators' tools wait for the outcome (haproxy-config apply); so does the test.
                waitedForInbox++;
                await("the first version of " + e.name() + " to leave the inbox", Duration.ofSeconds(20),
                        () -> !firstVersionStillInInbox(e.name()));
            }
            drop(e);
        }
        // How long sending took is a figure (printed below), not an assertion: on a loaded machine the intake falls
        // behind and second versions wait for their first, which is the behaviour under test, not a failure.
        Duration stormTook = Duration.between(start, Instant.now());

        awaitSlowly("every name to be live or rejected", Duration.ofSeconds(150), () -> allSettled(last));
        Duration toAllSettled = Duration.between(start, Instant.now());
        Status status = daemon.status();
        long statusReloads = status.reloads() - statusReloadsBefore;
        // The watcher polls: give it a moment to see the reload that made the last fragments live.
        await("the watcher to see every reload", Duration.ofSeconds(5), () -> reloads.size() >= statusReloads);
        watching.set(false);
        watcher.join(5000);

        // 1. Every name accounted for: good ones live with the id of their last version, bad ones rejected.
        int live = 0;
        int rejected = 0;
        for (Expected e : last.values()) {
            FragmentStatus f = status.fragments().get(e.name());
            if (f == null) {
                fail("fragment " + e.name() + " is missing from status.json");
            }
            if (e.kind() == Kind.GOOD) {
                assertEquals("live", f.state(), e.name() + ": " + f);
                assertEquals(e.id(), f.id(), e.name() + " is live in its last version (" + e.version() + ")");
                live++;
            } else {
                assertEquals("rejected", f.state(), e.name() + ": " + f);
                String error = daemon.rejection(e.name());
                String expected = switch (e.kind()) {
                    case BAD_INTAKE -> e.name() + ".map line 1: expected 'domain backend' (two fields)";
                    case BAD_HAPROXY -> e.name() + ".cfg line 2: haproxy -c refused the config.";
                    case BAD_RULES -> e.name() + ".map line 1: domain '" + e.name()
                            + ".storm.test' is routed to backend 'be_nowhere'";
                    case GOOD -> throw new AssertionError();
                };
                assertTrue(error.contains(expected), e.name() + " (" + e.kind() + "): " + error);
                rejected++;
            }
        }
        assertEquals(DISTINCT - 3 * BAD_EACH, live);
        assertEquals(3 * BAD_EACH, rejected);
        assertTrue(status.fragments().keySet().equals(last.keySet()), "no other names in status.json");

        // 2. Nothing applied twice or left behind: one backend section and one map line per good fragment.
        String cfg = Files.readString(fixture.state().resolve("haproxy/haproxy.cfg"));
        String map = Files.readString(fixture.state().resolve("haproxy/backend.map"));
        for (Expected e : last.values()) {
            int expected = e.kind() == Kind.GOOD ? 1 : 0;
            assertEquals(expected, count(cfg, "(?m)^backend be_" + e.name() + "$"), "backend of " + e.name());
            assertEquals(expected, count(map, "(?m)^" + Pattern.quote(e.name() + ".storm.test") + " "),
                    "map line of " + e.name());
        }
        try (var inbox = Files.list(daemon.inbox()); var pending = Files.list(fixture.state().resolve("pending"));
             var staging = Files.list(fixture.state().resolve("staging"))) {
            assertEquals(List.of(), inbox.toList(), "inbox drained");
            assertEquals(List.of(), pending.toList(), "nothing left pending");
            assertEquals(List.of(), staging.toList(), "no half pair left waiting");
        }

        // 3. Served: every second version, and a sample of the rest, answers with its own text over HTTPS.
        Random random = new Random(5);
        List<String> sample = new ArrayList<>(replaced);
        List<String> good = last.values().stream().filter(e -> e.kind() == Kind.GOOD).map(Expected::name).toList();
        for (int i = 0; i < 30; i++) {
            sample.add(good.get(random.nextInt(good.size())));
        }
        for (String name : sample) {
            EdgeClient.Response r = EdgeClient.https(daemon.httpsPort(), name + ".storm.test", "/");
            assertEquals(200, r.status(), name);
            assertEquals(name + " " + last.get(name).version(), r.body(), name);
        }

        // 4. Reloads: at most one per interval; status.json and haproxy's master count the same ones.
        int masterReloads = master.showProc().reloads() - masterReloadsBefore;
        assertEquals(statusReloads, masterReloads, "status.json and haproxy's master count the same reloads");
        assertEquals(0, master.showProc().failedReloads(), "no reload failed");
        assertEquals(masterReloads, reloads.size(), "the watcher saw every reload: " + reloads);
        assertTrue(masterReloads >= 1, "the storm was reloaded at least once");
        for (int i = 1; i < reloads.size(); i++) {
            Duration gap = Duration.between(reloads.get(i - 1), reloads.get(i));
            // Seen when the new worker is up, ~0.1-1 s after SIGUSR2 depending on the config's size and the load.
            assertTrue(gap.compareTo(INTERVAL.minusSeconds(1)) >= 0, "reloads " + gap + " apart: " + reloads);
        }
        long window = Duration.between(start, reloads.get(reloads.size() - 1)).toMillis();
        assertTrue(masterReloads <= 1 + window / INTERVAL.toMillis(), masterReloads + " reloads in " + window + " ms");

        // 5. Memory flat. Camel's aggregator lets go of every assembly once it is over: a certificate check request
        // discarded (one already queued) used to keep its assembly counted as running, half of a storm's, for ever.
        AggregateProcessor aggregator = RouteProcessors.aggregator(daemon.context(), "assembly");
        await("the aggregator to hold no finished assembly", Duration.ofSeconds(30),
                () -> aggregator.getInProgressCompleteExchanges() == 0);
        long heapAfter = heapAfterGc();
        System.out.printf("StormTest: 1000 drops sent in %d ms (waited for the inbox %d times); all live or rejected"
                        + " %d ms after the first drop; reloads %d (status.json) = %d (master), at %s;"
                        + " heap after GC %d MB -> %d MB%n", stormTook.toMillis(), waitedForInbox,
                toAllSettled.toMillis(), statusReloads, masterReloads,
                reloads.stream().map(r -> Duration.between(start, r).toMillis() + " ms").toList(), heapBefore >> 20,
                heapAfter >> 20);
        assertTrue(heapAfter - heapBefore < HEAP_GROWTH_LIMIT, "heap after GC grew from " + (heapBefore >> 20)
                + " MB to " + (heapAfter >> 20) + " MB");
    }

    private static Expected version(String name, String version, Kind kind) {
        String backend = "be_" + name;
        String domain = name + ".storm.test";
        String cfg = switch (kind) {
            case BAD_HAPROXY -> "backend " + backend + "\n    http-request retrun status 200\n";
            default -> "backend " + backend + "\n    http-request return status 200 content-type text/plain string \""
                    + name + " " + version + "\"\n";
        };
        String map = switch (kind) {
            case BAD_INTAKE -> domain + " " + backend + " extra\n";
            case BAD_RULES -> domain + " be_nowhere\n";
            default -> "# storm\n" + domain + " " + backend + "\n";
        };
        return new Expected(name, cfg, map, version, kind);
    }

    /** Like scp or Ansible: a hidden temp file in the inbox, renamed into place (no fsync: the sender's business). */
    private void drop(Expected e) throws IOException {
        for (String[] file : List.of(new String[] {".cfg", e.cfg()}, new String[] {".map", e.map()})) {
            Path temp = daemon.inbox().resolve("." + e.name() + file[0] + ".tmp");
            Files.writeString(temp, file[1], StandardCharsets.UTF_8);
            Files.move(temp, daemon.inbox().resolve(e.name() + file[0]), StandardCopyOption.ATOMIC_MOVE);
        }
    }

    private boolean firstVersionStillInInbox(String name) {
        return Files.exists(daemon.inbox().resolve(name + ".cfg")) || Files.exists(daemon.inbox().resolve(name + ".map"));
    }

    private boolean allSettled(Map<String, Expected> last) {
        try {
            Map<String, FragmentStatus> fragments = daemon.status().fragments();
            for (Expected e : last.values()) {
                FragmentStatus f = fragments.get(e.name());
                if (f == null) {
                    return false;
                }
                boolean settled = e.kind() == Kind.GOOD ? f.state().equals("live") && e.id().equals(f.id())
                        : f.state().equals("rejected");
                if (!settled) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private long reloadsInStatus() {
        try {
            return daemon.status().reloads();
        } catch (IOException e) {
            return -1;
        }
    }

    private static void watchReloads(MasterCli master, int before, List<Instant> reloads, AtomicBoolean watching) {
        int seen = before;
        while (watching.get()) {
            try {
                int now = master.showProc().reloads();
                for (; seen < now; seen++) {
                    reloads.add(Instant.now());
                }
            } catch (IOException e) {
                // the master is busy re-executing itself during a reload: ask again
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** For conditions that parse all of status.json: every 5 ms would compete with the daemon for the CPU. */
    private static void awaitSlowly(String what, Duration limit, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + limit.toMillis() + " ms waiting until " + what);
            }
            Thread.sleep(500);
        }
    }

    private static int count(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    private static long heapAfterGc() throws InterruptedException {
        var memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        // The lowest of a few full collections spread over 2 s: work in flight (a certificate check, a status.json
        // being written) holds transient buffers that are not growth.
        for (int i = 0; i < 5; i++) {
            System.gc();
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
            Thread.sleep(400);
        }
        return used;
    }
}
