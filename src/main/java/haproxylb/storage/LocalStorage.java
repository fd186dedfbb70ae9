package haproxylb.storage;

import haproxylb.common.AtomicFiles;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * {@link Storage} in a directory (the state directory): key {@code a/b} is the file {@code <root>/a/b}, written
 * through {@link AtomicFiles} (temp file, fsync, rename), so the files stay where operators and the earlier layout
 * expect them. Locks are a thread lock plus an OS file lock on {@code <root>/.locks/KEY}, so a second process on the
 * same directory (the CLI) waits as well.
 */
public final class LocalStorage implements Storage {
    private final Path root;
    private final ConcurrentHashMap<String, ReentrantLock> threadLocks = new ConcurrentHashMap<>();

    public LocalStorage(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    /** The file that holds {@code key}. */
    public Path file(String key) {
        return root.resolve(Storage.checkedKey(key));
    }

    @Override
    public Optional<byte[]> load(String key) throws IOException {
        Path file = file(key);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Files.readAllBytes(file));
        } catch (NoSuchFileException gone) {
            return Optional.empty();
        }
    }

    @Override
    public void store(String key, byte[] value) throws IOException {
        AtomicFiles.write(file(key), value);
    }

    @Override
    public void storePrivate(String key, byte[] value) throws IOException {
        AtomicFiles.writePrivate(file(key), value);
    }

    @Override
    public String where(String key) {
        return file(key).toString();
    }

    @Override
    public void delete(String key) throws IOException {
        Path file = file(key);
        if (Files.deleteIfExists(file)) {
            AtomicFiles.syncDirectory(file.getParent());
        }
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        Path dir = file(prefix);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith("."))
                    .sorted()
                    .toList();
        }
    }

    @Override
    public Lock lock(String key) throws IOException {
        ReentrantLock inProcess = threadLocks.computeIfAbsent(Storage.checkedKey(key), k -> new ReentrantLock());
        inProcess.lock();
        try {
            Path lockFile = root.resolve(".locks").resolve(key + ".lock");
            Files.createDirectories(lockFile.getParent());
            FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock held = channel.lock();
            return () -> {
                try (channel) {
                    held.release();
                } finally {
                    inProcess.unlock();
                }
            };
        } catch (IOException | RuntimeException e) {
            inProcess.unlock();
            throw e;
        }
    }
}
