package haproxylb.it;

import haproxylb.intake.Fragment;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;

import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fragment sent again under the same name while its first version is still on its way through the pipeline is
 * never lost. The intake claims each inbox file (moves it out) at once, but Camel's file consumer completes the
 * exchange, and with {@code delete: true} deleted {@code inbox/NAME}, only when the assembly stage is done with it:
 * by then the path held the operator's second version, which was deleted unread. The assembly route is held
 * (suspended) so that the second version is surely dropped inside that window.
 */
class SameNameRedropTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();

    @Test
    void a_second_version_dropped_while_the_first_waits_for_assembly_goes_live() throws Exception {
        DaemonHarness daemon = fixture.daemon().with("lb.reload.min-interval", "200").start();
        String map = "redrop.example.test be_redrop\n";
        String v1 = "backend be_redrop\n    http-request return status 200 content-type text/plain string v1\n";
        String v2 = "backend be_redrop\n    http-request return status 200 content-type text/plain string v2\n";

        var camel = daemon.context();
        NotifyBuilder v1Taken = new NotifyBuilder(camel).fromRoute("fragment-intake").whenDone(2).create();
        camel.getRouteController().suspendRoute("assembly");
        try {
            daemon.drop("redrop", v1, map);
            assertTrue(v1Taken.matches(LIMIT.toSeconds(), TimeUnit.SECONDS), "the intake took the first version");
            // Only the .cfg changes: the map line stays, and the second version's .cfg is the file at risk.
            daemon.drop("redrop", v2, map);
        } finally {
            camel.getRouteController().resumeRoute("assembly");
        }

        String v2Id = Fragment.idOf(v2, map);
        await("the second version to be live", LIMIT,
                () -> daemon.fragment("redrop").map(f -> f.state().equals("live") && f.id().equals(v2Id))
                        .orElse(false));
        await("haproxy to serve it", LIMIT, () -> daemon.serves("redrop.example.test", "v2"));
        try (var left = Files.list(daemon.inbox())) {
            assertTrue(left.findAny().isEmpty(), "the inbox is drained");
        }
    }
}
