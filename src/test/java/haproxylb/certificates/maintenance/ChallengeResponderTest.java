package haproxylb.certificates.maintenance;

import haproxylb.certificates.issuer.ChallengeResponder;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

/** The HTTP-01 responder, and the reachability check that probes it through a stand-in for haproxy. */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ChallengeResponderTest {
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private ChallengeResponder responder;
    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @BeforeEach
    void startResponder() throws IOException {
        responder = new ChallengeResponder(new InetSocketAddress("127.0.0.1", 0));
        responder.start();
    }

    @AfterEach
    void stopEverything() throws Exception {
        for (AutoCloseable c : cleanup) {
            c.close();
        }
        responder.stop();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + responder.port() + path))
                .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    // ------------------------------------------------------------------ responder

    @Test
    void a_registered_token_is_answered_with_its_key_authorization_as_plain_text() throws Exception {
        responder.put("tok_en-123", "tok_en-123.thumbprint");
        HttpResponse<String> r = get("/.well-known/acme-challenge/tok_en-123");
        assertEquals(200, r.statusCode());
        assertEquals("tok_en-123.thumbprint", r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
    }

    @Test
    void unknown_tokens_other_paths_and_malformed_tokens_get_404() throws Exception {
        responder.put("known", "known.x");
        assertEquals(404, get("/.well-known/acme-challenge/unknown").statusCode());
        assertEquals(404, get("/.well-known/acme-challenge/").statusCode());
        assertEquals(404, get("/").statusCode());
        assertEquals(404, get("/known").statusCode());
        assertEquals(404, get("/.well-known/acme-challenge/known/extra").statusCode());
        assertEquals(404, get("/.well-known/acme-challenge/kn%2Fown").statusCode());
    }

    @Test
    void a_removed_token_is_no_longer_answered() throws Exception {
        responder.put("gone", "gone.x");
        assertEquals(200, get("/.well-known/acme-challenge/gone").statusCode());
        responder.remove("gone");
        assertEquals(404, get("/.well-known/acme-challenge/gone").statusCode());
        assertEquals(0, responder.size());
    }

    @Test
    void tokens_outside_the_acme_alphabet_are_refused() {
        for (String bad : new String[] {"", "a/b", "a.b", "../x", "a b", "ä", null}) {
            assertThrows(IllegalArgumentException.class, () -> responder.put(bad, "x"), String.valueOf(bad));
        }
    }

    @Test
    void only_get_and_head_are_answered() throws Exception {
        responder.put("tok", "tok.x");
        HttpResponse<String> post = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + responder.port()
                + "/.well-known/acme-challenge/tok")).POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(405, post.statusCode());
        HttpResponse<Void> head = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + responder.port()
                + "/.well-known/acme-challenge/tok")).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding());
        assertEquals(200, head.statusCode());
    }

    @Test
    void probe_tokens_are_random_valid_tokens_with_a_known_answer() throws Exception {
        String a = responder.registerProbe();
        String b = responder.registerProbe();
        assertNotEquals(a, b);
        assertTrue(ChallengeResponder.isValidToken(a));
        String answer = responder.answer(a).orElseThrow();
        assertEquals(answer, get("/.well-known/acme-challenge/" + a).body());
        responder.remove(a);
        responder.remove(b);
        assertEquals(Optional.empty(), responder.answer(a));
    }

    @Test
    void concurrent_puts_removes_and_requests_are_consistent() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                String token = "t" + i;
                results.add(pool.submit(() -> {
                    responder.put(token, token + ".ka");
                    HttpResponse<String> r = get("/.well-known/acme-challenge/" + token);
                    boolean ok = r.statusCode() == 200 && r.body().equals(token + ".ka");
                    responder.remove(token);
                    return ok && get("/.well-known/acme-challenge/" + token).statusCode() == 404;
                }));
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get());
            }
            assertEquals(0, responder.size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void the_responder_binds_only_the_configured_loopback_address_and_can_restart() throws Exception {
        assertEquals("127.0.0.1", responder.address().getAddress().getHostAddress());
        int port = responder.port();
        assertTrue(port > 0);
        responder.stop();
        ChallengeResponder again = new ChallengeResponder(new InetSocketAddress("127.0.0.1", port));
        again.start();
        try {
            assertEquals(port, again.port());
        } finally {
            again.stop();
        }
        responder.start();
    }

    // ------------------------------------------------------------------ reachability check

    private static ReachabilityCheck.Resolver fakeDns(Map<String, List<String>> records) {
        return host -> {
            List<String> ips = records.get(host);
            if (ips == null) {
                throw new UnknownHostException(host);
            }
            List<InetAddress> out = new ArrayList<>();
            for (String ip : ips) {
                out.add(InetAddress.getByName(ip));
            }
            return out;
        };
    }

    private ReachabilityCheck check(Map<String, List<String>> dns, boolean loopbackIsHere, int haproxyPort) {
        return new ReachabilityCheck(ReachabilityCheck.parseAddresses(List.of("203.0.113.7", "2001:db8::7")),
                loopbackIsHere, new InetSocketAddress("127.0.0.1", haproxyPort), responder, fakeDns(dns), Duration.ofSeconds(2));
    }

    @Test
    void a_domain_resolving_elsewhere_is_reported_with_the_foreign_address() {
        ReachabilityCheck c = check(Map.of("elsewhere.test", List.of("198.51.100.1")), false, 1);
        String reason = c.check("elsewhere.test").orElseThrow();
        assertTrue(reason.contains("198.51.100.1"), reason);
        assertTrue(reason.contains("203.0.113.7"), reason);
    }

    @Test
    void a_domain_with_one_foreign_address_among_ours_is_reported() {
        ReachabilityCheck c = check(Map.of("mixed.test", List.of("203.0.113.7", "2001:db8::99")), false, 1);
        String reason = c.checkResolution("mixed.test").orElseThrow();
        assertTrue(reason.contains("2001:db8:0:0:0:0:0:99") || reason.contains("2001:db8::99"), reason);
    }

    @Test
    void a_domain_that_does_not_resolve_is_reported() {
        ReachabilityCheck c = check(Map.of(), false, 1);
        assertTrue(c.check("nxdomain.test").orElseThrow().contains("does not resolve"));
    }

    @Test
    void a_domain_resolving_to_our_addresses_passes_the_dns_step() {
        ReachabilityCheck c = check(Map.of("ours.test", List.of("203.0.113.7", "2001:db8::7")), false, 1);
        assertEquals(Optional.empty(), c.checkResolution("ours.test"));
    }

    @Test
    void loopback_counts_as_here_only_when_the_setting_says_so() {
        Map<String, List<String>> dns = Map.of("local.test", List.of("127.0.0.1"));
        assertTrue(check(dns, false, 1).checkResolution("local.test").isPresent());
        assertEquals(Optional.empty(), check(dns, true, 1).checkResolution("local.test"));
    }

    @Test
    void the_probe_succeeds_through_a_proxy_that_routes_the_domain_to_the_responder() throws Exception {
        TinyProxy proxy = new TinyProxy(responder.port(), Set.of("routed.test"));
        cleanup.add(proxy);
        ReachabilityCheck c = check(Map.of("routed.test", List.of("127.0.0.1")), true, proxy.port());
        assertEquals(Optional.empty(), c.check("routed.test"));
        assertEquals("routed.test", proxy.lastHost.get("last"));
        assertEquals(0, responder.size(), "the probe token is removed afterwards");
    }

    @Test
    void the_probe_reports_a_domain_the_proxy_does_not_route_to_the_responder() throws Exception {
        TinyProxy proxy = new TinyProxy(responder.port(), Set.of("routed.test"));
        cleanup.add(proxy);
        ReachabilityCheck c = check(Map.of("unrouted.test", List.of("127.0.0.1")), true, proxy.port());
        String reason = c.check("unrouted.test").orElseThrow();
        assertTrue(reason.contains("HTTP 503"), reason);
        assertEquals(0, responder.size());
    }

    @Test
    void the_probe_reports_a_server_that_answers_200_with_something_else() throws Exception {
        TinyProxy other = new TinyProxy(-1, Set.of());
        cleanup.add(other);
        ReachabilityCheck c = check(Map.of("other.test", List.of("127.0.0.1")), true, other.port());
        String reason = c.checkProbe("other.test").orElseThrow();
        assertTrue(reason.contains("not with the probe token"), reason);
    }

    @Test
    void the_probe_reports_a_closed_http_port() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closed = s.getLocalPort();
        }
        ReachabilityCheck c = check(Map.of("closed.test", List.of("127.0.0.1")), true, closed);
        String reason = c.checkProbe("closed.test").orElseThrow();
        assertTrue(reason.toLowerCase(Locale.ROOT).contains("refused"), reason);
        assertEquals(0, responder.size());
    }

    @Test
    void balancer_addresses_must_be_ip_literals() {
        assertThrows(IllegalArgumentException.class, () -> ReachabilityCheck.parseAddresses(List.of("lb.example.com")));
        assertEquals(2, ReachabilityCheck.parseAddresses(List.of("192.0.2.1", " [2001:db8::1] ", "")).size());
    }

    @Test
    void chunked_and_content_length_responses_are_parsed() throws Exception {
        ReachabilityCheck.Response chunked = ReachabilityCheck.parse(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        assertEquals("abcdefg", chunked.body());
        ReachabilityCheck.Response sized = ReachabilityCheck.parse(("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\nabcdef")
                .getBytes(StandardCharsets.US_ASCII));
        assertEquals(404, sized.status());
        assertEquals("abc", sized.body());
    }

    /**
     * Stands in for haproxy's HTTP frontend: requests whose Host is routed go to the responder (raw bytes both
     * ways), others get 503; with a negative target port it is "some other web server" answering 200 hello.
     */
    static final class TinyProxy implements AutoCloseable {
        final ServerSocket server;
        final Map<String, String> lastHost = new ConcurrentHashMap<>();
        final AtomicInteger connections = new AtomicInteger();
        private final Thread thread;

        TinyProxy(int targetPort, Set<String> routed) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            thread = new Thread(() -> {
                while (!server.isClosed()) {
                    try (Socket client = server.accept()) {
                        connections.incrementAndGet();
                        client.setSoTimeout(5000);
                        byte[] request = readHead(client.getInputStream());
                        String head = new String(request, StandardCharsets.ISO_8859_1);
                        String host = "";
                        for (String line : head.split("\r\n")) {
                            if (line.toLowerCase(Locale.ROOT).startsWith("host:")) {
                                host = line.substring(5).trim();
                            }
                        }
                        lastHost.put("last", host);
                        OutputStream out = client.getOutputStream();
                        if (targetPort < 0) {
                            out.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                                    .getBytes(StandardCharsets.US_ASCII));
                        } else if (routed.contains(host)) {
                            try (Socket upstream = new Socket("127.0.0.1", targetPort)) {
                                upstream.setSoTimeout(5000);
                                upstream.getOutputStream().write(request);
                                upstream.getOutputStream().flush();
                                upstream.getInputStream().transferTo(out);
                            }
                        } else {
                            out.write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                    .getBytes(StandardCharsets.US_ASCII));
                        }
                        out.flush();
                    } catch (IOException e) {
                        // closed or client gone
                    }
                }
            }, "tiny-proxy");
            thread.setDaemon(true);
            thread.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private static byte[] readHead(InputStream in) throws IOException {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int b;
            int state = 0;
            while ((b = in.read()) >= 0) {
                buf.write(b);
                state = (b == '\r' && (state == 0 || state == 2)) ? state + 1 : (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
                if (state == 4) {
                    break;
                }
            }
            return buf.toByteArray();
        }

        @Override
        public void close() throws Exception {
            server.close();
            thread.join(2000);
        }
    }
}
