package haproxylb.common;

import com.sun.jna.LastErrorException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

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
    /** How long a start retries a held lock: a daemon stopping as this one starts lets go of it. */
    private static final long RETRY_NANOS = 1_000_000_000L;
    private static final Path PROC_LOCKS = Path.of("/proc/locks");
    private static final Logger LOG = LoggerFactory.getLogger(StateDirLock.class);

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
        if (DirectoryCalls.libc() == null) {
            return new StateDirLock(-1);
        }
        int fd;
        try {
            fd = DirectoryCalls.openDirectory(stateDir);
        } catch (LastErrorException e) {
            throw new IOException("cannot open the state directory " + stateDir + " to lock it: errno "
                    + e.getErrorCode());
        }
        try {
            lockRetrying(fd);
        } catch (LastErrorException e) {
            DirectoryCalls.close(fd);
            if (e.getErrorCode() == DirectoryCalls.EWOULDBLOCK) {
                throw held(stateDir);
            }
            throw new IOException("cannot lock the state directory " + stateDir + ": errno " + e.getErrorCode());
        }
        try {
            AtomicFiles.write(stateDir.resolve(PID_FILE), ProcessHandle.current().pid() + "\n");
        } catch (IOException e) {
            // Only the next one's message needs it; the disk's own fault is reported where the daemon writes.
            LOG.warn("Could not write {} ({}): a second daemon's error will not name this one's pid",
                    stateDir.resolve(PID_FILE), e.getMessage());
        }
        return new StateDirLock(fd);
    }

    private static void lockRetrying(int fd) {
        long deadline = System.nanoTime() + RETRY_NANOS;
        while (true) {
            try {
                DirectoryCalls.libc().flock(fd, DirectoryCalls.LOCK_EX | DirectoryCalls.LOCK_NB);
                return;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != DirectoryCalls.EWOULDBLOCK || System.nanoTime() - deadline > 0) {
                    throw e;
                }
            }
            try {
                Thread.sleep(20); // another process's lock: nothing in this JVM to wait on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LastErrorException(DirectoryCalls.EWOULDBLOCK);
            }
        }
    }

    /** The error of a daemon that finds another one on its state directory. */
    public static Held held(Path stateDir) {
        return new Held("another haproxy-lb daemon" + holder(stateDir) + " is running on the state directory "
                + stateDir.toAbsolutePath() + ": two would take the same inbox and overwrite each other's haproxy"
                + " config. Stop it first (systemctl stop haproxy-lb), or give this one its own lb.state-dir.");
    }

    /** Whether a daemon runs on a state directory, as far as this user can tell. */
    public enum Presence { RUNNING, NOT_RUNNING, UNKNOWN }

    /**
     * Without taking anything: whether {@code /proc/locks} lists a flock on the state directory's inode. Needs no JNA
     * (its load was a third of haproxy-config's start, and would delay the launcher's early haproxy by ~0.1 s) and no
     * read access to the directory, so a deployer is told too. UNKNOWN when the directory cannot be looked at or
     * /proc/locks cannot be read.
     */
    public static Presence probe(Path stateDir) {
        String inode;
        String device;
        try {
            inode = Files.getAttribute(stateDir, "unix:ino").toString();
            long dev = (Long) Files.getAttribute(stateDir, "unix:dev");
            // Linux's dev_t, as /proc/locks prints it: MAJOR:MINOR in hex
            long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
            long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
            device = String.format("%02x:%02x", major, minor);
        } catch (IOException | RuntimeException e) {
            return Presence.UNKNOWN;
        }
        try (Stream<String> locks = Files.lines(PROC_LOCKS, StandardCharsets.US_ASCII)) {
            return locks.anyMatch(line -> heldOn(line, device, inode)) ? Presence.RUNNING : Presence.NOT_RUNNING;
        } catch (IOException | java.io.UncheckedIOException e) {
            return Presence.UNKNOWN;
        }
    }

    /** A /proc/locks line: "1: FLOCK  ADVISORY  WRITE 4242 fd:00:1234567 0 EOF" (waiters, "1: -> FLOCK", are not held). */
    static boolean heldOn(String line, String device, String inode) {
        String[] f = line.trim().split("\\s+");
        return f.length >= 6 && f[1].equals("FLOCK") && f[3].equals("WRITE") && f[5].equals(device + ":" + inode);
    }

    private static String holder(Path stateDir) {
        try {
            String pid = Files.readString(stateDir.resolve(PID_FILE), StandardCharsets.US_ASCII).strip();
            return pid.matches("[0-9]{1,10}") ? " (pid " + pid + ")" : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Closing the directory releases the lock. */
    @Override
    public void close() {
        if (fd >= 0) {
            DirectoryCalls.close(fd);
        }
    }
}
