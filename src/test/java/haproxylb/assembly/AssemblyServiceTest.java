package haproxylb.assembly;

import haproxylb.haproxy.HaproxyCheck;
import haproxylb.haproxy.MapUpdater;
import haproxylb.haproxy.ReloadGate;
import haproxylb.intake.FragmentReader;
import haproxylb.intake.InboxBacklog;
import haproxylb.intake.FragmentStore;
import haproxylb.intake.PendingChange;
import haproxylb.status.FragmentStatus;
import haproxylb.status.StatusBoard;
import haproxylb.support.MutableClock;
import haproxylb.support.StderrCapture;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The assembly stage with the real haproxy -c, on a small base template; no haproxy runs (no runtime API). */
class AssemblyServiceTest {
    private static final ConfigTemplate TEMPLATE = ConfigTemplate.of("base.template", """
            defaults
                mode http
                timeout connect 1s
                timeout client 1s
                timeout server 1s
            frontend http
                bind 127.0.0.1:18080
                use_backend %[req.hdr(host),lower,map({{backend-map}},lb_unknown_host)]
            backend lb_unknown_host
                http-request return status 404
            """);

    private final MutableClock clock = MutableClock.at("2026-11-29T10:00:00Z");
    private final ReloadGate gate = new ReloadGate(clock, Duration.ofSeconds(60));

    @TempDir
    Path state;
    private FragmentStore store;
    private StatusBoard status;
    private AssemblyService assembly;

    @BeforeEach
    void setUp() throws Exception {
        FragmentReader reader = new FragmentReader(false, 1 << 20);
        store = new FragmentStore(state, reader);
        status = new StatusBoard(state.resolve("status.json"), clock);
        Path haproxyDir = Files.createDirectories(state.resolve("haproxy"));
        assembly = new AssemblyService(store, new ConfigAssembler(TEMPLATE, Map.of()),
                new CandidateRules(Set.of("lb_unknown_host")), new HaproxyCheck("haproxy", 60),
                haproxyDir.resolve("haproxy.cfg"), haproxyDir.resolve("backend.map"), state.resolve("candidate"),
                status, gate, MapUpdater.NONE, new InboxBacklog(Integer.MAX_VALUE, Duration.ZERO, null));
    }

    private void queue(String name, String cfg, String map) throws Exception {
        store.putPending(PendingChange.upsert(store.reader().read(name, cfg.getBytes(), map.getBytes()),
                clock.millis()));
    }

    private FragmentStatus published(String name) throws Exception {
        return StatusBoard.read(state.resolve("status.json")).fragments().get(name);
    }

    @Test
    void a_pending_fragment_goes_into_a_new_generation_that_owes_a_reload() throws Exception {
        queue("app", "backend be_app\n    server s1 127.0.0.1:8080\n", "app.example.test be_app\n");
        assertTrue(assembly.assemble(), "haproxy.cfg changed: reload");
        assertTrue(Files.readString(assembly.liveConfig()).contains("backend be_app"));
        assertTrue(Files.readString(assembly.liveMap()).lines().anyMatch("app.example.test be_app"::equals));
        assertEquals(1, gate.configGeneration());
        assertTrue(gate.owed());
        assertEquals("assembled", published("app").state());
        assertEquals(1, published("app").generation());
        assertFalse(store.hasPending());
        assertTrue(store.liveFragments().containsKey("app"));
    }

    /** An assembly, with what it logged. */
    private StderrCapture.Result<Boolean> assembleLogged() {
        return StderrCapture.capture(() -> {
            try {
                return assembly.assemble();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void a_hand_edit_of_haproxy_cfg_is_replaced_by_the_next_assembly_with_a_warning_naming_the_file() throws Exception {
        queue("app", "backend be_app\n    server s1 127.0.0.1:8080\n", "app.example.test be_app\n");
        assembly.assemble();
        Files.writeString(assembly.liveConfig(), Files.readString(assembly.liveConfig()) + "# hotfix by hand\n");
        queue("web", "backend be_web\n    server s1 127.0.0.1:8081\n", "web.example.test be_web\n");
        StderrCapture.Result<Boolean> second = assembleLogged();
        assertTrue(second.value());
        assertFalse(Files.readString(assembly.liveConfig()).contains("# hotfix by hand"));
        assertTrue(second.stderr().contains(assembly.liveConfig() + " was changed outside haproxy-lb since it wrote"
                + " it (by hand?)"), second.stderr());

        queue("api", "backend be_api\n    server s1 127.0.0.1:8082\n", "api.example.test be_api\n");
        StderrCapture.Result<Boolean> third = assembleLogged();
        assertFalse(third.stderr().contains("changed outside"), "its own writes are no hand edit: " + third.stderr());
    }

    @Test
    void an_assembly_asked_for_while_the_daemon_stops_does_not_start_and_its_changes_stay_pending() throws Exception {
        queue("app", "backend be_app\n    server s1 127.0.0.1:8080\n", "app.example.test be_app\n");
        Thread.currentThread().interrupt(); // as Camel's shutdown interrupts the aggregator's thread
        try {
            assertFalse(assembly.assemble(), "no new generation while stopping");
        } finally {
            assertTrue(Thread.interrupted(), "the stop is left for the caller to see");
        }
        assertEquals(0, gate.configGeneration());
        assertTrue(store.hasPending(), "the change waits for the next start");
        assertNull(assembly.fault(), "a stop is no disk fault");
        assertTrue(assembly.assemble(), "and goes live once the daemon runs");
    }

    @Test
    void once_the_daemon_stops_an_assembly_does_not_start_and_its_changes_stay_pending() throws Exception {
        queue("app", "backend be_app\n    server s1 127.0.0.1:8080\n", "app.example.test be_app\n");
        assembly.stop(); // what the CamelContextStopping notifier calls
        assertFalse(assembly.assemble(), "no new generation while stopping");
        assertFalse(Thread.currentThread().isInterrupted());
        assertEquals(0, gate.configGeneration());
        assertTrue(store.hasPending(), "the change waits for the next start");
        assertNull(assembly.fault(), "a stop is no disk fault");
    }

    @Test
    void an_assembly_without_changes_writes_no_new_generation() throws Exception {
        queue("app", "backend be_app\n    server s1 127.0.0.1:8080\n", "app.example.test be_app\n");
        assembly.assemble();
        gate.reloaded(1, true, "reloaded");
        assertFalse(assembly.assemble());
        assertEquals(1, gate.configGeneration());
        assertEquals(AssemblyService.Outcome.UNCHANGED, assembly.lastReport().outcome());
    }

    @Test
    void a_change_haproxy_refuses_is_rejected_and_the_rest_of_the_batch_goes_live() throws Exception {
        queue("good", "backend be_good\n    server s1 127.0.0.1:8080\n", "good.example.test be_good\n");
        queue("bad", "backend be_bad\n    sevrer s1 127.0.0.1:8081\n", "bad.example.test be_bad\n");
        assertTrue(assembly.assemble());
        assertEquals("assembled", published("good").state());
        FragmentStatus bad = published("bad");
        assertEquals("rejected", bad.state());
        assertTrue(bad.error().contains("bad.cfg line 2"), bad.error());
        assertTrue(Files.readString(store.rejectedDir().resolve("bad.error")).contains("sevrer"));
        assertFalse(Files.readString(assembly.liveConfig()).contains("be_bad"));
        assertEquals(1, gate.configGeneration(), "one generation for the whole batch");
    }

    @Test
    void a_removal_is_shown_removed_until_the_reload_stage_reports_it_loaded() throws Exception {
        queue("app", "backend be_app\n    server s1 127.0.0.1:8080\n", "app.example.test be_app\n");
        assembly.assemble();
        gate.reloaded(1, true, "reloaded");
        store.putPending(PendingChange.removal("app", clock.millis()));
        assertTrue(assembly.assemble());
        assertEquals("removed", published("app").state());
        assertFalse(Files.readString(assembly.liveConfig()).contains("be_app"));
        assertFalse(Files.readString(assembly.liveMap()).contains("app.example.test"));
    }
}
