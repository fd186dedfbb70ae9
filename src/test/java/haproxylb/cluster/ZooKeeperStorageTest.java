package haproxylb.cluster;

import haproxylb.support.ZooKeeperFixture;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.zookeeper.KeeperException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The storage contract against Debian's real ZooKeeper server, and the digest ACLs that keep other clients out. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ZooKeeperStorageTest extends haproxylb.storage.StorageContractAccess {
    private static final AtomicInteger CHROOTS = new AtomicInteger();
    @RegisterExtension
    static final ZooKeeperFixture zookeeper = new ZooKeeperFixture();
    private final List<CuratorFramework> clients = new ArrayList<>();
    @TempDir
    Path conf;

    @AfterEach
    void closeClients() {
        clients.forEach(CuratorFramework::close);
        clients.clear();
    }

    private ClusterSettings settings(String chroot, Optional<Path> auth) {
        return zookeeper.settings(chroot, "test", auth);
    }

    private CuratorFramework open(ClusterSettings s) throws IOException {
        CuratorFramework client = ZooKeeperConnection.open(s);
        clients.add(client);
        return client;
    }

    @Override
    protected haproxylb.storage.Storage createStorage() throws Exception {
        return new ZooKeeperStorage(open(settings("/contract-" + CHROOTS.incrementAndGet(), Optional.empty())));
    }

    private Path authFile(String credentials, String mode) throws IOException {
        Path file = conf.resolve("zookeeper.auth");
        Files.writeString(file, credentials + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }

    @Test
    void with_an_auth_file_no_other_zookeeper_client_can_read_or_overwrite_what_the_cluster_stores() throws Exception {
        ClusterSettings s = settings("/acl-test", Optional.of(authFile("lb:s3cret", "rw-------")));
        ZooKeeperStorage storage = new ZooKeeperStorage(open(s));
        storage.store("fragments/app", "private".getBytes(StandardCharsets.UTF_8));
        assertArrayEquals("private".getBytes(StandardCharsets.UTF_8), storage.load("fragments/app").orElseThrow());

        CuratorFramework stranger = CuratorFrameworkFactory.newClient(zookeeper.connectString(), new RetryOneTime(100));
        clients.add(stranger);
        stranger.start();
        assertThrows(KeeperException.NoAuthException.class,
                () -> stranger.getData().forPath("/acl-test/fragments/app"));
        assertThrows(KeeperException.NoAuthException.class,
                () -> stranger.setData().forPath("/acl-test/fragments/app", new byte[0]));

        CuratorFramework wrongPassword = CuratorFrameworkFactory.builder().connectString(zookeeper.connectString())
                .retryPolicy(new RetryOneTime(100)).authorization("digest", "lb:guess".getBytes()).build();
        clients.add(wrongPassword);
        wrongPassword.start();
        assertThrows(KeeperException.NoAuthException.class,
                () -> wrongPassword.getData().forPath("/acl-test/fragments/app"));

        ZooKeeperStorage sameCluster = new ZooKeeperStorage(open(s));
        assertEquals(Optional.of("private"), sameCluster.load("fragments/app").map(String::new),
                "another node with the same auth file reads it");
    }

    @Test
    void an_auth_file_others_can_read_is_refused_with_the_reason() throws Exception {
        ClusterSettings s = settings("/acl-test", Optional.of(authFile("lb:s3cret", "rw-r--r--")));
        IOException e = assertThrows(IOException.class, () -> ZooKeeperConnection.open(s));
        assertTrue(e.getMessage().contains("readable by others") && e.getMessage().contains("chmod 600"),
                e.getMessage());
    }

    @Test
    void an_auth_file_without_user_and_password_is_refused_naming_the_line() throws Exception {
        ClusterSettings s = settings("/acl-test", Optional.of(authFile("just-a-password", "rw-------")));
        IOException e = assertThrows(IOException.class, () -> ZooKeeperConnection.open(s));
        assertTrue(e.getMessage().contains("line 1: expected user:password"), e.getMessage());
    }

    @Test
    void with_zookeeper_down_a_call_fails_with_an_io_error_naming_zookeeper_instead_of_hanging() throws Exception {
        ZooKeeperStorage storage = (ZooKeeperStorage) createStorage();
        storage.store("x/y", new byte[] {1});
        zookeeper.server().stop();
        try {
            long start = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> storage.load("x/y"));
            assertTrue(e.getMessage().contains("ZooKeeper"), e.getMessage());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(30).toNanos(), "gave up in bounded time");
        } finally {
            zookeeper.server().start();
        }
    }
}
