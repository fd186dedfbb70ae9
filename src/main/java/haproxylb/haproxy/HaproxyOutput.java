package haproxylb.haproxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.FileHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.regex.Pattern;
import java.util.logging.LogRecord;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Supervise mode: what the haproxy this daemon runs writes to its stdout and stderr. Its own messages ("[ALERT]",
 * "[WARNING]", "[NOTICE]") go to the daemon's log and to haproxy.log in the run directory; every other line is an
 * access log line (lb.haproxy.log = daemon: "log stdout format raw") and goes to access.N.log under the log
 * directory, rotated by size by the JDK's own {@link FileHandler} (access.0.log is the newest).
 *
 * <p>Access lines are written a read at a time, not a line at a time: FileHandler flushes every record, and one
 * record (and one write) per request cost the daemon 4-9 µs of CPU a request, a third to half of haproxy's own
 * (bench/h2.sh). A file may therefore pass its size by one read's worth of lines before it rotates.
 */
public final class HaproxyOutput implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("haproxy");
    /** haproxy's log lines are at most a few KiB (tune.http.logurilen and the captures bound them). */
    private static final int CHUNK = 64 * 1024;
    /**
     * After a small read, wait this long before the next, so that one read takes many lines instead of waking the
     * daemon for each request. The pipe (1 MiB once {@link LogPipe} widened it, else 64 KiB) must not fill
     * meanwhile, or haproxy drops lines (it writes its log non-blocking): at 100,000 requests a second of ~200-byte
     * lines, 1 ms is 20 KiB.
     */
    private static final long BATCH_NANOS = 1_000_000;
    /** A read this large means lines come fast enough to batch by themselves: read again at once. */
    private static final int BATCHED = 16 * 1024;

    private final Path haproxyLog;
    private final FileHandler accessLog;
    private volatile boolean ending;

    public HaproxyOutput(Path haproxyLog, Path logDir, int maxBytes, int files) throws IOException {
        this.haproxyLog = haproxyLog;
        Files.createDirectories(logDir);
        this.accessLog = new FileHandler(logDir.resolve("access.%g.log").toString(), maxBytes, files, true);
        accessLog.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord record) {
                return record.getMessage();
            }
        });
    }

    public Path haproxyLog() {
        return haproxyLog;
    }

    /** Reads one haproxy process's output until it ends (the master and every worker have exited). */
    public void pump(InputStream output, long pid) {
        Thread reader = new Thread(() -> read(output), "haproxy-output-" + pid);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Reads to the end whatever the disk does: a reader that stopped at a full or read-only disk would leave haproxy's
     * stdout pipe to fill up, and haproxy to block on its next log line (DiskFaultTest). Lines haproxy.log cannot take
     * still reach the daemon's log.
     */
    void read(InputStream output) {
        Messages messages = new Messages();
        byte[] buf = new byte[CHUNK];
        int held = 0; // the start of a line whose end has not been read yet
        try (output) {
            int n;
            while ((n = output.read(buf, held, buf.length - held)) != -1) {
                int end = held + n;
                int unfinished = lines(buf, end, messages);
                if (unfinished == 0 && end == buf.length) {
                    // one line longer than the buffer: written as it is, cut where the buffer ends
                    buf[end - 1] = '\n';
                    unfinished = lines(buf, end, messages);
                }
                held = end - unfinished;
                System.arraycopy(buf, unfinished, buf, 0, held);
                if (n < BATCHED) {
                    LockSupport.parkNanos(BATCH_NANOS);
                }
            }
            if (held > 0) {
                buf[held] = '\n';
                lines(buf, held + 1, messages);
            }
        } catch (IOException e) {
            if (!ending) {
                LOG.warn("Stopped reading haproxy's output: {}", e.getMessage());
            }
        } finally {
            messages.close();
        }
    }

    /**
     * Writes the complete lines in buf[0, end): each run of access lines as one record, each message on its own.
     * Returns where the unfinished last line starts (end if there is none).
     */
    private int lines(byte[] buf, int end, Messages messages) {
        int run = 0; // the start of the run of access lines not written yet
        int start = 0;
        for (int i = 0; i < end; i++) {
            if (buf[i] != '\n') {
                continue;
            }
            if (buf[start] == '[') {
                access(buf, run, start);
                messages.add(new String(buf, start, i - start, StandardCharsets.UTF_8));
                run = i + 1;
            }
            start = i + 1;
        }
        access(buf, run, start);
        return start;
    }

    private void access(byte[] buf, int from, int to) {
        if (to > from) {
            accessLog.publish(new LogRecord(Level.INFO, new String(buf, from, to - from, StandardCharsets.UTF_8)));
        }
    }

    /**
     * An old worker leaving after a reload says "[WARNING] Proxy NAME stopped (cumulated conns: ...)" for every
     * frontend and backend, and its master "[WARNING] Former worker (PID) exited with code 0": a reload a minute of
     * 5,000 backends would be 5,000 warnings a minute that mean nothing. They stay in haproxy.log; the daemon's log
     * has the first at DEBUG and the second at INFO. An old worker that exits with another code is still a warning.
     */
    private static final Pattern ROUTINE_STOP = Pattern.compile(
            "\\[WARNING\\] +\\(\\d+\\) : (Proxy \\S+ stopped \\(cumulated conns|Stopping (frontend|backend|proxy) \\S+ in \\d+ ms).*");
    private static final Pattern STOPPED_AS_ASKED = Pattern.compile("\\[(ALERT|WARNING)\\] +\\(\\d+\\) : (Exiting Master"
            + " process\\.\\.\\.|Current worker \\(\\d+\\) exited with code 143 \\(Terminated\\)|All workers exited\\."
            + " Exiting\\.\\.\\. \\(0\\))");
    private static final Pattern WORKER_EXITED_CLEANLY = Pattern.compile(
            "\\[WARNING\\] +\\(\\d+\\) : Former worker \\(\\d+\\) exited with code 0 \\(Exit\\)");

    /** The daemon log's level for one of haproxy's own message lines. */
    static org.slf4j.event.Level levelOf(String line) {
        return levelOf(line, false);
    }

    /**
     * @param stopping the daemon is stopping haproxy (SIGTERM to its master): the master's goodbye, and its worker
     *                 ending on that signal, are what was asked for, not news for whoever watches for errors
     */
    static org.slf4j.event.Level levelOf(String line, boolean stopping) {
        if (stopping && STOPPED_AS_ASKED.matcher(line).matches()) {
            return org.slf4j.event.Level.INFO;
        }
        if (line.startsWith("[ALERT]")) {
            return org.slf4j.event.Level.ERROR;
        }
        if (line.startsWith("[WARNING]")) {
            if (ROUTINE_STOP.matcher(line).matches()) {
                return org.slf4j.event.Level.DEBUG;
            }
            return WORKER_EXITED_CLEANLY.matcher(line).matches() ? org.slf4j.event.Level.INFO
                    : org.slf4j.event.Level.WARN;
        }
        return org.slf4j.event.Level.INFO;
    }

    /** haproxy's own messages: the daemon's log, and haproxy.log as long as the disk takes them. */
    private final class Messages {
        private OutputStream out;
        private boolean told;

        void add(String line) {
            switch (levelOf(line, ending)) {
                case ERROR -> LOG.error("{}", line);
                case WARN -> LOG.warn("{}", line);
                case INFO -> LOG.info("{}", line);
                default -> LOG.debug("{}", line);
            }
            try {
                if (out == null) {
                    out = Files.newOutputStream(haproxyLog, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                }
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                told = false;
            } catch (IOException e) {
                if (!told) {
                    LOG.warn("Cannot write {} ({}); haproxy's messages go to this log only until it can", haproxyLog,
                            e.getMessage());
                    told = true;
                }
                close();
            }
        }

        void close() {
            if (out != null) {
                try {
                    out.close();
                } catch (IOException ignored) {
                    // the disk refused the write already; nothing more to lose
                }
                out = null;
            }
        }
    }

    /** The daemon stops haproxy for good: its output ending, however abruptly, is no news. */
    public void ending() {
        ending = true;
    }

    @Override
    public void close() {
        ending = true;
        accessLog.close();
    }
}
