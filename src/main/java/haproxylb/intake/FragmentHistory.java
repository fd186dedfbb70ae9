package haproxylb.intake;

import haproxylb.common.Json;
import com.fasterxml.jackson.databind.ObjectMapper;
import haproxylb.common.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every fragment's past, for {@code haproxy-config history} and {@code rollback}: the last {@code keep} versions
 * that went into a validated config (and removals), and the last {@code keep} rejected attempts with their errors.
 * One JSON file per event under {@code <dir>/NAME/}, named by a sequence number, each written atomically, so the
 * history survives restarts and crashes; older events are pruned after each write.
 *
 * <p>Rollback walks back like undo: each accepted version remembers which version to restore when it is rolled
 * back ({@link Entry#previous()}). Restoring an older version gives the new entry that version's own "previous",
 * so rolling back twice from v3 gives v2, then v1, instead of flipping between v3 and v2.
 */
public final class FragmentHistory {
    /** Versions kept per fragment when lb.fragments.history is not set. */
    public static final int DEFAULT_KEEP = 10;
    public static final String LIVE = "live";
    public static final String REMOVED = "removed";
    public static final String REJECTED = "rejected";

    private static final Logger LOG = LoggerFactory.getLogger(FragmentHistory.class);
    private static final ObjectMapper JSON = Json.MAPPER;
    private static final Pattern FILE = Pattern.compile("(\\d{12})-(live|removed|rejected)\\.json");

    /**
     * One event in a fragment's history.
     *
     * @param kind     live (went into the validated config), removed, or rejected
     * @param id       the version's id as apply and status show it; null for removals and unnamed rejections
     * @param at       when it happened (ISO-8601): for live, when the validated config with it was written, which
     *                 haproxy serves at once (runtime API) or at the next reload (rate limit)
     * @param previous seq of the version a rollback of this one restores; null when there is none
     * @param cfg      the version's NAME.cfg as the daemon assembled it (line ends normalised); null for removals
     *                 and rejections
     */
    public record Entry(long seq, String kind, String id, String at, Long previous, String cfg, String map,
                        String error) {
        public boolean accepted() {
            return !REJECTED.equals(kind);
        }

        boolean sameContent(String otherCfg, String otherMap) {
            return LIVE.equals(kind) && otherCfg.equals(cfg) && otherMap.equals(map);
        }
    }

    private final Path dir;
    private final int keep;
    private final Clock clock;

    public FragmentHistory(Path dir, int keep, Clock clock) {
        if (keep < 1) {
            throw new IllegalArgumentException("setting lb.fragments.history = " + keep + ": keep at least 1 version");
        }
        this.dir = dir;
        this.keep = keep;
        this.clock = clock;
    }

    public Path dir() {
        return dir;
    }

    public int keep() {
        return keep;
    }

    // ---- recording (the daemon) ----

    public synchronized void recordLive(String name, String cfg, String map, String id) throws IOException {
        List<Entry> accepted = accepted(name);
        Optional<Entry> newest = accepted.stream().findFirst();
        if (newest.isPresent() && newest.get().sameContent(cfg, map)) {
            return; // the same version promoted again (a repeated promotion after a crash)
        }
        Optional<Entry> earlier = accepted.stream().filter(e -> e.sameContent(cfg, map)).findFirst();
        Long previous;
        if (earlier.isPresent()) {
            previous = earlier.get().previous(); // a version back again (a rollback): its own past comes with it
        } else if (newest.isPresent()) {
            previous = LIVE.equals(newest.get().kind()) ? Long.valueOf(newest.get().seq()) : newest.get().previous();
        } else {
            previous = null;
        }
        append(name, new Entry(0, LIVE, id, clock.instant().toString(), previous, cfg, map, null));
    }

    public synchronized void recordRemoved(String name) throws IOException {
        Optional<Entry> newest = accepted(name).stream().findFirst();
        if (newest.isEmpty() || REMOVED.equals(newest.get().kind())) {
            return; // nothing was live to remove, or this removal is recorded already
        }
        append(name, new Entry(0, REMOVED, null, clock.instant().toString(), newest.get().seq(), null, null, null));
    }

    /** Only the id and the error: the refused files themselves stay in rejected/ (the last one) and nowhere else. */
    public synchronized void recordRejected(String name, String id, String error) throws IOException {
        append(name, new Entry(0, REJECTED, id, clock.instant().toString(), null, null, null, error));
    }

    private void append(String name, Entry e) throws IOException {
        Path fragmentDir = fragmentDir(name);
        long seq = entries(name).stream().mapToLong(Entry::seq).max().orElse(0) + 1;
        Entry entry = new Entry(seq, e.kind(), e.id(), e.at(), e.previous(), e.cfg(), e.map(), e.error());
        AtomicFiles.write(fragmentDir.resolve(fileName(seq, e.kind())), JSON.writeValueAsBytes(entry));
        prune(name, entry.accepted());
    }

    private void prune(String name, boolean accepted) throws IOException {
        List<Entry> same = entries(name).stream().filter(e -> e.accepted() == accepted).toList();
        for (Entry old : same.subList(Math.min(keep, same.size()), same.size())) {
            Files.deleteIfExists(fragmentDir(name).resolve(fileName(old.seq(), old.kind())));
        }
    }

    // ---- reading (the daemon, the CLI, JMX) ----

    /** Every event kept for NAME, newest first; empty when there are none. */
    public List<Entry> entries(String name) throws IOException {
        Path fragmentDir = fragmentDir(name);
        if (!Files.isDirectory(fragmentDir, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        List<Entry> entries = new ArrayList<>();
        try (Stream<Path> files = Files.list(fragmentDir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Matcher m = FILE.matcher(p.getFileName().toString());
                if (!m.matches()) {
                    continue; // temp files of a write in progress, strangers
                }
                try {
                    entries.add(JSON.readValue(p.toFile(), Entry.class));
                } catch (IOException ex) {
                    // Written atomically, so this is outside damage: one lost event must not hide the others.
                    LOG.error("History entry {} is unreadable ({}); skipping it", p, ex.getMessage());
                }
            }
        }
        return entries;
    }

    /** Accepted versions and removals of NAME, newest first. */
    public List<Entry> accepted(String name) throws IOException {
        return entries(name).stream().filter(Entry::accepted).toList();
    }

    /**
     * The version {@code rollback NAME [ID]} restores: the given id's newest accepted version, or else the version
     * before the newest one (for a removed fragment, the version that was live before the removal).
     *
     * @throws FragmentProblem saying why there is nothing to restore
     */
    public Entry rollbackTarget(String name, Optional<String> id) throws IOException, FragmentProblem {
        List<Entry> accepted = accepted(name);
        if (accepted.isEmpty()) {
            throw new FragmentProblem(name, "fragment '" + name + "' has no history: no version of it went live"
                    + " while the history was kept (" + fragmentDir(name) + ")");
        }
        if (id.isPresent()) {
            return accepted.stream().filter(e -> LIVE.equals(e.kind()) && id.get().equals(e.id())).findFirst()
                    .orElseThrow(() -> new FragmentProblem(name, "fragment '" + name + "' has no version "
                            + id.get() + " in its history (haproxy-config history " + name + " lists the "
                            + keep + " kept)"));
        }
        Entry newest = accepted.get(0);
        if (newest.previous() == null) {
            throw new FragmentProblem(name, "fragment '" + name + "' has no version before " + describe(newest)
                    + " to roll back to");
        }
        return accepted.stream().filter(e -> e.seq() == newest.previous()).findFirst()
                .orElseThrow(() -> new FragmentProblem(name, "the version of fragment '" + name + "' before "
                        + describe(newest) + " is older than the " + keep + " versions kept (setting"
                        + " lb.fragments.history); name a kept one: haproxy-config rollback " + name + " ID"));
    }

    private static String describe(Entry e) {
        return REMOVED.equals(e.kind()) ? "its removal" : "version " + e.id();
    }

    /** NAME's directory; also for the stand-in names ("_...") intake files an invalid name's rejection under. */
    private Path fragmentDir(String name) {
        boolean standIn = name != null && name.matches("_[a-z0-9._-]{1,100}") && !name.contains("..");
        if (!FragmentName.isValid(name) && !standIn) {
            throw new IllegalArgumentException("invalid fragment name '" + FragmentName.printable(name) + "'");
        }
        return dir.resolve(name);
    }

    private static String fileName(long seq, String kind) {
        return String.format("%012d-%s.json", seq, kind);
    }
}
