package haproxylb.haproxy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.logging.FileHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Supervise mode: what the haproxy this daemon runs writes to its stdout and stderr. Its own messages ("[ALERT]",
 * "[WARNING]", "[NOTICE]") go to the daemon's log and to haproxy.log in the run directory; every other line is an
 * access log line (lb.haproxy.log = daemon: "log stdout format raw") and goes to access.N.log under the log
 * directory, rotated by size by the JDK's own {@link FileHandler} (access.0.log is the newest).
 */
public final class HaproxyOutput implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("haproxy");

    private final Path haproxyLog;
    private final FileHandler accessLog;

    public HaproxyOutput(Path haproxyLog, Path logDir, int maxBytes, int files) throws IOException {
        this.haproxyLog = haproxyLog;
        Files.createDirectories(logDir);
        this.accessLog = new FileHandler(logDir.resolve("access.%g.log").toString(), maxBytes, files, true);
        accessLog.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord record) {
                return record.getMessage() + "\n";
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
    private void read(InputStream output) {
        OutputStream messages = null;
        boolean told = false;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(output, StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                if (line.startsWith("[")) {
                    message(line);
                    try {
                        if (messages == null) {
                            messages = Files.newOutputStream(haproxyLog, StandardOpenOption.CREATE,
                                    StandardOpenOption.APPEND);
                        }
                        messages.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                        messages.flush();
                        told = false;
                    } catch (IOException e) {
                        if (!told) {
                            LOG.warn("Cannot write {} ({}); haproxy's messages go to this log only until it can",
                                    haproxyLog, e.getMessage());
                            told = true;
                        }
                        messages = closeQuietly(messages);
                    }
                } else {
                    accessLog.publish(new LogRecord(Level.INFO, line));
                }
            }
        } catch (IOException e) {
            LOG.warn("Stopped reading haproxy's output: {}", e.getMessage());
        } finally {
            closeQuietly(messages);
        }
    }

    private static OutputStream closeQuietly(OutputStream out) {
        if (out != null) {
            try {
                out.close();
            } catch (IOException ignored) {
                // the disk refused the write already; nothing more to lose
            }
        }
        return null;
    }

    private static void message(String line) {
        if (line.startsWith("[ALERT]")) {
            LOG.error("{}", line);
        } else if (line.startsWith("[WARNING]")) {
            LOG.warn("{}", line);
        } else {
            LOG.info("{}", line);
        }
    }

    @Override
    public void close() {
        accessLog.close();
    }
}
