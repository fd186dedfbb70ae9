package haproxylb.it;

import com.fasterxml.jackson.databind.JsonNode;
import haproxylb.common.AtomicFiles;
import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.status.FragmentStatus;
import haproxylb.status.StatusBoard;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.FaultTools;
import haproxylb.support.TestCertificates;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Issue 13, item 4: the state directory on a 4 MiB tmpfs that fills up (a filler file) or turns read-only under the
 * running daemon, during intake, assembly, status writes and certificate writes. Each time: haproxy keeps serving the
 * last good config over real HTTPS, new work is refused with a clear error (health DOWN with the reason, the CLI's
 * exit status and message, the waiting changes' status), nothing acknowledged is lost, and everything completes by
 * itself once the disk takes writes again. Needs root for mount (CI runs as root); skipped otherwise.
 */
class DiskFaultTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    Path tmp;
    private Path state;
    private DaemonHarness daemon;

    /** The fixture's state directory becomes the tmpfs, unmounted after the daemon has stopped. */
    @BeforeEach
    void mountTmpfs() throws IOException {
        assumeTrue(FaultTools.isRoot(), "DiskFaultTest mounts a tmpfs as the state directory: it needs root (CI runs"
                + " as root)");
        state = fixture.state();
        mount(List.of("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", state.toString()), state);
    }

    private void mount(List<String> command, Path at) throws IOException {
        FaultTools.Run m = FaultTools.run(command);
        assertEquals(0, m.exit(), String.join(" ", command) + ": " + m.err());
        fixture.closeAfter(() -> FaultTools.run(List.of("umount", "-l", at.toString())));
    }

    /**
     * run/ (sockets, pid file, haproxy.log) and log/ (the access log) from another file system, as in production where
     * they would live under /run and /var/log: Linux refuses to remount a file system read-only while a file on it is
     * open for writing, and the daemon keeps those two logs open.
     */
    private void logsElsewhere() throws IOException {
        for (String dir : List.of("run", "log")) {
            Path other = Files.createDirectories(tmp.resolve("elsewhere-" + dir));
            Path at = Files.createDirectories(state.resolve(dir));
            mount(List.of("mount", "--bind", other.toString(), at.toString()), at);
        }
    }

    private DaemonHarness startDaemon() throws Exception {
        // min-free-space: a 4 MiB disk holds ~3.8 MiB free with the test's few files; the filler leaves none.
        daemon = fixture.daemon().with("lb.health.min-free-space", "262144")
                .with("lb.assembly.retry", "300").with("lb.intake.settle", "100").start();
        return daemon;
    }

    private static String cfg(String name, String text) {
        return "backend be_" + name + "\n    http-request return status 200 content-type text/plain string \"" + text
                + "\"\n";
    }

    private void liveAndServed(String name, String text) throws IOException {
        daemon.drop(name, cfg(name, text), name + ".disk.test be_" + name + "\n");
        await(name + " served", LIMIT, () -> daemon.serves(name + ".disk.test", text));
    }

    /** Fills the state directory's file system to the last block. */
    private Path fill() throws IOException {
        Path filler = state.resolve("filler");
        ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
        try (FileChannel ch = FileChannel.open(filler, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            while (true) {
                chunk.clear();
                ch.write(chunk);
            }
        } catch (IOException full) {
            assertTrue(full.getMessage().contains("No space left"), full.toString());
        }
        assertTrue(Files.getFileStore(state).getUsableSpace() < 8192, "the state directory is full");
        return filler;
    }

    private void remount(String mode) throws IOException {
        FaultTools.Run r = FaultTools.run(List.of("mount", "-o", "remount," + mode, state.toString()));
        assertEquals(0, r.exit(), "remount " + mode + ": " + r.err());
    }

    private StatusBoard board() {
        return daemon.context().getRegistry().lookupByNameAndType("statusBoard", StatusBoard.class);
    }

    /** What the daemon's status says (haproxy-config status reads status.json; JMX reads this). */
    private FragmentStatus inMemory(String name) {
        return board().snapshot().fragments().get(name);
    }

    private long readReloads() {
        try {
            return daemon.status().reloads();
        } catch (IOException e) {
            return -1;
        }
    }

    private Optional<X509Certificate> servedLeaf(String host) {
        try {
            return EdgeClient.https(daemon.httpsPort(), host, "/").peerChain().stream().findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private Path fragmentFile(String name, String ext, String text) throws IOException {
        Path p = tmp.resolve(name + "." + ext);
        Files.writeString(p, text);
        return p;
    }

    private void assertHealthDown(String check, String reason) {
        await(check + " DOWN", LIMIT, () -> FaultTools.healthIs(daemon.managementPort(), check, "DOWN"));
        JsonNode c = FaultTools.healthCheck(daemon.managementPort(), check);
        assertTrue(c.path("message").asText().contains(reason), check + ": " + c);
    }

    @Test
    void a_full_state_dir_keeps_the_last_good_config_serving_refuses_new_work_clearly_and_recovers_once_space_returns()
            throws Exception {
        startDaemon();
        liveAndServed("app", "app v1");
        await("state-dir UP", LIMIT, () -> FaultTools.healthIs(daemon.managementPort(), "state-dir", "UP"));
        long liveBefore = daemon.status().liveGeneration();

        // Acknowledged before the disk fills: a change waiting for assembly (the assembly route is held back so the
        // fill lands between the two stages), and an operator certificate in the certificate inbox.
        daemon.context().getRouteController().stopRoute("assembly");
        daemon.context().getRouteController().stopRoute("certificate-intake");
        daemon.drop("queued", cfg("queued", "queued v1"), "queued.disk.test be_queued\n");
        await("queued acknowledged (inbox file gone, change in pending/)", LIMIT,
                () -> Files.exists(state.resolve("pending/queued.json")) && !Files.exists(daemon.inbox().resolve("queued.map")));
        TestCertificates.Leaf own = TestCertificates.rootCa("Disk Root").leaf("app.disk.test").issue();
        AtomicFiles.writePrivate(state.resolve("cert-inbox/app.disk.test.pem"), own.pem().getBytes());
        // Sent but not taken in yet: intake will meet the full disk.
        daemon.context().getRouteController().stopRoute("fragment-intake");
        daemon.drop("app", cfg("app", "app v2"), "app.disk.test be_app\n");

        Path filler = fill();
        long intakeFailures = FaultTools.failedExchanges(daemon.context(), "fragment-intake");
        long certFailures = FaultTools.failedExchanges(daemon.context(), "certificate-intake");
        daemon.context().getRouteController().startRoute("fragment-intake");
        daemon.context().getRouteController().startRoute("assembly");
        daemon.context().getRouteController().startRoute("certificate-intake");
        daemon.context().createProducerTemplate().sendBody("seda:config-changed", "after the fill");

        // Intake and the certificate install fail on the disk and leave their files where they are.
        await("intake to meet the full disk", LIMIT,
                () -> FaultTools.failedExchanges(daemon.context(), "fragment-intake") > intakeFailures);
        await("the certificate install to meet the full disk", LIMIT,
                () -> FaultTools.failedExchanges(daemon.context(), "certificate-intake") > certFailures);
        // The intake retries at every poll, so the file may be in the claim directory (given back to the inbox after
        // each failed try, and at start-up) when looked for: it is kept if it is in one of the three.
        await("app v2's files kept (inbox, claim directory or staging)", LIMIT,
                () -> Files.exists(daemon.inbox().resolve("app.cfg")) || Files.exists(state.resolve("claimed/app.cfg"))
                        || Files.exists(state.resolve("staging/app.cfg")));
        assertTrue(Files.exists(state.resolve("cert-inbox/app.disk.test.pem")), "the certificate waits in its inbox");
        // Assembly holds the acknowledged change, with the reason, and rejects nothing.
        await("assembly to hold 'queued'", LIMIT, () -> inMemory("queued") != null
                && inMemory("queued").error() != null && inMemory("queued").error().contains("No space left"));
        assertEquals("pending", inMemory("queued").state());
        assertTrue(Files.exists(state.resolve("pending/queued.json")), "the acknowledged change is still pending");
        assertTrue(!Files.exists(state.resolve("rejected/queued.error")), "nothing rejected for the disk's fault");
        assertHealthDown("state-dir", "is full");
        assertHealthDown("config-freshness", "changes are held");
        // A status write fails too: haproxy killed and restarted by the watchdog changes the status.
        HaproxySupervisor supervisor = daemon.context().getRegistry()
                .lookupByNameAndType("haproxySupervisor", HaproxySupervisor.class);
        long oldMaster = supervisor.masterPid().orElseThrow();
        ProcessHandle.of(oldMaster).orElseThrow().destroyForcibly();
        await("haproxy restarted", LIMIT, () -> supervisor.masterPid().map(p -> p != oldMaster).orElse(false));
        assertHealthDown("state-dir", "status.json could not be written");
        assertTrue(readReloads() < board().snapshot().reloads(), "status.json could not take the restart");
        // The operator's CLI fails at once, with the disk's reason and a non-zero status.
        FaultTools.Run apply = FaultTools.cli(state, "apply", "late", fragmentFile("late", "cfg", cfg("late", "late")).toString(),
                fragmentFile("late", "map", "late.disk.test be_late\n").toString(), "--timeout", "5");
        assertEquals(2, apply.exit(), apply.out() + apply.err());
        assertTrue(apply.err().contains("No space left on device"), apply.err());
        // Still serving the last good config, and nothing new; also after more access log lines than haproxy's
        // stdout pipe holds (64 KiB), which the daemon must keep draining although it cannot store them.
        for (int i = 0; i < 700; i++) {
            assertEquals(301, EdgeClient.http(daemon.httpPort(), "app.disk.test", "/" + "x".repeat(100)).status());
        }
        await("app v1 served by the restarted haproxy", LIMIT, () -> daemon.serves("app.disk.test", "app v1"));
        assertEquals(404, EdgeClient.https(daemon.httpsPort(), "queued.disk.test", "/").status());
        assertTrue(servedLeaf("app.disk.test").map(c -> !c.equals(own.certificate())).orElse(false),
                "the new certificate is not served yet");

        Files.delete(filler);
        await("queued served", LIMIT, () -> daemon.serves("queued.disk.test", "queued v1"));
        await("app v2 served", LIMIT, () -> daemon.serves("app.disk.test", "app v2"));
        await("the operator certificate served", LIMIT,
                () -> servedLeaf("app.disk.test").map(own.certificate()::equals).orElse(false));
        await("status.json says both are live", LIMIT, () -> daemon.fragment("queued").map(f -> f.state().equals("live")
                && f.error() == null).orElse(false) && daemon.fragment("app").map(f -> f.state().equals("live")).orElse(false));
        await("status.json catches up with the status kept in memory", LIMIT,
                () -> readReloads() == board().snapshot().reloads());
        assertTrue(daemon.status().liveGeneration() > liveBefore);
        await("state-dir UP again", LIMIT, () -> FaultTools.healthIs(daemon.managementPort(), "state-dir", "UP"));
        await("config-freshness UP again", LIMIT,
                () -> FaultTools.healthIs(daemon.managementPort(), "config-freshness", "UP"));
        assertEquals(0, FaultTools.cli(state, "apply", "late", tmp.resolve("late.cfg").toString(),
                tmp.resolve("late.map").toString(), "--timeout", "60").exit(), "apply works again");
        assertTrue(daemon.serves("late.disk.test", "late"));
    }

    @Test
    void a_read_only_state_dir_keeps_the_last_good_config_serving_refuses_new_work_clearly_and_recovers_once_writable()
            throws Exception {
        logsElsewhere();
        startDaemon();
        liveAndServed("app", "app v1");
        daemon.context().getRouteController().stopRoute("assembly");
        daemon.drop("queued", cfg("queued", "queued v1"), "queued.disk.test be_queued\n");
        await("queued acknowledged", LIMIT, () -> Files.exists(state.resolve("pending/queued.json"))
                && !Files.exists(daemon.inbox().resolve("queued.map")));
        daemon.context().getRouteController().stopRoute("fragment-intake");
        daemon.drop("app", cfg("app", "app v2"), "app.disk.test be_app\n");

        remount("ro");
        daemon.context().getRouteController().startRoute("fragment-intake");
        daemon.context().getRouteController().startRoute("assembly");
        daemon.context().createProducerTemplate().sendBody("seda:config-changed", "after the remount");

        await("assembly to hold 'queued'", LIMIT, () -> inMemory("queued") != null
                && inMemory("queued").error() != null && inMemory("queued").error().contains("Read-only file system"));
        assertEquals("pending", inMemory("queued").state());
        assertHealthDown("state-dir", "is read-only");
        assertHealthDown("config-freshness", "changes are held");
        FaultTools.Run apply = FaultTools.cli(state, "apply", "late", fragmentFile("late", "cfg", cfg("late", "late")).toString(),
                fragmentFile("late", "map", "late.disk.test be_late\n").toString(), "--timeout", "5");
        assertEquals(2, apply.exit(), apply.out() + apply.err());
        assertTrue(apply.err().contains("Read-only file system"), apply.err());
        assertTrue(daemon.serves("app.disk.test", "app v1"), "the last good config keeps serving");
        assertEquals(404, EdgeClient.https(daemon.httpsPort(), "queued.disk.test", "/").status());
        assertTrue(Files.exists(daemon.inbox().resolve("app.cfg")) && Files.exists(daemon.inbox().resolve("app.map")),
                "app v2 waits in the inbox");
        assertTrue(Files.exists(state.resolve("pending/queued.json")));

        remount("rw");
        await("queued served", LIMIT, () -> daemon.serves("queued.disk.test", "queued v1"));
        await("app v2 served", LIMIT, () -> daemon.serves("app.disk.test", "app v2"));
        await("status.json says both are live", LIMIT, () -> daemon.fragment("queued").map(f -> f.state().equals("live")
                && f.error() == null).orElse(false) && daemon.fragment("app").map(f -> f.state().equals("live")).orElse(false));
        await("state-dir UP again", LIMIT, () -> FaultTools.healthIs(daemon.managementPort(), "state-dir", "UP"));
        await("config-freshness UP again", LIMIT,
                () -> FaultTools.healthIs(daemon.managementPort(), "config-freshness", "UP"));
        assertNotEquals(null, daemon.status().lastReload());
    }
}
