package haproxylb.support;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The daemon fixture of the integration tests, as one JUnit extension: a state directory of the test's own, the real
 * daemon on it ({@link DaemonHarness}, not started until the test says so), and on request real Pebbles that validate
 * through the daemon's haproxy and recording ACME proxies in front of them. After each test it stops the daemon
 * first, then everything else it opened (last opened, first closed), prints the Pebble logs (and any other log a
 * test named) when the test failed, before they are deleted, and deletes the state directory.
 *
 * <p>Registered on a static field, the fixture lives for the whole class instead: one state directory and one daemon
 * (started once, e.g. in {@code @BeforeAll}) for tests that each use names of their own and leave the daemon running,
 * since a daemon start and stop cost more than most such tests. The logs are printed after each failed test all the
 * same.
 *
 * <pre>
 * &#64;RegisterExtension
 * final DaemonFixture fixture = new DaemonFixture();
 *
 * &#64;Test
 * void test() throws Exception {
 *     DaemonHarness daemon = fixture.orderingFrom(fixture.pebble()).start();
 * }
 * </pre>
 */
public final class DaemonFixture implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    private final List<AutoCloseable> opened = new ArrayList<>();
    private final Map<String, Supplier<String>> logs = new LinkedHashMap<>();
    private boolean perClass;
    private Path state;
    private DaemonHarness daemon;

    /** Only called when registered on a static field. */
    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        perClass = true;
        state = Files.createTempDirectory("haproxy-lb-state-");
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        closeAll();
    }

    @Override
    public void beforeEach(ExtensionContext context) throws IOException {
        if (!perClass) {
            state = Files.createTempDirectory("haproxy-lb-state-");
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        context.getExecutionException().ifPresent(failure -> logs.forEach((what, text) -> System.err.println(
                what + " for failed test " + context.getDisplayName() + ":\n" + text.get())));
        if (!perClass) {
            closeAll();
        }
    }

    private void closeAll() throws Exception {
        Exception first = null;
        if (daemon != null) {
            daemon.close();
        }
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        opened.clear();
        logs.clear();
        daemon = null;
        deleteTree(state);
        if (first != null) {
            throw first;
        }
    }

    /** The test's state directory (lb.state-dir of {@link #daemon()}). */
    public Path state() {
        return state;
    }

    /** The daemon on {@link #state()}, with the test settings of {@link DaemonHarness}; the same one on every call. */
    public DaemonHarness daemon() {
        if (daemon == null) {
            daemon = new DaemonHarness(state);
        }
        return daemon;
    }

    /** A Pebble (with its mock DNS) whose VA validates HTTP-01 through the daemon's haproxy. */
    public PebbleServer pebble() {
        return pebble(Map.of(), Map.of());
    }

    /** As {@link #pebble()}, with Pebble environment variables and JSON config keys of {@link PebbleServer#start}. */
    public PebbleServer pebble(Map<String, String> env, Map<String, Object> config) {
        return keep(PebbleServer.start(daemon().httpPort(), env, config));
    }

    /** A Pebble resolving names at the DNS server on 127.0.0.1:{@code dnsPort} (for DNS-01 against real BIND). */
    public PebbleServer pebbleWithDns(int dnsPort) {
        return keep(PebbleServer.startWithDns(daemon().httpPort(), Map.of(), dnsPort));
    }

    /** A recording proxy in front of {@code pebble} on a free port. */
    public AcmeRecordingProxy proxy(PebbleServer pebble) {
        return closeAfter(AcmeRecordingProxy.start(pebble));
    }

    /** A recording proxy in front of {@code pebble} on {@code port}: the same directory URL as a closed one. */
    public AcmeRecordingProxy proxy(PebbleServer pebble, int port) {
        return closeAfter(AcmeRecordingProxy.start(pebble, port));
    }

    /** The daemon, ACME on, ordering from {@code pebble} directly (see {@link #ordering}). */
    public DaemonHarness orderingFrom(PebbleServer pebble) {
        return ordering(pebble.directoryUrl(), pebble);
    }

    /** The daemon, ACME on, ordering from {@code pebble} through {@code proxy} (see {@link #ordering}). */
    public DaemonHarness orderingThrough(AcmeRecordingProxy proxy, PebbleServer pebble) {
        return ordering(proxy.directoryUrl(), pebble);
    }

    /**
     * ACME on with {@code directoryUrl}, Pebble's listener CA trusted, terms agreed, names checked against Pebble's
     * DNS server (every name is 127.0.0.1, which counts as here), no rate limits, fast polling, an early first check.
     */
    private DaemonHarness ordering(String directoryUrl, PebbleServer pebble) {
        return daemon().with("lb.acme.directory-url", directoryUrl)
                .with("lb.acme.trust-ca", pebble.listenerCaPem().toString())
                .with("lb.acme.agree-terms", "true")
                .with("lb.acme.dns-resolver", "127.0.0.1:" + pebble.dnsAddress().getPort())
                .with("lb.acme.loopback-is-here", "true")
                .with("lb.acme.limits", "unlimited")
                .with("lb.acme.poll", "100")
                .with("lb.acme.timeout", "30000")
                .with("lb.acme.first-check-delay", "100");
    }

    /** Closes {@code resource} after the test, after the daemon. */
    public <T extends AutoCloseable> T closeAfter(T resource) {
        opened.add(resource);
        return resource;
    }

    /** Prints {@code text} (a server's log) under the heading {@code what} if the test fails. */
    public void printOnFailure(String what, Supplier<String> text) {
        logs.put(what, text);
    }

    private PebbleServer keep(PebbleServer pebble) {
        printOnFailure("Pebble logs (" + pebble.directoryUrl() + ")", pebble::logs);
        return closeAfter(pebble);
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                // a test may leave a folder unreadable (disk faults); root can delete it anyway, others need this
                dir.toFile().setReadable(true, true);
                dir.toFile().setWritable(true, true);
                dir.toFile().setExecutable(true, true);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
