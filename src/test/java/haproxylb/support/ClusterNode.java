package haproxylb.support;

import haproxylb.cluster.ClusterView;
import haproxylb.common.AtomicFiles;
import haproxylb.status.FragmentStatus;
import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One haproxy-lb node of a test cluster: the real daemon in a JVM of its own (so it can be SIGKILLed), its own state
 * directory, and its own haproxy listening on its own loopback address with the same ports as the other nodes.
 */
public final class ClusterNode implements AutoCloseable {
    private final String name;
    private final String address;
    private final Path stateDir;
    private final int httpPort;
    private final int httpsPort;
    private final int managementPort;
    private final Map<String, String> settings = new LinkedHashMap<>();
    private Process process;

    public ClusterNode(String name, String address, Path stateDir, int httpPort, int httpsPort, int managementPort,
                       String zookeeper) {
        this.name = name;
        this.address = address;
        this.stateDir = stateDir;
        this.httpPort = httpPort;
        this.httpsPort = httpsPort;
        this.managementPort = managementPort;
        settings.put("lb.state-dir", stateDir.toString());
        settings.put("lb.edge.http-bind", address + ":" + httpPort);
        settings.put("lb.edge.https-bind", address + ":" + httpsPort);
        settings.put("lb.edge.https-public-port", Integer.toString(httpsPort));
        settings.put("lb.acme.responder", address + ":" + HaproxyProcess.freePort());
        settings.put("camel.management.host", address);
        settings.put("camel.management.port", Integer.toString(managementPort));
        settings.put("lb.management.port", Integer.toString(managementPort));
        settings.put("lb.intake.poll", "100");
        settings.put("lb.intake.settle", "300");
        settings.put("lb.assembly.batch", "100");
        settings.put("lb.reload.tick", "100");
        settings.put("lb.reload.min-interval", "1000");
        settings.put("lb.haproxy.watchdog", "500");
        settings.put("lb.cluster.zookeeper", zookeeper);
        settings.put("lb.cluster.node-name", name);
        settings.put("lb.cluster.session-timeout", "4000");
        settings.put("lb.cluster.heartbeat", "300");
        // A SEDA consumer notices a stop only when its poll times out (1 s by default), route after route.
        settings.put("camel.component.seda.defaultPollTimeout", "50");
    }

    public ClusterNode with(String key, String value) {
        settings.put(key, value);
        return this;
    }

    public String name() {
        return name;
    }

    public String address() {
        return address;
    }

    public Path stateDir() {
        return stateDir;
    }

    /** The daemon's log (stdout and stderr of every start), beside its state directory. */
    public Path log() {
        return stateDir.resolveSibling(name + ".log");
    }

    /** The daemon's process id (for JMX through the attach API); -1 while it is not running. */
    public long pid() {
        return process == null ? -1 : process.pid();
    }

    /** GET on the node's management server (health, metrics): the body, or "" when it does not answer. */
    public String management(String path) {
        try {
            return EdgeClient.request(address, managementPort, address, path, false).body();
        } catch (IOException e) {
            return "";
        }
    }

    public ClusterNode start() throws IOException {
        launch();
        awaitServing();
        return this;
    }

    /** Starts the daemon's JVM without waiting for it: several nodes boot side by side, then {@link #awaitServing}. */
    public void launch() throws IOException {
        Files.createDirectories(stateDir);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path")));
        settings.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("haproxylb.app.HaproxyLb");
        process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()))
                .start();
    }

    public void awaitServing() {
        awaitServing(Duration.ofSeconds(60));
    }

    /** Waits up to {@code limit} for the daemon to serve HTTP (nodes booting side by side share the cores). */
    public void awaitServing(Duration limit) {
        await(name + " to serve on " + address + ":" + httpPort, limit, this::answers);
    }

    private boolean answers() {
        if (!process.isAlive()) {
            throw new AssertionError(name + " exited with " + process.exitValue() + "; see "
                    + log());
        }
        try {
            return EdgeClient.request(address, httpPort, "localhost", "/", false).status() > 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** SIGTERM, as systemctl stop does; waits for the daemon and its haproxy to be gone. */
    public void stop() throws InterruptedException {
        if (process != null) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
            process = null;
        }
        killHaproxy();
    }

    /** SIGKILL: the daemon has no chance to leave the cluster; its haproxy is stopped too. */
    public void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly().waitFor();
            process = null;
        }
        killHaproxy();
    }

    private void killHaproxy() {
        Path pid = stateDir.resolve("run/haproxy.pid");
        try {
            if (Files.exists(pid)) {
                long id = Long.parseLong(Files.readString(pid).strip());
                ProcessHandle.of(id).ifPresent(p -> {
                    p.destroy();
                    p.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> null).join();
                });
            }
        } catch (IOException | NumberFormatException e) {
            // no haproxy left behind
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    public void drop(String fragment, String cfg, String map) throws IOException {
        Path inbox = stateDir.resolve("inbox");
        Files.createDirectories(inbox);
        AtomicFiles.write(inbox.resolve(fragment + ".cfg"), cfg);
        AtomicFiles.write(inbox.resolve(fragment + ".map"), map);
    }

    public void dropRemoval(String fragment) throws IOException {
        AtomicFiles.write(stateDir.resolve("inbox").resolve(fragment + ".remove"), new byte[0]);
    }

    /** True when HTTPS on this node's address answers {@code host} with 200 and exactly {@code body}. */
    public boolean serves(String host, String body) {
        try {
            EdgeClient.Response r = EdgeClient.request(address, httpsPort, host, "/", true);
            return r.status() == 200 && r.body().equals(body);
        } catch (IOException e) {
            return false;
        }
    }

    /** The HTTPS status for {@code host} on this node, -1 when it does not answer. */
    public int httpsStatus(String host) {
        try {
            return EdgeClient.request(address, httpsPort, host, "/", true).status();
        } catch (IOException e) {
            return -1;
        }
    }

    public Optional<FragmentStatus> fragment(String fragment) {
        try {
            return Optional.ofNullable(StatusBoard.read(stateDir.resolve("status.json")).fragments().get(fragment));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public Optional<ClusterView> cluster() {
        try {
            return ClusterView.read(stateDir);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public String rejection(String fragment) throws IOException {
        return Files.readString(stateDir.resolve("rejected").resolve(fragment + ".error"));
    }

    /** Polls every 50 ms: several nodes answering HTTPS requests share two cores with the test. */
    public static void await(String what, Duration limit, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + limit.toMillis() + " ms waiting until " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting until " + what, e);
            }
        }
    }
}
