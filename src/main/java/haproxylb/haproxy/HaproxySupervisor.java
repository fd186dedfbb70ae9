package haproxylb.haproxy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Supervise mode (local runs, containers, the demo, the tests): the daemon runs haproxy itself in master-worker
 * mode, {@code haproxy -W -db -S <master socket>}, and reloads it with SIGUSR2 to the master (see Reloader).
 * If haproxy dies, {@link #ensureRunning()} (called by a timer route) starts it again.
 */
public final class HaproxySupervisor {
    private static final Logger LOG = LoggerFactory.getLogger(HaproxySupervisor.class);

    private final String binary;
    private final Path config;
    private final Path masterSocket;
    private final Path pidFile;
    private Process process;
    private int starts;

    private final HaproxyOutput output;

    public HaproxySupervisor(String binary, Path config, Path runDir, HaproxyOutput output) {
        this.output = output;
        this.binary = binary;
        this.config = config.toAbsolutePath();
        this.masterSocket = runDir.toAbsolutePath().resolve("master.sock");
        this.pidFile = runDir.toAbsolutePath().resolve("haproxy.pid");
    }

    public Path config() {
        return config;
    }

    public Path masterSocket() {
        return masterSocket;
    }

    public synchronized Optional<Long> masterPid() {
        return process != null && process.isAlive() ? Optional.of(process.pid()) : Optional.empty();
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    public synchronized int starts() {
        return starts;
    }

    public synchronized void ensureRunning() throws IOException {
        if (isRunning()) {
            return;
        }
        if (!Files.exists(config)) {
            LOG.warn("haproxy not started: {} does not exist yet (no valid config assembled)", config);
            return;
        }
        if (process != null) {
            LOG.error("haproxy (pid {}) exited with status {}; starting it again (log: {})", process.pid(),
                    process.exitValue(), output.haproxyLog());
        }
        Files.createDirectories(masterSocket.getParent());
        Files.deleteIfExists(masterSocket);
        List<String> cmd = new ArrayList<>(List.of(binary, "-W", "-db", "-f", config.toString(),
                // The master CLI can stop, reload and inspect everything: only the daemon's user may connect.
                "-S", masterSocket + ",mode,600", "-p", pidFile.toString()));
        process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        output.pump(process.getInputStream(), process.pid());
        starts++;
        LOG.info("Started haproxy (master pid {}) with {}", process.pid(), config);
    }

    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(Duration.ofSeconds(10).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        LOG.info("Stopped haproxy");
        process = null;
    }

    /** The daemon is stopping: no haproxy will write to the access log any more. */
    public synchronized void close() {
        stop();
        output.close();
    }
}
