package haproxylb.haproxy;

import haproxylb.status.StatusBoard;

import java.util.ArrayList;
import java.util.List;

import org.apache.camel.Exchange;
import org.apache.camel.component.exec.ExecBinding;
import org.apache.camel.component.exec.ExecResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reload stage's bean: asks the {@link ReloadGate} whether a reload may run now, prepares the camel-exec call
 * and records its outcome. In systemd mode the command is a setting (default {@code systemctl reload haproxy},
 * whose Debian unit does a seamless master-worker reload); in supervise mode it is SIGUSR2 to the haproxy master
 * this daemon started.
 */
public final class Reloader {
    private static final Logger LOG = LoggerFactory.getLogger(Reloader.class);
    public static final String GENERATION = "LbConfigGeneration";

    private final ReloadGate gate;
    private final StatusBoard status;
    private final List<String> systemdCommand;
    private final HaproxySupervisor supervisor;

    /** @param supervisor null in systemd mode */
    public Reloader(ReloadGate gate, StatusBoard status, List<String> systemdCommand, HaproxySupervisor supervisor) {
        this.gate = gate;
        this.status = status;
        this.systemdCommand = List.copyOf(systemdCommand);
        this.supervisor = supervisor;
    }

    public ReloadGate gate() {
        return gate;
    }

    public void request() {
        gate.request();
        status.reloadPlanned(true, gate.nextAllowed().orElse(null));
    }

    public boolean claim() {
        if (supervisor != null && !supervisor.isRunning()) {
            return false; // the watchdog starts haproxy with the newest config, which needs no reload
        }
        return gate.claim();
    }

    public void prepare(Exchange exchange) {
        List<String> cmd;
        if (supervisor != null) {
            cmd = List.of("kill", "-USR2", Long.toString(supervisor.masterPid().orElse(-1L)));
        } else {
            cmd = systemdCommand;
        }
        exchange.getIn().setHeader(GENERATION, status.configGeneration());
        exchange.getIn().setHeader(ExecBinding.EXEC_COMMAND_EXECUTABLE, cmd.get(0));
        exchange.getIn().setHeader(ExecBinding.EXEC_COMMAND_ARGS, new ArrayList<>(cmd.subList(1, cmd.size())));
        exchange.getIn().setHeader(ExecBinding.EXEC_COMMAND_TIMEOUT, 60_000L);
    }

    public void record(Exchange exchange) {
        long generation = exchange.getIn().getHeader(GENERATION, 0L, Long.class);
        String failure = failure(exchange);
        if (failure == null) {
            status.reloaded(generation, true, "reloaded");
            LOG.info("haproxy reloaded with config generation {}", generation);
        } else {
            gate.failed();
            status.reloaded(generation, false, failure);
            LOG.error("haproxy reload failed, will retry after the rate limit ({}): {}", gate.minInterval(), failure);
        }
        status.reloadPlanned(gate.isPending(), gate.nextAllowed().orElse(null));
    }

    /** The reload command could not even run (missing executable, timeout): retry like a failed reload. */
    public void recordError(Exchange exchange) {
        Exception e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        long generation = exchange.getIn().getHeader(GENERATION, 0L, Long.class);
        String message = "the reload command could not run: " + (e == null ? "unknown error" : e.getMessage());
        gate.failed();
        status.reloaded(generation, false, message);
        status.reloadPlanned(true, gate.nextAllowed().orElse(null));
        LOG.error("haproxy reload failed, will retry after the rate limit ({}): {}", gate.minInterval(), message);
    }

    /** haproxy started (or restarted) by the supervisor runs whatever config is on disk: it is all live. */
    public void started() {
        status.reloaded(status.configGeneration(), true, "haproxy started");
    }

    private static String failure(Exchange exchange) {
        ExecResult result = exchange.getIn().getBody(ExecResult.class);
        if (result == null) {
            return "the reload command produced no result";
        }
        if (result.getExitValue() == 0) {
            return null;
        }
        String stderr = result.getStderr() == null ? ""
                : exchange.getContext().getTypeConverter().convertTo(String.class, result.getStderr());
        return result.getCommand().getExecutable() + " " + String.join(" ", result.getCommand().getArgs())
                + " exited with " + result.getExitValue() + (stderr.isBlank() ? "" : ": " + stderr.strip());
    }
}
