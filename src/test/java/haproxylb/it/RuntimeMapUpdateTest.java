package haproxylb.it;

import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.time.Duration;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Changes of map lines only reach haproxy through its runtime API: live at once, no reload. */
class RuntimeMapUpdateTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    @Test
    void adding_moving_and_removing_domains_of_existing_backends_needs_no_reload() throws Exception {
        // A long rate limit: any reload after the first would keep the change from going live within the test.
        // Trusted fragments may route to each other's backends, so a map-only fragment ("extra") can go live.
        daemon = fixture.daemon().with("lb.reload.min-interval", "600000").with("lb.fragments.policy", "trusted")
                .start();
        String cfg = "backend be_one\n    http-request return status 200 content-type text/plain string one\n"
                + "backend be_two\n    http-request return status 200 content-type text/plain string two\n";
        daemon.drop("site", cfg, "a.example.test be_one\n");
        await("a served", LIMIT, () -> daemon.serves("a.example.test", "one"));
        await("status live", LIMIT, () -> daemon.fragment("site").map(f -> f.state().equals("live")).orElse(false));
        long reloads = daemon.status().reloads();
        String cfgBefore = Files.readString(fixture.state().resolve("haproxy/haproxy.cfg"));

        daemon.drop("site", cfg, "a.example.test be_two\nb.example.test be_one\n");
        await("a moved to be_two", LIMIT, () -> daemon.serves("a.example.test", "two"));
        await("b added", LIMIT, () -> daemon.serves("b.example.test", "one"));

        daemon.drop("extra", "", "c.example.test be_two\n");
        await("a map-only fragment goes live", LIMIT, () -> daemon.serves("c.example.test", "two"));

        daemon.dropRemoval("extra");
        await("c unknown again", LIMIT, () -> EdgeClient.statusOrMinusOne(daemon.httpsPort(), "c.example.test", "/",
                true) == 404);

        assertEquals(reloads, daemon.status().reloads(), "no reload for map-only changes");
        assertEquals(cfgBefore, Files.readString(fixture.state().resolve("haproxy/haproxy.cfg")));
        String map = Files.readString(fixture.state().resolve("haproxy/backend.map"));
        assertTrue(map.contains("a.example.test be_two\nb.example.test be_one\n"), map);
        assertTrue(!map.contains("c.example.test"), "the file on disk is the truth for the next reload: " + map);
        assertEquals("live", daemon.fragment("site").orElseThrow().state());
    }

    @Test
    void a_map_change_while_a_reload_is_owed_waits_for_that_reload() throws Exception {
        daemon = fixture.daemon().with("lb.reload.min-interval", "3000").start();
        daemon.drop("first", "backend be_first\n    http-request return status 200 content-type text/plain string first\n",
                "first.example.test be_first\n");
        await("first served", LIMIT, () -> EdgeClient.statusOrMinusOne(daemon.httpsPort(), "first.example.test", "/",
                true) == 200);
        // A config change inside the rate limit: a trailing reload is owed...
        daemon.drop("second", "backend be_second\n    http-request return status 200 content-type text/plain string second\n",
                "second.example.test be_second\n");
        daemon.awaitFragmentState("second", "assembled", LIMIT);
        // ...so a map-only change to the new backend must not go through the runtime API before it exists.
        daemon.drop("second", "backend be_second\n    http-request return status 200 content-type text/plain string second\n",
                "second.example.test be_second\nalias.example.test be_second\n");
        await("alias served once the owed reload happened", LIMIT, () -> EdgeClient.statusOrMinusOne(
                daemon.httpsPort(), "alias.example.test", "/", true) == 200);
        assertEquals("live", daemon.awaitFragmentState("second", "live", LIMIT).state());
    }
}
