package haproxylb.it;

import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11, items 5 and 6 against the real haproxy: HTTP/2 on the HTTPS side (ALPN, a setting turns it off), and the
 * access log with the Host header written by the daemon from haproxy's output (supervise mode), haproxy's own
 * messages kept beside it.
 */
class EdgeProtocolsTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final String CFG = "backend be_local\n    http-request return status 200 content-type text/plain"
            + " string local-ok\n";

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    @Test
    void https_speaks_http2_by_default_and_every_request_lands_in_the_access_log_with_its_host() throws Exception {
        daemon = fixture.daemon().start();
        daemon.drop("local", CFG, "localhost be_local\n");
        await("localhost served", LIMIT, () -> daemon.serves("localhost", "local-ok"));
        assertEquals("h2", negotiated(daemon.httpsPort()));

        HttpResponse<String> response = http2Client().send(HttpRequest.newBuilder(
                URI.create("https://localhost:" + daemon.httpsPort() + "/h2-path")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(HttpClient.Version.HTTP_2, response.version());
        assertEquals("local-ok", response.body());

        Path accessLog = fixture.state().resolve("log/access.0.log");
        await("the HTTP/2 request in the access log", LIMIT, () -> read(accessLog).contains("/h2-path HTTP/2.0\""));
        String line = read(accessLog).lines().filter(l -> l.contains("/h2-path")).findFirst().orElseThrow();
        assertTrue(line.contains(" https~ be_local/<NOSRV> ") && line.contains(" 200 ") && line.contains("{localhost:"),
                "httplog with frontend, backend, status and the Host header: " + line);
        assertTrue(read(fixture.state().resolve("run/haproxy.log")).contains("[NOTICE]"),
                "haproxy's own messages are kept");
    }

    @Test
    void an_empty_alpn_setting_keeps_https_to_http1() throws Exception {
        daemon = fixture.daemon().with("lb.edge.alpn", "").start();
        assertEquals("", negotiated(daemon.httpsPort()));
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }

    /** The protocol the server picks when offered h2 and http/1.1 ("" when it picks none). */
    private static String negotiated(int port) throws Exception {
        try (SSLSocket ssl = (SSLSocket) trustAll().getSocketFactory().createSocket(new Socket("127.0.0.1", port),
                "localhost", port, true)) {
            SSLParameters params = ssl.getSSLParameters();
            params.setApplicationProtocols(new String[] {"h2", "http/1.1"});
            ssl.setSSLParameters(params);
            ssl.startHandshake();
            return ssl.getApplicationProtocol();
        }
    }

    private static HttpClient http2Client() throws Exception {
        System.setProperty("jdk.internal.httpclient.disableHostnameVerification", "true");
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).sslContext(trustAll())
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static SSLContext trustAll() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509ExtendedTrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] c, String a, Socket s) {}

            @Override
            public void checkServerTrusted(X509Certificate[] c, String a, Socket s) {}

            @Override
            public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) {}

            @Override
            public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) {}

            @Override
            public void checkClientTrusted(X509Certificate[] c, String a) {}

            @Override
            public void checkServerTrusted(X509Certificate[] c, String a) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, new SecureRandom());
        return ctx;
    }
}
