package haproxylb.cluster;

import haproxylb.common.Json;
import haproxylb.intake.FragmentEvents;
import haproxylb.intake.FragmentStore;
import haproxylb.intake.PendingChange;
import haproxylb.status.StatusBoard;
import haproxylb.status.StoredFragment;
import haproxylb.storage.LocalStorage;
import haproxylb.storage.Storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fragments cluster-wide. Every node validates what it receives (intake, its own rules and haproxy -c) exactly as a
 * single node does; what it decides goes to ZooKeeper, and what the others decided comes back as pending changes that
 * this node's assembly takes like any other (its own haproxy -c, its own reload rate limit).
 *
 * <ul>
 *   <li><b>Out</b>: a promotion or rejection of a change that came through this node's own intake is written to
 *   {@code <state>/cluster/outbox/NAME} first (durable: ZooKeeper may be down), then published: {@code fragments/NAME}
 *   or {@code rejections/NAME}. The outbox entry goes once ZooKeeper has it.</li>
 *   <li><b>In</b> ({@link #sync}): what ZooKeeper holds and this node does not becomes a pending change (a new version
 *   or a removal) or a filed rejection, with the deciding node's error verbatim: rejected once, one error.</li>
 *   <li><b>Skew</b>: a version the cluster accepted that this node's own haproxy -c refuses is kept out (the last good
 *   config keeps serving), not published as a rejection, and reported ({@link #skew}).</li>
 * </ul>
 * The first node to reach an empty chroot seeds it with its own fragments; after that ZooKeeper is the truth and a
 * node restarted with an empty state directory gets every fragment back from it.
 */
public final class SharedFragments implements FragmentEvents, ClusterSync {
    private static final Logger LOG = LoggerFactory.getLogger(SharedFragments.class);
    static final String FRAGMENTS = "fragments";
    static final String REJECTIONS = "rejections";
    static final String INITIALISED = "initialised";

    private final FragmentStore store;
    private final StatusBoard status;
    private final Storage shared;
    private final LocalStorage outbox;
    private final String node;
    private final Clock clock;
    private final Runnable wake;
    /** Whether the ZooKeeper session is connected now: calls on a lost connection would block for their retries. */
    private final BooleanSupplier connected;
    /** Ids of changes this node took from the cluster: their promotion or rejection is not published back. */
    private final Set<String> fromCluster = ConcurrentHashMap.newKeySet();
    private final Map<String, String> skew = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicBoolean syncRequested = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean dirty = true;
    /** The name whose cluster rejection {@link #sync} is filing right now (the store tells it back to us). */
    private volatile String takingRejection;
    private volatile Optional<String> lastProblem = Optional.empty();
    private volatile Map<String, String> sharedIds = Map.of();

    /**
     * @param shared the cluster's storage (ZooKeeper)
     * @param outbox this node's decisions not yet in ZooKeeper ({@code <state>/cluster})
     * @param wake   asks for a {@link #sync} soon (the cluster-sync route)
     */
    public SharedFragments(FragmentStore store, StatusBoard status, Storage shared, BooleanSupplier connected,
                           LocalStorage outbox, String node, Clock clock, Runnable wake) {
        this.connected = connected;
        this.store = store;
        this.status = status;
        this.shared = shared;
        this.outbox = outbox;
        this.node = node;
        this.clock = clock;
        this.wake = wake;
    }

    // ---- out: this node's decisions ----

    @Override
    public void promoted(PendingChange change) {
        if (fromCluster.remove(change.id())) {
            skew.remove(change.name());
            return;
        }
        skew.remove(change.name());
        queue(new SharedFragment(change.remove() ? SharedFragment.REMOVE : SharedFragment.UPSERT, change.name(),
                change.id(), change.cfg(), change.map(), null, node, clock.millis()));
    }

    @Override
    public void rejected(String name, byte[] cfg, byte[] map, String id, String error) {
        if (name.equals(takingRejection)) {
            return; // filing the cluster's own rejection
        }
        if (id != null && fromCluster.remove(id)) {
            if (!error.equals(sharedError(name))) {
                skew.put(name, error);
                LOG.error("Fragment '{}' (id {}) was accepted by the cluster but this node's haproxy -c refuses it;"
                        + " this node keeps its last good config for it: {}", name, id, firstLine(error));
            }
            return;
        }
        queue(new SharedFragment(SharedFragment.REJECT, name, id, text(cfg), text(map), error, node, clock.millis()));
    }

    private final Map<String, String> sharedErrors = new ConcurrentHashMap<>();

    private String sharedError(String name) {
        return sharedErrors.get(name);
    }

    private void queue(SharedFragment decision) {
        try {
            synchronized (this) {
                outbox.store("outbox/" + decision.name(), Json.MAPPER.writeValueAsBytes(decision));
            }
        } catch (IOException e) {
            // The change itself is on disk; without the outbox entry only the other nodes miss it until it changes.
            LOG.error("Could not queue fragment '{}' for the cluster: {}", decision.name(), e.toString());
        }
        requestSync();
    }

    /** A (re)connected session: everything may have changed meanwhile, so the next sync is owed whatever happens. */
    public void reconnected() {
        dirty = true;
        requestSync();
    }

    /** Asks the cluster-sync route for a {@link #sync}; requests before it runs fold into one. */
    public void requestSync() {
        if (syncRequested.compareAndSet(false, true)) {
            wake.run();
        }
    }

    /** Publishes what waits in the outbox; what ZooKeeper refuses stays for the next try. */
    synchronized boolean publishOutbox() throws IOException {
        boolean all = true;
        for (String name : outbox.list("outbox")) {
            Optional<byte[]> bytes = outbox.load("outbox/" + name);
            if (bytes.isEmpty()) {
                continue;
            }
            publish(Json.MAPPER.readValue(bytes.get(), SharedFragment.class));
            // A newer decision may have replaced the entry meanwhile: only the published one is dropped.
            if (outbox.load("outbox/" + name).map(now -> Arrays.equals(now, bytes.get())).orElse(false)) {
                outbox.delete("outbox/" + name);
            } else {
                all = false;
            }
        }
        return all;
    }

    private void publish(SharedFragment d) throws IOException {
        String fragmentKey = FRAGMENTS + "/" + d.name();
        String rejectionKey = REJECTIONS + "/" + d.name();
        switch (d.kind()) {
            case SharedFragment.UPSERT -> {
                shared.store(fragmentKey, Json.MAPPER.writeValueAsBytes(d));
                shared.delete(rejectionKey);
            }
            case SharedFragment.REMOVE -> {
                shared.delete(fragmentKey);
                shared.delete(rejectionKey);
            }
            case SharedFragment.REJECT -> {
                Optional<SharedFragment> accepted = read(fragmentKey);
                if (d.id() != null && accepted.isPresent() && d.id().equals(accepted.get().id())) {
                    return; // the cluster took this very version: a refusal here is this node's skew, not news
                }
                shared.store(rejectionKey, Json.MAPPER.writeValueAsBytes(d));
            }
            default -> throw new IOException("outbox entry for '" + d.name() + "' has an unknown kind " + d.kind());
        }
        LOG.info("Fragment '{}' {} published to the cluster", d.name(), switch (d.kind()) {
            case SharedFragment.UPSERT -> "(id " + d.id() + ")";
            case SharedFragment.REMOVE -> "removal";
            default -> "rejection";
        });
    }

    // ---- in: the cluster's decisions ----

    /** Publishes the outbox, then takes what the cluster holds; true when changes were queued for assembly. */
    @Override
    public synchronized boolean sync() {
        syncRequested.set(false);
        if (!connected.getAsBoolean()) {
            dirty = true;
            lastProblem = Optional.of("ZooKeeper unreachable; serving the local copy");
            return false;
        }
        try {
            publishOutbox();
            if (shared.load(INITIALISED).isEmpty()) {
                seed();
            }
            boolean queued = takeShared();
            dirty = false;
            lastProblem = Optional.empty();
            return queued;
        } catch (IOException | RuntimeException e) {
            dirty = true;
            if (lastProblem.isEmpty()) {
                LOG.warn("Cluster sync failed, serving the local copy until ZooKeeper answers: {}", e.getMessage());
            }
            lastProblem = Optional.of(e.getMessage());
            return false;
        }
    }

    /** The heartbeat's retry: only when something is owed (an unpublished decision, a failed sync). */
    @Override
    public boolean retry() throws IOException {
        if (!connected.getAsBoolean()) {
            lastProblem = Optional.of("ZooKeeper unreachable; serving the local copy");
            dirty = true;
            return false;
        }
        return (dirty || !outbox.list("outbox").isEmpty()) && sync();
    }

    /** The first node on an empty chroot offers its own fragments; the others find them there. */
    private void seed() throws IOException {
        try (Storage.Lock held = shared.lock("seed")) {
            if (shared.load(INITIALISED).isPresent()) {
                return;
            }
            var live = store.liveFragments();
            for (var f : live.values()) {
                publish(new SharedFragment(SharedFragment.UPSERT, f.name(), f.id(), f.cfg(), f.map(), null, node,
                        clock.millis()));
            }
            shared.store(INITIALISED, node.getBytes(StandardCharsets.UTF_8));
            LOG.info("Cluster storage was empty: seeded it with this node's {} fragment(s)", live.size());
        }
    }

    private boolean takeShared() throws IOException {
        Map<String, SharedFragment> accepted = readAll(FRAGMENTS);
        Map<String, SharedFragment> refused = readAll(REJECTIONS);
        Map<String, String> ids = new TreeMap<>();
        accepted.forEach((name, f) -> ids.put(name, f.id()));
        sharedIds = ids;
        Set<String> unpublished = Set.copyOf(outbox.list("outbox"));
        Map<String, StoredFragment> local = store.stored();
        long now = clock.millis();
        boolean queued = false;
        for (SharedFragment f : accepted.values()) {
            StoredFragment mine = local.get(f.name());
            if (unpublished.contains(f.name()) || ownChangeWaiting(mine)) {
                continue;
            }
            if (mine != null && (f.id().equals(mine.liveId()) || f.id().equals(mine.pendingId())
                    || skew.containsKey(f.name()) && f.id().equals(mine.rejectedId()))) {
                continue;
            }
            fromCluster.add(f.id());
            store.putPending(new PendingChange(f.name(), false, f.cfg(), f.map(), f.id(), now));
            status.pending(f.name(), f.id());
            LOG.info("Fragment '{}' (id {}, accepted by {}) taken from the cluster", f.name(), f.id(), f.node());
            queued = true;
        }
        for (Map.Entry<String, StoredFragment> entry : local.entrySet()) {
            String name = entry.getKey();
            StoredFragment mine = entry.getValue();
            if (mine.liveId() == null || accepted.containsKey(name) || unpublished.contains(name)
                    || ownChangeWaiting(mine) || mine.pendingId() != null) {
                continue;
            }
            PendingChange removal = PendingChange.removal(name, now);
            fromCluster.add(removal.id());
            store.putPending(removal);
            status.pending(name, removal.id());
            LOG.info("Fragment '{}' was removed in the cluster; removing it here", name);
            queued = true;
        }
        for (SharedFragment r : refused.values()) {
            StoredFragment mine = local.get(r.name());
            if (unpublished.contains(r.name()) || ownChangeWaiting(mine)) {
                continue;
            }
            sharedErrors.put(r.name(), r.error());
            if (mine != null && mine.rejection() != null && Objects.equals(mine.rejectedId(), r.id())
                    && mine.rejection().strip().equals(r.error().strip())) {
                continue;
            }
            takingRejection = r.name();
            try {
                store.reject(r.name(), bytes(r.cfg()), bytes(r.map()), r.id(), r.error());
            } finally {
                takingRejection = null;
            }
            status.rejected(r.name(), r.id(), r.error());
            LOG.info("Fragment '{}' was rejected by {}; same error here: {}", r.name(), r.node(), firstLine(r.error()));
        }
        return queued;
    }

    /** A change this node's own intake queued (not one taken from the cluster) is still waiting for assembly. */
    private boolean ownChangeWaiting(StoredFragment mine) {
        return mine != null && mine.pendingId() != null && !fromCluster.contains(mine.pendingId());
    }

    private Map<String, SharedFragment> readAll(String folder) throws IOException {
        Map<String, SharedFragment> all = new TreeMap<>();
        for (String name : shared.list(folder)) {
            read(folder + "/" + name).ifPresent(f -> all.put(name, f));
        }
        return all;
    }

    private Optional<SharedFragment> read(String key) throws IOException {
        Optional<byte[]> bytes = shared.load(key);
        return bytes.isEmpty() ? Optional.empty() : Optional.of(Json.MAPPER.readValue(bytes.get(), SharedFragment.class));
    }

    // ---- what is visible ----

    /** Fragments this node refuses although the cluster accepted them, with this node's error. */
    public Map<String, String> skew() {
        return Map.copyOf(skew);
    }

    /** Why the last sync failed (ZooKeeper unreachable), empty when it worked. */
    public Optional<String> lastProblem() {
        return lastProblem;
    }

    /**
     * In sync: ZooKeeper answered, nothing waits in the outbox, and every fragment the cluster accepted is live here
     * with the same id (and nothing else is), skew aside.
     */
    public boolean inSync() {
        try {
            if (lastProblem.isPresent() || !outbox.list("outbox").isEmpty()) {
                return false;
            }
            Map<String, String> live = new TreeMap<>();
            store.stored().forEach((name, f) -> {
                if (f.liveId() != null && f.pendingId() == null) {
                    live.put(name, f.liveId());
                }
            });
            Map<String, String> expected = new TreeMap<>(sharedIds);
            skew.keySet().forEach(name -> {
                expected.remove(name);
                live.remove(name);
            });
            return live.equals(expected);
        } catch (IOException e) {
            return false;
        }
    }

    /** Fragments live on this node. */
    public int liveCount() {
        try {
            return (int) store.stored().values().stream().filter(f -> f.liveId() != null).count();
        } catch (IOException e) {
            return -1;
        }
    }

    private static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    private static String firstLine(String s) {
        return s.lines().findFirst().orElse(s);
    }

    static List<String> folders() {
        return List.of(FRAGMENTS, REJECTIONS);
    }
}
