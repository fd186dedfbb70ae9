package haproxylb.it;

import haproxylb.certificates.issuer.ChallengeResponder;
import haproxylb.status.FragmentStatus;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;
import haproxylb.support.TestBackend;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fragment pipeline end to end: the real routes, the real haproxy on loopback, real HTTP(S) requests. One daemon
 * for the class: every test drops fragments of its own names and waits for their outcome.
 */
class FragmentPipelineTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    static final DaemonFixture fixture = new DaemonFixture();
    private static DaemonHarness daemon;
    private TestBackend backend;

    @BeforeAll
    static void start() throws Exception {
        daemon = fixture.daemon().start();
    }

    @AfterEach
    void stop() {
        if (backend != null) {
            backend.close();
        }
    }

    static String cfg(String backendName, int port) {
        return "backend " + backendName + "\n    server s1 127.0.0.1:" + port + "\n";
    }

    @Test
    void a_dropped_fragment_makes_its_domain_reachable_over_https_and_http_redirects() throws Exception {
        backend = new TestBackend("hello from shop");
        daemon.drop("shop", cfg("be_shop", backend.port()), "Shop.Example.test be_shop\nwww.shop.example.test be_shop\n");

        await("shop.example.test served over HTTPS", LIMIT, () -> daemon.serves("shop.example.test", "hello from shop"));
        EdgeClient.Response withPort = EdgeClient.https(daemon.httpsPort(), "WWW.Shop.Example.test:" + daemon.httpsPort(), "/");
        assertEquals(200, withPort.status(), "Host is lower-cased and its port stripped before the map lookup");
        assertEquals("hello from shop", withPort.body());

        EdgeClient.Response plain = EdgeClient.http(daemon.httpPort(), "shop.example.test", "/cart?x=1");
        assertEquals(301, plain.status());
        assertEquals("https://shop.example.test:" + daemon.httpsPort() + "/cart?x=1", plain.header("location"));
        EdgeClient.Response upper = EdgeClient.http(daemon.httpPort(), "SHOP.example.test:" + daemon.httpPort(), "/");
        assertEquals("https://shop.example.test:" + daemon.httpsPort() + "/", upper.header("location"));

        EdgeClient.Response unknown = EdgeClient.https(daemon.httpsPort(), "nobody.example.test", "/");
        assertEquals(404, unknown.status());
        assertTrue(unknown.body().contains("no site configured"), unknown.body());
        assertEquals("live", daemon.awaitFragmentState("shop", "live", LIMIT).state());
    }

    @Test
    void acme_challenge_paths_on_http_go_to_the_daemons_responder_not_to_https() throws Exception {
        try (ChallengeResponder responder = new ChallengeResponder(
                new InetSocketAddress("127.0.0.1", daemon.responderPort()))) {
            responder.start();
            responder.put("abc", "abc.key-authorization");
            EdgeClient.Response r = EdgeClient.http(daemon.httpPort(), "any.example.test",
                    "/.well-known/acme-challenge/abc");
            assertEquals(200, r.status());
            assertEquals("abc.key-authorization", r.body());
        }
    }

    @Test
    void a_fragment_with_a_syntax_error_is_rejected_naming_file_and_line_and_the_old_version_keeps_serving()
            throws Exception {
        backend = new TestBackend("v1");
        daemon.drop("app", cfg("be_app", backend.port()), "app.example.test be_app\n");
        await("v1 served", LIMIT, () -> daemon.serves("app.example.test", "v1"));

        daemon.drop("app", "backend be_app\n    balance roundrobin\n    sevrer s1 127.0.0.1:1\n",
                "app.example.test be_app\n");
        FragmentStatus rejected = daemon.awaitFragmentState("app", "rejected", LIMIT);
        String error = daemon.rejection("app");
        assertTrue(error.startsWith("Fragment 'app' was rejected: app.cfg line 3: haproxy -c refused the config."),
                error);
        assertTrue(error.contains("[app.cfg:3] : unknown keyword 'sevrer' in 'backend' section"), error);
        assertTrue(error.contains("the previous version of 'app' keeps serving"), error);
        assertEquals(error.strip(), rejected.error().strip());
        assertTrue(Files.exists(fixture.state().resolve("rejected/app.cfg")));
        assertTrue(daemon.serves("app.example.test", "v1"), "the last good config keeps serving");
        assertTrue(Files.readString(fixture.state().resolve("fragments/app.cfg"))
                .contains("server s1 127.0.0.1:" + backend.port()));
    }

    @Test
    void a_map_naming_an_unknown_backend_is_rejected_and_nothing_changes() throws Exception {
        String before = Files.readString(fixture.state().resolve("haproxy/haproxy.cfg"));
        daemon.drop("typo", cfg("be_typo", 1), "typo.example.test be_tpyo\n");
        daemon.awaitFragmentState("typo", "rejected", LIMIT);
        assertTrue(daemon.rejection("typo").contains("typo.map line 1: domain 'typo.example.test' is routed to"
                + " backend 'be_tpyo', which no fragment defines"), daemon.rejection("typo"));
        assertEquals(before, Files.readString(fixture.state().resolve("haproxy/haproxy.cfg")));
        assertFalse(Files.exists(fixture.state().resolve("fragments/typo.cfg")));
    }

    @Test
    void remove_makes_the_host_unknown_again() throws Exception {
        backend = new TestBackend("bye");
        daemon.drop("gone", cfg("be_gone", backend.port()), "gone.example.test be_gone\n");
        await("served", LIMIT, () -> daemon.serves("gone.example.test", "bye"));
        daemon.dropRemoval("gone");
        await("unknown again", LIMIT, () -> EdgeClient.statusOrMinusOne(daemon.httpsPort(), "gone.example.test", "/",
                true) == 404);
        assertFalse(Files.exists(fixture.state().resolve("fragments/gone.cfg")));
        await("status forgets the removed fragment", LIMIT, () -> daemon.fragment("gone").isEmpty());
    }

    @Test
    void a_burst_of_50_drops_ends_with_all_50_live_in_a_few_coalesced_reloads() throws Exception {
        backend = new TestBackend("burst");
        // The harness's 1 s interval: that the throttle lets the first change through and coalesces the rest into one
        // trailing reload is ReloadRouteTest's, on a clock that does not wait; here the real pipeline must not reload
        // per drop (50 drops would be 50 reloads).
        long reloadsBefore = daemon.status().reloads();
        for (int i = 0; i < 50; i++) {
            daemon.drop("f" + i, cfg("be_f" + i, backend.port()), "f" + i + ".example.test be_f" + i + "\n");
        }
        await("all 50 live", Duration.ofSeconds(60), () -> {
            try {
                return daemon.status().fragments().entrySet().stream()
                        .filter(f -> f.getKey().matches("f\\d+") && f.getValue().state().equals("live")).count() == 50;
            } catch (IOException e) {
                return false;
            }
        });
        for (int i = 0; i < 50; i++) {
            assertTrue(daemon.serves("f" + i + ".example.test", "burst"), "f" + i);
        }
        long reloads = daemon.status().reloads() - reloadsBefore;
        assertTrue(reloads >= 1 && reloads <= 10, "reloads: " + reloads);
    }

    @Test
    void a_file_still_being_written_in_place_is_not_consumed_half_way() throws Exception {
        backend = new TestBackend("complete");
        Files.writeString(daemon.inbox().resolve("slow.map"), "slow.example.test be_slow\n");
        // Like scp: the file is created under its final name and filled in pieces, with pauses longer than the
        // settle time: the writer has not closed it, so it is not complete (inotify). Consumed half-way, it would be
        // a backend without a server (503) or be rejected.
        Path cfg = daemon.inbox().resolve("slow.cfg");
        try (OutputStream out = Files.newOutputStream(cfg)) {
            String[] pieces = {"backend be_slow\n", "    balance roundrobin\n", "    server s1 127.0.0.1:",
                    backend.port() + "\n"};
            for (String piece : pieces) {
                out.write(piece.getBytes());
                out.flush();
                Thread.sleep(400); // simulates the network between the pieces; longer than the settle time
                assertTrue(daemon.fragment("slow").isEmpty(), "nothing consumed while the copy runs");
            }
        }
        await("the complete fragment is served", LIMIT, () -> daemon.serves("slow.example.test", "complete"));
        assertFalse(Files.exists(fixture.state().resolve("rejected/slow.error")));
    }

    @Test
    void a_restart_keeps_everything_and_applies_what_arrived_while_it_was_down() throws Exception {
        backend = new TestBackend("persistent");
        daemon.drop("keep", cfg("be_keep", backend.port()), "keep.example.test be_keep\n");
        await("served", LIMIT, () -> daemon.serves("keep.example.test", "persistent"));
        daemon.stop();
        await("haproxy stopped with the daemon", LIMIT,
                () -> EdgeClient.statusOrMinusOne(daemon.httpsPort(), "keep.example.test", "/", true) == -1);

        daemon.drop("late", cfg("be_late", backend.port()), "late.example.test be_late\n");
        daemon.start();
        await("the old fragment is served again", LIMIT, () -> daemon.serves("keep.example.test", "persistent"));
        await("the fragment dropped while down is served", LIMIT, () -> daemon.serves("late.example.test", "persistent"));
        assertEquals("live", daemon.awaitFragmentState("keep", "live", LIMIT).state());
    }
}
