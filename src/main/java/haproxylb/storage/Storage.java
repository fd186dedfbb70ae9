package haproxylb.storage;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Where a node keeps what it must not lose, in the spirit of certmagic's {@code Storage}: values by key, a key being
 * a relative path of {@code /}-separated segments ({@code fragments/app.cfg}). The local state directory is the
 * default ({@link LocalStorage}); a cluster keeps its authoritative copy in ZooKeeper ({@code ZooKeeperStorage}).
 * Every store replaces the value whole: a reader sees the old value or the new one, never a mix.
 */
public interface Storage {

    /** The value, or empty when there is none. */
    Optional<byte[]> load(String key) throws IOException;

    /** Creates or replaces the value, durably (written through, not cached) before returning. */
    void store(String key, byte[] value) throws IOException;

    /**
     * Like {@link #store}, for a secret (a private key): where the storage is a file, only its owner may read it. A
     * storage that protects every value alike (ZooKeeper's ACLs) stores it as any other.
     */
    default void storePrivate(String key, byte[] value) throws IOException {
        store(key, value);
    }

    /** Where {@code key} is kept, for messages that must name it (a file, a znode). */
    default String where(String key) {
        return checkedKey(key);
    }

    /** Removes the value; nothing happens when there is none. */
    void delete(String key) throws IOException;

    /** Names (last segment only) of the values directly under {@code prefix} (a folder key), sorted. */
    List<String> list(String prefix) throws IOException;

    /**
     * Holds {@code key}'s lock until the returned handle is closed: one holder at a time among everyone sharing this
     * storage (threads of this process; with ZooKeeper, every node).
     */
    Lock lock(String key) throws IOException;

    /** A held lock. */
    interface Lock extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    /** Keys are relative paths without "." or ".." segments, so no key reaches outside the storage's root. */
    static String checkedKey(String key) {
        if (key == null || key.isEmpty() || key.startsWith("/") || key.endsWith("/")) {
            throw new IllegalArgumentException("storage key '" + key + "' must be a relative path like a/b");
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("storage key '" + key + "' has an empty, '.' or '..' segment");
            }
        }
        return key;
    }
}
