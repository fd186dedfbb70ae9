package haproxylb.routes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.assembly.AssemblyService;
import haproxylb.assembly.CandidateRules;
import haproxylb.assembly.ConfigAssembler;
import haproxylb.assembly.ConfigTemplate;
import haproxylb.haproxy.HaproxyCheck;
import haproxylb.haproxy.MapUpdater;
import haproxylb.haproxy.ReloadGate;
import haproxylb.haproxy.Reloader;
import haproxylb.intake.FragmentIntake;
import haproxylb.intake.InboxBacklog;
import haproxylb.intake.FragmentReader;
import haproxylb.intake.FragmentStore;
import haproxylb.status.Status;
import haproxylb.status.StatusBoard;
import haproxylb.support.DaemonHarness;
import haproxylb.support.MutableClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.EndpointInject;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.ServiceStatus;
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
 * The intake → assembly → reload wiring of routes/intake, assembly and reload.camel.yaml as they are, on Camel's test
 * support, with the real intake, store, assembly ({@code haproxy -c} included) and reload stage: a burst of fragments
 * taken in one poll is assembled once, as one config generation, and reloaded once. The inbox poll is replaced by an
 * endpoint the test sends the files to, and the batch is closed by Camel's complete-all-groups signal instead of
 * waiting out lb.assembly.batch; the certificate check is not part of this wiring and is skipped (its requests are
 * counted). {@code haproxy -c} runs through a wrapper that a test can hold, to land a stop in the middle of an assembly.
 */
@CamelMainTest(
        properties = {
            "camel.main.routes-include-pattern=file:routes/intake.camel.yaml,file:routes/assembly.camel.yaml,"
                    + "file:routes/reload.camel.yaml",
            "lb.state-dir=unused",
            "lb.intake.poll=100",
            "lb.intake.max-per-poll=500",
            "lb.assembly.batch=3600000",
            "lb.assembly.retry=3600000",
            "lb.reload.tick=3600000",
            "lb.haproxy.watchdog=3600000"
        },
        replaceRouteFromWith = {
            "fragment-intake=direct:inbox",
            "reload-trailing=direct:reload-tick",
            "haproxy-watchdog=direct:watchdog",
            "haproxy-processes=direct:processes"
        },
        mockEndpoints = "exec:*",
        mockEndpointsAndSkip = "direct:certificates-check")
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class IntakeAssemblyRouteTest {
    private static final int FRAGMENTS = 20;
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

    private final MutableClock clock = MutableClock.at("2026-01-01T00:00:00Z");
    private Path state;
    private StatusBoard status;
    private ReloadGate gate;

    @EndpointInject("mock:exec:haproxy-reload")
    MockEndpoint reloads;

    @EndpointInject("mock:direct:certificates-check")
    MockEndpoint certificateChecks;

    /** While this file exists, haproxy -c waits before it runs (and marks that it started). */
    private Path hold;
    private Path checkStarted;

    @EndpointInject
    ProducerTemplate template;

    /** The pipeline's real beans on a state directory of the test's own; the watchdog and the sampler stay idle. */
    @Configure
    void beans(MainConfigurationProperties configuration) throws IOException {
        state = Files.createTempDirectory("intake-assembly-route-");
        hold = state.resolve("hold-haproxy-check");
        checkStarted = state.resolve("haproxy-check-started");
        Path haproxy = state.resolve("haproxy-held");
        Files.writeString(haproxy, "#!/bin/sh\nif [ -e '" + hold + "' ]; then\n    : > '" + checkStarted + "'\n"
                + "    while [ -e '" + hold + "' ]; do sleep 0.01; done\nfi\nexec haproxy \"$@\"\n");
        Files.setPosixFilePermissions(haproxy, PosixFilePermissions.fromString("rwx------"));
        status = new StatusBoard(state.resolve("status.json"), clock);
        gate = new ReloadGate(clock, Duration.ofSeconds(60));
        FragmentStore store = new FragmentStore(state, new FragmentReader(false, 1 << 20));
        Path haproxyDir = Files.createDirectories(state.resolve("haproxy"));
        InboxBacklog backlog = new InboxBacklog(500, Duration.ofSeconds(5), null);
        AssemblyService assembly = new AssemblyService(store, new ConfigAssembler(TEMPLATE, Map.of()),
                new CandidateRules(Set.of("lb_unknown_host")), new HaproxyCheck(haproxy.toString(), 60),
                haproxyDir.resolve("haproxy.cfg"), haproxyDir.resolve("backend.map"), state.resolve("candidate"),
                status, gate, MapUpdater.NONE, backlog);
        FragmentIntake intake = new FragmentIntake(store, status, clock, state.resolve("claimed"),
                state.resolve("inbox"), FragmentIntake.PartnerCheck.NEVER);
        Reloader reloader = new Reloader(gate, status, List.of("true"), null, null);
        configuration.addConfiguration(new CamelConfiguration() {
            @Override
            public void configure(CamelContext context) {
                context.getRegistry().bind("fragmentIntake", intake);
                context.getRegistry().bind("assembly", assembly);
                context.getRegistry().bind("statusBoard", status);
                context.getRegistry().bind("reloader", reloader);
                context.getRegistry().bind("haproxyWatchdog", new ReloadRouteTest.Idle());
                context.getRegistry().bind("oldWorkerSampler", new ReloadRouteTest.Idle());
            }
        });
    }

    @AfterEach
    void delete() throws IOException {
        template.getCamelContext().stop(); // before the extension does: no status.json write after the walk
        try (Stream<Path> all = Files.walk(state)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void a_burst_taken_in_one_poll_is_assembled_once_and_reloaded_once() throws Exception {
        Path inbox = Files.createDirectories(state.resolve("inbox"));
        for (int i = 0; i < FRAGMENTS; i++) {
            String name = String.format("n%02d", i);
            Files.writeString(inbox.resolve(name + ".cfg"), "backend be_" + name
                    + "\n    http-request return status 200\n");
            Files.writeString(inbox.resolve(name + ".map"), name + ".burst.test be_" + name + "\n");
        }
        List<Path> files;
        try (Stream<Path> listed = Files.list(inbox)) {
            files = listed.sorted().toList();
        }
        // one event for the poll, sent once it is committed (durable), not one per file
        NotifyBuilder assembled = new NotifyBuilder(template.getCamelContext()).from("seda:config-changed")
                .whenCompleted(1).create();
        for (int i = 0; i < files.size(); i++) {
            // as the file consumer sends them: one exchange per file, the poll's last one marked
            template.sendBodyAndProperty("direct:inbox", files.get(i).toFile(), Exchange.BATCH_COMPLETE,
                    i == files.size() - 1);
        }
        assertTrue(assembled.matchesWaitTime(), "the committed poll reached the aggregator");
        assertEquals(0, gate.facts().configGeneration(), "nothing assembled before the batch closes");

        reloads.expectedMessageCount(1);
        template.sendBodyAndHeader("seda:config-changed", null, Exchange.AGGREGATION_COMPLETE_ALL_GROUPS, true);
        reloads.assertIsSatisfied();

        assertEquals(1, gate.facts().configGeneration(), "one assembly for the whole burst: one generation");
        Status published = status.snapshot();
        // "assembled" until the reload's outcome is recorded, then "live": either way in generation 1
        assertEquals(FRAGMENTS, published.fragments().values().stream().filter(f -> f.generation() == 1
                && (f.state().equals("assembled") || f.state().equals("live"))).count(), published.fragments().toString());
        assertEquals(FRAGMENTS, Files.readAllLines(state.resolve("haproxy/backend.map")).stream()
                .filter(l -> l.endsWith(".burst.test") || l.contains(".burst.test ")).count());
    }

    /**
     * Camel stops the assembly route (a daemon stop, or a route stop as DiskFaultTest does) while an assembly runs: it
     * waits for it, so the config it wrote is reloaded and its certificate check asked for. Without that, the route's
     * steps after the assembly bean were refused with a RejectedExecutionException (a WARN with a stack trace) and the
     * reload of what had just been written was left to the next change.
     */
    @Test
    void a_stop_that_lands_during_an_assembly_waits_for_it_and_its_reload() throws Exception {
        Path inbox = Files.createDirectories(state.resolve("inbox"));
        Files.writeString(inbox.resolve("held.cfg"), "backend be_held\n    http-request return status 200\n");
        Files.writeString(inbox.resolve("held.map"), "held.stop.test be_held\n");
        NotifyBuilder queued = new NotifyBuilder(template.getCamelContext()).from("seda:config-changed")
                .whenCompleted(1).create();
        template.sendBodyAndProperty("direct:inbox", inbox.resolve("held.cfg").toFile(), Exchange.BATCH_COMPLETE, false);
        template.sendBodyAndProperty("direct:inbox", inbox.resolve("held.map").toFile(), Exchange.BATCH_COMPLETE, true);
        assertTrue(queued.matchesWaitTime(), "the change reached the aggregator");

        Files.createFile(hold);
        reloads.expectedMessageCount(1);
        certificateChecks.expectedMessageCount(1);
        template.sendBodyAndHeader("seda:config-changed", null, Exchange.AGGREGATION_COMPLETE_ALL_GROUPS, true);
        DaemonHarness.await("haproxy -c of the assembly to start", Duration.ofSeconds(30),
                () -> Files.exists(checkStarted));

        CamelContext context = template.getCamelContext();
        CompletableFuture<Void> stop = CompletableFuture.runAsync(() -> {
            try {
                context.getRouteController().stopRoute("assembly");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        // Released once the stop is over (as it was, without waiting) or waits for the assembly (the route reads
        // "Started" until then, so its status cannot tell).
        DaemonHarness.await("the stop to end or to wait for the assembly", Duration.ofSeconds(30),
                () -> stop.isDone() || stopWaitsForAggregatedExchanges());
        Files.delete(hold);
        stop.get(30, TimeUnit.SECONDS);

        reloads.assertIsSatisfied();
        certificateChecks.assertIsSatisfied();
        assertEquals(1, gate.facts().configGeneration(), "the assembly finished: one generation");
        assertEquals(ServiceStatus.Stopped, context.getRouteController().getRouteStatus("assembly"));
    }

    private static boolean stopWaitsForAggregatedExchanges() {
        return Thread.getAllStackTraces().values().stream().flatMap(Stream::of).anyMatch(frame ->
                frame.getClassName().endsWith(".AggregateProcessor")
                        && frame.getMethodName().equals("doForceCompletionOnStop"));
    }
}
