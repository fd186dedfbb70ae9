package haproxylb.cli;

import haproxylb.common.AtomicFiles;
import haproxylb.common.SettingsFile;
import haproxylb.status.StatusBoard;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * The training run of {@code bin/haproxy-config-cds}: runs haproxy-config's verbs once each, in one JVM, against a
 * state directory of its own, so that the JVM started with {@code -XX:ArchiveClassesAtExit} dumps the classes all of
 * them load (the fragment checks of apply, the JSON of status.json for status and for apply's wait, list, check)
 * into the class-data archive that bin/haproxy-config starts from. Nothing it prints is kept; a verb that fails here
 * (no haproxy for check, say) has still loaded its classes.
 */
final class ArchiveTraining {
    private ArchiveTraining() {}

    public static void main(String[] args) throws IOException {
        Path work = Files.createTempDirectory("haproxy-config-cds-");
        try {
            train(work);
        } finally {
            AtomicFiles.deleteTree(work);
        }
    }

    private static void train(Path work) throws IOException {
        Path state = Files.createDirectories(work.resolve("state"));
        Files.createDirectories(state.resolve("inbox"));
        Files.createDirectories(state.resolve("fragments"));
        Path cfg = Files.writeString(work.resolve("training.cfg"),
                "backend be_training\n    http-request return status 200 content-type text/plain string ok\n");
        Path map = Files.writeString(work.resolve("training.map"), "training.example.test be_training\n");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        HaproxyConfig cli = HaproxyConfig.from(new SettingsFile(Files.createDirectories(work.resolve("conf")),
                Map.of("LB_STATE_DIR", state.toString())), quiet, quiet);
        cli.dispatch(List.of("apply", "training", cfg.toString(), map.toString(), "--no-wait"));
        new StatusBoard(state.resolve("status.json"), Clock.systemUTC())
                .rejected("training", "0000000000000000", "training.cfg line 1: a training run");
        for (List<String> verb : List.of(
                List.of("apply", "training", cfg.toString(), map.toString(), "--timeout", "0"),
                List.of("status"),
                List.of("list"),
                List.of("history", "training"),
                List.of("check", "training", cfg.toString(), map.toString()))) {
            try {
                cli.dispatch(verb);
            } catch (IOException | RuntimeException e) {
                // Its classes are loaded all the same; the next verb runs.
            }
        }
    }
}
