package haproxylb.cluster;

import haproxylb.storage.LocalStorage;
import haproxylb.storage.Storage;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The certificate state of a cluster (ACME account, backoff, rate-limit ledgers): authoritative in ZooKeeper under
 * {@code state/KEY}, with a local copy in the state directory at the single node's place (so the files are where
 * they always were, and the node decides on them while ZooKeeper is unreachable). Local copies are written 0600: one
 * of them is the account's private key. A value ZooKeeper does not have yet but the local copy does (a node that ran
 * alone before it joined) is published, unless another node published one first: then that one wins, so the cluster
 * keeps one ACME account.
 */
public final class ReplicatedStorage implements Storage {
    private static final String FOLDER = "state/";

    private final ZooKeeperStorage zookeeper;
    private final LocalStorage local;

    public ReplicatedStorage(ZooKeeperStorage zookeeper, LocalStorage local) {
        this.zookeeper = zookeeper;
        this.local = local;
    }

    @Override
    public Optional<byte[]> load(String key) throws IOException {
        Optional<byte[]> shared;
        try {
            shared = zookeeper.load(FOLDER + key);
        } catch (IOException unreachable) {
            return local.load(key);
        }
        if (shared.isEmpty()) {
            Optional<byte[]> mine = local.load(key);
            if (mine.isEmpty()) {
                return Optional.empty();
            }
            if (zookeeper.storeIfAbsent(FOLDER + key, mine.get())) {
                return mine;
            }
            shared = zookeeper.load(FOLDER + key);
        }
        if (shared.isPresent() && !Arrays.equals(shared.get(), local.load(key).orElse(null))) {
            local.storePrivate(key, shared.get());
        }
        return shared;
    }

    /** ZooKeeper first: a value only this node has is no value of the cluster's (the store fails, the caller retries). */
    @Override
    public void store(String key, byte[] value) throws IOException {
        zookeeper.store(FOLDER + key, value);
        local.storePrivate(key, value);
    }

    @Override
    public void delete(String key) throws IOException {
        zookeeper.delete(FOLDER + key);
        local.delete(key);
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        return zookeeper.list(FOLDER + prefix);
    }

    @Override
    public Lock lock(String key) throws IOException {
        return zookeeper.lock(FOLDER + key);
    }

    @Override
    public String where(String key) {
        return "ZooKeeper " + FOLDER + key + " (local copy " + local.where(key) + ")";
    }
}
