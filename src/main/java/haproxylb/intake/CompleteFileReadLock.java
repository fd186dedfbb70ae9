package haproxylb.intake;

import java.io.File;
import java.io.IOException;
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
        PosixFileAttributes entry = attributes(path);
        if (entry == null) {
            // Gone since the poll listed it: most often the intake took it as the partner of a half it had, in the
            // same batch. Its exchange still runs (the intake finds nothing to claim), because the poll's last file
            // is where the intake commits its batch.
            return true;
        }
        // A link, FIFO or device gets no close-write event, ever: taken at once, the intake refuses it unread.
        return !isPlainFile(path, entry) || isComplete(path, entry);
    }

    /**
     * Whether {@code path} is a plain file known complete now. The intake asks this of a half's partner before taking
     * the partner in the same batch; a link, FIFO or device is never taken that way, but by its own exchange, which
     * refuses it.
     */
    public boolean isCompletePlainFile(Path path) throws IOException {
        PosixFileAttributes entry = attributes(path);
        return entry != null && isPlainFile(path, entry) && isComplete(path, entry);
    }

    /** The entry's own attributes (never a link's target); null when it is gone. */
    private static PosixFileAttributes attributes(Path path) throws IOException {
        try {
            return Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return null;
        }
    }

    private static boolean isPlainFile(Path path, PosixFileAttributes entry) throws IOException {
        return entry.isRegularFile() && (Integer) Files.getAttribute(path, "unix:nlink", LinkOption.NOFOLLOW_LINKS) == 1;
    }

    private boolean isComplete(Path path, PosixFileAttributes entry) {
        return switch (events.state(path.getFileName().toString())) {
            case COMPLETE -> true;
            case BEING_WRITTEN -> false;
            case UNKNOWN -> clock.millis() - entry.lastModifiedTime().toMillis() >= settleMillis;
        };
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
