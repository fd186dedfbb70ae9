package haproxylb.common;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real links, a real FIFO (mkfifo) and a real device node (mknod, where permitted) in a real directory. */
class InboxEntryTest {
    private static final String MARKER = "SECRET-MARKER-7f3a";

    @TempDir
    Path tmp;

    private Path inbox() throws Exception {
        return Files.createDirectories(tmp.resolve("inbox"));
    }

    private Path claimDir() {
        return tmp.resolve("claimed");
    }

    private String refusal(Path entry) {
        return assertThrows(InboxEntry.Refused.class, () -> InboxEntry.claim(entry, claimDir(), "inbox/"
                + entry.getFileName())).getMessage();
    }

    @Test
    void a_regular_file_is_claimed_into_a_private_directory_and_read() throws Exception {
        Path entry = Files.writeString(inbox().resolve("a.cfg"), "backend be\n");
        InboxEntry claimed = InboxEntry.claim(entry, claimDir(), "inbox/a.cfg").orElseThrow();
        assertFalse(Files.exists(entry), "out of the inbox before it is read");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(claimDir())));
        assertArrayEquals("backend be\n".getBytes(StandardCharsets.UTF_8), claimed.read(1024, "inbox/a.cfg"));
        claimed.discard();
        assertFalse(Files.exists(claimed.path()));
        assertEquals(Optional.empty(), InboxEntry.claim(entry, claimDir(), "inbox/a.cfg"), "gone: nothing to do");
    }

    @Test
    void a_symbolic_link_is_removed_unread_and_its_target_untouched() throws Exception {
        Path secret = Files.writeString(tmp.resolve("secret.key"), MARKER);
        Path link = Files.createSymbolicLink(inbox().resolve("x.cfg"), secret);
        String message = refusal(link);
        assertEquals("inbox/x.cfg: is a symbolic link; only regular files with a single name are read. It was removed"
                + " without being opened. Copy the content into a new file instead.", message);
        assertFalse(message.contains(MARKER) || message.contains("secret.key"), message);
        assertFalse(Files.exists(link, LinkOption.NOFOLLOW_LINKS));
        assertEquals(MARKER, Files.readString(secret));
    }

    @Test
    void a_fifo_never_blocks_and_a_link_to_one_is_not_followed() throws Exception {
        Path fifo = inbox().resolve("f.cfg");
        mk("mkfifo", fifo.toString());
        Path link = Files.createSymbolicLink(inbox().resolve("g.map"), tmp.resolve("outside-fifo"));
        mk("mkfifo", tmp.resolve("outside-fifo").toString());
        // Opening a FIFO for reading blocks until a writer comes: a test that hangs here has found the bug.
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            assertTrue(refusal(fifo).startsWith("inbox/f.cfg: is not a regular file (a FIFO, socket or device)"));
            assertTrue(refusal(link).startsWith("inbox/g.map: is a symbolic link"));
        });
        assertFalse(Files.exists(fifo, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void a_hard_link_to_a_file_elsewhere_is_refused_and_only_its_inbox_name_removed() throws Exception {
        Path secret = Files.writeString(tmp.resolve("secret.key"), MARKER);
        Path hard = Files.createLink(inbox().resolve("h.cfg"), secret);
        assertTrue(refusal(hard).startsWith("inbox/h.cfg: is a hard link to a file that has other names (2 links)"));
        assertFalse(Files.exists(hard));
        assertEquals(MARKER, Files.readString(secret));
    }

    @Test
    void a_directory_is_refused_and_left_in_place() throws Exception {
        Path dir = Files.createDirectory(inbox().resolve("d.cfg"));
        assertTrue(refusal(dir).contains("is a directory;"));
        assertTrue(Files.isDirectory(dir));
    }

    @Test
    void a_device_node_is_refused_unread() throws Exception {
        Path device = inbox().resolve("zero.cfg");
        // /dev/zero's numbers: read, it never ends. Only root may make a device node; elsewhere /dev/zero via a link.
        if (run("mknod", device.toString(), "c", "1", "5") != 0) {
            Files.createSymbolicLink(device, Path.of("/dev/zero"));
        }
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertTrue(refusal(device).contains(
                Files.isSymbolicLink(device) ? "is a symbolic link" : "is not a regular file")));
        assertFalse(Files.exists(device, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void a_file_that_grows_past_the_bound_is_not_read_beyond_it() throws Exception {
        Path entry = Files.write(inbox().resolve("big.cfg"), new byte[4096]);
        InboxEntry claimed = InboxEntry.claim(entry, claimDir(), "inbox/big.cfg").orElseThrow();
        String message = assertThrows(InboxEntry.Refused.class, () -> claimed.read(1000, "inbox/big.cfg"))
                .getMessage();
        assertEquals("inbox/big.cfg: grew beyond 1000 bytes while it was being read", message);
        assertFalse(Files.exists(claimed.path()));
    }

    @Test
    void entries_claimed_before_a_crash_go_back_to_the_inbox() throws Exception {
        Path entry = Files.writeString(inbox().resolve("c.map"), "c.test be\n");
        InboxEntry.claim(entry, claimDir(), "inbox/c.map").orElseThrow();
        Path taken = Files.writeString(inbox().resolve("d.map"), "d.test be\n");
        InboxEntry.claim(taken, claimDir(), "inbox/d.map").orElseThrow();
        Path older = Files.writeString(inbox().resolve("e.map"), "old\n");
        InboxEntry.claim(older, claimDir(), "inbox/e.map").orElseThrow();
        Files.writeString(older, "newer, sent after the claim\n");

        InboxEntry.giveBack(claimDir(), inbox(), p -> p.getFileName().toString().equals("d.map"));
        assertEquals("c.test be\n", Files.readString(entry), "not taken yet: back in the inbox");
        assertFalse(Files.exists(taken), "already taken (staged) before the crash: not delivered twice");
        assertEquals("newer, sent after the claim\n", Files.readString(older), "a newer entry is not overwritten");
        try (var left = Files.list(claimDir())) {
            assertEquals(0, left.count());
        }
    }

    private static void mk(String... command) throws Exception {
        assertEquals(0, run(command), String.join(" ", command));
    }

    private static int run(String... command) throws Exception {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start().waitFor();
    }
}
