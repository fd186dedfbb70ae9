package haproxylb.common;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;

import java.nio.file.Path;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The libc calls made on a directory's descriptor (syncfs for {@link FileSystemSync}, flock for
 * {@link StateDirLock}), through JNA: one binding, loaded on first use, since JNA's load takes ~0.1 s and is kept off
 * haproxy-config's start and the launcher's early haproxy. The directory is opened read-only: an open file would keep
 * its file system from being remounted read-only; and close-on-exec, so haproxy never inherits it.
 */
final class DirectoryCalls {
    static final int LOCK_EX = 2;
    static final int LOCK_NB = 4;
    static final int EWOULDBLOCK = 11;
    private static final int O_RDONLY = 0;
    private static final int O_DIRECTORY = 0x10000;
    private static final int O_CLOEXEC = 0x80000;
    private static final Logger LOG = LoggerFactory.getLogger(DirectoryCalls.class);

    interface LibC extends Library {
        int open(String path, int flags) throws LastErrorException;

        int syncfs(int fd) throws LastErrorException;

        int flock(int fd, int operation) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private DirectoryCalls() {}

    private static final class Loaded {
        static final LibC LIBC = load();

        private static LibC load() {
            try {
                return com.sun.jna.Native.load("c", LibC.class);
            } catch (RuntimeException | LinkageError e) {
                LOG.warn("JNA cannot call libc ({}): big write batches are made durable file by file, and nothing"
                        + " stops a second daemon on the same state directory", e.getMessage());
                return null;
            }
        }
    }

    /** null when JNA cannot load libc: callers fall back to doing without. */
    static LibC libc() {
        return Loaded.LIBC;
    }

    /** A descriptor of {@code dir}, read-only and close-on-exec; {@link #libc()} must not be null. */
    static int openDirectory(Path dir) throws LastErrorException {
        return libc().open(dir.toString(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }

    /** Closing a read-only directory descriptor loses nothing (and releases its flock). */
    static void close(int fd) {
        try {
            libc().close(fd);
        } catch (LastErrorException ignored) {
            // nothing was written through it
        }
    }
}
