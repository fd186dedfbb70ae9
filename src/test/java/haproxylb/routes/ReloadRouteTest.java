package haproxylb.routes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.haproxy.ReloadGate;
import haproxylb.haproxy.Reloader;
import haproxylb.status.Status;
import haproxylb.status.StatusBoard;
import haproxylb.support.MutableClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.EndpointInject;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.main.MainConfigurationProperties;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.apache.camel.test.main.junit5.Configure;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

/**
 * The reload routes of routes/reload.camel.yaml as they are, on Camel's test support: the rate limit lets the first
 * change after a quiet period go at once and coalesces the rest into one trailing reload, on a clock the test moves,
 * so nothing waits out a real interval. The trailing-reload timer is replaced by an endpoint the test ticks; the
 * reload command is a real process ({@code true}, as in systemd mode), counted by a mock that lets it through.
 */
@CamelMainTest(
        properties = {
            "camel.main.routes-include-pattern=file:routes/reload.camel.yaml",
            "lb.reload.tick=100",
            "lb.haproxy.watchdog=100"
        },
        replaceRouteFromWith = {
            "reload-trailing=direct:reload-tick",
            "haproxy-watchdog=direct:watchdog",
            "haproxy-processes=direct:processes"
        },
        mockEndpoints = "exec:*")
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ReloadRouteTest {
    private static final Duration INTERVAL = Duration.ofSeconds(60);

    private final MutableClock clock = MutableClock.at("2026-01-01T00:00:00Z");
    private Path dir;
    private StatusBoard status;

    @EndpointInject("mock:exec:haproxy-reload")
    MockEndpoint reloads;

    @EndpointInject
    ProducerTemplate template;

    /** The beans the reload routes name, on the test's clock; the watchdog and the sampler are never called here. */
    @Configure
    void beans(MainConfigurationProperties configuration) throws IOException {
        dir = Files.createTempDirectory("reload-route-");
        status = new StatusBoard(dir.resolve("status.json"), clock);
        Reloader reloader = new Reloader(new ReloadGate(clock, INTERVAL), status, List.of("true"), null, null);
        configuration.addConfiguration(new CamelConfiguration() {
            @Override
            public void configure(CamelContext context) {
                context.getRegistry().bind("reloader", reloader);
                context.getRegistry().bind("haproxyWatchdog", new Idle());
                context.getRegistry().bind("oldWorkerSampler", new Idle());
            }
        });
    }

    @AfterEach
    void delete() throws IOException {
        template.getCamelContext().stop(); // before the extension does: no status.json write after the walk
        Files.deleteIfExists(dir.resolve("status.json"));
        try (var left = Files.list(dir)) {
            for (Path p : left.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    private void changes(int n) {
        for (int i = 0; i < n; i++) {
            template.sendBody("direct:reload-request", null);
        }
    }

    private void tick() {
        template.sendBody("direct:reload-tick", null);
    }

    private Status snapshot() {
        return status.snapshot();
    }

    @Test
    void the_first_change_after_a_quiet_period_reloads_at_once_and_later_ones_coalesce_into_one_trailing_reload()
            throws Exception {
        NotifyBuilder firstDone = new NotifyBuilder(template.getCamelContext()).fromRoute("reload-request")
                .whenDone(1).create();
        changes(1);
        assertTrue(firstDone.matchesWaitTime(), "the reload-request route ran");
        assertEquals(1, reloads.getReceivedCounter(), "the first change goes at once");
        assertFalse(snapshot().reloadPending());

        changes(5);
        tick();
        clock.advance(INTERVAL.minusSeconds(1));
        tick();
        assertEquals(1, reloads.getReceivedCounter(), "inside the interval nothing more is reloaded");
        assertTrue(snapshot().reloadPending());
        assertEquals(4, snapshot().reloadsCoalesced(), "the first of the five is the trailing reload, four ride on it");

        clock.advance(Duration.ofSeconds(1));
        tick();
        assertEquals(2, reloads.getReceivedCounter(), "one trailing reload once the interval is over");
        assertFalse(snapshot().reloadPending());
        tick();
        assertEquals(2, reloads.getReceivedCounter(), "nothing pending: the timer reloads nothing");
        assertEquals(2, snapshot().reloads());
    }

    @Test
    void after_a_quiet_interval_a_change_goes_at_once_again_without_waiting_for_the_timer() throws Exception {
        changes(1);
        clock.advance(INTERVAL);
        changes(1);
        assertEquals(2, reloads.getReceivedCounter(), "a full interval after the last reload: at once");
        changes(1);
        assertEquals(2, reloads.getReceivedCounter(), "the next one waits for the interval");
        assertTrue(snapshot().reloadPending());
    }

    /** Stands in for haproxyWatchdog and oldWorkerSampler, whose timers are replaced by endpoints nobody calls. */
    public static final class Idle {
        public void check() {
            // never called
        }

        public void sample() {
            // never called
        }
    }
}
