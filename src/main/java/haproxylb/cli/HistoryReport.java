package haproxylb.cli;

import haproxylb.intake.FragmentHistory;
import haproxylb.status.FragmentStatus;

import java.util.List;

/** {@code haproxy-config history NAME} (and the JMX operation): a fragment's kept events, newest first. */
public final class HistoryReport {
    private HistoryReport() {}

    /** @param now the fragment's status now, to mark the version that is live; null when unknown */
    public static String format(String name, List<FragmentHistory.Entry> entries, int keep, FragmentStatus now) {
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
            if (!marked && e.accepted() && now != null) {
                // Only the newest accepted event can be what runs; older versions with the same id are history.
                marked = true;
                if (FragmentHistory.LIVE.equals(e.kind()) && e.id() != null && e.id().equals(now.id())) {
                    out.append("\t(").append(now.state()).append(" now)");
                }
            }
            out.append('\n');
            if (e.error() != null) {
                e.error().strip().lines().forEach(l -> out.append("    ").append(l).append('\n'));
            }
        }
        return out.toString();
    }
}
