package haproxylb.cli;

import haproxylb.common.AtomicFiles;
import haproxylb.common.StateLayout;
import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentHistory;
import haproxylb.intake.FragmentName;
import haproxylb.intake.FragmentProblem;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * {@code rollback NAME [ID]}: an earlier version from the history goes back through the normal path. Its files are
 * dropped into the inbox atomically, as apply drops them, so intake, validation, the reload rate limit and the
 * status treat it like any new version; one that no longer validates is rejected like any other.
 */
public final class Rollback {
    /**
     * @param id          the id the dropped files have (what the status will show for them)
     * @param alreadyLive the version is what fragments/ holds now: nothing was dropped
     */
    public record Handover(FragmentHistory.Entry target, String id, boolean alreadyLive) {}

    private Rollback() {}

    /** @throws FragmentProblem an invalid name, or nothing in the history to roll back to */
    public static Handover handOver(FragmentHistory history, StateLayout state, String name, Optional<String> id)
            throws IOException, FragmentProblem {
        FragmentName.check(name);
        FragmentHistory.Entry target = history.rollbackTarget(name, id);
        byte[] cfg = target.cfg().getBytes(StandardCharsets.UTF_8);
        byte[] map = target.map().getBytes(StandardCharsets.UTF_8);
        String droppedId = Fragment.idOf(cfg, map);
        Path live = state.fragments();
        if (holds(live.resolve(name + ".cfg"), cfg) && holds(live.resolve(name + ".map"), map)) {
            return new Handover(target, droppedId, true);
        }
        Path inbox = state.inbox();
        AtomicFiles.write(inbox.resolve(name + ".cfg"), cfg);
        AtomicFiles.write(inbox.resolve(name + ".map"), map);
        return new Handover(target, droppedId, false);
    }

    private static boolean holds(Path file, byte[] content) throws IOException {
        return Files.isRegularFile(file) && Arrays.equals(Files.readAllBytes(file), content);
    }
}
