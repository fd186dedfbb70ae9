package haproxylb.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's ZooKeeper (package zookeeper: /usr/share/java/zookeeper.jar) as a standalone server on a loopback port with
 * a data directory of its own: the real server class, no root, no systemd. {@link #stop} and {@link #start} again keep
 * the port and the data, as an outage does.
 */
public final class ZooKeeperServer implements AutoCloseable {
    private static final String CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar";
    private final Path dir;
    private final int port;
    private Process process;

    private ZooKeeperServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    public static ZooKeeperServer start(Path dir) throws IOException {
        if (!Files.exists(Path.of("/usr/share/java/zookeeper.jar"))) {
            throw new IllegalStateException("Debian's zookeeper package is not installed (apt-get install zookeeper)");
        }
        ZooKeeperServer server = new ZooKeeperServer(dir, HaproxyProcess.freePort());
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("zoo.cfg"), "tickTime=500\ndataDir=" + dir.resolve("data")
                + "\nclientPort=" + server.port + "\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                + "4lw.commands.whitelist=ruok\nmaxSessionTimeout=60000\n");
        server.start();
        return server;
    }

    public synchronized void start() throws IOException {
        // C1 only: a test's ZooKeeper serves a few hundred requests, its start is most of its CPU time.
        process = new ProcessBuilder(List.of("java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", CLASSPATH, "org.apache.zookeeper.server.ZooKeeperServerMain", dir.resolve("zoo.cfg").toString()))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("zookeeper.log").toFile()))
                .start();
        ClusterNode.await("ZooKeeper to answer ruok on " + port, Duration.ofSeconds(30), this::ok);
    }

    /** Stops the server (SIGTERM), as an outage; start() brings it back with the same port and data. */
    public synchronized void stop() throws InterruptedException {
        if (process != null) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
            process = null;
        }
    }

    public String connectString() {
        return "127.0.0.1:" + port;
    }

    public boolean ok() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            s.setSoTimeout(1000);
            OutputStream out = s.getOutputStream();
            out.write("ruok".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).equals("imok");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
