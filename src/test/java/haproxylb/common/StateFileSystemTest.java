package haproxylb.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The start-up warning about the state directory's file system: said only when sure. */
class StateFileSystemTest {
    private static final Path STATE = Path.of("/var/lib/haproxy-lb");

    @Test
    void ext4_without_its_journal_is_named_with_its_device() {
        Optional<String> p = StateFileSystem.problem(STATE, "ext4", Optional.of("vda"), Optional.of(Set.of("loop0-8")));
        assertTrue(p.isPresent() && p.get().contains("ext4 without its journal (/dev/vda)"), p.toString());
    }

    @Test
    void ext4_with_its_journal_a_journaling_file_system_or_anything_unsure_says_nothing() {
        assertEquals(Optional.empty(), StateFileSystem.problem(STATE, "ext4", Optional.of("dm-0"),
                Optional.of(Set.of("dm-0-8"))));
        assertEquals(Optional.empty(), StateFileSystem.problem(STATE, "xfs", Optional.of("vda"), Optional.of(Set.of())));
        assertEquals(Optional.empty(), StateFileSystem.problem(STATE, "ext4", Optional.empty(), Optional.of(Set.of())));
        assertEquals(Optional.empty(), StateFileSystem.problem(STATE, "ext4", Optional.of("vda"), Optional.empty()));
    }

    @Test
    void a_file_system_in_memory_loses_the_state_at_boot() {
        Optional<String> p = StateFileSystem.problem(STATE, "tmpfs", Optional.empty(), Optional.empty());
        assertTrue(p.isPresent() && p.get().contains("gone at the next boot"), p.toString());
    }

    @Test
    void the_file_system_is_read_from_the_system() {
        // /dev/shm is tmpfs on Linux: the type comes from the real file store.
        Optional<String> p = StateFileSystem.problem(Path.of("/dev/shm"));
        assertTrue(p.isPresent() && p.get().contains("/dev/shm is on tmpfs"), p.toString());
    }
}
