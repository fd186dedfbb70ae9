package haproxylb.haproxy;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * haproxy's process table as the master CLI's {@code show proc} prints it in 2.6:
 * <pre>
 * #&lt;PID&gt;          &lt;type&gt;          &lt;reloads&gt;       &lt;uptime&gt;        &lt;version&gt;
 * 2755            master          6 [failed: 1]   0d00h00m20s     2.6.12-1+deb12u4
 * # workers
 * 2910            worker          1               0d00h00m04s     2.6.12-1+deb12u4
 * # old workers
 * 2899            worker          2               0d00h00m05s     2.6.12-1+deb12u4
 * # programs
 * </pre>
 * {@code reloads} counts every reload, failed ones included; {@code failedReloads} is the "[failed: N]" part,
 * which only some versions print (0 when absent). Old workers are still draining connections after a reload.
 */
public record ProcessTable(long masterPid, int reloads, int failedReloads, List<Worker> currentWorkers,
                           List<Worker> oldWorkers) {

    public record Worker(long pid, int reloads, String uptime, String version) {}

    private static final Pattern MASTER =
            Pattern.compile("(\\d+)\\s+master\\s+(\\d+)(?:\\s+\\[failed:\\s*(\\d+)])?(?:\\s+(\\S+))?(?:\\s+(\\S+))?\\s*");
    private static final Pattern WORKER =
            Pattern.compile("(\\d+)\\s+worker\\s+(\\d+)(?:\\s+(\\S+))?(?:\\s+(\\S+))?\\s*");

    public ProcessTable {
        currentWorkers = List.copyOf(currentWorkers);
        oldWorkers = List.copyOf(oldWorkers);
    }

    /** The newest current worker: the one "@1" addresses. */
    public Worker currentWorker() {
        if (currentWorkers.isEmpty()) {
            throw new IllegalStateException("haproxy master " + masterPid + " has no current worker");
        }
        return currentWorkers.get(0);
    }

    /**
     * Parses {@code show proc}. Lines of other kinds (external "programs") are skipped.
     *
     * @throws IllegalArgumentException if there is no master line, i.e. the text is not a process table
     */
    public static ProcessTable parse(String showProc) {
        Long masterPid = null;
        int reloads = 0;
        int failed = 0;
        List<Worker> current = new ArrayList<>();
        List<Worker> old = new ArrayList<>();
        List<Worker> section = current;
        for (String raw : showProc.split("\n")) {
            String line = raw.strip();
            if (line.startsWith("#")) {
                // The section headers decide whether the workers below are current or draining.
                section = line.equals("# old workers") ? old : line.equals("# workers") ? current : null;
                continue;
            }
            Matcher m = MASTER.matcher(line);
            if (m.matches()) {
                masterPid = Long.parseLong(m.group(1));
                reloads = Integer.parseInt(m.group(2));
                failed = m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
                continue;
            }
            m = WORKER.matcher(line);
            if (m.matches() && section != null) {
                section.add(new Worker(Long.parseLong(m.group(1)), Integer.parseInt(m.group(2)),
                        nullToEmpty(m.group(3)), nullToEmpty(m.group(4))));
            }
        }
        if (masterPid == null) {
            throw new IllegalArgumentException("not a 'show proc' answer (no master line): " + showProc.strip());
        }
        return new ProcessTable(masterPid, reloads, failed, current, old);
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
