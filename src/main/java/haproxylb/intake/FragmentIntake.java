package haproxylb.intake;

import haproxylb.common.AtomicFiles;
import haproxylb.common.Excerpt;
import haproxylb.common.InboxEntry;
import haproxylb.status.StatusBoard;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.List;
import java.util.HashSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Called by the intake route for every complete file that lands in the inbox. Pairs NAME.cfg with NAME.map,
 * checks what can be checked from the fragment alone, and queues the result for assembly. An IOException leaves
 * the inbox file where it is (Camel retries it), so nothing an operator sent is lost.
 *
 * <p>Crash safety (CrashSafetyTest): an inbox file is deleted here as soon as what it carries is durable (staged, or a
 * removal queued), not by Camel after the route. Otherwise a crash after pairing but before Camel's delete delivered
 * the file a second time after the restart: it waited in staging/ for a partner and paired with the other half of the
 * next version, a mix of two versions. A pair stays staged until it is queued, and complete pairs found in staging/
 * at start-up (a crash between the two) are queued then.
 */
public final class FragmentIntake {
    private static final Logger LOG = LoggerFactory.getLogger(FragmentIntake.class);

    private final FragmentStore store;
    private final StatusBoard status;
    private final Clock clock;
    private final Path claimDir;
    /** Bounds what a crash can make the intake read again, and the memory of a storm's batch. */
    static final int MAX_UNSYNCED = 512;
    /** The intake route runs on one thread (the file consumer's), so one batch at a time. */
    private final AtomicFiles.SyncBatch unsynced = new AtomicFiles.SyncBatch();
    /** Inbox files claimed since the last commit: their claimed originals stay until it (see clearStaged). */
    private final Set<String> claimedSinceCommit = new HashSet<>();
    /** The statuses of the files since the last commit: published together with it, once durable. */
    private StatusBoard.Publication statusSinceCommit;

    public FragmentIntake(FragmentStore store, StatusBoard status, Clock clock) throws IOException {
        this(store, status, clock, store.rejectedDir().resolveSibling("claimed"), null);
    }

    /**
     * @param claimDir where inbox entries are checked and read ({@link InboxEntry}); only the daemon writes it
     * @param inbox    where entries claimed before a crash go back to at start-up; null: leave them
     */
    public FragmentIntake(FragmentStore store, StatusBoard status, Clock clock, Path claimDir, Path inbox)
            throws IOException {
        this.store = store;
        this.status = status;
        this.clock = clock;
        this.claimDir = claimDir;
        if (inbox != null) {
            InboxEntry.giveBack(claimDir, inbox, this::alreadyStaged); // a crash came between claiming and discarding
        }
        for (String file : store.stagedFiles()) {
            if (file.endsWith(".cfg")) {
                pairUp(file.substring(0, file.length() - 4), file); // a crash came between staging and queueing
            }
        }
    }

    /** One file on its own: durable when this returns. */
    public void receive(File file) throws IOException {
        take(file, true);
    }

    /**
     * The intake route's call: one file of an inbox poll. Its writes join the poll's {@link AtomicFiles.SyncBatch},
     * committed (fsynced together) at the poll's last file or every {@link #MAX_UNSYNCED} files; the claimed inbox
     * entries are dropped only then, so a crash before the commit finds them at start-up and reads them again.
     *
     * @param lastOfPoll Camel's CamelBatchComplete: no more files in this poll
     */
    public void take(File file, Boolean lastOfPoll) throws IOException {
        if (statusSinceCommit == null) {
            statusSinceCommit = status.publication();
        }
        try {
            AtomicFiles.deferSyncs(unsynced, () -> receiveDeferred(file));
        } finally {
            if (Boolean.TRUE.equals(lastOfPoll) || unsynced.size() >= MAX_UNSYNCED) {
                commit();
            }
        }
    }

    private void commit() throws IOException {
        try {
            unsynced.commit();
            claimedSinceCommit.clear();
        } finally {
            if (statusSinceCommit != null) {
                statusSinceCommit.close();
                statusSinceCommit = null;
            }
        }
    }

    /**
     * Drops NAME's staged halves once its pair is queued or rejected, at once, so a later half never pairs with them.
     * That is safe while each staged half's claimed original is still kept (claimed since the last commit): a crash
     * reads those again. A half staged before the last commit has no other copy: the batch is committed first.
     */
    private void clearStaged(String name) throws IOException {
        if (!claimedSinceCommit.containsAll(List.of(name + ".cfg", name + ".map"))
                && (store.staged(name + ".cfg").isPresent() || store.staged(name + ".map").isPresent())) {
            commit();
        }
        store.clearStaged(name);
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
                InboxEntry.claim(file.toPath(), claimDir, "inbox/" + FragmentName.printable(fileName))
                        .ifPresent(this::discardQuietly);
            } catch (InboxEntry.Refused alsoNotAFile) {
                LOG.warn("Rejected {}", alsoNotAFile.getMessage());
            }
            store.reject(safe, null, null, null, error);
            status.rejected(safe, null, error);
            return;
        }
        switch (kind) {
            case "remove" -> queueRemoval(name, file);
            case "cfg", "map" -> stage(name, fileName, file);
            default -> throw new IllegalArgumentException("intake route must only pass .cfg, .map and .remove files");
        }
    }

    private void queueRemoval(String name, File file) throws IOException {
        Optional<InboxEntry> entry;
        try {
            entry = InboxEntry.claim(file.toPath(), claimDir, "inbox/" + file.getName());
        } catch (InboxEntry.Refused refused) {
            store.clearStaged(name);
            rejectAtIntake(name, null, null, new FragmentProblem(name, refused.getMessage()));
            return;
        }
        if (entry.isEmpty()) {
            return;
        }
        store.clearStaged(name);
        PendingChange removal = PendingChange.removal(name, clock.millis());
        store.putPending(removal);
        unsynced.afterSync(entry.get()::discard);
        status.pending(name, removal.id());
        LOG.info("Fragment '{}': removal queued for assembly", name);
    }

    /**
     * The entry is claimed (out of the inbox) before it is read, and discarded once its content is durable in
     * staging/: a crash in between finds it in the claim directory, which goes back to the inbox at start-up.
     */
    private void stage(String name, String fileName, File file) throws IOException {
        String shown = "inbox/" + fileName;
        try {
            Optional<InboxEntry> claimed = InboxEntry.claim(file.toPath(), claimDir, shown);
            if (claimed.isEmpty()) {
                return;
            }
            InboxEntry entry = claimed.get();
            claimedSinceCommit.add(fileName);
            try {
                store.reader().checkSize(name, fileName, entry.size());
            } catch (FragmentProblem tooBig) {
                // Not copied to rejected/: keeping a copy of an oversized file is exactly the harm the limit prevents.
                unsynced.afterSync(entry::discard);
                store.clearStaged(name);
                rejectAtIntake(name, null, null, tooBig);
                return;
            }
            byte[] content;
            Optional<byte[]> partner;
            try {
                content = entry.read(store.reader().maxBytes(), shown);
                partner = store.staged(partnerOf(name, fileName));
                if (partner.isEmpty()) {
                    store.stage(fileName, content);
                }
            } catch (IOException e) {
                entry.putBack(file.toPath()); // as before claiming: Camel retries the inbox file
                throw e;
            }
            unsynced.afterSync(entry::discard);
            if (partner.isPresent()) {
                // The second half completes the pair from memory: it is never staged (half the writes of a storm).
                boolean cfgFirst = fileName.endsWith(".map");
                queue(name, cfgFirst ? partner.get() : content, cfgFirst ? content : partner.get());
            } else {
                LOG.info("Fragment '{}': {} received, waiting for {}", name, fileName, partnerOf(name, fileName));
            }
        } catch (InboxEntry.Refused refused) {
            store.clearStaged(name);
            rejectAtIntake(name, null, null, new FragmentProblem(name, refused.getMessage()));
        }
    }

    private static String partnerOf(String name, String fileName) {
        return fileName.endsWith(".cfg") ? name + ".map" : name + ".cfg";
    }

    private boolean alreadyStaged(Path claimed) {
        try {
            Optional<byte[]> staged = store.staged(claimed.getFileName().toString());
            return staged.isPresent() && Arrays.equals(staged.get(), Files.readAllBytes(claimed));
        } catch (IOException e) {
            return false;
        }
    }

    private void discardQuietly(InboxEntry entry) {
        unsynced.afterSync(entry::discard);
    }

    private void pairUp(String name, String fileName) throws IOException {
        Optional<byte[][]> pair = store.stagedPair(name);
        if (pair.isEmpty()) {
            LOG.info("Fragment '{}': {} received, waiting for {}", name, fileName,
                    fileName.endsWith(".cfg") ? name + ".map" : name + ".cfg");
            return;
        }
        queue(name, pair.get()[0], pair.get()[1]);
    }

    /**
     * A complete pair: checked and queued (or rejected). The staged half goes once that is durable: a crash before
     * finds it still staged, and the other half's claimed entry back in the inbox.
     */
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
        clearStaged(name);
    }

    private void rejectAtIntake(String name, byte[] cfg, byte[] map, FragmentProblem problem) throws IOException {
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
