package haproxylb.it;

import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.time.Duration;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** How the Host header picks a backend, in both matching modes, through the real haproxy. */
class HostRoutingTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final String CFG = """
            backend be_exact
                http-request return status 200 content-type text/plain string exact
            backend be_wild
                http-request return status 200 content-type text/plain string wild
            """;

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    private String route(String host) throws IOException {
        EdgeClient.Response r = EdgeClient.https(daemon.httpsPort(), host, "/");
        return r.status() == 200 ? r.body() : Integer.toString(r.status());
    }

    @Test
    void exact_hosts_win_over_wildcards_which_cover_one_label() throws Exception {
        daemon = fixture.daemon().start();
        daemon.drop("routing", CFG, "www.example.test be_exact\n*.example.test be_wild\n");
        await("routing live", LIMIT, () -> EdgeClient.statusOrMinusOne(daemon.httpsPort(), "www.example.test", "/",
                true) == 200);
        assertEquals("exact", route("www.example.test"));
        assertEquals("exact", route("WWW.Example.Test:443"));
        assertEquals("wild", route("shop.example.test"));
        assertEquals("wild", route("Shop.Example.test:8443"));
        assertEquals("exact", route("www.example.test."), "a fully qualified name (browsers send the dot as typed)");
        assertEquals("wild", route("shop.example.test.:443"));
        assertEquals("404", route("a.b.example.test"), "a wildcard covers one label only");
        assertEquals("404", route("example.test"), "the wildcard does not cover its parent");
    }

    @Test
    void the_old_roles_map_dom_matching_is_available_behind_a_setting() throws Exception {
        daemon = fixture.daemon().with("lb.routing.match", "dom").start();
        daemon.drop("routing", CFG, "shop.example.test be_exact\nexample.test be_wild\n");
        await("routing live", LIMIT, () -> EdgeClient.statusOrMinusOne(daemon.httpsPort(), "shop.example.test", "/",
                true) == 200);
        assertEquals("exact", route("shop.example.test"));
        assertEquals("exact", route("cdn.shop.example.test"), "map_dom: a key matches its subdomains");
        assertEquals("wild", route("www.example.test"));
        assertEquals("wild", route("EXAMPLE.test:443"));
        assertEquals("404", route("example.org"));
    }
}
