package haproxylb.haproxy;

import haproxylb.status.Status;
import haproxylb.status.StatusBoard;
import haproxylb.support.MutableClock;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.LoggingLevel;
import org.apache.camel.component.exec.ExecBinding;
import org.apache.camel.component.exec.ExecCommand;
import org.apache.camel.component.exec.ExecResult;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reload stage in systemd mode without a master CLI (the command's exit status is all there is): the gate's facts
 * drive what status.json says, and a failed reload is owed again after the rate limit.
 */
class ReloaderTest {
    private final MutableClock clock = MutableClock.at("2026-11-29T10:00:00Z");
    private final ReloadGate gate = new ReloadGate(clock, Duration.ofSeconds(60));
    private final CamelContext camel = new DefaultCamelContext();

    @TempDir
    Path dir;

    @AfterEach
    void close() throws Exception {
        camel.close();
    }

    private StatusBoard board() {
        return new StatusBoard(dir.resolve("status.json"), clock);
    }

    private Status published() throws Exception {
        return StatusBoard.read(dir.resolve("status.json"));
    }

    /** The exchange the reload route hands to record, after camel-exec ran the command with this exit status. */
    private Exchange ran(Exchange prepared, int exit, String stderr) {
        ExecCommand command = new ExecCommand(prepared.getIn().getHeader(ExecBinding.EXEC_COMMAND_EXECUTABLE,
                String.class), List.of("reload", "haproxy"), null, 60_000L, Set.of(), null, null, false,
                LoggingLevel.OFF);
        prepared.getIn().setBody(new ExecResult(command, new ByteArrayInputStream(new byte[0]),
                new ByteArrayInputStream(stderr.getBytes(StandardCharsets.UTF_8)), exit));
        return prepared;
    }

    @Test
    void a_claimed_reload_runs_the_command_and_its_success_makes_the_generation_live() throws Exception {
        Reloader reloader = new Reloader(gate, board(), List.of("systemctl", "reload", "haproxy"), null, null);
        long generation = gate.assembled();
        reloader.request();
        assertTrue(published().reloadPending());
        assertTrue(reloader.claim());
        Exchange exchange = new DefaultExchange(camel);
        reloader.prepare(exchange);
        assertEquals("systemctl", exchange.getIn().getHeader(ExecBinding.EXEC_COMMAND_EXECUTABLE));
        assertEquals(List.of("reload", "haproxy"), exchange.getIn().getHeader(ExecBinding.EXEC_COMMAND_ARGS));
        assertEquals(generation, exchange.getIn().getHeader(Reloader.GENERATION));
        reloader.record(ran(exchange, 0, ""));
        assertFalse(reloader.owed());
        Status status = published();
        assertEquals(generation, status.liveGeneration());
        assertEquals(1, status.reloads());
        assertFalse(status.reloadPending());
        assertTrue(status.lastReload().ok());
    }

    @Test
    void a_failed_reload_is_shown_and_claimed_again_only_after_the_rate_limit() throws Exception {
        Reloader reloader = new Reloader(gate, board(), List.of("systemctl", "reload", "haproxy"), null, null);
        gate.assembled();
        reloader.request();
        assertTrue(reloader.claim());
        Exchange exchange = new DefaultExchange(camel);
        reloader.prepare(exchange);
        reloader.record(ran(exchange, 1, "Job for haproxy.service failed"));
        Status status = published();
        assertFalse(status.lastReload().ok());
        assertTrue(status.lastReload().message().contains("exited with 1: Job for haproxy.service failed"),
                status.lastReload().message());
        assertTrue(status.reloadPending());
        assertEquals(clock.instant().plusSeconds(60).toString(), status.nextReloadAt());
        assertTrue(reloader.owed());
        assertFalse(reloader.claim(), "not before the rate limit");
        clock.advance(Duration.ofSeconds(60));
        assertTrue(reloader.claim());
    }

    @Test
    void a_second_claim_waits_while_a_reload_is_in_flight() {
        Reloader reloader = new Reloader(gate, board(), List.of("systemctl", "reload", "haproxy"), null, null);
        reloader.request();
        assertTrue(reloader.claim());
        clock.advance(Duration.ofMinutes(5));
        reloader.request();
        assertFalse(reloader.claim(), "the first reload has not been recorded yet");
        assertTrue(gate.isPending(), "the trailing-reload timer claims it once the first is recorded");
    }

    @Test
    void requests_inside_the_interval_are_counted_as_coalesced_in_the_status() throws Exception {
        Reloader reloader = new Reloader(gate, board(), List.of("systemctl", "reload", "haproxy"), null, null);
        reloader.request();
        reloader.request();
        reloader.request();
        assertEquals(2, published().reloadsCoalesced());
        assertEquals(2, gate.coalesced(), "metrics and status read the same count");
    }

    @Test
    void a_started_haproxy_needs_no_reload() throws Exception {
        Reloader reloader = new Reloader(gate, board(), List.of("systemctl", "reload", "haproxy"), null, null);
        long generation = gate.assembled();
        reloader.request();
        reloader.started();
        assertFalse(reloader.owed());
        assertFalse(reloader.claim());
        assertEquals(generation, published().liveGeneration());
        assertEquals("haproxy started", published().lastReload().message());
    }
}
