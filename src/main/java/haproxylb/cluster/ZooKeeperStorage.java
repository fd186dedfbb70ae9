package haproxylb.cluster;

import haproxylb.storage.Storage;

import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.zookeeper.KeeperException;

/**
 * {@link Storage} in ZooKeeper, through Curator: key {@code a/b} is the znode {@code /a/b} under the client's
 * namespace (lb.cluster.chroot); znodes get the client's ACLs (digest, creator only, when an auth file is set).
 * Locks are Curator's {@link InterProcessMutex}, released by ZooKeeper when the holder's session ends.
 * An unreachable ZooKeeper is an IOException, so callers keep their local copy and retry.
 */
public final class ZooKeeperStorage implements Storage {
    private final CuratorFramework client;
    private final AtomicLong writes = new AtomicLong();

    public ZooKeeperStorage(CuratorFramework client) {
        this.client = client;
    }

    /** ZooKeeper write requests sent (creates, sets, deletes): the cost of publishing. */
    public long writes() {
        return writes.get();
    }

    private static String path(String key) {
        return "/" + Storage.checkedKey(key);
    }

    @Override
    public Optional<byte[]> load(String key) throws IOException {
        String path = path(key);
        try {
            return Optional.of(client.getData().forPath(path));
        } catch (KeeperException.NoNodeException none) {
            return Optional.empty();
        } catch (Exception e) {
            throw unreachable("read " + key, e);
        }
    }

    @Override
    public void store(String key, byte[] value) throws IOException {
        String path = path(key);
        try {
            writes.incrementAndGet();
            client.create().orSetData().creatingParentsIfNeeded().forPath(path, value);
        } catch (Exception e) {
            throw unreachable("write " + key, e);
        }
    }

    /** Creates the value unless there is one already (false then): the first of several nodes wins. */
    public boolean storeIfAbsent(String key, byte[] value) throws IOException {
        String path = path(key);
        try {
            writes.incrementAndGet();
            client.create().creatingParentsIfNeeded().forPath(path, value);
            return true;
        } catch (KeeperException.NodeExistsException taken) {
            return false;
        } catch (Exception e) {
            throw unreachable("write " + key, e);
        }
    }

    @Override
    public void delete(String key) throws IOException {
        String path = path(key);
        try {
            writes.incrementAndGet();
            client.delete().quietly().forPath(path);
        } catch (Exception e) {
            throw unreachable("delete " + key, e);
        }
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        String path = path(prefix);
        try {
            return client.getChildren().forPath(path).stream().sorted().toList();
        } catch (KeeperException.NoNodeException none) {
            return List.of();
        } catch (Exception e) {
            throw unreachable("list " + prefix, e);
        }
    }

    @Override
    public Lock lock(String key) throws IOException {
        InterProcessMutex mutex = new InterProcessMutex(client, "/locks/" + Storage.checkedKey(key));
        try {
            mutex.acquire();
        } catch (Exception e) {
            throw unreachable("lock " + key, e);
        }
        return () -> {
            try {
                mutex.release();
            } catch (Exception e) {
                throw unreachable("unlock " + key, e);
            }
        };
    }

    private IOException unreachable(String what, Exception e) {
        if (e instanceof KeeperException.NoAuthException) {
            return new IOException("ZooKeeper refused to " + what + ": not authorised (lb.cluster.auth-file must hold"
                    + " the same user:password on every node)", e);
        }
        return new IOException("ZooKeeper (" + client.getZookeeperClient().getCurrentConnectionString()
                + ") could not " + what + ": " + e, e);
    }
}
