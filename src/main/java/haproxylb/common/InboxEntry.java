package haproxylb.common;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A file someone dropped into an inbox, taken over by the daemon before a byte of it is read. Whoever may write an
 * inbox may put anything there: a symbolic link to a private key, a hard link to another user's file, a FIFO that
 * blocks whoever opens it, a device. So an entry is
 * <ol>
 *   <li>looked at without following links ({@code lstat}): only a regular file with one link goes on; anything else
 *       is refused, and the entry (the link, the FIFO, never what it points to) removed;</li>
 *   <li>claimed: renamed into a directory only the daemon may write ({@code rename(2)} moves the entry itself and
 *       opens nothing), so nobody can swap it between the check and the read; there it is looked at again and must
 *       be the same inode, still a regular file with one link;</li>
 *   <li>opened with {@code O_NOFOLLOW} and read up to a bound, never more, whatever it grew to meanwhile.</li>
 * </ol>
 * Refusals name the entry and what it is, never anything it contains or points to.
 */
public final class InboxEntry {
    private final Path claimed;
    private final long size;

    private InboxEntry(Path claimed, long size) {
        this.claimed = claimed;
        this.size = size;
    }

    /** Why an entry was not read: for the operator, naming the entry only. */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Takes {@code entry} out of its inbox into {@code claimDir} (created 0700 if missing), or refuses it.
     *
     * @param shown how errors name the entry (e.g. {@code inbox/x.cfg}), already escaped
     * @return empty if the entry is gone (a sender replaced it, or it was consumed already)
     */
    public static Optional<InboxEntry> claim(Path entry, Path claimDir, String shown) throws IOException, Refused {
        PosixFileAttributes before;
        try {
            before = Files.readAttributes(entry, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return Optional.empty();
        }
        refuseUnlessPlainFile(entry, before, shown);
        AtomicFiles.directory(claimDir, AtomicFiles.PRIVATE_DIR);
        Path claimed = claimDir.resolve(entry.getFileName());
        try {
            Files.move(entry, claimed, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (NoSuchFileException gone) {
            return Optional.empty();
        }
        PosixFileAttributes after = Files.readAttributes(claimed, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!Objects.equals(before.fileKey(), after.fileKey())) {
            Files.deleteIfExists(claimed);
            throw new Refused(shown + ": was replaced by another file while it was being taken in; it was removed"
                    + " unread. Drop the file again (write it under a name starting with '.' and rename it).");
        }
        refuseUnlessPlainFile(claimed, after, shown);
        return Optional.of(new InboxEntry(claimed, after.size()));
    }

    /**
     * At start-up, after a crash between claiming an entry and discarding it: puts it back into its inbox, unless
     * {@code alreadyTaken} says its content is already where it was going (the crash came after that, before the
     * discard), or the inbox holds a newer entry of that name (sent after the claim). Either way it is taken once.
     */
    public static void giveBack(Path claimDir, Path inbox, Predicate<Path> alreadyTaken) throws IOException {
        if (!Files.isDirectory(claimDir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var files = Files.list(claimDir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path back = inbox.resolve(p.getFileName());
                if (alreadyTaken.test(p) || Files.exists(back, LinkOption.NOFOLLOW_LINKS)) {
                    Files.delete(p);
                } else {
                    AtomicFiles.move(p, back);
                }
            }
        }
        AtomicFiles.syncDirectory(claimDir);
    }

    private static void refuseUnlessPlainFile(Path entry, PosixFileAttributes a, String shown) throws IOException,
            Refused {
        String what = a.isSymbolicLink() ? "is a symbolic link"
                : a.isDirectory() ? "is a directory"
                : !a.isRegularFile() ? "is not a regular file (a FIFO, socket or device)"
                : linkCount(entry) > 1 ? "is a hard link to a file that has other names (" + linkCount(entry)
                        + " links)"
                : null;
        if (what == null) {
            return;
        }
        if (!a.isDirectory()) {
            // Removes the name only: the link, the FIFO or the extra hard link; never what it points to.
            Files.deleteIfExists(entry);
        }
        throw new Refused(shown + ": " + what + "; only regular files with a single name are read. It was "
                + (a.isDirectory() ? "left in place" : "removed") + " without being opened. Copy the content"
                + " into a new file instead.");
    }

    private static int linkCount(Path entry) throws IOException {
        return (Integer) Files.getAttribute(entry, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
    }

    public Path path() {
        return claimed;
    }

    /** The size when claimed; {@link #read} reads no more than its bound whatever the file grew to since. */
    public long size() {
        return size;
    }

    /**
     * Reads the claimed file, at most {@code maxBytes} (the caller checked {@link #size()} against its limit).
     *
     * @throws Refused if the daemon may not read it (the sender's permissions), naming the entry
     */
    public byte[] read(long maxBytes, String shown) throws IOException, Refused {
        int cap = (int) Math.min(maxBytes, Integer.MAX_VALUE - 8);
        try (SeekableByteChannel ch = Files.newByteChannel(claimed,
                Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(cap, Math.max(size, 0)) + 1);
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                if (!buf.hasRemaining() && buf.capacity() <= cap) {
                    buf = ByteBuffer.allocate(Math.min(cap + 1, buf.capacity() * 2)).put(buf.flip());
                }
            }
            if (buf.position() > cap) {
                discard();
                throw new Refused(shown + ": grew beyond " + maxBytes + " bytes while it was being read");
            }
            return Arrays.copyOf(buf.array(), buf.position());
        } catch (AccessDeniedException e) {
            discard();
            throw new Refused(shown + ": the daemon may not read it (its permissions); make it readable by the"
                    + " daemon's group (the inbox's group) and drop it again. It was removed.");
        }
    }

    /** Returns the claimed file to where it came from, for a retry after an I/O error. */
    public void putBack(Path entry) throws IOException {
        AtomicFiles.move(claimed, entry);
    }

    /** The claimed file is no longer needed: its content is durable elsewhere, or it was refused. */
    public void discard() throws IOException {
        Files.deleteIfExists(claimed);
        AtomicFiles.syncDirectory(claimed.getParent());
    }
}
