package haproxylb.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalStorageTest extends StorageContract {
    @TempDir
    Path root;

    @Override
    Storage storage() {
        return new LocalStorage(root);
    }

    @Test
    void a_key_is_the_file_of_the_same_relative_path_so_the_state_layout_stays_as_it_was() throws Exception {
        new LocalStorage(root).store("fragments/app.id", "abc\n".getBytes());
        assertEquals("abc\n", Files.readString(root.resolve("fragments/app.id")));
        try (var files = Files.list(root.resolve("fragments"))) {
            assertEquals(1, files.count(), "no temp file left beside it");
        }
    }

    @Test
    void a_symlink_is_not_followed_on_load() throws Exception {
        Path secret = Files.writeString(root.resolve("secret"), "s3cret");
        Files.createDirectories(root.resolve("fragments"));
        Files.createSymbolicLink(root.resolve("fragments/app.cfg"), secret);
        assertTrue(new LocalStorage(root).load("fragments/app.cfg").isEmpty());
    }
}
