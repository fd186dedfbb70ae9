package haproxylb.intake;

import com.sun.jna.Library;
import com.sun.jna.Native;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which inbox files are complete, told by the kernel (Linux inotify): a file renamed into the directory
 * (IN_MOVED_TO: Ansible's copy, {@code haproxy-config apply}, {@code mv}) or closed by a writer (IN_CLOSE_WRITE:
 * scp, {@code cp}, {@code cat >}) is complete the moment the event arrives; a file created or written since is being
 * written, however long its writer pauses. Without this the intake could only wait until a file had not changed for
 * a while (lb.intake.settle), which made every drop wait a second (issue 11) and took a stalled upload half-way.
 * Files without events (there before the watch began, inotify missing, its queue overflowed) are {@link
 * State#UNKNOWN}: the caller falls back to that wait, so a lost event costs time, never a half-read file.
 */
public final class InboxEvents implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InboxEvents.class);

    private static final int IN_MODIFY = 0x2;
    private static final int IN_CLOSE_WRITE = 0x8;
    private static final int IN_MOVED_FROM = 0x40;
    private static final int IN_MOVED_TO = 0x80;
    private static final int IN_CREATE = 0x100;
    private static final int IN_DELETE = 0x200;
    private static final int IN_Q_OVERFLOW = 0x4000;
    private static final int IN_NONBLOCK = 0x800;
    private static final int IN_CLOEXEC = 0x80000;
    private static final int POLLIN = 0x1;
    /** How often the reader looks at {@link #closed}: closing an fd does not wake a thread blocked on it. */
    private static final int POLL_MILLIS = 250;
    /** Bounded: a hostile flood of names must not grow memory; untracked files wait for the settle time. */
    private static final int MAX_TRACKED = 100_000;

    interface LibC extends Library {
        int inotify_init1(int flags);

        int inotify_add_watch(int fd, String path, int mask);

        long read(int fd, byte[] buffer, long count);

        /** {@code struct pollfd} is {int fd; short events; short revents}, passed as two ints. */
        int poll(int[] pollfd, long nfds, int timeoutMillis);

        int close(int fd);
    }

    public enum State { COMPLETE, BEING_WRITTEN, UNKNOWN }

    private final Map<String, State> files = new ConcurrentHashMap<>();
    private final LibC libc;
    private final int fd;
    private final Thread reader;
    private volatile boolean closed;

    private InboxEvents(LibC libc, int fd, Path dir) {
        this.libc = libc;
        this.fd = fd;
        this.reader = new Thread(this::readEvents, "inbox-events-" + dir.getFileName());
        reader.setDaemon(true);
    }

    /** Watches {@code dir}; when inotify cannot be used, a watcher that knows nothing (everything waits to settle). */
    public static InboxEvents watch(Path dir) {
        try {
            LibC libc = Native.load("c", LibC.class);
            int fd = libc.inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
            if (fd < 0) {
                throw new IllegalStateException("inotify_init1 failed (errno " + Native.getLastError() + ")");
            }
            int mask = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE;
            if (libc.inotify_add_watch(fd, dir.toAbsolutePath().toString(), mask) < 0) {
                libc.close(fd);
                throw new IllegalStateException("inotify_add_watch " + dir + " failed (errno "
                        + Native.getLastError() + ")");
            }
            InboxEvents events = new InboxEvents(libc, fd, dir);
            events.reader.start();
            return events;
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("No inotify for {} ({}): files are taken once unchanged for lb.intake.settle ms", dir,
                    e.getMessage());
            return new InboxEvents(null, -1, dir);
        }
    }

    /** COMPLETE when the last event of this file was a rename into the inbox or its writer closing it. */
    public State state(String fileName) {
        return files.getOrDefault(fileName, State.UNKNOWN);
    }

    private void readEvents() {
        byte[] buffer = new byte[64 * 1024];
        int[] pollfd = new int[2];
        while (!closed) {
            pollfd[0] = fd;
            pollfd[1] = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? POLLIN : POLLIN << 16;
            if (libc.poll(pollfd, 1, POLL_MILLIS) <= 0) {
                continue; // timeout (or EINTR): look at closed again
            }
            if (closed) {
                return;
            }
            long n = libc.read(fd, buffer, buffer.length);
            if (n <= 0) {
                if (!closed) {
                    LOG.warn("inotify read failed (errno {}); falling back to the settle time", Native.getLastError());
                    files.clear();
                }
                return;
            }
            ByteBuffer events = ByteBuffer.wrap(buffer, 0, (int) n).order(ByteOrder.nativeOrder());
            while (events.remaining() >= 16) {
                events.getInt(); // watch descriptor: one watch
                int mask = events.getInt();
                events.getInt(); // cookie
                int len = events.getInt();
                byte[] raw = new byte[len];
                events.get(raw);
                String name = nameOf(raw);
                handle(mask, name);
            }
        }
    }

    private void handle(int mask, String name) {
        if ((mask & IN_Q_OVERFLOW) != 0) {
            files.clear(); // events were lost: nothing is known any more
            LOG.info("More files arrived at once than the kernel queues inotify events for (fs.inotify."
                    + "max_queued_events): the files in the inbox now are taken once unchanged for lb.intake.settle ms");
        } else if (name.isEmpty()) {
            return;
        } else if ((mask & (IN_DELETE | IN_MOVED_FROM)) != 0) {
            files.remove(name);
        } else if (files.size() < MAX_TRACKED || files.containsKey(name)) {
            // One read() can hold a file's CREATE, MODIFY and CLOSE_WRITE in that order: the last one wins.
            files.put(name, (mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0 ? State.COMPLETE : State.BEING_WRITTEN);
        }
    }

    private static String nameOf(byte[] raw) {
        int end = 0;
        while (end < raw.length && raw[end] != 0) {
            end++;
        }
        return new String(raw, 0, end, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        closed = true;
        if (libc == null) {
            return;
        }
        try {
            reader.join(2 * POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        libc.close(fd);
    }
}
