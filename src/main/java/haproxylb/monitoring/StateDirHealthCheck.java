package haproxylb.monitoring;

import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * DOWN while the state directory cannot take new work: read-only, fuller than {@code lb.health.min-free-space}
 * allows, or refusing the last write of status.json. Each of these leaves haproxy serving the last good config while
 * new changes wait (in the inbox, or pending), so it is readiness, not liveness: restarting would not free the disk.
 * Asked of the file system on every call (statvfs, no write), so it turns UP by itself once space comes back.
 */
public final class StateDirHealthCheck extends AbstractHealthCheck {
    private final Path stateDir;
    private final StatusBoard status;
    private final long minFreeBytes;

    public StateDirHealthCheck(Path stateDir, StatusBoard status, long minFreeBytes) {
        super("haproxy-lb", "state-dir");
        this.stateDir = stateDir.toAbsolutePath();
        this.status = status;
        this.minFreeBytes = minFreeBytes;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        List<String> problems = new ArrayList<>();
        try {
            FileStore store = Files.getFileStore(stateDir);
            long free = store.getUsableSpace();
            boolean readOnly = store.isReadOnly();
            builder.detail("free.bytes", free).detail("read.only", readOnly);
            if (readOnly) {
                problems.add("the state directory " + stateDir + " is read-only");
            }
            if (free < minFreeBytes) {
                problems.add("the state directory " + stateDir + " is full: " + free + " bytes free, less than"
                        + " lb.health.min-free-space (" + minFreeBytes + ")");
            }
        } catch (IOException e) {
            problems.add("the state directory " + stateDir + " cannot be examined: " + e.getMessage());
        }
        String unwritten = status.publishProblem();
        if (unwritten != null) {
            problems.add("status.json could not be written (" + unwritten + ")");
        }
        if (problems.isEmpty()) {
            builder.message("the state directory " + stateDir + " takes writes").up();
        } else {
            builder.message(String.join("; ", problems) + ". New changes wait (inbox files stay in the inbox) and"
                    + " the last good config keeps serving; work resumes by itself once the disk takes writes again.")
                    .down();
        }
    }
}
