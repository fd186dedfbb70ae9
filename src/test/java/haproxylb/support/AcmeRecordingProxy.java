package haproxylb.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocket;

/**
 * A loopback HTTPS proxy in front of a {@link PebbleServer} that gives Pebble 2.4 what it lacks and shows what it
 * receives: the directory gains a {@code renewalInfo} endpoint (ARI, RFC 9773, answered here with a window the test
 * sets) and {@code meta.profiles}, so acme4j sends {@code replaces} and {@code profile}; every newOrder payload is
 * recorded ({@link #newOrders()}). It can refuse orders the way a real CA would: an order carrying {@code replaces}
 * with {@code alreadyReplaced} or {@code malformed}, or every order with {@code rateLimited} (with a Retry-After) or any
 * other problem; and it can refuse the nonces of newOrder requests ({@code badNonce}) a given number of times.
 *
 * <p>Requests are forwarded with the proxy's own {@code Host}, from which Pebble builds every URL it hands out and
 * checks every JWS {@code url}: the client only ever talks to the proxy, and the signatures stay valid. Pebble ignores
 * the order fields it does not know. The proxy presents Pebble's listener certificate, so the same trusted CA works.
 */
public final class AcmeRecordingProxy implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String RENEWAL_INFO_PATH = "/renewal-info/";
    private static final String ACME_ERROR = "urn:ietf:params:acme:error:";

    /** What the CA says about renewal: RFC 9773's suggestedWindow, Retry-After and explanationURL. */
    public record AriAnswer(Instant start, Instant end, Duration retryAfter, Optional<String> explanationUrl) {}

    /** A canned refusal. */
    private record Refusal(int status, String type, String detail, boolean onlyWithReplaces, Duration retryAfter) {}

    private final PebbleServer upstream;
    private final HttpsServer server;
    private final ExecutorService executor;
    private final List<JsonNode> newOrders = new CopyOnWriteArrayList<>();
    private final List<String> renewalInfoAsked = new CopyOnWriteArrayList<>();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger noncesToRefuse = new AtomicInteger();
    private final AtomicInteger noncesRefused = new AtomicInteger();
    private volatile Map<String, String> profiles = new LinkedHashMap<>(Map.of(
            "classic", "the usual 90 days", "shortlived", "6 days, no OCSP"));
    private volatile boolean advertiseAri = true;
    private volatile AriAnswer ari;
    private volatile Refusal refusal;
    private volatile Refusal renewalInfoRefusal;
    /** While set, challenge triggers wait for it (an order held in flight); null lets them through. */
    private volatile java.util.concurrent.CountDownLatch challengeGate;
    private final AtomicInteger challengesHeld = new AtomicInteger();

    private AcmeRecordingProxy(PebbleServer upstream, int port) throws IOException {
        this.upstream = upstream;
        this.server = HttpsServer.create(new InetSocketAddress("127.0.0.1", port), 16);
        server.setHttpsConfigurator(new HttpsConfigurator(upstream.listenerServerSslContext()));
        this.executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "acme-recording-proxy");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** A proxy listening on a free port of 127.0.0.1. */
    public static AcmeRecordingProxy start(PebbleServer upstream) {
        return start(upstream, FreePorts.next());
    }

    /** A proxy on {@code port} of 127.0.0.1: the same directory URL again after {@link #close()} (a CA back up). */
    public static AcmeRecordingProxy start(PebbleServer upstream, int port) {
        try {
            return new AcmeRecordingProxy(upstream, port);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the ACME proxy", e);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public String directoryUrl() {
        return base() + "/dir";
    }

    /** The newOrder payloads received, oldest first (refused ones included, but not those refused for their nonce). */
    public List<JsonNode> newOrders() {
        return List.copyOf(newOrders);
    }

    /**
     * Holds every challenge the client triggers (Pebble's {@code POST /chalZ/...}) until {@link #releaseChallenges()}:
     * the order stays in flight, as with a slow CA, so a test can kill the client mid-order.
     */
    public AcmeRecordingProxy holdChallenges() {
        challengeGate = new java.util.concurrent.CountDownLatch(1);
        return this;
    }

    /** Challenge triggers that were held since the proxy started. */
    public int challengesHeld() {
        return challengesHeld.get();
    }

    /** Lets the held challenge triggers (and every later one) through to Pebble. */
    public void releaseChallenges() {
        java.util.concurrent.CountDownLatch gate = challengeGate;
        challengeGate = null;
        if (gate != null) {
            gate.countDown();
        }
    }

    /** The ARI certificate ids asked about ({@code renewalInfo/<id>}). */
    public List<String> renewalInfoAsked() {
        return List.copyOf(renewalInfoAsked);
    }

    /** How many orders were refused with a canned problem. */
    public int refusals() {
        return refused.get();
    }

    /**
     * The next {@code times} newOrder requests get {@code badNonce} (400, with a fresh nonce), as from a CA whose nodes
     * do not share nonces: they reach neither Pebble nor {@link #newOrders()}.
     */
    public AcmeRecordingProxy refuseNewOrderNonces(int times) {
        noncesToRefuse.set(times);
        return this;
    }

    /** How many newOrder requests were refused for their nonce. */
    public int noncesRefused() {
        return noncesRefused.get();
    }

    /** The profiles the directory lists (name → description); empty: no {@code profiles} in {@code meta}. */
    public AcmeRecordingProxy profiles(Map<String, String> offered) {
        this.profiles = new LinkedHashMap<>(offered);
        return this;
    }

    /** Whether the directory lists {@code renewalInfo} (without it acme4j refuses to send {@code replaces}). */
    public AcmeRecordingProxy advertiseAri(boolean on) {
        this.advertiseAri = on;
        return this;
    }

    /** The window every renewalInfo request is answered with; null: the default (a window in ten years). */
    public AcmeRecordingProxy answerAri(AriAnswer answer) {
        this.ari = answer;
        return this;
    }

    /** Orders that carry {@code replaces} get this ACME error ({@code alreadyReplaced}, {@code malformed}). */
    public AcmeRecordingProxy refuseReplaces(String errorType, String detail) {
        int status = "alreadyReplaced".equals(errorType) ? 409 : 400;
        this.refusal = new Refusal(status, errorType, detail, true, null);
        return this;
    }

    /** Every order gets {@code rateLimited} (429) with this Retry-After. */
    public AcmeRecordingProxy refuseWithRateLimit(String detail, Duration retryAfter) {
        this.refusal = new Refusal(429, "rateLimited", detail, false, retryAfter);
        return this;
    }

    /**
     * Every order gets this ACME error, without Retry-After: e.g. Let's Encrypt's paused names, {@code rateLimited}
     * (429) or {@code unauthorized} (403) with a detail linking to an unpause page.
     */
    public AcmeRecordingProxy refuseOrders(int status, String errorType, String detail) {
        this.refusal = new Refusal(status, errorType, detail, false, null);
        return this;
    }

    /** Every renewalInfo request gets {@code rateLimited} (429) with this Retry-After. */
    public AcmeRecordingProxy refuseRenewalInfo(String detail, Duration retryAfter) {
        this.renewalInfoRefusal = new Refusal(429, "rateLimited", detail, false, retryAfter);
        return this;
    }

    /** Orders (and renewalInfo requests) are forwarded (answered) again, whatever their nonce. */
    public AcmeRecordingProxy refuseNothing() {
        this.refusal = null;
        noncesToRefuse.set(0);
        this.renewalInfoRefusal = null;
        return this;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    // ---------------------------------------------------------------- handling

    private String base() {
        return "https://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
            String path = ex.getRequestURI().getRawPath()
                    + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery());
            byte[] body = ex.getRequestBody().readAllBytes();
            if (path.startsWith(RENEWAL_INFO_PATH)) {
                answerRenewalInfo(ex, path.substring(RENEWAL_INFO_PATH.length()));
                return;
            }
            java.util.concurrent.CountDownLatch gate = challengeGate;
            if (gate != null && method.equals("POST") && path.startsWith("/chalZ/")) {
                challengesHeld.incrementAndGet();
                try {
                    gate.await(2, java.util.concurrent.TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (method.equals("POST") && path.equals("/order-plz")) {
                if (noncesToRefuse.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    noncesRefused.incrementAndGet();
                    refuse(ex, new Refusal(400, "badNonce", "JWS has an invalid anti-replay nonce", false, null));
                    return;
                }
                JsonNode payload = payloadOf(body);
                newOrders.add(payload);
                Refusal r = refusal;
                if (r != null && (!r.onlyWithReplaces() || payload.hasNonNull("replaces"))) {
                    refused.incrementAndGet();
                    refuse(ex, r);
                    return;
                }
            }
            Upstream.Response response = Upstream.send(upstream, method, path, ex.getRequestHeaders()
                    .getFirst("Content-Type"), body, hostHeader());
            byte[] out = response.body();
            if (method.equals("GET") && path.equals("/dir") && response.status() == 200) {
                out = extendDirectory(out);
            }
            response.headers().forEach((name, values) -> {
                if (!List.of("content-length", "transfer-encoding", "connection", "date").contains(name)) {
                    values.forEach(v -> ex.getResponseHeaders().add(name, v));
                }
            });
            boolean noBody = method.equals("HEAD") || out.length == 0;
            ex.sendResponseHeaders(response.status(), noBody ? -1 : out.length);
            if (!noBody) {
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(out);
                }
            }
        } catch (IOException | RuntimeException e) {
            byte[] msg = ("proxy error: " + e).getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(502, msg.length);
            ex.getResponseBody().write(msg);
        }
    }

    private String hostHeader() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    private byte[] extendDirectory(byte[] body) throws IOException {
        ObjectNode dir = (ObjectNode) JSON.readTree(body);
        if (advertiseAri) {
            dir.put("renewalInfo", base() + RENEWAL_INFO_PATH.substring(0, RENEWAL_INFO_PATH.length() - 1));
        }
        if (!profiles.isEmpty()) {
            ObjectNode meta = dir.has("meta") ? (ObjectNode) dir.get("meta") : dir.putObject("meta");
            ObjectNode p = meta.putObject("profiles");
            profiles.forEach(p::put);
        }
        return JSON.writeValueAsBytes(dir);
    }

    private void answerRenewalInfo(HttpExchange ex, String certId) throws IOException {
        renewalInfoAsked.add(certId);
        Refusal r = renewalInfoRefusal;
        if (r != null) {
            refuse(ex, r);
            return;
        }
        AriAnswer a = ari != null ? ari : new AriAnswer(Instant.now().plus(Duration.ofDays(3650)),
                Instant.now().plus(Duration.ofDays(3651)), Duration.ofHours(6), Optional.empty());
        ObjectNode root = JSON.createObjectNode();
        ObjectNode w = root.putObject("suggestedWindow");
        w.put("start", a.start().toString());
        w.put("end", a.end().toString());
        a.explanationUrl().ifPresent(u -> root.put("explanationURL", u));
        byte[] out = JSON.writeValueAsBytes(root);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.getResponseHeaders().add("Retry-After", Long.toString(a.retryAfter().toSeconds()));
        ex.sendResponseHeaders(200, out.length);
        ex.getResponseBody().write(out);
    }

    private void refuse(HttpExchange ex, Refusal r) throws IOException {
        ObjectNode problem = JSON.createObjectNode();
        problem.put("type", ACME_ERROR + r.type());
        problem.put("detail", r.detail());
        problem.put("status", r.status());
        byte[] out = JSON.writeValueAsBytes(problem);
        ex.getResponseHeaders().add("Content-Type", "application/problem+json");
        freshNonce().ifPresent(n -> ex.getResponseHeaders().add("Replay-Nonce", n));
        if (r.retryAfter() != null) {
            ex.getResponseHeaders().add("Retry-After", Long.toString(r.retryAfter().toSeconds()));
        }
        ex.sendResponseHeaders(r.status(), out.length);
        ex.getResponseBody().write(out);
    }

    /** A nonce Pebble issued, so the client's next request carries one Pebble accepts. */
    private Optional<String> freshNonce() {
        try {
            Upstream.Response r = Upstream.send(upstream, "HEAD", "/nonce-plz", null, new byte[0], hostHeader());
            return Optional.ofNullable(r.headers().get("replay-nonce")).flatMap(v -> v.stream().findFirst());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static JsonNode payloadOf(byte[] jws) throws IOException {
        String payload = JSON.readTree(jws).path("payload").asText("");
        return payload.isEmpty() ? JSON.createObjectNode()
                : JSON.readTree(Base64.getUrlDecoder().decode(payload));
    }

    /** Query-string encoding, for explanation URLs built by tests. */
    public static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /**
     * HTTP/1.0 over TLS to Pebble with a chosen Host header (java.net.http forbids setting it): HTTP/1.0 makes Go
     * answer without chunking and close the connection, so the response is everything until EOF.
     */
    private static final class Upstream {
        record Response(int status, Map<String, List<String>> headers, byte[] body) {}

        static Response send(PebbleServer pebble, String method, String path, String contentType, byte[] body,
                             String host) throws IOException {
            try (SSLSocket socket = (SSLSocket) pebble.listenerSslContext().getSocketFactory()
                    .createSocket("127.0.0.1", pebble.listenPort())) {
                socket.setSoTimeout(10_000);
                StringBuilder head = new StringBuilder();
                head.append(method).append(' ').append(path).append(" HTTP/1.0\r\n");
                head.append("Host: ").append(host).append("\r\n");
                if (contentType != null) {
                    head.append("Content-Type: ").append(contentType).append("\r\n");
                }
                head.append("Content-Length: ").append(body.length).append("\r\n");
                head.append("Connection: close\r\n\r\n");
                OutputStream out = socket.getOutputStream();
                out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                return parse(socket.getInputStream());
            }
        }

        private static Response parse(InputStream in) throws IOException {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all);
            byte[] bytes = all.toByteArray();
            int split = indexOf(bytes, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            if (split < 0) {
                throw new IOException("Pebble's answer has no header end");
            }
            String[] lines = new String(bytes, 0, split, StandardCharsets.ISO_8859_1).split("\r\n");
            int status = Integer.parseInt(lines[0].split(" ")[1]);
            Map<String, List<String>> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.computeIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                            k -> new ArrayList<>()).add(lines[i].substring(colon + 1).trim());
                }
            }
            byte[] body = java.util.Arrays.copyOfRange(bytes, split + 4, bytes.length);
            return new Response(status, headers, body);
        }

        private static int indexOf(byte[] data, byte[] pattern) {
            outer:
            for (int i = 0; i + pattern.length <= data.length; i++) {
                for (int j = 0; j < pattern.length; j++) {
                    if (data[i + j] != pattern[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }
    }
}
