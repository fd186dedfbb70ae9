package haproxylb.haproxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * One of haproxy's UNIX CLI sockets (the admin stats socket or the master socket), spoken to directly: a socat
 * process costs ~20 ms per command, this costs well under a millisecond (../shared/BASELINE.md).
 *
 * <p>Non-interactive mode: every call opens a connection, sends one command and reads until haproxy closes.
 * The whole exchange (connect, send, answer) must finish within the timeout, so a wedged haproxy cannot hang
 * the daemon. Instances hold no connection and are safe to share between threads.
 */
public final class HaproxySocket {
    private final Path socketPath;
    private final Duration timeout;

    public HaproxySocket(Path socketPath, Duration timeout) {
        this.socketPath = Objects.requireNonNull(socketPath, "socketPath");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
    }

    public Path path() {
        return socketPath;
    }

    /** Opens a connection, sends one command line, reads the whole answer until haproxy closes, returns it. */
    public String command(String line) throws IOException {
        requireSingleLine(line);
        return exchange(line, line + "\n");
    }

    /**
     * haproxy 2.6 payload form: {@code "line <<\n" + payload + "\n\n"} (the empty line ends the payload).
     * A payload containing an empty line is refused: haproxy would end the payload there and run the rest
     * as commands. Error messages name only the command line, never the payload (it may hold a private key).
     */
    public String commandWithPayload(String line, String payload) throws IOException {
        requireSingleLine(line);
        Objects.requireNonNull(payload, "payload");
        String body = payload.endsWith("\n") ? payload : payload + "\n";
        if (body.startsWith("\n") || body.contains("\n\n")) {
            throw new IllegalArgumentException("payload for '" + line + "' contains an empty line, which would end it early");
        }
        return exchange(line, line + " <<\n" + body + "\n");
    }

    private String exchange(String line, String request) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
             Selector selector = Selector.open()) {
            channel.configureBlocking(false);
            SelectionKey key = channel.register(selector, 0);
            if (!channel.connect(UnixDomainSocketAddress.of(socketPath))) {
                while (!channel.finishConnect()) {
                    await(key, SelectionKey.OP_CONNECT, deadline, line, "connecting");
                }
            }
            ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                if (channel.write(out) == 0) {
                    await(key, SelectionKey.OP_WRITE, deadline, line, "sending");
                }
            }
            // Half-close like socat does: should the command be incomplete, haproxy sees EOF and closes
            // instead of waiting for more input until our deadline.
            channel.shutdownOutput();
            return readUntilClosed(channel, key, deadline, line);
        } catch (InterruptedIOException e) {
            throw e; // our own timeout or interrupt: its message already names the socket and the command
        } catch (IOException e) {
            throw new IOException(describe(line) + " failed: " + e, e);
        }
    }

    private String readUntilClosed(SocketChannel channel, SelectionKey key, long deadline, String line)
            throws IOException {
        ByteArrayOutputStream answer = new ByteArrayOutputStream();
        ByteBuffer in = ByteBuffer.allocate(16 * 1024);
        while (true) {
            int n = channel.read(in);
            if (n < 0) {
                return answer.toString(StandardCharsets.UTF_8);
            }
            if (n == 0) {
                await(key, SelectionKey.OP_READ, deadline, line, "waiting for the answer");
                continue;
            }
            answer.write(in.array(), 0, in.position());
            in.clear();
        }
    }

    private void await(SelectionKey key, int op, long deadline, String line, String phase) throws IOException {
        long remainingMillis = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
        key.interestOps(op);
        // select(0) would block forever, so an exhausted budget is checked before selecting.
        int ready = remainingMillis == 0 ? 0 : key.selector().select(remainingMillis);
        key.selector().selectedKeys().clear();
        // An interrupted thread returns from select at once; without this check it would spin until the deadline.
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException(describe(line) + " interrupted while " + phase);
        }
        if (ready == 0 && System.nanoTime() - deadline >= 0) {
            throw new SocketTimeoutException(describe(line) + " timed out after " + timeout.toMillis() + " ms " + phase);
        }
    }

    private String describe(String line) {
        return "haproxy socket " + socketPath + ": command '" + line + "'";
    }

    private static void requireSingleLine(String line) {
        Objects.requireNonNull(line, "line");
        if (line.isBlank() || line.indexOf('\n') >= 0 || line.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("a command must be one non-empty line: '" + line + "'");
        }
    }
}
