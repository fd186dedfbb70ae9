package haproxylb.intake;

import haproxylb.common.Json;
import com.fasterxml.jackson.databind.ObjectMapper;
import haproxylb.common.AtomicFiles;
import haproxylb.common.Excerpt;
import haproxylb.status.StoredFragment;
import haproxylb.common.StateLayout;
import haproxylb.storage.LocalStorage;
import haproxylb.storage.Storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fragments on disk, by life stage:
 * <pre>
 *   staging/   NAME.cfg or NAME.map that arrived without its partner yet
 *   pending/   NAME.json: accepted at intake, waiting for assembly (a new version or a removal)
 *   fragments/ NAME.cfg, NAME.map, NAME.id: the versions in the last validated haproxy config
 *   rejected/  NAME.cfg, NAME.map, NAME.error: what haproxy-lb refused, and why
 *   history/   NAME/: the last versions that went live and the last rejected attempts ({@link FragmentHistory})
 * </pre>
 * Every write is atomic, so a crash at any moment leaves each file old or new; a pending change is deleted only
 * after its promotion, so a crash between the two repeats an idempotent promotion rather than losing it.
 *
 * <p>fragments/ and rejected/ are written through the {@link Storage} seam (the state directory here); a cluster
 * listens to {@link FragmentEvents} to share the same promotions and rejections with its other nodes.
 */
public final class FragmentStore {
    private static final Logger LOG = LoggerFactory.getLogger(FragmentStore.class);
    private static final ObjectMapper JSON = Json.MAPPER;

    /** Hidden (the intake and listings skip dot files), and not a temp file: start-up must find it. */
    private static final String CLEAR_MARKER_PREFIX = ".cleared-";
    /** The intake's mark that a durable batch's inbox entries and completed staged halves are being dropped. */
    private static final String TAKEN_MARKER = ".taken";

    private final Path staging;
    private final Path pending;
    private final Path live;
    private final Path rejected;
    private final FragmentReader reader;
    private final FragmentHistory history;
    private final Storage storage;
    private volatile FragmentEvents events = FragmentEvents.NONE;
    private final LiveSet liveSet = new LiveSet();
    /** Pending changes as the intake parsed them, by name: the assembly takes them from here, not from a new parse. */
    private final Map<String, Fragment> parsedPending = new HashMap<>();
    /**
     * What pending/ holds, by name: read once at start-up, then kept in step by the only code that writes pending/
     * (this class), so an assembly does not read thousands of JSON files back in a storm.
     */
    private final TreeMap<String, PendingChange> pendingByName = new TreeMap<>();
    /**
     * staging/ is the intake's alone; its own lock keeps the intake from waiting while the assembly holds this
     * store's lock for pending/ and fragments/ (in a storm the intake spent most of its time waiting: issue 11).
     */
    private final Object stagingLock = new Object();
    /**
     * The halves staging/ holds (NAME.cfg, NAME.map): listed once at start-up, then kept in step by the only code that
     * writes staging/ (this class). Asking the disk cost a storm two or three lookups of absent files per pair, each
     * a system call and, in Java 17's NIO, an exception with the thread's deep Camel stack (bench/daemon-storm.sh).
     */
    private final Set<String> stagedHalves = new HashSet<>();

    public FragmentStore(Path stateDir, FragmentReader reader) throws IOException {
        this(new StateLayout(stateDir), reader, new FragmentHistory(new StateLayout(stateDir).history(),
                FragmentHistory.DEFAULT_KEEP, java.time.Clock.systemUTC()));
    }

    public FragmentStore(StateLayout layout, FragmentReader reader, FragmentHistory history) throws IOException {
        this.staging = layout.staging();
        this.pending = layout.pending();
        this.live = layout.fragments();
        this.rejected = layout.rejected();
        this.reader = reader;
        this.history = history;
        this.storage = new LocalStorage(layout.root());
        for (Path dir : List.of(staging, pending, live, rejected)) {
            AtomicFiles.directory(dir, AtomicFiles.STATE_DIR);
            int stray = AtomicFiles.removeStrayTempFiles(dir);
            if (stray > 0) {
                LOG.info("Removed {} temp file(s) left in {} by an interrupted write", stray, dir);
            }
        }
        stagedHalves.addAll(listNames(staging, ""));
        finishInterruptedClears();
        liveSet.replaceAll(readLive());
        readPending();
    }

    public Path liveDir() {
        return live;
    }

    public Path rejectedDir() {
        return rejected;
    }

    public FragmentReader reader() {
        return reader;
    }

    public FragmentHistory history() {
        return history;
    }

    /** The live fragments in memory, kept in step with fragments/ by {@link #promote}. */
    public LiveSet liveSet() {
        return liveSet;
    }

    /** Who hears of every promotion and rejection once it is on disk (the cluster, when there is one). */
    public void listen(FragmentEvents events) {
        this.events = events;
    }

    // ---- staging: the first half of a pair waits here for the second ----

    public void stage(String fileName, byte[] bytes) throws IOException {
        synchronized (stagingLock) {
            AtomicFiles.write(staging.resolve(fileName), bytes);
            stagedHalves.add(fileName);
        }
    }

    /**
     * The staged halves of {@code names} go once the batch is durable (their pair is queued, removed or rejected), so
     * they are not worth an fsync: a crash before they go finds their claimed originals, which replace them
     * ({@link #keepStagedIfSame}).
     */
    public void skipSync(AtomicFiles.SyncBatch batch, Collection<String> names) {
        synchronized (stagingLock) {
            for (String name : names) {
                batch.skip(staging.resolve(name + ".cfg"));
                batch.skip(staging.resolve(name + ".map"));
            }
        }
    }

    /**
     * Start-up, for an inbox entry claimed before a crash: true if the staged half of its name holds exactly its
     * content (made durable now; the entry can go). Otherwise a staged half of that name is dropped, being older or a
     * copy that was never fsynced, and the entry goes back to the inbox to be taken again in its place.
     */
    public boolean keepStagedIfSame(Path claimedEntry) throws IOException {
        synchronized (stagingLock) {
            String fileName = claimedEntry.getFileName().toString();
            Path p = staging.resolve(fileName);
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            if (Files.size(p) == Files.size(claimedEntry)
                    && Arrays.equals(Files.readAllBytes(p), Files.readAllBytes(claimedEntry))) {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    ch.force(true);
                }
                stagedHalves.add(fileName);
                return true;
            }
            Files.delete(p);
            stagedHalves.remove(fileName);
            AtomicFiles.syncDirectory(staging);
            return false;
        }
    }

    /** One staged half (NAME.cfg or NAME.map), if it is staged. */
    public Optional<byte[]> staged(String fileName) throws IOException {
        synchronized (stagingLock) {
            return stagedHalves.contains(fileName) ? Optional.of(Files.readAllBytes(staging.resolve(fileName)))
                    : Optional.empty();
        }
    }

    /**
     * Both halves of NAME, if both are staged. They stay staged until {@link #clearStaged}: the caller queues the
     * pair first, so a crash in between finds the pair again at start-up instead of losing it.
     */
    public Optional<byte[][]> stagedPair(String name) throws IOException {
        synchronized (stagingLock) {
            if (!stagedHalves.contains(name + ".cfg") || !stagedHalves.contains(name + ".map")) {
                return Optional.empty();
            }
            return Optional.of(new byte[][] {Files.readAllBytes(staging.resolve(name + ".cfg")),
                    Files.readAllBytes(staging.resolve(name + ".map"))});
        }
    }

    /**
     * Drops both staged halves of NAME as one step. Two plain deletes are not one: a SIGKILL between them left the
     * queued pair's map staged alone, and the next version's cfg would have paired with it, a mix of two versions
     * (bench/crash-safety.sh, issue 13). A hidden marker written first says "both halves are done with"; start-up
     * finishes any clear it finds marked ({@link #finishInterruptedClears}).
     */
    public void clearStaged(String name) throws IOException {
        synchronized (stagingLock) {
            if (!hasStaged(name)) {
                return;
            }
            Path marker = clearMarker(name);
            AtomicFiles.write(marker, new byte[0]);
            deleteStagedHalves(name);
            Files.deleteIfExists(marker);
            AtomicFiles.syncDirectory(staging);
        }
    }

    private void deleteStagedHalves(String name) throws IOException {
        for (String half : List.of(name + ".cfg", name + ".map")) {
            if (stagedHalves.contains(half)) {
                Files.deleteIfExists(staging.resolve(half));
                stagedHalves.remove(half);
            }
        }
    }

    private Path clearMarker(String name) {
        return staging.resolve(CLEAR_MARKER_PREFIX + name);
    }

    private void finishInterruptedClears() throws IOException {
        try (Stream<Path> files = Files.list(staging)) {
            for (Path marker : files.filter(p -> p.getFileName().toString().startsWith(CLEAR_MARKER_PREFIX)).toList()) {
                String name = marker.getFileName().toString().substring(CLEAR_MARKER_PREFIX.length());
                deleteStagedHalves(name);
                Files.delete(marker);
                LOG.info("Fragment '{}': dropped the staged files of a pair queued before the crash", name);
            }
        }
        AtomicFiles.syncDirectory(staging);
    }

    /** Whether either half of NAME is staged. */
    public boolean hasStaged(String name) {
        synchronized (stagingLock) {
            return stagedHalves.contains(name + ".cfg") || stagedHalves.contains(name + ".map");
        }
    }

    /**
     * The intake's mark that its claimed entries, and the staged halves of their names, are done with (see
     * FragmentIntake's commit): an empty file, made and removed without an fsync, in order with the deletes it covers.
     */
    public void markTaken() throws IOException {
        synchronized (stagingLock) {
            try {
                Files.createFile(staging.resolve(TAKEN_MARKER), PosixFilePermissions.asFileAttribute(AtomicFiles.SHARED));
            } catch (FileAlreadyExistsException alreadyMarked) {
                // a drop that failed half-way is being finished
            }
        }
    }

    /** Whether a batch was marked taken and not unmarked (a crash came in between). */
    public boolean isTaken() {
        synchronized (stagingLock) {
            return Files.exists(staging.resolve(TAKEN_MARKER), LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** Drops the staged halves of names the intake is done with, under its marker ({@link #markTaken}). */
    public void dropStaged(Collection<String> names) throws IOException {
        synchronized (stagingLock) {
            for (String name : names) {
                deleteStagedHalves(name);
            }
        }
    }

    public void unmarkTaken() throws IOException {
        synchronized (stagingLock) {
            Files.deleteIfExists(staging.resolve(TAKEN_MARKER));
        }
    }

    public List<String> stagedFiles() throws IOException {
        synchronized (stagingLock) {
            return listNames(staging, "");
        }
    }

    // ---- pending: accepted, waiting for assembly ----

    public synchronized void putPending(PendingChange change) throws IOException {
        AtomicFiles.write(pending.resolve(change.name() + ".json"), JSON.writeValueAsBytes(change));
        pendingByName.put(change.name(), change);
        parsedPending.remove(change.name());
    }

    /** A new version as the intake parsed it: the assembly uses this parse ({@link #parsed}). */
    public synchronized void putPending(PendingChange change, Fragment parsed) throws IOException {
        putPending(change);
        parsedPending.put(change.name(), parsed);
    }

    /**
     * A pending new version, parsed: as the intake parsed it, or (a change from before a restart, or from the
     * cluster) parsed now, once.
     */
    public synchronized Fragment parsed(PendingChange change) throws FragmentProblem {
        Fragment known = parsedPending.get(change.name());
        if (known != null && known.id().equals(change.id()) && known.cfg().equals(change.cfg())
                && known.map().equals(change.map())) {
            return known;
        }
        Fragment f = reader.read(change.name(), bytes(change.cfg()), bytes(change.map()));
        Fragment withId = f.withId(change.id());
        parsedPending.put(change.name(), withId);
        return withId;
    }

    /** The pending changes, by name. */
    public synchronized List<PendingChange> pendingChanges() {
        return List.copyOf(pendingByName.values());
    }

    /** pending/ read: once, at start-up. */
    private void readPending() throws IOException {
        for (String file : listNames(pending, ".json")) {
            Path p = pending.resolve(file);
            try {
                PendingChange change = JSON.readValue(p.toFile(), PendingChange.class);
                pendingByName.put(change.name(), change);
            } catch (IOException e) {
                // Written atomically, so this is outside damage; keep it aside rather than retrying forever.
                Path aside = rejected.resolve(file + ".unreadable");
                LOG.error("Pending change {} is unreadable ({}); moved to {}", p, e.getMessage(), aside);
                AtomicFiles.move(p, aside);
            }
        }
    }

    /** Deletes the pending change only if it is still the version that was processed (a newer one may have come). */
    public synchronized void donePending(PendingChange change) throws IOException {
        PendingChange now = pendingByName.get(change.name());
        if (now == null || !now.id().equals(change.id())) {
            return;
        }
        Files.deleteIfExists(pending.resolve(change.name() + ".json"));
        AtomicFiles.syncDirectory(pending);
        pendingByName.remove(change.name());
        Fragment parsed = parsedPending.get(change.name());
        if (parsed != null && parsed.id().equals(change.id())) {
            parsedPending.remove(change.name());
        }
    }

    public synchronized boolean hasPending() {
        return !pendingByName.isEmpty();
    }

    // ---- live: the fragments inside the last validated config ----

    /** A copy of the live set, by name. */
    public synchronized TreeMap<String, Fragment> liveFragments() {
        return liveSet.fragments();
    }

    /** fragments/ read and parsed: once, at start-up. */
    private TreeMap<String, Fragment> readLive() throws IOException {
        TreeMap<String, Fragment> fragments = new TreeMap<>();
        for (String file : listNames(live, ".cfg")) {
            String name = file.substring(0, file.length() - 4);
            Path cfg = live.resolve(name + ".cfg");
            Path map = live.resolve(name + ".map");
            if (!Files.exists(map)) {
                LOG.error("Live fragment '{}' has {} but no {}; ignoring it until both exist", name, cfg, map);
                continue;
            }
            try {
                Fragment f = reader.read(name, Files.readAllBytes(cfg), Files.readAllBytes(map));
                Path idFile = live.resolve(name + ".id");
                String id = Files.exists(idFile) ? Files.readString(idFile).strip() : f.id();
                fragments.put(name, f.withId(id));
            } catch (FragmentProblem e) {
                LOG.error("Live fragment '{}' no longer parses ({}); ignoring it. Fix it and apply it again.",
                        name, e.getMessage());
            }
        }
        return fragments;
    }

    /**
     * Makes accepted changes live: fragments/ and the live set. Their files are written first and made durable
     * together (one fsync round for the batch, not three fsyncs and a directory sync per fragment: a storm promotes
     * thousands at once); only then are their pending changes dropped, so a crash in between repeats an idempotent
     * promotion rather than losing one. Only the assembly promotes, one batch at a time, and fragments/ and history/
     * are its alone: they are written without this store's lock, so the intake can queue meanwhile.
     */
    public void promote(List<PendingChange> changes) throws IOException {
        Map<String, Fragment> parsedChanges = new HashMap<>();
        synchronized (this) {
            for (PendingChange change : changes) {
                if (!change.remove()) {
                    try {
                        parsedChanges.put(change.name(), parsed(change));
                    } catch (FragmentProblem e) {
                        throw new IllegalArgumentException("only a change that parses can go live: " + e.getMessage(),
                                e);
                    }
                }
            }
        }
        AtomicFiles.SyncBatch written = new AtomicFiles.SyncBatch();
        AtomicFiles.deferSyncs(written, () -> {
            for (PendingChange change : changes) {
                String name = change.name();
                if (change.remove()) {
                    storage.delete("fragments/" + name + ".cfg");
                    storage.delete("fragments/" + name + ".map");
                    storage.delete("fragments/" + name + ".id");
                } else {
                    storage.store("fragments/" + name + ".map", bytes(change.map()));
                    storage.store("fragments/" + name + ".id", bytes(change.id() + "\n"));
                    storage.store("fragments/" + name + ".cfg", bytes(change.cfg()));
                }
            }
        });
        written.commit();
        AtomicFiles.SyncBatch recorded = new AtomicFiles.SyncBatch();
        List<String> unrecorded = new ArrayList<>();
        AtomicFiles.deferSyncs(recorded, () -> changes.forEach(change -> {
            try {
                if (change.remove()) {
                    history.recordRemoved(change.name());
                } else {
                    history.recordLive(change.name(), change.cfg(), change.map(), change.id());
                }
            } catch (IOException | RuntimeException e) {
                unrecorded.add(change.name() + " (" + e + ")");
            }
        }));
        if (!unrecorded.isEmpty()) {
            // One line for the batch: a full disk, or a stop, fails every entry alike.
            notRecorded(" of " + unrecorded.size() + " of " + changes.size() + " promoted fragment(s), first "
                    + unrecorded.get(0));
        }
        record(recorded::commit);
        synchronized (this) {
            for (PendingChange change : changes) {
                if (change.remove()) {
                    liveSet.remove(change.name());
                } else {
                    liveSet.put(parsedChanges.get(change.name()));
                }
            }
            AtomicFiles.SyncBatch done = new AtomicFiles.SyncBatch();
            AtomicFiles.deferSyncs(done, () -> {
                for (PendingChange change : changes) {
                    storage.delete("rejected/" + change.name() + ".error");
                    storage.delete("rejected/" + change.name() + ".id");
                    donePending(change);
                }
            });
            done.commit();
        }
        changes.forEach(events::promoted);
    }

    /**
     * Per name, what pending/, fragments/ and rejected/ hold: the truth status is rebuilt from at start-up. A
     * half-written entry cannot exist (atomic writes); a pending change that did not parse was moved aside at
     * start-up.
     */
    public synchronized Map<String, StoredFragment> stored() throws IOException {
        Map<String, String> pendingIds = new TreeMap<>();
        pendingByName.forEach((name, change) -> pendingIds.put(name, change.id()));
        Map<String, String> liveIds = new TreeMap<>();
        for (String file : listNames(live, ".id")) {
            String name = file.substring(0, file.length() - 3);
            if (Files.exists(live.resolve(name + ".cfg")) && Files.exists(live.resolve(name + ".map"))) {
                liveIds.put(name, Files.readString(live.resolve(file)).strip());
            }
        }
        TreeMap<String, String> errors = rejections();
        Set<String> names = new TreeSet<>(pendingIds.keySet());
        names.addAll(liveIds.keySet());
        names.addAll(errors.keySet());
        Map<String, StoredFragment> stored = new TreeMap<>();
        for (String name : names) {
            stored.put(name, new StoredFragment(pendingIds.get(name), liveIds.get(name), errors.get(name),
                    errors.containsKey(name) ? rejectedId(name) : null));
        }
        return stored;
    }

    private String rejectedId(String name) throws IOException {
        Path id = rejected.resolve(name + ".id");
        return Files.isRegularFile(id, LinkOption.NOFOLLOW_LINKS) ? Files.readString(id).strip() : null;
    }

    // ---- rejected ----

    /**
     * Files the refused version (when there is one) and why. The id goes first and the error last: NAME.error is
     * what marks the fragment rejected, so a crash in between leaves the previous rejection whole.
     *
     * @param id the refused version's id, as the sender's {@code apply} waits for it; null when there is none
     */
    public synchronized void reject(String name, byte[] cfg, byte[] map, String id, String rawError) throws IOException {
        // Errors quote input (haproxy's diagnostics quote bad words verbatim): no escape sequence reaches a terminal.
        String error = Excerpt.controlsEscaped(rawError);
        if (id != null) {
            storage.store("rejected/" + name + ".id", bytes(id + "\n"));
        } else {
            storage.delete("rejected/" + name + ".id");
        }
        if (cfg != null) {
            storage.store("rejected/" + name + ".cfg", cfg);
        }
        if (map != null) {
            storage.store("rejected/" + name + ".map", map);
        }
        storage.store("rejected/" + name + ".error", bytes(error.endsWith("\n") ? error : error + "\n"));
        record(() -> history.recordRejected(name, id, error));
        events.rejected(name, cfg, map, id, error);
    }

    private interface HistoryWrite {
        void run() throws IOException;
    }

    /** The history is a record, not the truth: failing to write it must not stop a promotion or a rejection. */
    private static void record(HistoryWrite write) {
        try {
            write.run();
        } catch (IOException | RuntimeException e) {
            notRecorded(": " + e);
        }
    }

    /**
     * A history write failed. At a stop (the thread interrupted) that is no fault: the fragments are promoted all the
     * same, only their history entries are missing. Otherwise it is the disk.
     */
    private static void notRecorded(String what) {
        if (Thread.currentThread().isInterrupted()) {
            LOG.info("Stopping: the fragment history{} is not recorded", what);
        } else {
            LOG.error("Could not record the fragment history{}", what);
        }
    }

    /**
     * A change assembly refused. The error is written before the pending change is dropped, so a crash in between
     * repeats the decision instead of losing it. A refused removal keeps no copy: the live version stays.
     */
    public synchronized void reject(PendingChange change, String error) throws IOException {
        reject(change.name(), bytes(change.cfg()), bytes(change.map()), change.id(), error);
        donePending(change);
    }

    public synchronized TreeMap<String, String> rejections() throws IOException {
        TreeMap<String, String> errors = new TreeMap<>();
        for (String file : listNames(rejected, ".error")) {
            errors.put(file.substring(0, file.length() - 6), Files.readString(rejected.resolve(file)));
        }
        return errors;
    }

    private static byte[] bytes(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> listNames(Path dir, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith(".") && n.endsWith(suffix))
                    .sorted()
                    .toList();
        }
    }
}
