package haproxylb.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Objects;
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

    public FileVersion {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(modified, "modified");
    }

    /** The version at {@code path} now (of the link itself with {@link LinkOption#NOFOLLOW_LINKS}): one stat. */
    public static FileVersion of(Path path, LinkOption... options) throws IOException {
        Map<String, Object> a = Files.readAttributes(path, "unix:dev,ino,size,lastModifiedTime,ctime", options);
        return new FileVersion(a.get("dev") + ":" + a.get("ino"), (Long) a.get("size"),
                (FileTime) a.get("lastModifiedTime"), ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS));
    }
}
