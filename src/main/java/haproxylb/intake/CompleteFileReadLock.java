package haproxylb.intake;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.time.Clock;

import org.apache.camel.Exchange;
import org.apache.camel.LoggingLevel;
import org.apache.camel.component.file.GenericFile;
import org.apache.camel.component.file.GenericFileEndpoint;
import org.apache.camel.component.file.GenericFileExclusiveReadLockStrategy;
import org.apache.camel.component.file.GenericFileOperations;

/**
 * The inbox consumers' read lock: a file is taken when it is known complete ({@link InboxEvents}: renamed in, or
 * closed by its writer), never while it is known to be written, and, for a file without events, once it has not
 * changed for {@code settle} ms, the only sign there is then. It never waits: a file not ready yet is skipped and looked at again on the next poll, so one slow upload
 * never holds up the others (Camel's "changed" lock sleeps in the poll thread until the file settles). Only the
 * file's attributes are read here, never its content, and never through a symbolic link.
 */
public final class CompleteFileReadLock implements GenericFileExclusiveReadLockStrategy<File>, AutoCloseable {
    private final InboxEvents events;
    private final long settleMillis;
    private final Clock clock;

    public CompleteFileReadLock(InboxEvents events, long settleMillis, Clock clock) {
        this.events = events;
        this.settleMillis = settleMillis;
        this.clock = clock;
    }

    @Override
    public boolean acquireExclusiveReadLock(GenericFileOperations<File> operations, GenericFile<File> file,
                                            Exchange exchange) throws Exception {
        Path path = file.getFile().toPath();
        PosixFileAttributes entry;
        try {
            entry = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return false;
        }
        if (!entry.isRegularFile() || (Integer) Files.getAttribute(path, "unix:nlink", LinkOption.NOFOLLOW_LINKS) > 1) {
            // A link, FIFO or device gets no close-write event, ever: taken at once, the intake refuses it unread.
            return true;
        }
        switch (events.state(path.getFileName().toString())) {
            case COMPLETE -> {
                return true;
            }
            case BEING_WRITTEN -> {
                return false;
            }
            case UNKNOWN -> { }
        }
        return clock.millis() - entry.lastModifiedTime().toMillis() >= settleMillis;
    }

    @Override
    public void prepareOnStartup(GenericFileOperations<File> operations, GenericFileEndpoint<File> endpoint) {
        // nothing to clean: this lock leaves no marker files
    }

    @Override
    public void releaseExclusiveReadLockOnAbort(GenericFileOperations<File> operations, GenericFile<File> file,
                                                Exchange exchange) {
        // nothing held
    }

    @Override
    public void releaseExclusiveReadLockOnRollback(GenericFileOperations<File> operations, GenericFile<File> file,
                                                   Exchange exchange) {
        // nothing held
    }

    @Override
    public void releaseExclusiveReadLockOnCommit(GenericFileOperations<File> operations, GenericFile<File> file,
                                                 Exchange exchange) {
        // nothing held
    }

    @Override
    public void setTimeout(long timeout) {
        // never waits
    }

    @Override
    public void setCheckInterval(long checkInterval) {
        // never waits
    }

    @Override
    public void setReadLockLoggingLevel(LoggingLevel level) {
        // logs nothing
    }

    @Override
    public void setMarkerFiler(boolean markerFile) {
        // no marker files
    }

    @Override
    public void setDeleteOrphanLockFiles(boolean deleteOrphanLockFiles) {
        // no marker files
    }

    @Override
    public void close() {
        events.close();
    }
}
