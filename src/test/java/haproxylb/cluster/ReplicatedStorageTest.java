package haproxylb.cluster;

import haproxylb.storage.LocalStorage;
import haproxylb.support.ZooKeeperFixture;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The cluster's certificate state against Debian's real ZooKeeper: written through to ZooKeeper and a private local
 * copy, one value for the whole cluster, and the local copy when ZooKeeper is down.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReplicatedStorageTest {
    @RegisterExtension
    static final ZooKeeperFixture server = new ZooKeeperFixture();
    private ZooKeeperStorage zookeeper;
    @TempDir
    Path nodes;

    @BeforeAll
    void connect() throws Exception {
        zookeeper = new ZooKeeperStorage(server.client("/replicated"));
    }

    private ReplicatedStorage node(String name) {
        return new ReplicatedStorage(zookeeper, new LocalStorage(nodes.resolve(name)));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Optional<String> text(Optional<byte[]> value) {
        return value.map(b -> new String(b, StandardCharsets.UTF_8));
    }

    @Test
    void what_one_node_stores_another_reads_and_keeps_as_a_private_local_copy() throws Exception {
        node("a").store("acme/x/account.key", bytes("KEY"));

        assertEquals(Optional.of("KEY"), text(node("b").load("acme/x/account.key")));
        Path copy = nodes.resolve("b/acme/x/account.key");
        assertEquals("KEY", Files.readString(copy));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)));
    }

    @Test
    void a_value_only_a_joining_node_has_is_published_but_never_over_the_clusters() throws Exception {
        Files.createDirectories(nodes.resolve("alone/acme/y"));
        Files.writeString(nodes.resolve("alone/acme/y/account.key"), "MINE");
        Files.createDirectories(nodes.resolve("late/acme/y"));
        Files.writeString(nodes.resolve("late/acme/y/account.key"), "LATE");

        assertEquals(Optional.of("MINE"), text(node("alone").load("acme/y/account.key")));
        assertEquals(Optional.of("MINE"), text(node("late").load("acme/y/account.key")),
                "the cluster keeps the first account; the late node's own is replaced");
        assertEquals("MINE", Files.readString(nodes.resolve("late/acme/y/account.key")));
    }

    @Test
    void with_zookeeper_down_a_node_reads_its_local_copy() throws Exception {
        node("c").store("certificates/backoff.json", bytes("{\"version\":1}"));
        server.server().stop();
        try {
            assertEquals(Optional.of("{\"version\":1}"), text(node("c").load("certificates/backoff.json")));
        } finally {
            server.server().start();
        }
    }
}
