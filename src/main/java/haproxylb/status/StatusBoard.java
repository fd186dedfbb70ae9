package haproxylb.status;

import haproxylb.common.Json;
import haproxylb.common.AtomicFiles;
import haproxylb.common.Excerpt;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the daemon's outcome of every change and publishes it as status.json (atomically), which is how
 * {@code haproxy-config apply} learns whether its fragment went live or why it was rejected.
 */
public final class StatusBoard {
    private static final Logger LOG = LoggerFactory.getLogger(StatusBoard.class);

    private final Path file;
    private final Clock clock;
    private final Map<String, FragmentStatus> fragments = new TreeMap<>();
    private final Map<String, Object> certificates = new TreeMap<>();
    /** The reload stage's facts as last handed over; the reload stage ({@code haproxy.ReloadGate}) owns them. */
    private ReloadFacts reload = ReloadFacts.NONE;
    private OldWorkers oldWorkers = OldWorkers.NONE;
    private String publishProblem;
    /** Written once at least: only then is a missing file one that was deleted. */
    private boolean published;
    /**
     * Threads inside a {@link Publication}, with how deep: their changes are written once, when their outermost one
     * closes. Other threads publish as usual (and their write carries the deferred changes too).
     */
    private final Map<Thread, Integer> deferring = new HashMap<>();
    /**
     * Deferring threads with changes not yet written. Per thread: the intake closes a publication per poll, and
     * writing then on behalf of the assembly's open one would rewrite status.json (MBs at 10,000 fragments) per poll.
     */
    private final Set<Thread> unpublished = new HashSet<>();

    public StatusBoard(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
        load();
    }

    public static Status read(Path file) throws IOException {
        return Json.MAPPER.readValue(file.toFile(), Status.class);
    }

    /** What a start takes back from status.json. */
    record Restored(long configGeneration, long liveGeneration, long reloads, ReloadStatus lastReload,
                    Map<String, FragmentStatus> fragments) {}

    private static final Set<String> RESTORED = Arrays.stream(Restored.class.getRecordComponents())
            .map(RecordComponent::getName).collect(Collectors.toUnmodifiableSet());

    /**
     * Reads the fields of {@link Restored} and stops once it has them all. The certificates, most of the file at
     * 10,000 domains (2 MB, written after the fragments), are the coverage check's to publish again: reading them
     * made a start about a second slower.
     */
    private static Restored restored(Path file) throws IOException {
        try (JsonParser p = Json.MAPPER.createParser(file.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("not a JSON object");
            }
            ObjectNode kept = Json.MAPPER.createObjectNode();
            while (kept.size() < RESTORED.size() && p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.getCurrentName();
                p.nextToken();
                if (RESTORED.contains(field)) {
                    kept.set(field, p.readValueAsTree());
                } else {
                    p.skipChildren();
                }
            }
            return Json.MAPPER.treeToValue(kept, Restored.class);
        }
    }

    private void load() {
        if (!Files.exists(file)) {
            return;
        }
        try {
            Restored s = restored(file);
            if (s.fragments() != null) {
                fragments.putAll(s.fragments());
            }
            reload = new ReloadFacts(s.configGeneration(), s.liveGeneration(), false, null, s.reloads(), 0,
                    s.lastReload());
        } catch (IOException e) {
            LOG.warn("Could not read {} ({}); starting with an empty status", file, e.getMessage());
        }
    }

    /**
     * Start-up, before anything else runs: rebuilds every fragment's entry from what the store holds. status.json is
     * written after the store changes, so a crash between the two leaves it behind the disk (a replacement promoted
     * into fragments/ while status.json still said "live, previous version": issue 13). The store wins, in this order:
     * a change waiting in pending/ (the start-up assembly decides it), a rejection (rejected/NAME.error; a promotion
     * deletes it), the version in fragments/, nothing. An entry that disagrees with the store is replaced; a version
     * whose reload is not known to have happened is "assembled" in a generation that makes the reload owed.
     *
     * @return the reload facts the reload stage starts from: the last published ones, with a newer config generation
     * when the store holds something haproxy is not known to run
     */
    public synchronized ReloadFacts restore(Map<String, StoredFragment> store) {
        String now = clock.instant().toString();
        long configGeneration = reload.configGeneration();
        long owed = Math.max(configGeneration, reload.liveGeneration() + 1);
        boolean reloadOwed = false;
        Set<String> names = new TreeSet<>(fragments.keySet());
        names.addAll(store.keySet());
        for (String name : names) {
            FragmentStatus known = fragments.get(name);
            StoredFragment disk = store.getOrDefault(name, StoredFragment.NONE);
            FragmentStatus truth;
            if (disk.pendingId() != null) {
                truth = is(known, "pending", disk.pendingId()) ? known
                        : new FragmentStatus("pending", disk.pendingId(), configGeneration, null, now);
            } else if (disk.rejection() != null) {
                truth = known != null && known.state().equals("rejected") && known.error() != null
                        && known.error().strip().equals(disk.rejection().strip()) ? known
                        : new FragmentStatus("rejected", disk.rejectedId(), configGeneration, disk.rejection().strip(),
                        now);
            } else if (disk.liveId() != null) {
                if (is(known, "live", disk.liveId()) || is(known, "assembled", disk.liveId())) {
                    truth = known;
                } else {
                    truth = new FragmentStatus("assembled", disk.liveId(), owed, null, now);
                    reloadOwed = true;
                }
            } else if (known != null && (known.state().equals("live") || known.state().equals("assembled")
                    || known.state().equals("pending") && known.id() != null && known.id().startsWith("remove-"))) {
                // Gone from fragments/ without a status update: a removal carried out, not yet known to be reloaded.
                truth = new FragmentStatus("removed", null, owed, null, now);
                reloadOwed = true;
            } else {
                truth = known != null && known.state().equals("removed") ? known : null;
            }
            if (truth == null) {
                fragments.remove(name);
            } else {
                fragments.put(name, truth);
            }
        }
        if (reloadOwed) {
            reload = new ReloadFacts(owed, reload.liveGeneration(), reload.reloadPending(), reload.nextReloadAt(),
                    reload.reloads(), reload.reloadsCoalesced(), reload.lastReload());
        }
        publish();
        return reload;
    }

    private static boolean is(FragmentStatus status, String state, String id) {
        return status != null && status.state().equals(state) && id.equals(status.id());
    }

    /**
     * Recorded, but published with the assembly that follows within lb.assembly.batch ms: rewriting status.json for
     * every drop made a storm of N drops cost O(N²) writes.
     */
    public synchronized void pending(String name, String id) {
        fragments.put(name, new FragmentStatus("pending", id, reload.configGeneration(), null,
                clock.instant().toString()));
    }

    public synchronized void rejected(String name, String id, String error) {
        // haproxy-config status prints this: quoted input must not carry escape sequences to a terminal.
        put(name, "rejected", id, reload.configGeneration(), Excerpt.controlsEscaped(error));
    }

    /**
     * A config generation was written ({@code facts.configGeneration()}). {@code accepted}: fragments whose new
     * version is in it; {@code live}: every fragment in it (those without a status yet, after a restart for instance,
     * are recorded too).
     */
    public synchronized void assembled(ReloadFacts facts, Map<String, String> accepted, Map<String, String> live,
                                       Iterable<String> removed) {
        long generation = facts.configGeneration();
        String state = generation <= facts.liveGeneration() ? "live" : "assembled";
        // One publish for the whole batch: status.json holds every fragment, so publishing per fragment made a
        // storm of n drops rewrite (and fsync) it O(n) times per assembly (StormTest).
        accepted.forEach((name, id) -> set(name, state, id, generation, null));
        live.forEach((name, id) -> {
            if (!fragments.containsKey(name)) {
                set(name, state, id, generation, null);
            }
        });
        for (String name : removed) {
            set(name, "removed", null, generation, null);
        }
        // A removal that left the config as it was (the fragment was never live: rejected, or removed before its
        // assembly) needs no reload, so no reload would ever clear it (CrashSafetyTest).
        reload(facts);
    }

    /**
     * The reload stage's facts changed (a reload requested, done or failed; a map applied through the runtime API):
     * what haproxy now runs is live.
     */
    public synchronized void reload(ReloadFacts facts) {
        reload = facts;
        long live = facts.liveGeneration();
        fragments.replaceAll((name, f) -> f.state().equals("assembled") && f.generation() <= live
                ? new FragmentStatus("live", f.id(), f.generation(), null, f.updatedAt()) : f);
        fragments.values().removeIf(f -> f.state().equals("removed") && f.generation() <= live);
        publish();
    }

    /**
     * Removed fragments whose domains left the running haproxy's map through its runtime API: no longer served, so
     * done, though their backends wait for the next reload.
     */
    public synchronized void withdrawn(Iterable<String> removed) {
        for (String name : removed) {
            FragmentStatus f = fragments.get(name);
            if (f != null && f.state().equals("removed")) {
                fragments.remove(name);
            }
        }
        publish();
    }

    /** Sampled from haproxy's master; published only when it changed, so a quiet daemon writes nothing. */
    public synchronized void oldWorkers(OldWorkers now) {
        if (!now.equals(oldWorkers)) {
            oldWorkers = now;
            publish();
        }
    }

    public synchronized void certificate(String domain, Object state) {
        certificates.put(domain, state);
        publish();
    }

    /** As published: the reload stage owns it. */
    public synchronized long liveGeneration() {
        return reload.liveGeneration();
    }

    /** As published: the reload stage owns it. */
    public synchronized long configGeneration() {
        return reload.configGeneration();
    }

    public synchronized Status snapshot() {
        return new Status(clock.instant().toString(), reload.configGeneration(), reload.liveGeneration(),
                reload.reloadPending(), reload.nextReloadAt() == null ? null : reload.nextReloadAt().toString(),
                reload.reloads(), reload.reloadsCoalesced(), reload.lastReload(), new TreeMap<>(fragments),
                new TreeMap<>(certificates), oldWorkers);
    }

    /**
     * Defers this thread's publishing until closed: an event batch (an assembly, an intake poll) changes many entries
     * and writes status.json once. Close it on the thread that opened it; nested ones write when the outer one closes.
     */
    public synchronized Publication publication() {
        deferring.merge(Thread.currentThread(), 1, Integer::sum);
        return new Publication(Thread.currentThread());
    }

    /** See {@link #publication()}. */
    public final class Publication implements AutoCloseable {
        private final Thread owner;
        private boolean closed;

        private Publication(Thread owner) {
            this.owner = owner;
        }

        @Override
        public void close() {
            synchronized (StatusBoard.this) {
                if (closed) {
                    return;
                }
                closed = true;
                if (deferring.merge(owner, -1, Integer::sum) == 0) {
                    deferring.remove(owner);
                    if (unpublished.contains(owner)) {
                        publish();
                    }
                }
            }
        }
    }

    private void put(String name, String state, String id, long generation, String error) {
        set(name, state, id, generation, error);
        publish();
    }

    private void set(String name, String state, String id, long generation, String error) {
        fragments.put(name, new FragmentStatus(state, id, generation, error, clock.instant().toString()));
    }

    /**
     * Changes that assembly holds back for a fault that is not theirs (a full disk, a hung haproxy -c): they stay
     * pending, with the reason, until a retry decides them.
     */
    public synchronized void held(Map<String, String> pendingIds, String reason) {
        String now = clock.instant().toString();
        pendingIds.forEach((name, id) -> fragments.put(name, new FragmentStatus("pending", id, reload.configGeneration(),
                "waiting: " + reason, now)));
        publish();
    }

    /** Why status.json could not be written the last time, or null when it is up to date. */
    public synchronized String publishProblem() {
        return publishProblem;
    }

    /**
     * Called on a timer: a status.json that could not be written (full or read-only disk) is written as soon as it can
     * be, without waiting for the next change; so is one deleted meanwhile (by hand, or a clean-up), which
     * haproxy-config and monitoring read.
     */
    public synchronized void republishIfStale() {
        if (publishProblem != null) {
            publish();
        } else if (published && !Files.exists(file)) {
            LOG.warn("{} was deleted; written again", file);
            publish();
        }
    }

    private void publish() {
        if (deferring.containsKey(Thread.currentThread())) {
            unpublished.add(Thread.currentThread());
            return;
        }
        unpublished.clear(); // this write carries every deferred change made so far
        try {
            AtomicFiles.write(file, Json.INDENTED.writeValueAsBytes(snapshot()));
            published = true;
            if (publishProblem != null) {
                LOG.info("{} is written again (it could not be: {})", file, publishProblem);
                publishProblem = null;
            }
        } catch (IOException e) {
            String problem = e.getClass().getSimpleName() + ": " + e.getMessage();
            if (publishProblem == null) {
                // Once per outage, not per change: a storm against a full disk would log a line per drop.
                LOG.error("Could not write {} ({}); it is written again once the disk allows", file, problem);
            }
            publishProblem = problem;
        }
    }
}
