package haproxylb.intake;

import haproxylb.common.AtomicFiles;
import haproxylb.common.Excerpt;
import haproxylb.common.InboxEntry;
import haproxylb.status.StatusBoard;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Called by the intake route for every complete file that lands in the inbox. Pairs NAME.cfg with NAME.map,
 * checks what can be checked from the fragment alone, and queues the result for assembly.
 *
 * <p>The files of one inbox poll are taken as one batch (issue 11: a storm of thousands of pairs). Each entry is
 * claimed out of the inbox and read; a half waits for its partner in staging/, a complete pair is queued (pending/).
 * The batch's writes are fsynced together, and only after that are the claimed originals and the staged halves the
 * batch completed dropped, so a crash before finds them in the claim directory, which goes back to the inbox at
 * start-up, and they are read again.
 *
 * <p>Crash safety (CrashSafetyTest): dropping the claimed originals and the staged halves a batch completed are many
 * deletes, not one; a marker makes a crash between them finish the drop at start-up instead of taking a lone half in
 * again ({@link #commit}).
 *
 * <p>Full disk (DiskFaultTest): a file whose writes fail goes back to the inbox, where it waits and is taken again at
 * a later poll; the batch's other entries stay claimed until a commit succeeds. Nothing is acknowledged (dropped from
 * the claim directory) before what it said is durable.
 */
public final class FragmentIntake {
    private static final Logger LOG = LoggerFactory.getLogger(FragmentIntake.class);

    /** Bounds what a crash can make the intake read again, and the memory of a storm's batch. */
    static final int MAX_UNSYNCED = 512;

    private final FragmentStore store;
    private final StatusBoard status;
    private final Clock clock;
    private final Path claimDir;
    /** The intake route runs on one thread (the file consumer's), so one batch at a time. */
    private final AtomicFiles.SyncBatch unsynced = new AtomicFiles.SyncBatch();
    /** Inbox entries claimed in this batch, by file name, with the inbox file each came from. */
    private final Map<String, Claim> claimed = new LinkedHashMap<>();
    /** Names whose staged halves this batch is done with (paired, removed or rejected). */
    private final Set<String> doneStaged = new TreeSet<>();
    /** Halves this batch staged that still wait for their partner, by file name. */
    private final Set<String> stagedHere = new HashSet<>();
    /** The statuses of the batch's files: published together with it, once durable. */
    private StatusBoard.Publication statusSinceCommit;
    /** The batch's marker is made but not all its deletes are done (finished before the next batch claims). */
    private boolean marked;

    /** Files this call to {@link #take} claimed: given back if it fails. */
    private final List<String> claimedInCall = new ArrayList<>();
    private final Path inbox;
    private final PartnerCheck partnerReady;

    private record Claim(InboxEntry entry, Path from) {}

    /** Whether a half's partner in the inbox may be taken now (complete, and a plain file). */
    @FunctionalInterface
    public interface PartnerCheck {
        /** Partners wait for their own turn. */
        PartnerCheck NEVER = entry -> false;

        boolean ready(Path entry) throws IOException;
    }

    public FragmentIntake(FragmentStore store, StatusBoard status, Clock clock) throws IOException {
        this(store, status, clock, store.rejectedDir().resolveSibling("claimed"), null, PartnerCheck.NEVER);
    }

    /**
     * @param claimDir     where inbox entries are checked and read ({@link InboxEntry}); only the daemon writes it
     * @param inbox        where entries claimed before a crash go back to at start-up, and where a half's partner is
     *                     looked for; null: neither
     * @param partnerReady whether a partner found in the inbox is complete (the inbox route's read lock decides)
     */
    public FragmentIntake(FragmentStore store, StatusBoard status, Clock clock, Path claimDir, Path inbox,
                          PartnerCheck partnerReady) throws IOException {
        this.store = store;
        this.status = status;
        this.clock = clock;
        this.claimDir = claimDir;
        this.inbox = inbox;
        this.partnerReady = partnerReady;
        finishInterruptedBatch();
        if (inbox != null) {
            InboxEntry.giveBack(claimDir, inbox, this::alreadyStaged); // a crash came before the batch was durable
        }
        for (String file : store.stagedFiles()) {
            if (file.endsWith(".cfg")) {
                pairUp(file.substring(0, file.length() - 4), file); // staged by an earlier version of the intake
            }
        }
    }

    /** One file on its own: durable when this returns. */
    public void receive(File file) throws IOException {
        take(file, true);
    }

    /**
     * The intake route's call: one file of an inbox poll. The batch is committed (fsynced together, then the claimed
     * originals dropped) at the poll's last file or every {@link #MAX_UNSYNCED} files. If a file cannot be taken in
     * (a full disk), it goes back to the inbox and the exception tells Camel.
     *
     * @param lastOfPoll Camel's CamelBatchComplete: no more files in this poll
     * @return whether this call committed the batch: its changes are durable, and the assembly is to be told (once
     *         per batch, not once per file: a storm's thousands of files would each wake it for nothing new)
     */
    public boolean take(File file, Boolean lastOfPoll) throws IOException {
        if (statusSinceCommit == null) {
            statusSinceCommit = status.publication();
        }
        String fileName = file.getName();
        claimedInCall.clear();
        boolean batchEnded = false;
        try {
            if (marked) {
                dropTaken(); // the last batch is durable but its deletes failed: finished before anything is claimed
            }
            String name = fileName.substring(0, fileName.lastIndexOf('.'));
            if (claimed.containsKey(fileName) || (doneStaged.contains(name) && !fileName.endsWith(".remove"))) {
                // A second file of one name, or a new half after its pair: one batch never holds two versions of one.
                commit();
            }
            AtomicFiles.deferSyncs(unsynced, () -> receiveDeferred(file));
            if (Boolean.TRUE.equals(lastOfPoll) || claimed.size() >= MAX_UNSYNCED) {
                commit();
                batchEnded = true;
            }
            return batchEnded;
        } catch (IOException | RuntimeException e) {
            claimedInCall.forEach(this::giveBack);
            batchEnded = true;
            throw e;
        } finally {
            if (batchEnded) {
                statusSinceCommit.close();
                statusSinceCommit = null;
            }
        }
    }

    /**
     * Makes the batch durable (every write fsynced together), then drops what it was made from: the claimed
     * originals and the staged halves it completed.
     *
     * <p>The drop needs no fsync of its own. It is a sequence of metadata operations (deletes, one empty marker), which
     * a journaling file system (ext4, xfs) commits in order, so a crash leaves a prefix of it, and start-up handles
     * each prefix: first the originals of halves this batch staged go (their content is durable in staging/); then the
     * marker ({@link FragmentStore#markTaken}) says every entry left in the claim directory is done with, with the
     * staged halves of its name; then those go, and the marker last. Without the marker a crash between two deletes
     * could leave one half of a queued pair to be taken in again, and the next version's other half would pair with
     * it, a mix of two versions.
     */
    private void commit() throws IOException {
        store.skipSync(unsynced, doneStaged);
        unsynced.commit();
        if (claimed.isEmpty() && doneStaged.isEmpty()) {
            return;
        }
        for (String file : stagedHere) {
            Claim claim = claimed.remove(file);
            if (claim != null) {
                Files.deleteIfExists(claim.entry().path());
            }
        }
        stagedHere.clear();
        store.markTaken();
        marked = true;
        dropTaken();
    }

    private void dropTaken() throws IOException {
        store.dropStaged(doneStaged);
        for (Claim claim : claimed.values()) {
            Files.deleteIfExists(claim.entry().path());
        }
        claimed.clear();
        doneStaged.clear();
        store.unmarkTaken();
        marked = false;
    }

    /**
     * This file could not be taken in (a full disk): its entry goes back to the inbox, where Camel takes it again at a
     * later poll. The batch's other entries stay claimed until a commit makes what they said durable.
     */
    private void giveBack(String fileName) {
        Claim claim = marked ? null : claimed.remove(fileName);
        if (claim == null) {
            return;
        }
        try {
            if (Files.exists(claim.from(), LinkOption.NOFOLLOW_LINKS)) {
                claim.entry().discard(); // a newer entry of that name was sent meanwhile: it wins
            } else {
                claim.entry().putBack(claim.from());
            }
        } catch (IOException e) {
            LOG.error("Could not give {} back to the inbox ({}); it goes back at the next start", claim.from(),
                    e.toString());
        }
    }

    /**
     * Start-up after a crash while a batch was dropped (see {@link #commit}): every entry still claimed is done with,
     * and so are the staged halves of its name.
     */
    private void finishInterruptedBatch() throws IOException {
        if (!store.isTaken()) {
            return;
        }
        if (Files.isDirectory(claimDir, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> files = Files.list(claimDir)) {
                for (Path p : files.toList()) {
                    String file = p.getFileName().toString();
                    String name = file.contains(".") ? file.substring(0, file.lastIndexOf('.')) : file;
                    if (FragmentName.isValid(name)) {
                        store.dropStaged(List.of(name));
                    }
                    Files.delete(p);
                }
            }
            AtomicFiles.syncDirectory(claimDir);
        }
        store.unmarkTaken();
        LOG.info("Dropped the inbox entries and staged halves of a batch taken in before the crash");
    }

    private void receiveDeferred(File file) throws IOException {
        String fileName = file.getName();
        int dot = fileName.lastIndexOf('.');
        String name = fileName.substring(0, dot);
        String kind = fileName.substring(dot + 1);
        if (!FragmentName.isValid(name)) {
            String safe = FragmentName.safe(name);
            String error = "inbox/" + FragmentName.printable(fileName) + ": " + problemText(name);
            LOG.warn("Rejected {}", error);
            try {
                // Not read, whatever it is; removed so a bad name does not sit in the inbox for ever.
                claim(file, "inbox/" + FragmentName.printable(fileName));
            } catch (InboxEntry.Refused alsoNotAFile) {
                LOG.warn("Rejected {}", alsoNotAFile.getMessage());
            }
            store.reject(safe, null, null, null, error);
            status.rejected(safe, null, error);
            return;
        }
        switch (kind) {
            case "remove" -> queueRemoval(name, file);
            case "cfg", "map" -> takeHalf(name, fileName, file);
            default -> throw new IllegalArgumentException("intake route must only pass .cfg, .map and .remove files");
        }
    }

    /** Claims the entry into this batch; empty if it is gone (a sender replaced it, or it was consumed already). */
    private Optional<InboxEntry> claim(File file, String shown) throws IOException, InboxEntry.Refused {
        Optional<InboxEntry> entry = InboxEntry.claim(file.toPath(), claimDir, shown);
        entry.ifPresent(e -> {
            claimed.put(file.getName(), new Claim(e, file.toPath()));
            claimedInCall.add(file.getName());
        });
        return entry;
    }

    private void queueRemoval(String name, File file) throws IOException {
        try {
            if (claim(file, "inbox/" + file.getName()).isEmpty()) {
                return;
            }
        } catch (InboxEntry.Refused refused) {
            rejectAtIntake(name, null, null, new FragmentProblem(name, refused.getMessage()));
            return;
        }
        forgetHalves(name);
        PendingChange removal = PendingChange.removal(name, clock.millis());
        store.putPending(removal);
        status.pending(name, removal.id());
        LOG.info("Fragment '{}': removal queued for assembly", name);
    }

    /** One half: paired with its partner from staging/, or staged to wait for it. */
    private void takeHalf(String name, String fileName, File file) throws IOException {
        String partnerName = partnerOf(name, fileName);
        byte[] content;
        byte[] partner;
        try {
            Optional<byte[]> taken = readHalf(name, fileName, file);
            if (taken.isEmpty()) {
                return;
            }
            content = taken.get();
            partner = store.staged(partnerName).orElse(null);
            if (partner == null && inbox != null && partnerReady.ready(inbox.resolve(partnerName))) {
                // An inbox poll lists files in directory order, so a pair's halves often fall into different polls:
                // the first would be staged (written and fsynced) only to wait for the second, which is here, complete.
                partner = readHalf(name, partnerName, inbox.resolve(partnerName).toFile()).orElse(null);
            }
        } catch (Unreadable refused) {
            rejectAtIntake(name, null, null, refused.problem);
            return;
        }
        if (partner == null) {
            store.stage(fileName, content);
            stagedHere.add(fileName);
            LOG.info("Fragment '{}': {} received, waiting for {}", name, fileName, partnerName);
            return;
        }
        boolean cfgFirst = fileName.endsWith(".map");
        queue(name, cfgFirst ? partner : content, cfgFirst ? content : partner);
        forgetHalves(name);
    }

    /** A half that is not read: refused (a link, a FIFO, replaced while taken) or too big. */
    private static final class Unreadable extends Exception {
        private final FragmentProblem problem;

        Unreadable(FragmentProblem problem) {
            super(problem.getMessage(), null, false, false);
            this.problem = problem;
        }
    }

    /** Claims one half of NAME and reads it; empty when it is gone (consumed already, or replaced by its sender). */
    private Optional<byte[]> readHalf(String name, String fileName, File file) throws IOException, Unreadable {
        String shown = "inbox/" + fileName;
        try {
            Optional<InboxEntry> entry = claim(file, shown);
            if (entry.isEmpty()) {
                return Optional.empty();
            }
            // Checked before reading, and the file not copied to rejected/: keeping a copy of an oversized file is
            // exactly the harm the limit prevents.
            store.reader().checkSize(name, fileName, entry.get().size());
            return Optional.of(entry.get().read(store.reader().maxBytes(), shown));
        } catch (FragmentProblem tooBig) {
            throw new Unreadable(tooBig);
        } catch (InboxEntry.Refused refused) {
            throw new Unreadable(new FragmentProblem(name, refused.getMessage()));
        }
    }

    /** NAME's staged halves are done with: a later half must never pair with them. */
    private void forgetHalves(String name) throws IOException {
        stagedHere.remove(name + ".cfg");
        stagedHere.remove(name + ".map");
        if (!store.hasStaged(name)) {
            return;
        }
        if (claimed.keySet().stream().anyMatch(file -> file.startsWith(name + "."))) {
            doneStaged.add(name); // dropped with the batch's entries of that name (commit)
        } else {
            store.clearStaged(name); // an entry refused unread: nothing of it is claimed to be read again
        }
    }

    private static String partnerOf(String name, String fileName) {
        return fileName.endsWith(".cfg") ? name + ".map" : name + ".cfg";
    }

    private boolean alreadyStaged(Path claimedEntry) {
        try {
            return store.keepStagedIfSame(claimedEntry);
        } catch (IOException e) {
            return false;
        }
    }

    private void pairUp(String name, String fileName) throws IOException {
        Optional<byte[][]> pair = store.stagedPair(name);
        if (pair.isEmpty()) {
            LOG.info("Fragment '{}': {} received, waiting for {}", name, fileName, partnerOf(name, fileName));
            return;
        }
        queue(name, pair.get()[0], pair.get()[1]);
        store.clearStaged(name);
    }

    /** A complete pair: checked and queued (or rejected). */
    private void queue(String name, byte[] cfg, byte[] map) throws IOException {
        try {
            Fragment fragment = store.reader().read(name, cfg, map);
            store.putPending(PendingChange.upsert(fragment, clock.millis()), fragment);
            status.pending(name, fragment.id());
            LOG.info("Fragment '{}' ({} backend(s), {} domain(s)) queued for assembly", name,
                    fragment.backends().size(), fragment.entries().size());
        } catch (FragmentProblem problem) {
            rejectAtIntake(name, cfg, map, problem);
        }
    }

    private void rejectAtIntake(String name, byte[] cfg, byte[] map, FragmentProblem problem) throws IOException {
        forgetHalves(name);
        String error = "Fragment '" + name + "' was rejected: " + Excerpt.controlsEscaped(problem.getMessage()) + "\n"
                + "Nothing live was changed. Fix the file and send both " + name + ".cfg and " + name
                + ".map again.";
        String id = cfg == null || map == null ? null : Fragment.idOf(cfg, map);
        store.reject(name, cfg, map, id, error);
        status.rejected(name, id, error);
        LOG.warn("Fragment '{}' rejected: {}", name, problem.getMessage());
    }

    private static String problemText(String name) {
        try {
            FragmentName.check(name);
            return "";
        } catch (FragmentProblem p) {
            return p.getMessage();
        }
    }
}
