package haproxylb.support;

import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.MasterCli;
import haproxylb.haproxy.ProcessTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real haproxy for tests: {@code haproxy -W -db -f <cfg> -S <dir>/master.sock -p <dir>/haproxy.pid}, in the
 * foreground so this JVM owns it. {@link #start} returns once the worker answers on the stats socket; {@link #close}
 * stops the master and every worker, even ones left over from reloads.
 *
 * <pre>
 * Path admin = dir.resolve("admin.sock");
 * Files.writeString(cfg, HaproxyProcess.globalSection(admin) + "defaults\n  mode http\n ...");
 * try (HaproxyProcess haproxy = HaproxyProcess.start(cfg, admin)) { ... }
 * </pre>
 */
public final class HaproxyProcess implements AutoCloseable {
    public static final Path BINARY = Path.of(System.getProperty("haproxy.binary", "/usr/sbin/haproxy"));
    private static final Duration STARTUP = Duration.ofSeconds(15);
    private static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(5);

    private final Process process;
    private final Path dir;
    private final Path statsSocket;
    private final Path masterSocket;
    private final Path log;

    private HaproxyProcess(Process process, Path dir, Path statsSocket, Path masterSocket, Path log) {
        this.process = process;
        this.dir = dir;
        this.statsSocket = statsSocket;
        this.masterSocket = masterSocket;
        this.log = log;
    }

    /** A global section with an admin stats socket; one thread keeps tests predictable on 2 cores. */
    public static String globalSection(Path statsSocket) {
        return "global\n  nbthread 1\n  stats socket " + statsSocket + " level admin mode 600\n";
    }

    /** A free port on 127.0.0.1 (see {@link FreePorts}). */
    public static int freePort() {
        return FreePorts.next();
    }

    /**
     * Starts haproxy on {@code config}; the master socket, pid file and log go next to the config file.
     * {@code statsSocket} must be the config's admin stats socket: start waits until it answers.
     */
    public static HaproxyProcess start(Path config, Path statsSocket) throws IOException {
        Path dir = config.toAbsolutePath().getParent();
        Path master = dir.resolve("master.sock");
        Path log = dir.resolve("haproxy.log");
        Process process = new ProcessBuilder(BINARY.toString(), "-W", "-db", "-f", config.toString(),
                "-S", master.toString(), "-p", dir.resolve("haproxy.pid").toString())
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        HaproxyProcess haproxy = new HaproxyProcess(process, dir, statsSocket, master, log);
        try {
            haproxy.awaitReady();
            return haproxy;
        } catch (IOException | RuntimeException e) {
            haproxy.close();
            throw e;
        }
    }

    private void awaitReady() throws IOException {
        HaproxySocket stats = new HaproxySocket(statsSocket, Duration.ofMillis(500));
        HaproxySocket master = new HaproxySocket(masterSocket, Duration.ofMillis(500));
        await("the stats socket and the master socket answer", STARTUP, () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("haproxy exited with " + process.exitValue() + ":\n" + log());
            }
            return answers(stats, "show info", "Name: HAProxy") && answers(master, "show proc", "worker");
        });
    }

    private static boolean answers(HaproxySocket socket, String command, String expected) {
        try {
            return socket.command(command).contains(expected);
        } catch (IOException notYet) {
            return false;
        }
    }

    /** Polls {@code condition} every few milliseconds until it holds; fails with {@code what} after {@code limit}. */
    public static void await(String what, Duration limit, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        // Quick conditions are seen within milliseconds; a long wait checks less often, since many conditions are a
        // TLS handshake or an HTTP request, and two test JVMs polling every 5 ms take CPU from the daemons they wait on.
        long pause = 5;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + limit.toMillis() + " ms waiting until " + what);
            }
            try {
                Thread.sleep(pause);
                pause = Math.min(50, pause * 2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting until " + what, e);
            }
        }
    }

    public Path dir() {
        return dir;
    }

    public Path statsSocketPath() {
        return statsSocket;
    }

    public Path masterSocketPath() {
        return masterSocket;
    }

    public HaproxySocket stats() {
        return new HaproxySocket(statsSocket, SOCKET_TIMEOUT);
    }

    public HaproxySocket master() {
        return new HaproxySocket(masterSocket, SOCKET_TIMEOUT);
    }

    public long masterPid() {
        return process.pid();
    }

    /** Everything haproxy printed so far, for failure messages. */
    public String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /**
     * SIGTERM to the master (it stops its workers), then SIGKILL to whatever is left. Workers are listed
     * before the master goes, because afterwards they are no longer its descendants.
     */
    @Override
    public void close() {
        List<ProcessHandle> workers = process.descendants().toList();
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ProcessHandle worker : workers) {
            worker.destroyForcibly();
        }
    }

    /** Convenience for tests that watch reloads. */
    public ProcessTable processTable() throws IOException {
        return new MasterCli(master()).showProc();
    }
}
