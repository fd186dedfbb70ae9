package haproxylb.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSystemSyncTest {
    @TempDir
    Path dir;

    @Test
    void one_file_system_is_synced_in_one_call_and_two_are_left_to_fsync() throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Path b = Files.createDirectories(dir.resolve("b"));
        assertTrue(FileSystemSync.syncIfOne(List.of(a, b)), "both on the temp dir's file system");
        assertFalse(FileSystemSync.syncIfOne(List.of(dir.resolve("gone"))), "nothing left to sync");

        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && !Files.getFileStore(shm).equals(Files.getFileStore(dir)),
                "needs a second file system");
        assertFalse(FileSystemSync.syncIfOne(List.of(a, shm)), "two file systems: file by file");
    }

    @Test
    void a_batch_big_enough_for_one_sync_commits_every_write() throws Exception {
        AtomicFiles.SyncBatch batch = new AtomicFiles.SyncBatch();
        List<Path> written = new ArrayList<>();
        AtomicFiles.deferSyncs(batch, () -> {
            for (int i = 0; i < AtomicFiles.SyncBatch.WHOLE_FILE_SYSTEM_FROM; i++) {
                Path p = dir.resolve("f" + i);
                AtomicFiles.write(p, ("content " + i).getBytes());
                written.add(p);
            }
        });
        batch.commit();
        for (int i = 0; i < written.size(); i++) {
            assertEquals("content " + i, Files.readString(written.get(i)));
        }
        try (var left = Files.list(dir)) {
            assertEquals(written.size(), left.count(), "no temp file left behind");
        }
    }
}
