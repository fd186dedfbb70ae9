package haproxylb.support;

import haproxylb.common.Settings;
import haproxylb.common.SettingsFile;
import haproxylb.app.HaproxyLb;
import haproxylb.common.AtomicFiles;
import haproxylb.status.FragmentStatus;
import haproxylb.status.Status;
import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;

/**
 * The real daemon, in-process: the real YAML routes from routes/, conf/ settings, haproxy started in supervise mode
 * on free loopback ports, with a state directory of its own. Settings can be overridden per test.
 */
public final class DaemonHarness implements AutoCloseable {
    private final Path stateDir;
    private final int httpPort;
    private final int httpsPort;
    private final int responderPort;
    private final int managementPort;
    private final Map<String, String> overrides = new LinkedHashMap<>();
    private Main main;

    public DaemonHarness(Path stateDir) {
        this.stateDir = stateDir;
        this.httpPort = HaproxyProcess.freePort();
        this.httpsPort = HaproxyProcess.freePort();
        this.responderPort = HaproxyProcess.freePort();
        this.managementPort = HaproxyProcess.freePort();
        overrides.put("lb.state-dir", stateDir.toString());
        overrides.put("lb.edge.http-bind", "127.0.0.1:" + httpPort);
        overrides.put("lb.edge.https-bind", "127.0.0.1:" + httpsPort);
        overrides.put("lb.edge.https-public-port", Integer.toString(httpsPort));
        overrides.put("lb.acme.responder", "127.0.0.1:" + responderPort);
        // Fast intake and batching keep tests quick; the rate limit stays on (tests that count reloads set it).
        overrides.put("lb.intake.poll", "100");
        overrides.put("lb.intake.settle", "300");
        overrides.put("lb.assembly.batch", "100");
        overrides.put("lb.reload.tick", "100");
        overrides.put("lb.reload.min-interval", "1000");
        overrides.put("lb.haproxy.watchdog", "500");
        // A SEDA consumer notices a stop only when its poll times out (1 s by default), and Camel stops the three SEDA
        // routes one after another: ~2 s of every daemon stop, in every test.
        overrides.put("camel.component.seda.defaultPollTimeout", "50");
        // The health/metrics endpoint: a port of its own, so daemons of parallel test runs never collide.
        overrides.put("camel.management.port", Integer.toString(managementPort));
    }

    public DaemonHarness with(String key, String value) {
        overrides.put(key, value);
        return this;
    }

    public DaemonHarness start() throws Exception {
        main = HaproxyLb.newMain();
        overrides.forEach(main::addOverrideProperty);
        return boot();
    }

    /**
     * As the launcher starts (HaproxyLb.main): haproxy from the config on disk first, then {@code beforeCamel} runs
     * (haproxy serves, the daemon's routes do not exist yet), then Camel boots and takes haproxy over.
     */
    public DaemonHarness startLikeTheLauncher(ThrowingRunnable beforeCamel) throws Exception {
        main = HaproxyLb.newMain();
        overrides.forEach(main::addOverrideProperty);
        SettingsFile file = new SettingsFile(Path.of("conf"), Map.of(), overrides);
        HaproxyLb.beforeCamel(main, new Settings(file::get));
        beforeCamel.run();
        return boot();
    }

    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    private DaemonHarness boot() throws Exception {
        main.start();
        await("the daemon's CamelContext to start", Duration.ofSeconds(30),
                () -> main.getCamelContext() != null && main.getCamelContext().isStarted());
        if (!"systemd".equals(overrides.get("lb.reload.mode"))) {
            await("the supervised haproxy to listen on " + httpPort, Duration.ofSeconds(30),
                    () -> EdgeClient.statusOrMinusOne(httpPort, "localhost", "/", false) > 0);
            // The master CLI can come up after the listeners, and a start-up reload briefly closes it again.
            haproxylb.haproxy.MasterCli master = new haproxylb.haproxy.MasterCli(new haproxylb.haproxy.HaproxySocket(
                    stateDir.resolve("run/master.sock"), Duration.ofSeconds(2)));
            await("the supervised haproxy's master CLI to answer", Duration.ofSeconds(30), () -> {
                try {
                    master.showProc();
                    return true;
                } catch (IOException | RuntimeException e) {
                    return false;
                }
            });
        }
        return this;
    }

    public void stop() {
        if (main != null) {
            main.stop();
            main = null;
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** null before Camel has booted */
    public CamelContext contextOrNull() {
        return main == null ? null : main.getCamelContext();
    }

    public CamelContext context() {
        return main.getCamelContext();
    }

    public Path stateDir() {
        return stateDir;
    }

    public Path inbox() {
        return stateDir.resolve("inbox");
    }

    public int httpPort() {
        return httpPort;
    }

    public int httpsPort() {
        return httpsPort;
    }

    public int responderPort() {
        return responderPort;
    }

    /** The health and metrics endpoint: http://127.0.0.1:PORT/observe/health, /observe/metrics. */
    public int managementPort() {
        return managementPort;
    }

    /** Drops a fragment the way Ansible's copy module does: written elsewhere, renamed into the inbox. */
    public void drop(String name, String cfg, String map) throws IOException {
        Files.createDirectories(inbox());
        AtomicFiles.write(inbox().resolve(name + ".cfg"), cfg);
        AtomicFiles.write(inbox().resolve(name + ".map"), map);
    }

    public void dropRemoval(String name) throws IOException {
        AtomicFiles.write(inbox().resolve(name + ".remove"), new byte[0]);
    }

    /** True when an HTTPS request for {@code host} answers 200 with exactly {@code body}: for awaiting a route. */
    public boolean serves(String host, String body) {
        try {
            EdgeClient.Response r = EdgeClient.https(httpsPort, host, "/");
            return r.status() == 200 && r.body().equals(body);
        } catch (IOException e) {
            return false;
        }
    }

    public Status status() throws IOException {
        return StatusBoard.read(stateDir.resolve("status.json"));
    }

    public Optional<FragmentStatus> fragment(String name) {
        try {
            return Optional.ofNullable(status().fragments().get(name));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The certificate status of {@code domain} in status.json; empty while there is none or it cannot be read. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> certificateStatus(String domain) {
        try {
            Map<String, Object> all = status().certificates();
            Object c = all == null ? null : all.get(domain);
            return c == null ? Map.of() : (Map<String, Object>) c;
        } catch (IOException e) {
            return Map.of();
        }
    }

    public FragmentStatus awaitFragmentState(String name, String state, Duration limit) {
        await("fragment '" + name + "' to be " + state, limit,
                () -> fragment(name).map(f -> f.state().equals(state)).orElse(false));
        return fragment(name).orElseThrow();
    }

    public String rejection(String name) throws IOException {
        return Files.readString(stateDir.resolve("rejected").resolve(name + ".error"));
    }

    /**
     * The text of the first rejected/*.error that mentions {@code text}, once there is one. An invalid name's rejection
     * is filed under a stand-in name, so it is found by what it quotes.
     */
    public String awaitRejectionMentioning(String text, Duration limit) {
        String[] found = new String[1];
        await("a rejection quoting " + text, limit, () -> {
            Optional<String> error = rejections().stream().filter(e -> e.contains(text)).findFirst();
            error.ifPresent(e -> found[0] = e);
            return error.isPresent();
        });
        return found[0];
    }

    private List<String> rejections() {
        List<String> errors = new ArrayList<>();
        try (java.util.stream.Stream<Path> files = Files.list(stateDir.resolve("rejected"))) {
            for (Path p : files.filter(p -> p.toString().endsWith(".error")).toList()) {
                errors.add(Files.readString(p));
            }
        } catch (IOException e) {
            // not there yet
        }
        return errors;
    }

    public static void await(String what, Duration limit, BooleanSupplier condition) {
        HaproxyProcess.await(what, limit, condition);
    }
}
