package haproxylb.common;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One daemon per state directory. A second daemon on the same state (started by hand beside the service, say) would
 * take the same inbox, assemble and write the same haproxy.cfg and status.json, and start a haproxy of its own on the
 * same ports, each overwriting what the other decided. Held for the daemon's life with flock(2) on the state
 * directory itself, which a crash or a kill releases with the process. A directory opened read-only: an open file
 * would keep its file system from being remounted read-only (DiskFaultTest does). {@code .daemon.pid} names the
 * holder for the next one's error message.
 */
public final class StateDirLock implements AutoCloseable {
    static final String PID_FILE = ".daemon.pid";
    private static final int O_RDONLY = 0;
    private static final int O_DIRECTORY = 0x10000;
    private static final int O_CLOEXEC = 0x80000;
    private static final int LOCK_SH = 1;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    /** How long a start retries a held lock: haproxy-config's {@link #probe} holds it for a moment. */
    private static final long RETRY_NANOS = 1_000_000_000L;
    private static final int EWOULDBLOCK = 11;

    interface LibC extends Library {
        int open(String path, int flags) throws LastErrorException;

        int flock(int fd, int operation) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private static final Logger LOG = LoggerFactory.getLogger(StateDirLock.class);
    private static final LibC LIBC = load();

    private static LibC load() {
        try {
            return Native.load("c", LibC.class);
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("No flock(2) ({}): nothing stops a second daemon on the same state directory", e.getMessage());
            return null;
        }
    }

    /** Another daemon holds the state directory; the message says which and what to do. */
    public static final class Held extends IllegalStateException {
        Held(String message) {
            super(message);
        }
    }

    private final int fd;

    private StateDirLock(int fd) {
        this.fd = fd;
    }

    /** @throws Held when another daemon (another process, or another daemon of this JVM) holds it */
    public static StateDirLock acquire(Path stateDir) throws IOException {
        Files.createDirectories(stateDir);
        if (LIBC == null) {
            return new StateDirLock(-1);
        }
        int fd;
        try {
            fd = LIBC.open(stateDir.toString(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IOException("cannot open the state directory " + stateDir + " to lock it: errno "
                    + e.getErrorCode());
        }
        try {
            lockRetrying(fd);
        } catch (LastErrorException e) {
            close(fd);
            if (e.getErrorCode() == EWOULDBLOCK) {
                throw new Held("another haproxy-lb daemon" + holder(stateDir) + " is running on the state directory "
                        + stateDir.toAbsolutePath() + ": two would take the same inbox and overwrite each other's"
                        + " haproxy config. Stop it first (systemctl stop haproxy-lb), or give this one its own"
                        + " lb.state-dir.");
            }
            throw new IOException("cannot lock the state directory " + stateDir + ": errno " + e.getErrorCode());
        }
        try {
            AtomicFiles.write(stateDir.resolve(PID_FILE), ProcessHandle.current().pid() + "\n");
        } catch (IOException | RuntimeException e) {
            close(fd);
            throw e;
        }
        return new StateDirLock(fd);
    }

    private static void lockRetrying(int fd) {
        long deadline = System.nanoTime() + RETRY_NANOS;
        while (true) {
            try {
                LIBC.flock(fd, LOCK_EX | LOCK_NB);
                return;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != EWOULDBLOCK || System.nanoTime() - deadline > 0) {
                    throw e;
                }
            }
            try {
                Thread.sleep(20); // another process's lock: nothing in this JVM to wait on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LastErrorException(EWOULDBLOCK);
            }
        }
    }

    /** Whether a daemon runs on a state directory, as far as this user can tell. */
    public enum Presence { RUNNING, NOT_RUNNING, UNKNOWN }

    /**
     * For haproxy-config: a shared lock taken and dropped at once succeeds only when no daemon holds the directory.
     * UNKNOWN when this user may not open it (a deployer: the state directory is the daemon's) or flock is missing.
     */
    public static Presence probe(Path stateDir) {
        if (LIBC == null) {
            return Presence.UNKNOWN;
        }
        int fd;
        try {
            fd = LIBC.open(stateDir.toString(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } catch (LastErrorException e) {
            return Presence.UNKNOWN;
        }
        try {
            LIBC.flock(fd, LOCK_SH | LOCK_NB);
            return Presence.NOT_RUNNING;
        } catch (LastErrorException e) {
            return e.getErrorCode() == EWOULDBLOCK ? Presence.RUNNING : Presence.UNKNOWN;
        } finally {
            close(fd);
        }
    }

    private static String holder(Path stateDir) {
        try {
            String pid = Files.readString(stateDir.resolve(PID_FILE), StandardCharsets.US_ASCII).strip();
            return pid.matches("[0-9]{1,10}") ? " (pid " + pid + ")" : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static void close(int fd) {
        if (fd < 0) {
            return;
        }
        try {
            LIBC.close(fd);
        } catch (LastErrorException ignored) {
            // Closing releases the lock; a descriptor that cannot be closed has nothing more to release.
        }
    }

    /** Closing the directory releases the lock. */
    @Override
    public void close() {
        close(fd);
    }
}
