package haproxylb.intake;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

import static haproxylb.intake.InboxEvents.State.BEING_WRITTEN;
import static haproxylb.intake.InboxEvents.State.COMPLETE;
import static haproxylb.intake.InboxEvents.State.UNKNOWN;
import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The kernel's word on which inbox files are complete, with real files and the real inotify. */
class InboxEventsTest {
    private static final Duration LIMIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    @TempDir
    Path elsewhere;
    private InboxEvents events;

    @AfterEach
    void close() {
        events.close();
    }

    @Test
    void a_file_renamed_into_the_inbox_is_complete_at_once() throws Exception {
        events = InboxEvents.watch(dir);
        Path written = Files.writeString(dir.resolve(".app.cfg.tmp"), "backend x\n");
        Files.move(written, dir.resolve("app.cfg"), StandardCopyOption.ATOMIC_MOVE);
        await("the rename seen", LIMIT, () -> events.state("app.cfg") == COMPLETE);
    }

    @Test
    void a_file_written_in_place_is_being_written_until_its_writer_closes_it() throws Exception {
        events = InboxEvents.watch(dir);
        try (OutputStream out = Files.newOutputStream(dir.resolve("app.cfg"))) {
            out.write("backend x\n".getBytes());
            out.flush();
            await("the write seen", LIMIT, () -> events.state("app.cfg") == BEING_WRITTEN);
        }
        await("the close seen", LIMIT, () -> events.state("app.cfg") == COMPLETE);
        Files.writeString(dir.resolve("app.cfg"), "backend y\n"); // written again, closed again
        await("still complete", LIMIT, () -> events.state("app.cfg") == COMPLETE);
    }

    @Test
    void files_without_events_are_unknown_and_deleted_ones_forgotten() throws Exception {
        Files.writeString(dir.resolve("before.cfg"), "there before the watch\n");
        events = InboxEvents.watch(dir);
        assertEquals(UNKNOWN, events.state("before.cfg"));
        Files.move(Files.writeString(elsewhere.resolve("x.map"), "a b\n"), dir.resolve("x.map"));
        await("moved in", LIMIT, () -> events.state("x.map") == COMPLETE);
        Files.delete(dir.resolve("x.map"));
        await("forgotten", LIMIT, () -> events.state("x.map") == UNKNOWN);
    }
}
