package haproxylb.common;

import org.apache.camel.Exchange;
import org.apache.camel.component.file.GenericFile;
import org.apache.camel.component.file.GenericFileEndpoint;
import org.apache.camel.component.file.GenericFileExclusiveReadLockStrategy;
import org.apache.camel.component.file.GenericFileOperations;
import org.apache.camel.component.file.strategy.GenericFileProcessStrategySupport;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The inbox consumers' process strategy: Camel's {@code delete: true}, except that on commit it deletes only the
 * entry the exchange was made of (the same {@link FileVersion}), never a newer file of the same name. The intake
 * beans claim (move out) what they take at once, but the exchange completes later (the seda queue to the assembly
 * hands its completion over), and by then an operator may have sent the next version under that name: Camel's own
 * strategy deleted it unread
 * (SameNameRedropTest). What is still there and is the same file (an entry the bean refused: a link, a FIFO, a bad
 * name) is deleted as before, so it does not sit in the inbox for ever.
 */
public final class InboxDeleteStrategy extends GenericFileProcessStrategySupport<File> {
    private static final String TAKEN = "LbInboxFileVersion";

    public InboxDeleteStrategy(GenericFileExclusiveReadLockStrategy<File> readLock) {
        setExclusiveReadLockStrategy(Objects.requireNonNull(readLock, "readLock"));
    }

    @Override
    public boolean begin(GenericFileOperations<File> operations, GenericFileEndpoint<File> endpoint, Exchange exchange,
                         GenericFile<File> file) throws Exception {
        boolean locked = super.begin(operations, endpoint, exchange, file);
        if (locked) {
            FileVersion taken = versionOf(Path.of(file.getAbsoluteFilePath()));
            if (taken != null) {
                exchange.setProperty(TAKEN, taken);
            }
        }
        return locked;
    }

    @Override
    public void commit(GenericFileOperations<File> operations, GenericFileEndpoint<File> endpoint, Exchange exchange,
                       GenericFile<File> file) throws Exception {
        super.commit(operations, endpoint, exchange, file); // releases the read lock
        Path path = Path.of(file.getAbsoluteFilePath());
        FileVersion now = versionOf(path);
        if (now != null && now.equals(exchange.getProperty(TAKEN, FileVersion.class))) {
            Files.deleteIfExists(path);
        }
    }

    /** The version of the file at {@code path} (of a link itself); null when it is gone. */
    private static FileVersion versionOf(Path path) throws IOException {
        try {
            return FileVersion.of(path, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return null;
        }
    }
}
