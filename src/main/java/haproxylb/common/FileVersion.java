package haproxylb.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Which version of a file is at a path: device and inode, size, modification time and change time. A freed inode is
 * soon handed to the next new file, and a file rewritten in place keeps its inode and may be given back its old
 * modification time ({@code cp -p}, {@code touch -r}); its change time, which the kernel sets on every write, rename
 * and attribute change and nobody can set back, tells those apart.
 *
 * @param key      device and inode, as {@code dev:ino}
 * @param changed  the change time (ctime) in nanoseconds since the epoch
 */
public record FileVersion(String key, long size, FileTime modified, long changed) {
    private static final String ATTRIBUTES = "unix:dev,ino,size,lastModifiedTime,ctime";

    public FileVersion {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(modified, "modified");
    }

    /** The version at {@code path} now (of the link itself with {@link LinkOption#NOFOLLOW_LINKS}): one stat. */
    public static FileVersion of(Path path, LinkOption... options) throws IOException {
        return of(Files.readAttributes(path, ATTRIBUTES, options));
    }

    /**
     * The version of the regular file at {@code path} (links followed), or empty when it is something else: the same
     * one stat, where asking {@code Files.isRegularFile} first would make it two (a directory of 10,000 certificates).
     */
    public static Optional<FileVersion> ofRegularFile(Path path) throws IOException {
        Map<String, Object> a = Files.readAttributes(path, ATTRIBUTES + ",isRegularFile");
        return Boolean.TRUE.equals(a.get("isRegularFile")) ? Optional.of(of(a)) : Optional.empty();
    }

    private static FileVersion of(Map<String, Object> a) {
        return new FileVersion(a.get("dev") + ":" + a.get("ino"), (Long) a.get("size"),
                (FileTime) a.get("lastModifiedTime"), ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS));
    }
}
