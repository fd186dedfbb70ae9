package haproxylb.certificates.issuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import haproxylb.support.TestCertificates;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.connector.DefaultConnection;
import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.exception.AcmeNetworkException;

/**
 * A CA that goes away in the middle of an answer, played by a loopback socket that sends the status line, the
 * headers and part of the body it announced, then closes: acme4j reads that as an unchecked exception, the
 * connection as the network failure it is.
 */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class CaConnectionTest {

    /** Answers one request with {@code head} and the first {@code sent} bytes of {@code body}, then closes. */
    private static URL cutShort(ServerSocket server, String contentType, String body, int sent) {
        CompletableFuture.runAsync(() -> {
            try (Socket s = server.accept()) {
                InputStream in = s.getInputStream();
                // the request's head ends with an empty line
                for (int state = 0; state < 4; ) {
                    int b = in.read();
                    if (b < 0) {
                        return;
                    }
                    state = (b == '\r' && state % 2 == 0) || (b == '\n' && state % 2 == 1) ? state + 1 : 0;
                }
                byte[] full = body.getBytes(StandardCharsets.US_ASCII);
                OutputStream out = s.getOutputStream();
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: " + contentType + "\r\nContent-Length: " + full.length
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(full, 0, sent);
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try {
            return URI.create("http://127.0.0.1:" + server.getLocalPort() + "/acme/order/1").toURL();
        } catch (java.net.MalformedURLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ServerSocket loopback() throws IOException {
        return new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    private static HttpConnector connector() {
        return new HttpConnector(new NetworkSettings(), HttpClient.newHttpClient());
    }

    private static Session session(ServerSocket server) {
        return new Session(URI.create("http://127.0.0.1:" + server.getLocalPort() + "/dir"));
    }

    private static final String ORDER = "{\"status\": \"pending\", \"identifiers\": [{\"type\": \"dns\", \"value\": "
            + "\"a.example.com\"}], \"authorizations\": [\"https://ca.example/authz/1\"]}";

    @Test
    void a_json_answer_cut_short_is_a_network_failure() throws Exception {
        try (ServerSocket server = loopback(); CaConnection conn = new CaConnection(connector())) {
            conn.sendRequest(cutShort(server, "application/json", ORDER, 20), session(server), null);

            AcmeNetworkException e = assertThrows(AcmeNetworkException.class, conn::readJsonResponse);
            assertInstanceOf(IOException.class, e.getCause());
        }
    }

    @Test
    void acme4j_alone_still_throws_the_unchecked_exception_this_connection_exists_for() throws Exception {
        // if a later acme4j reports this as AcmeNetworkException itself, CaConnection's second correction can go
        try (ServerSocket server = loopback(); DefaultConnection conn = new DefaultConnection(connector())) {
            conn.sendRequest(cutShort(server, "application/json", ORDER, 20), session(server), null);

            assertThrows(UncheckedIOException.class, conn::readJsonResponse);
        }
    }

    @Test
    void a_certificate_chain_cut_short_is_a_network_failure_not_a_shorter_chain() throws Exception {
        TestCertificates.Authority root = TestCertificates.rootCa("Cut Short Root");
        String chain = root.intermediate("Cut Short Intermediate").leaf("a.example.com").issue().certificatesPem();
        int sent = chain.indexOf("-----BEGIN CERTIFICATE-----", 10) + 100;
        try (ServerSocket server = loopback(); CaConnection conn = new CaConnection(connector())) {
            conn.sendRequest(cutShort(server, "application/pem-certificate-chain", chain, sent), session(server), null);

            AcmeNetworkException e = assertThrows(AcmeNetworkException.class, conn::readCertificates);
            assertInstanceOf(IOException.class, e.getCause());
        }
    }

    @Test
    void a_complete_answer_reads_as_before() throws Exception {
        try (ServerSocket server = loopback(); CaConnection conn = new CaConnection(connector())) {
            conn.sendRequest(cutShort(server, "application/json", ORDER, ORDER.length()), session(server), null);

            assertEquals("pending", conn.readJsonResponse().get("status").asString());
        }
        TestCertificates.Authority root = TestCertificates.rootCa("Whole Root");
        TestCertificates.Leaf leaf = root.intermediate("Whole Intermediate").leaf("a.example.com").issue();
        String chain = leaf.certificatesPem();
        try (ServerSocket server = loopback(); CaConnection conn = new CaConnection(connector())) {
            conn.sendRequest(cutShort(server, "application/pem-certificate-chain", chain, chain.length()), session(server),
                    null);

            assertEquals(leaf.leafFirst(), conn.readCertificates());
        }
    }
}
