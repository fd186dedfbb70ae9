package haproxylb.haproxy;

import java.io.IOException;
import java.util.Objects;

/**
 * haproxy's master CLI ({@code haproxy -W -S <path>}): the process table, reloads, and commands routed to the
 * current worker. Used in local mode, where the daemon runs haproxy itself.
 */
public final class MasterCli {
    private final HaproxySocket masterSocket;

    public MasterCli(HaproxySocket masterSocket) {
        this.masterSocket = Objects.requireNonNull(masterSocket, "masterSocket");
    }

    public ProcessTable showProc() throws IOException {
        String answer = masterSocket.command("show proc");
        try {
            return ProcessTable.parse(answer);
        } catch (IllegalArgumentException e) {
            throw new IOException("haproxy master " + masterSocket.path() + " refused 'show proc': " + answer.strip(), e);
        }
    }

    /**
     * Asks the master to re-read its configuration. In 2.6 this answers nothing, whether or not the new
     * configuration loads: compare {@link ProcessTable#reloads()} and {@link ProcessTable#failedReloads()}
     * of {@link #showProc()} before and after to learn the outcome.
     */
    public void reload() throws IOException {
        String answer = masterSocket.command("reload").strip();
        // Newer haproxy versions report "Success=1"; anything else (e.g. "Unknown command") is a refusal.
        if (!answer.isEmpty() && !answer.startsWith("Success=1")) {
            throw new IOException("haproxy master " + masterSocket.path() + " refused 'reload': " + answer);
        }
    }

    /** Runs {@code line} on the current worker ("@1 line") and returns its answer. */
    public String workerCommand(String line) throws IOException {
        String answer = masterSocket.command("@1 " + line);
        // The master's own refusals; the worker's answer to a valid command never starts like this.
        if (answer.startsWith("Can't find the target") || answer.startsWith("Unknown command")) {
            throw new IOException("haproxy master " + masterSocket.path() + " refused '@1 " + line + "': "
                    + firstLine(answer));
        }
        return answer;
    }

    /** Runs {@code line} on the process {@code pid} ("@!pid line"), old workers included. */
    public String processCommand(long pid, String line) throws IOException {
        String answer = masterSocket.command("@!" + pid + " " + line);
        if (answer.startsWith("Can't find the target") || answer.startsWith("Unknown command")) {
            throw new IOException("haproxy master " + masterSocket.path() + " refused '@!" + pid + " " + line + "': "
                    + firstLine(answer));
        }
        return answer;
    }

    private static String firstLine(String text) {
        String stripped = text.strip();
        int nl = stripped.indexOf('\n');
        return nl < 0 ? stripped : stripped.substring(0, nl);
    }
}
