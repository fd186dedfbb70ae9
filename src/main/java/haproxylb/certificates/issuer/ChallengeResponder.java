package haproxylb.certificates.issuer;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's own HTTP-01 responder. The generated haproxy config routes {@code /.well-known/acme-challenge/}
 * of every HTTP request to this server, which answers {@code GET /.well-known/acme-challenge/<token>} with the
 * key authorization registered for the token (200, text/plain) and 404 for anything else. It binds to a
 * loopback address only; haproxy is the one facing the world.
 *
 * <p>Besides real ACME tokens it hands out <em>probe</em> tokens ({@link #registerProbe()}) with a known
 * answer, so the daemon can verify that a domain's port 80 reaches this responder through haproxy before it
 * asks the CA to validate anything. Thread-safe.
 */
public final class ChallengeResponder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChallengeResponder.class);
    public static final String PATH_PREFIX = "/.well-known/acme-challenge/";
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]+");
    private static final String PROBE_PREFIX = "haproxy-lb-probe.";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final InetSocketAddress bind;
    private final ConcurrentHashMap<String, String> answers = new ConcurrentHashMap<>();
    private volatile ChallengeTokens shared = ChallengeTokens.NONE;
    private final AtomicInteger requests = new AtomicInteger();
    private HttpServer server;
    private ExecutorService executor;

    public ChallengeResponder(InetSocketAddress bind) {
        this.bind = Objects.requireNonNull(bind, "bind");
    }

    /** Starts listening; port 0 in the bind address picks a free port ({@link #port()} tells which). */
    public synchronized void start() throws IOException {
        if (server != null) {
            return;
        }
        HttpServer s = HttpServer.create(bind, 50);
        ExecutorService ex = Executors.newFixedThreadPool(4, daemonThreads());
        s.setExecutor(ex);
        s.createContext("/", this::handle);
        s.start();
        server = s;
        executor = ex;
        LOG.info("ACME challenge responder listening on {}:{}", s.getAddress().getHostString(), s.getAddress().getPort());
    }

    public synchronized void stop() {
        if (server == null) {
            return;
        }
        server.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server = null;
        executor = null;
    }

    @Override
    public void close() {
        stop();
    }

    public synchronized boolean isRunning() {
        return server != null;
    }

    /** The port actually bound (after {@link #start()}), or the configured port when not running. */
    public synchronized int port() {
        return server != null ? server.getAddress().getPort() : bind.getPort();
    }

    /** The address actually bound (after {@link #start()}). */
    public synchronized InetSocketAddress address() {
        return server != null ? server.getAddress() : bind;
    }

    /** In a cluster: ACME tokens are published to every node, and tokens of other nodes answered (issue 10). */
    public void shareWith(ChallengeTokens tokens) {
        this.shared = Objects.requireNonNull(tokens, "tokens");
    }

    /**
     * Serves {@code keyAuthorization} for {@code token} until {@link #remove(String)}; in a cluster, on every node. A
     * token that cannot be published fails here, before the challenge is triggered: the CA might reach another node.
     */
    public void put(String token, String keyAuthorization) {
        checkToken(token);
        Objects.requireNonNull(keyAuthorization, "keyAuthorization");
        answers.put(token, keyAuthorization);
        try {
            shared.publish(token, keyAuthorization);
        } catch (IOException e) {
            answers.remove(token);
            throw new java.io.UncheckedIOException("HTTP-01 token not published to the cluster: " + e.getMessage(), e);
        }
    }

    public void remove(String token) {
        if (token != null && answers.remove(token) != null) {
            shared.withdraw(token);
        }
    }

    /** What the responder answers for {@code token}, if anything: its own tokens, else the cluster's. */
    public Optional<String> answer(String token) {
        if (token == null) {
            return Optional.empty();
        }
        String own = answers.get(token);
        return own != null ? Optional.of(own) : isValidToken(token) ? shared.lookup(token) : Optional.empty();
    }

    /**
     * Registers a random probe token and returns it; its answer is {@link #answer(String)}. The caller removes it
     * with {@link #remove(String)} when done.
     */
    public String registerProbe() {
        String token = randomToken();
        answers.put(token, PROBE_PREFIX + randomToken());
        return token;
    }

    /** Number of tokens currently served (ACME and probe). */
    public int size() {
        return answers.size();
    }

    /** Requests handled since start (for tests and diagnostics). */
    public int requestCount() {
        return requests.get();
    }

    public static boolean isValidToken(String token) {
        return token != null && !token.isEmpty() && token.length() <= 256 && TOKEN.matcher(token).matches();
    }

    private static void checkToken(String token) {
        if (!isValidToken(token)) {
            throw new IllegalArgumentException("invalid ACME challenge token '" + token + "': must match [A-Za-z0-9_-]+");
        }
    }

    private static String randomToken() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private void handle(HttpExchange exchange) throws IOException {
        requests.incrementAndGet();
        try (exchange) {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getRawPath();
            String answer = null;
            if (path != null && path.startsWith(PATH_PREFIX)) {
                String token = path.substring(PATH_PREFIX.length());
                if (isValidToken(token)) {
                    answer = answer(token).orElse(null);
                }
            }
            boolean head = "HEAD".equals(method);
            if (!"GET".equals(method) && !head) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "method not allowed\n", false);
            } else if (answer == null) {
                LOG.debug("challenge responder: 404 for {} {} (Host {})", method, path,
                        exchange.getRequestHeaders().getFirst("Host"));
                send(exchange, 404, "not found\n", head);
            } else {
                LOG.debug("challenge responder: answered {} (Host {})", path, exchange.getRequestHeaders().getFirst("Host"));
                send(exchange, 200, answer, head);
            }
        }
    }

    private static void send(HttpExchange exchange, int status, String body, boolean head) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.US_ASCII);
        exchange.getResponseHeaders().set("Content-Type", "text/plain");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        if (head) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static ThreadFactory daemonThreads() {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "acme-challenge-responder-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
