package haproxylb.common;

import com.sun.jna.LastErrorException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * Linux syncfs(2): makes everything written to one file system durable in one call. A big batch (a storm's poll, the
 * promotion of thousands of fragments) paid an fsync per file, each its own data flush and journal commit; syncfs
 * writes the batch back and commits once. It also flushes what others wrote to that file system, so small batches
 * keep their own fsyncs ({@link AtomicFiles.SyncBatch}). Since Linux 5.8 it reports write-back errors as fsync does.
 */
final class FileSystemSync {
    private FileSystemSync() {}

    /**
     * Makes every write to the file system of {@code dirs} durable, if they are all on one file system and syncfs
     * can be called; false otherwise (nothing was done, the caller forces file by file).
     */
    static boolean syncIfOne(Collection<Path> dirs) throws IOException {
        if (DirectoryCalls.libc() == null || dirs.isEmpty()) {
            return false;
        }
        Set<Object> devices = new HashSet<>();
        Path any = null;
        for (Path dir : dirs) {
            try {
                devices.add(Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS));
            } catch (NoSuchFileException removedMeanwhile) {
                continue; // nothing in it is left to make durable
            }
            if (devices.size() > 1) {
                return false;
            }
            any = dir;
        }
        if (any == null) {
            return false;
        }
        int fd;
        try {
            fd = DirectoryCalls.openDirectory(any);
        } catch (LastErrorException e) {
            throw new IOException("open " + any + ": errno " + e.getErrorCode());
        }
        try {
            DirectoryCalls.libc().syncfs(fd);
            return true;
        } catch (LastErrorException e) {
            throw new IOException("syncfs of the file system of " + any + " failed: errno " + e.getErrorCode());
        } finally {
            DirectoryCalls.close(fd);
        }
    }
}
