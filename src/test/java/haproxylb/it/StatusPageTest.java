package haproxylb.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import haproxylb.common.AtomicFiles;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.HeadlessChromium;
import haproxylb.support.TestCertificates;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The status page of the real daemon, on its management port: the JSON it renders, and the page itself rendered by
 * a real headless Chromium with the example fragment live, a rejected fragment and an operator's certificate.
 */
class StatusPageTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String BROKEN_CFG = "backend be_broken\n    sevrer app 127.0.0.1:9\n";

    /** One daemon for the class: the tests only read what it shows. */
    @RegisterExtension
    static final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    Path scratch;
    private static DaemonHarness daemon;

    @BeforeAll
    static void startWithExampleAndRejectedFragments() throws Exception {
        daemon = fixture.daemon().start();
        daemon.drop("hello", Files.readString(Path.of("conf/examples/hello.cfg")),
                Files.readString(Path.of("conf/examples/hello.map")));
        daemon.drop("broken", BROKEN_CFG, "broken.example.test be_broken\n");
        daemon.awaitFragmentState("hello", "live", LIMIT);
        daemon.awaitFragmentState("broken", "rejected", LIMIT);
        TestCertificates.Leaf leaf = TestCertificates.rootCa("Status Root").intermediate("Status CA")
                .leaf("hello.example.test", "www.hello.example.test")
                .validity(Instant.now().minus(Duration.ofDays(30)), Duration.ofDays(90)).issue();
        AtomicFiles.writePrivate(fixture.state().resolve("cert-inbox/hello.pem"), leaf.pem().getBytes());
        await("the operator's certificate in the status", LIMIT, () -> {
            try {
                return daemon.status().certificates().toString().contains("expires");
            } catch (Exception e) {
                return false;
            }
        });
    }

    private static String url(String path) {
        return "http://127.0.0.1:" + daemon.managementPort() + path;
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void the_page_data_has_the_live_and_rejected_fragments_domains_reloads_and_haproxy_processes() throws Exception {
        HttpResponse<String> response = get("/observe/status/data.json");
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("application/json", response.headers().firstValue("content-type").orElse(""));
        JsonNode data = JSON.readTree(response.body());
        assertEquals("live", data.at("/status/fragments/hello/state").asText());
        assertEquals("rejected", data.at("/status/fragments/broken/state").asText());
        assertTrue(data.at("/status/fragments/broken/error").asText().contains("broken.cfg line 2"),
                data.at("/status/fragments/broken/error").asText());
        assertEquals("[\"hello.example.test\",\"www.hello.example.test\"]", data.at("/domains/hello").toString());
        assertTrue(data.at("/domains/broken").isMissingNode(), "a rejected fragment routes nothing");
        assertEquals("covered", data.at("/status/certificates/hello.example.test/state").asText());
        assertTrue(data.at("/reloads").size() >= 1, "the start of haproxy at least: " + data.at("/reloads"));
        assertTrue(data.at("/haproxy/up").asBoolean(), data.at("/haproxy").toString());
        assertEquals(1, data.at("/haproxy/processes/workers").size(), data.at("/haproxy").toString());
        assertTrue(data.at("/haproxy/processes/masterPid").asLong() > 0);
    }

    @Test
    void the_page_is_served_from_a_fixed_set_of_files_and_nothing_else() throws Exception {
        HttpResponse<String> page = get("/observe/status/");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/html"));
        assertTrue(page.body().contains("<script src=\"status.js\""), "no CDN, the page's own script");
        assertFalse(page.body().contains("https://"), "nothing loaded from elsewhere");
        assertEquals(200, get("/observe/status/status.js").statusCode());
        assertEquals(200, get("/observe/status/status.css").statusCode());
        assertEquals(404, get("/observe/status/application.properties").statusCode());
        assertEquals(404, get("/observe/status/..%2F..%2Fstatus.json").statusCode());
        assertTrue(get("/observe/health").body().contains("\"status\""), "health is still served beside it");
    }

    @Test
    void chromium_renders_the_example_fragment_live_the_rejected_one_with_its_error_and_a_screenshot() throws Exception {
        HeadlessChromium chromium = new HeadlessChromium(scratch);

        String dom = chromium.dumpDom(url("/observe/status/"));
        assertTrue(dom.contains("data-state=\"loaded\""), "the page's script rendered the data:\n" + dom);
        assertTrue(dom.contains("<tr data-fragment=\"hello\" data-state=\"live\">"), dom);
        assertTrue(dom.contains("<td>hello.example.test, www.hello.example.test</td>"), dom);
        assertTrue(dom.contains("<tr data-fragment=\"broken\" data-state=\"rejected\">"), dom);
        assertTrue(dom.contains("data-rejected=\"broken\""), dom);
        assertTrue(dom.contains("unknown keyword 'sevrer'"), "haproxy's own words in the rejection:\n" + dom);
        assertTrue(dom.contains("aria-label=\"certificate expiry timeline\""), dom);
        assertTrue(dom.contains("<tr data-domain=\"hello.example.test\">"), dom);
        assertTrue(dom.contains("aria-label=\"reload timeline\""), dom);
        assertTrue(dom.contains(">worker</td>"), "haproxy's processes:\n" + dom);

        Path png = Path.of("target/status-page.png");
        chromium.screenshot(url("/observe/status/"), png, 1280, 1600);
        byte[] bytes = Files.readAllBytes(png);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(bytes, 4));
        assertTrue(bytes.length > 20_000, "a rendered page, not a blank one: " + bytes.length + " bytes");
    }
}
