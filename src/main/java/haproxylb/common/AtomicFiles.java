package haproxylb.common;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.Future;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.ExecutionException;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.ArrayList;
import java.util.UUID;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Every file the daemon writes goes through here: a temp file in the same directory, fsync, rename, fsync of
 * the directory. A reader (haproxy, the CLI, a restarted daemon) sees the old file or the new one, never a mix.
 * Temp files start with a dot so Camel's file consumers (which skip hidden files) never pick them up.
 */
public final class AtomicFiles {
    /** Private keys, the ACME account, anything that may hold one (a rejected certificate file). */
    public static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");
    /**
     * Everything else: the daemon's group (the deploy group, see the README's threat model) may read status, rejected
     * copies and live fragments; other users of the machine may not. Operators' fragments are not public knowledge.
     */
    public static final Set<PosixFilePermission> SHARED = PosixFilePermissions.fromString("rw-r-----");
    /** The state directory: the daemon writes, its group reads, nobody else gets in. */
    public static final Set<PosixFilePermission> STATE_DIR = PosixFilePermissions.fromString("rwxr-x---");
    /** Inboxes: the daemon and its group (the deploy group) drop files; nobody else. */
    public static final Set<PosixFilePermission> INBOX_DIR = PosixFilePermissions.fromString("rwxrwx---");
    /** Directories only the daemon itself uses (entries claimed from an inbox are checked there). */
    public static final Set<PosixFilePermission> PRIVATE_DIR = PosixFilePermissions.fromString("rwx------");
    static final String TEMP_PREFIX = ".tmp-";

    /**
     * Writes made on this thread inside {@link #deferSyncs}: their fsyncs wait for the batch's {@link SyncBatch#commit}.
     */
    private static final ThreadLocal<SyncBatch> DEFERRED = new ThreadLocal<>();

    private AtomicFiles() {}

    /**
     * Group commit for a storm of small writes (issue 11: the intake took 14-75 fragment pairs a second, every write
     * paying its own fsyncs). Writes made inside {@link #deferSyncs} are complete and visible at once (temp file and
     * rename, as always) but their fsyncs wait for {@link #commit}, which forces every written file in parallel (the
     * file system's journal folds concurrent fsyncs into few commits: ~8x here with 16 threads), then each directory
     * once. Whoever defers must keep what the writes were made from (the claimed inbox entry) until commit returns, so
     * a crash before it loses nothing: that copy is read again.
     */
    public static final class SyncBatch {
        private static final int THREADS = 16;
        /**
         * From this many files a batch is made durable with one syncfs of their file system instead of an fsync each
         * (bench/daemon-storm.sh); a smaller one (an apply, a certificate) keeps its own fsyncs and does not flush
         * what others wrote to that file system.
         */
        static final int WHOLE_FILE_SYSTEM_FROM = 64;
        /**
         * Shared by every batch (the intake's and the assembly's), its threads kept while batches come: a pool made
         * per commit started up to 16 threads each time, 2,300 thread starts in a storm of 2,000 pairs.
         */
        private static final ExecutorService FORCERS = forcers();

        private static ExecutorService forcers() {
            AtomicInteger count = new AtomicInteger();
            ThreadPoolExecutor pool = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS,
                    new LinkedBlockingQueue<>(), r -> {
                        Thread t = new Thread(r, "fsync-" + count.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
            pool.allowCoreThreadTimeOut(true);
            return pool;
        }
        private final Set<Path> files = new LinkedHashSet<>();
        private final Set<Path> dirs = new LinkedHashSet<>();

        /** A file written in the batch that goes once the batch is durable: not forced. */
        public void skip(Path file) {
            files.remove(file.toAbsolutePath());
        }

        /** Forces every file and directory written in the batch, all at once. */
        public void commit() throws IOException {
            forceAll(List.copyOf(files), List.copyOf(dirs));
            files.clear();
            dirs.clear();
        }

        private static void forceAll(List<Path> written, List<Path> directories) throws IOException {
            int n = written.size() + directories.size();
            if (n == 0) {
                return;
            }
            if (n >= WHOLE_FILE_SYSTEM_FROM && FileSystemSync.syncIfOne(dirsOf(written, directories))) {
                return;
            }
            try {
                List<Future<?>> forced = new ArrayList<>();
                for (Path p : written) {
                    forced.add(FORCERS.submit(() -> {
                        force(p);
                        return null;
                    }));
                }
                for (Path p : directories) {
                    forced.add(FORCERS.submit(() -> {
                        forceDirectory(p);
                        return null;
                    }));
                }
                for (Future<?> f : forced) {
                    f.get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while forcing writes to disk", e);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            }
        }

        private static Set<Path> dirsOf(List<Path> written, List<Path> directories) {
            Set<Path> dirs = new LinkedHashSet<>(directories);
            for (Path p : written) {
                dirs.add(p.getParent());
            }
            return dirs;
        }

        private static void force(Path file) throws IOException {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                ch.force(true);
            } catch (NoSuchFileException replacedOrDeleted) {
                // a later write of the batch replaced or removed it: that one is forced instead
            }
        }
    }

    /** Work on files that may throw an IOException. */
    @FunctionalInterface
    public interface FileWork {
        void run() throws IOException;
    }

    /** Runs {@code work} with this thread's writes joining {@code batch} (see {@link SyncBatch}). */
    public static void deferSyncs(SyncBatch batch, FileWork work) throws IOException {
        SyncBatch outer = DEFERRED.get();
        DEFERRED.set(batch);
        try {
            work.run();
        } finally {
            DEFERRED.set(outer);
        }
    }

    private static final Set<StandardOpenOption> CREATE_AND_WRITE =
            Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);

    public static void write(Path target, String text) throws IOException {
        write(target, text.getBytes(StandardCharsets.UTF_8), SHARED);
    }

    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, bytes, SHARED);
    }

    public static void writePrivate(Path target, byte[] bytes) throws IOException {
        write(target, bytes, PRIVATE);
    }

    public static void write(Path target, byte[] bytes, Set<PosixFilePermission> permissions) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        createDirectories(dir);
        Path temp = dir.resolve(TEMP_PREFIX + target.getFileName() + "-" + UUID.randomUUID());
        boolean moved = false;
        try {
            // Created and opened in one call (a storm writes thousands of these: bench/intake-storm.sh). Permissions
            // are set before any byte is written, so a private key is never readable by others; set again after
            // the creation because the umask may have narrowed them.
            try (FileChannel ch = FileChannel.open(temp, CREATE_AND_WRITE,
                    PosixFilePermissions.asFileAttribute(permissions))) {
                Files.setPosixFilePermissions(temp, permissions);
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                SyncBatch batch = DEFERRED.get();
                if (batch == null) {
                    ch.force(true);
                } else {
                    batch.files.add(target.toAbsolutePath()); // forced by the batch's commit, under its final name
                }
            }
            move(temp, target);
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** Atomic rename within one file system, followed by an fsync of the target directory. */
    public static void move(Path source, Path target) throws IOException {
        createDirectories(target.toAbsolutePath().getParent());
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot atomically move " + source + " to " + target
                    + ": keep them on one file system", e);
        }
        syncDirectory(target.toAbsolutePath().getParent());
    }

    public static void syncDirectory(Path dir) {
        SyncBatch batch = DEFERRED.get();
        if (batch != null) {
            batch.dirs.add(dir.toAbsolutePath());
            return;
        }
        forceDirectory(dir);
    }

    private static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // Gone, or a file system that refuses fsync on a directory; the rename itself is still atomic there.
        }
    }

    /**
     * Creates {@code dir} with {@code permissions} if it is missing, and tightens an existing one the daemon owns
     * to them (never loosens: bits outside {@code permissions}, such as a setgid bit an installer set, are kept only
     * if they are in the allowed set). A directory owned by someone else is left alone: the installer decided.
     */
    public static Path directory(Path dir, Set<PosixFilePermission> permissions) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            createDirectories(dir.toAbsolutePath().getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(permissions));
            } catch (FileAlreadyExistsException raced) {
                // another start-up step made it meanwhile; fall through to the mode check
            }
        }
        Set<PosixFilePermission> now = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        if (!permissions.containsAll(now) && ownedByUs(dir)) {
            Set<PosixFilePermission> tightened = EnumSet.noneOf(PosixFilePermission.class);
            tightened.addAll(now);
            tightened.retainAll(permissions);
            Files.setPosixFilePermissions(dir, tightened);
        }
        return dir;
    }

    private static boolean ownedByUs(Path dir) throws IOException {
        return Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName()
                .equals(System.getProperty("user.name"));
    }

    /** Missing directories are made 0750 (whatever the umask allows of it): the state is not for other users. */
    public static void createDirectories(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(STATE_DIR));
        }
    }

    /** Leftovers of a write interrupted by a crash: removed at start-up so nothing stray accumulates. */
    public static int removeStrayTempFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int removed = 0;
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.getFileName().toString().startsWith(TEMP_PREFIX) && Files.deleteIfExists(p)) {
                    removed++;
                }
            }
        }
        return removed;
    }

    /** Deletes {@code dir} and everything under it: a temp work directory of the CLI or of a check. */
    public static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> tree = Files.walk(dir)) {
            for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
