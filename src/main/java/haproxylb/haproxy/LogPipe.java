package haproxylb.haproxy;

import com.sun.jna.Library;
import com.sun.jna.Native;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.OptionalInt;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipe from haproxy's stdout to the daemon, made as large as the system lets a process make it. haproxy writes
 * its log lines without blocking and drops a line the pipe cannot take (show info: DroppedLogs). Linux gives a pipe
 * 64 KiB, about 2 ms of access log at 130,000 requests a second: any pause of the daemon's reader longer than that (a
 * GC, the scheduler on a busy machine) lost lines, 7,845 in one round of bench/h2.sh. At fs.pipe-max-size (1 MiB by
 * default) the reader may pause 16 times as long. (haproxy also drops a line when two of its threads write at once
 * and the second gives up after 200 tries: about 1 in 10,000 lines at 100 % CPU on two cores, bench/h2.sh unpinned.)
 */
final class LogPipe {
    private static final Logger LOG = LoggerFactory.getLogger(LogPipe.class);
    private static final int F_SETPIPE_SZ = 1031;
    private static final int F_GETPIPE_SZ = 1032;
    private static final Path MAX_SIZE = Path.of("/proc/sys/fs/pipe-max-size");

    interface LibC extends Library {
        int fcntl(int fd, int cmd, int arg);
    }

    private LogPipe() {}

    /**
     * Widens the pipe that is the stdout of process {@code pid}, a child of this JVM that reads its other end.
     * Returns the pipe's capacity now, or nothing if it is not a pipe this JVM reads or the system refused; the
     * output is read either way, only with less room for a pause.
     */
    static OptionalInt widen(long pid) {
        try {
            int max = maxSize();
            OptionalInt fd = readEnd(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "fd", "1")));
            if (fd.isEmpty()) {
                return OptionalInt.empty();
            }
            LibC libc = Native.load("c", LibC.class);
            boolean refused = libc.fcntl(fd.getAsInt(), F_SETPIPE_SZ, max) < 0;
            int errno = Native.getLastError();
            int size = libc.fcntl(fd.getAsInt(), F_GETPIPE_SZ, 0);
            if (refused) {
                LOG.warn("haproxy's log pipe stays at {} bytes: the system refused {} (errno {}); under heavy load"
                        + " haproxy may drop access log lines (show info: DroppedLogs)", size, max, errno);
            }
            return size > 0 ? OptionalInt.of(size) : OptionalInt.empty();
        } catch (NoSuchFileException e) {
            return OptionalInt.empty(); // haproxy exited already: the supervisor says why
        } catch (IOException | RuntimeException | LinkageError e) {
            LOG.warn("Could not widen haproxy's log pipe ({}); under heavy load haproxy may drop access log lines"
                    + " (show info: DroppedLogs)", e.toString());
            return OptionalInt.empty();
        }
    }

    /**
     * fs.pipe-max-size. In one read: a sysctl file answers a read at any offset but 0 with end-of-file, and
     * Files.readString, seeing a file of size 0, reads its first byte alone (and got "1" of "1048576").
     */
    static int maxSize() throws IOException {
        try (InputStream in = Files.newInputStream(MAX_SIZE)) {
            return Integer.parseInt(new String(in.readNBytes(32), StandardCharsets.US_ASCII).strip());
        }
    }

    /** This JVM's descriptor for the pipe {@code link} names ("pipe:[inode]"). */
    private static OptionalInt readEnd(Path link) throws IOException {
        if (!link.toString().startsWith("pipe:")) {
            return OptionalInt.empty();
        }
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).equals(link)) {
                        return OptionalInt.of(Integer.parseInt(fd.getFileName().toString()));
                    }
                } catch (IOException | NumberFormatException e) {
                    // closed since it was listed (the listing's own descriptor, another thread's file)
                }
            }
        }
        return OptionalInt.empty();
    }
}
