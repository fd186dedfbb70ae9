package haproxylb.cli;

import haproxylb.intake.FragmentHistory;
import haproxylb.status.FragmentStatus;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/** {@code haproxy-config history NAME} (and the JMX operation): a fragment's kept events, newest first. */
public final class HistoryReport {
    private HistoryReport() {}

    /**
     * @param liveId the id of the version in the live config ({@code fragments/NAME.id}); null when none is
     * @param now    the fragment's status, to tell a version still waiting for its reload; null when unknown
     */
    public static String format(String name, List<FragmentHistory.Entry> entries, int keep, String liveId,
                                FragmentStatus now) {
        StringBuilder out = new StringBuilder();
        out.append("fragment '").append(name).append("': newest first; the last ").append(keep)
                .append(" accepted versions and the last ").append(keep)
                .append(" rejected attempts are kept (lb.fragments.history)\n");
        if (entries.isEmpty()) {
            return out.append("no history\n").toString();
        }
        out.append("WHEN\tEVENT\tID\n");
        boolean marked = false;
        for (FragmentHistory.Entry e : entries) {
            out.append(e.at()).append('\t').append(e.kind()).append('\t').append(e.id() == null ? "-" : e.id());
            if (!marked && e.accepted()) {
                // Only the newest accepted event can be what runs; older versions with the same id are history.
                marked = true;
                if (FragmentHistory.LIVE.equals(e.kind()) && e.id() != null && e.id().equals(liveId)) {
                    boolean waiting = now != null && "assembled".equals(now.state()) && liveId.equals(now.id());
                    out.append(waiting ? "\t(in the config, live at the next reload)" : "\t(live now)");
                }
            }
            out.append('\n');
            if (e.error() != null) {
                e.error().strip().lines().forEach(l -> out.append(l.isBlank() ? "" : "    " + l).append('\n'));
            }
        }
        return out.toString();
    }

    /** The id of NAME's version in a live fragments directory, or null. */
    public static String liveId(Path liveDir, String name) throws IOException {
        Path id = liveDir.resolve(name + ".id");
        return Files.isRegularFile(id, LinkOption.NOFOLLOW_LINKS) && Files.exists(liveDir.resolve(name + ".cfg"))
                ? Files.readString(id).strip() : null;
    }
}
