package haproxylb.it;

import haproxylb.status.OldWorkers;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Issue 11, item 7: a request that never finishes (a WebSocket, a long download) keeps the worker that took it alive
 * after a reload. With a reload a minute they piled up; lb.haproxy.max-old-reloads caps them, and the status counts
 * them and their connections.
 */
class OldWorkersTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;
    private ServerSocket silentBackend;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private final List<Socket> clients = new ArrayList<>();

    @AfterEach
    void stop() throws IOException {
        for (Socket s : clients) {
            s.close();
        }
        if (silentBackend != null) {
            silentBackend.close();
        }
        for (Socket s : accepted) {
            s.close();
        }
    }

    @Test
    void old_workers_holding_long_requests_are_capped_and_counted() throws Exception {
        silentBackend = new ServerSocket();
        silentBackend.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread acceptor = new Thread(() -> {
            while (!silentBackend.isClosed()) {
                try {
                    accepted.add(silentBackend.accept()); // reads nothing, answers nothing: a request that never ends
                } catch (IOException closed) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();

        daemon = fixture.daemon().with("lb.reload.min-interval", "200")
                .with("lb.haproxy.max-old-reloads", "1").with("lb.haproxy.watchdog", "200").start();
        for (int version = 1; version <= 4; version++) {
            long live = daemon.status().liveGeneration();
            // A comment changes the config text, so each version is a reload.
            daemon.drop("slow", "backend be_slow\n    # version " + version + "\n    server s1 127.0.0.1:"
                    + silentBackend.getLocalPort() + "\n", "slow.example.test be_slow\n");
            await("version " + version + " live", LIMIT, () -> liveGeneration() > live);
            int backendConnections = accepted.size();
            clients.add(hangingRequest(daemon.httpsPort(), "slow.example.test"));
            await("the request reached the backend", LIMIT, () -> accepted.size() > backendConnections);
        }
        // Four workers took a request each; three were replaced. Without the cap all three would hold on for
        // timeout server (2 minutes); with it, only the one replaced by the last reload is left.
        await("one old worker left", LIMIT, () -> oldWorkers().workers() == 1);
        assertEquals(1, oldWorkers().connections(), "the old worker's one request is counted");
        assertEquals(-1, clients.get(0).getInputStream().read(), "the first worker was stopped: its client closed");
    }

    private long liveGeneration() {
        try {
            return daemon.status().liveGeneration();
        } catch (IOException e) {
            return -1;
        }
    }

    private OldWorkers oldWorkers() {
        try {
            OldWorkers w = daemon.status().oldWorkers();
            return w == null ? OldWorkers.NONE : w;
        } catch (IOException e) {
            return OldWorkers.NONE;
        }
    }

    private static Socket hangingRequest(int port, String host) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] c, String a) {}

            @Override
            public void checkServerTrusted(X509Certificate[] c, String a) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, new SecureRandom());
        SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(new Socket("127.0.0.1", port), host, port, true);
        ssl.setSoTimeout((int) LIMIT.toMillis());
        ssl.startHandshake();
        ssl.getOutputStream().write(("GET /stream HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        ssl.getOutputStream().flush();
        return ssl;
    }
}
