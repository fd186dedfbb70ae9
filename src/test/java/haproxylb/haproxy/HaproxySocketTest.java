package haproxylb.haproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wire protocol and the time limit, against fake UNIX-socket servers; real haproxy is in RuntimeApiTest. */
class HaproxySocketTest {
    @TempDir
    Path dir;

    private final ExecutorService servers = Executors.newCachedThreadPool();

    @AfterEach
    void stopServers() throws InterruptedException {
        servers.shutdownNow();
        assertTrue(servers.awaitTermination(5, TimeUnit.SECONDS), "fake servers did not stop");
    }

    @Test
    void a_socket_that_never_answers_fails_within_about_the_timeout() throws Exception {
        Path path = dir.resolve("silent.sock");
        try (ServerSocketChannel server = listen(path)) {
            CompletableFuture<SocketChannel> accepted = new CompletableFuture<>();
            servers.submit(() -> accepted.complete(server.accept()));
            HaproxySocket socket = new HaproxySocket(path, Duration.ofMillis(300));

            long start = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> socket.command("show info"));
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;

            assertInstanceOf(SocketTimeoutException.class, e);
            assertTrue(elapsedMs >= 290 && elapsedMs < 2_000, "gave up after " + elapsedMs + " ms");
            assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("'show info'"), e.getMessage());
            accepted.get(5, TimeUnit.SECONDS).close();
        }
    }

    @Test
    void a_missing_socket_fails_naming_the_path_and_the_command() {
        Path path = dir.resolve("nobody.sock");
        HaproxySocket socket = new HaproxySocket(path, Duration.ofSeconds(1));

        IOException e = assertThrows(IOException.class, () -> socket.command("show proc"));

        assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("'show proc'"), e.getMessage());
    }

    @Test
    void a_payload_goes_in_haproxys_form_and_the_answer_is_read_until_close() throws Exception {
        Path path = dir.resolve("echo.sock");
        try (ServerSocketChannel server = listen(path)) {
            Future<String> received = serveOnce(server, "Transaction created for certificate /c.pem!\n\n");
            HaproxySocket socket = new HaproxySocket(path, Duration.ofSeconds(5));

            String answer = socket.commandWithPayload("set ssl cert /c.pem", "-----BEGIN X-----\nabc\n-----END X-----");

            assertEquals("Transaction created for certificate /c.pem!\n\n", answer);
            assertEquals("set ssl cert /c.pem <<\n-----BEGIN X-----\nabc\n-----END X-----\n\n",
                    received.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void a_long_answer_arrives_whole() throws Exception {
        Path path = dir.resolve("big.sock");
        String big = "0x55d0 key value\n".repeat(100_000);
        try (ServerSocketChannel server = listen(path)) {
            Future<String> received = serveOnce(server, big);

            String answer = new HaproxySocket(path, Duration.ofSeconds(10)).command("show map /m.map");

            assertEquals(big.length(), answer.length());
            assertEquals("show map /m.map\n", received.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void a_payload_with_an_empty_line_is_refused_before_anything_is_sent() {
        HaproxySocket socket = new HaproxySocket(dir.resolve("unused.sock"), Duration.ofSeconds(1));

        assertThrows(IllegalArgumentException.class, () -> socket.commandWithPayload("set ssl cert /c.pem", "a\n\nshow info"));
        assertThrows(IllegalArgumentException.class, () -> socket.command("show info\nshow proc"));
    }

    private static ServerSocketChannel listen(Path path) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        return server;
    }

    /** Accepts one connection, reads the request until the client half-closes, answers, closes. */
    private Future<String> serveOnce(ServerSocketChannel server, String answer) {
        return servers.submit(() -> {
            try (SocketChannel client = server.accept()) {
                ByteArrayOutputStream request = new ByteArrayOutputStream();
                ByteBuffer buffer = ByteBuffer.allocate(4096);
                while (client.read(buffer) >= 0) {
                    request.write(buffer.array(), 0, buffer.position());
                    buffer.clear();
                }
                ByteBuffer out = ByteBuffer.wrap(answer.getBytes(StandardCharsets.UTF_8));
                while (out.hasRemaining()) {
                    client.write(out);
                }
                return request.toString(StandardCharsets.UTF_8);
            }
        });
    }
}
