package haproxylb.haproxy;

import haproxylb.common.Settings;
import haproxylb.common.StateLayout;
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

    /** SIGTERM lets haproxy close its listeners; a master that ignores it this long gets SIGKILL. */
    private static final Duration ORPHAN_GRACE = Duration.ofSeconds(5);

    private final String binary;
    private final Path config;
    private final Path masterSocket;
    private final Path pidFile;
    private final boolean hugePages;
    private Process process;
    private int starts;

    private final HaproxyOutput output;

    public HaproxySupervisor(String binary, Path config, Path runDir, HaproxyOutput output, boolean hugePages) {
        this.output = output;
        this.hugePages = hugePages;
        this.binary = binary;
        this.config = config.toAbsolutePath();
        this.masterSocket = runDir.toAbsolutePath().resolve("master.sock");
        this.pidFile = runDir.toAbsolutePath().resolve("haproxy.pid");
    }

    /** The supervisor of the haproxy the settings describe: its binary, live config, run dir and log files. */
    public static HaproxySupervisor forSettings(Settings s) throws IOException {
        StateLayout layout = StateLayout.of(s);
        Path runDir = layout.run();
        return new HaproxySupervisor(s.string("lb.haproxy.binary"), s.path("lb.haproxy.config"), runDir,
                new HaproxyOutput(runDir.resolve("haproxy.log"), layout.log(),
                        (int) s.number("lb.haproxy.access-log-bytes"), (int) s.number("lb.haproxy.access-log-files")),
                s.flag("lb.haproxy.huge-pages"));
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
        } else {
            stopOrphans();
        }
        Files.createDirectories(masterSocket.getParent());
        Files.deleteIfExists(masterSocket);
        List<String> cmd = new ArrayList<>(List.of(binary, "-W", "-db", "-f", config.toString(),
                // The master CLI can stop, reload and inspect everything: only the daemon's user may connect.
                "-S", masterSocket + ",mode,600", "-p", pidFile.toString()));
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (hugePages) {
            MallocHugePages.ask(builder.environment());
        }
        process = builder.start();
        LogPipe.widen(process.pid());
        output.pump(process.getInputStream(), process.pid());
        starts++;
        LOG.info("Started haproxy (master pid {}) with {}", process.pid(), config);
    }

    /**
     * A daemon killed with SIGKILL leaves its haproxy master running (its workers exit with their master, the master
     * does not follow the daemon). A new haproxy then binds the same ports beside it (haproxy sets SO_REUSEPORT) and
     * the kernel splits connections between the old config and the new one (HaproxyFaultTest). Such an orphan is
     * recognised by this state's master socket on its command line, which no other haproxy uses.
     */
    private void stopOrphans() {
        String marker = masterSocket.toString();
        List<ProcessHandle> orphans = ProcessHandle.allProcesses()
                .filter(p -> p.pid() != ProcessHandle.current().pid())
                .filter(p -> p.info().commandLine().map(c -> c.contains(" -S " + marker)).orElse(false))
                .toList();
        if (orphans.isEmpty()) {
            return;
        }
        LOG.warn("haproxy left running by a previous run of the daemon (pids {}, pid file {}): stopping it before"
                + " starting haproxy, so that no connection reaches its stale config", orphans.stream()
                .map(p -> Long.toString(p.pid())).toList(), pidFile);
        orphans.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + ORPHAN_GRACE.toNanos();
        while (orphans.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        orphans.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
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
        output.ending();
        stop();
        output.close();
    }
}
