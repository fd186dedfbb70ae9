package haproxylb.storage;

/** Lets the storage implementations of other packages (ZooKeeper's, in cluster) run the {@link StorageContract}. */
public abstract class StorageContractAccess extends StorageContract {
    @Override
    final Storage storage() throws Exception {
        return createStorage();
    }

    /** A fresh, empty storage. */
    protected abstract Storage createStorage() throws Exception;
}
