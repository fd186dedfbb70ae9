package haproxylb.haproxy;

import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Optional;
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
    static final String RELOADS_BEFORE = "LbReloadsBefore";
    static final String MASTER_PID = "LbMasterPid";
    /**
     * haproxy 2.6 needs ~1 s to reload 10k backends (BASELINE.md); far more means the signal was lost or haproxy is
     * stuck. Not longer: every reload waits behind this one, and a failed one is simply sent again after the rate limit
     * (a reload that never came held status at "assembled" for the whole wait in bench/crash-safety.sh).
     */
    private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(20);

    private final ReloadGate gate;
    private final StatusBoard status;
    private final List<String> systemdCommand;
    private final HaproxySupervisor supervisor;
    private final MasterCli master;
    /**
     * Open while a reload is between claim and record. Two routes call claim (a new config, and the trailing-reload
     * timer): when a reload takes longer than the rate limit, a second SIGUSR2 would reach the master while it
     * re-executes itself and both reloads would count the same "show proc" increment (bench/hitless-reload.sh under
     * load). Runtime API changes wait outside it ({@link ReloadWindow}).
     */
    private final ReloadWindow window = new ReloadWindow();

    /**
     * @param supervisor null in systemd mode
     * @param master haproxy's master CLI, to confirm that a reload really loaded the new config (the reload command
     *               returns before haproxy has done so); null when there is none, then the command's exit status
     *               is all there is to go by
     */
    public Reloader(ReloadGate gate, StatusBoard status, List<String> systemdCommand, HaproxySupervisor supervisor,
                    MasterCli master) {
        this.gate = gate;
        this.status = status;
        this.systemdCommand = List.copyOf(systemdCommand);
        this.supervisor = supervisor;
        this.master = master;
    }

    public ReloadGate gate() {
        return gate;
    }

    /** What a runtime API change goes through, so that it never lands in a worker a reload is replacing. */
    public ReloadWindow window() {
        return window;
    }

    public void request() {
        gate.request();
        status.reload(gate.facts());
    }

    /** A validated config on disk that haproxy has not (confirmed to have) loaded. */
    public boolean owed() {
        return gate.owed();
    }

    public boolean claim() {
        if (supervisor != null && !supervisor.isRunning()) {
            return false; // the watchdog starts haproxy with the newest config, which needs no reload
        }
        if (!window.open()) {
            return false; // the gate stays pending: the trailing-reload timer claims it once the window is free
        }
        if (gate.claim()) {
            return true;
        }
        window.close();
        return false;
    }

    public void prepare(Exchange exchange) {
        try {
            prepareCommand(exchange);
        } catch (RuntimeException e) {
            gate.reloaded(gate.configGeneration(), false, e.getMessage());
            window.close();
            status.reload(gate.facts());
            throw e;
        }
    }

    private void prepareCommand(Exchange exchange) {
        List<String> cmd;
        if (supervisor != null) {
            // Never "kill -USR2 -1": that signals every process this user may signal (all of them, as root).
            long pid = supervisor.masterPid().orElseThrow(() -> new IllegalStateException("haproxy exited before"
                    + " its reload; the watchdog starts it again with the newest config"));
            exchange.getIn().setHeader(MASTER_PID, pid);
            cmd = List.of("kill", "-USR2", Long.toString(pid));
        } else {
            cmd = systemdCommand;
        }
        exchange.getIn().setHeader(GENERATION, gate.configGeneration());
        processTable().ifPresent(t -> exchange.getIn().setHeader(RELOADS_BEFORE, t));
        exchange.getIn().setHeader(ExecBinding.EXEC_COMMAND_EXECUTABLE, cmd.get(0));
        exchange.getIn().setHeader(ExecBinding.EXEC_COMMAND_ARGS, new ArrayList<>(cmd.subList(1, cmd.size())));
        exchange.getIn().setHeader(ExecBinding.EXEC_COMMAND_TIMEOUT, 60_000L);
    }

    public void record(Exchange exchange) {
        try {
            recordOutcome(exchange);
        } finally {
            window.close();
        }
    }

    private void recordOutcome(Exchange exchange) {
        long generation = exchange.getIn().getHeader(GENERATION, 0L, Long.class);
        String failure = failure(exchange);
        ProcessTable before = exchange.getIn().getHeader(RELOADS_BEFORE, ProcessTable.class);
        if (failure == null) {
            failure = confirm(before, exchange.getIn().getHeader(MASTER_PID, Long.class));
        }
        if (failure == null) {
            String message = master == null || before != null ? "reloaded"
                    : "reloaded, unconfirmed: haproxy's master CLI did not answer before the reload (socket "
                    + "missing?); haproxy creates it again when it reloads";
            gate.reloaded(generation, true, message);
            LOG.info("haproxy reloaded with config generation {}{}", generation,
                    message.equals("reloaded") ? "" : " (" + message + ")");
        } else {
            gate.reloaded(generation, false, failure);
            LOG.error("haproxy reload failed, will retry after the rate limit ({}): {}", gate.minInterval(), failure);
        }
        status.reload(gate.facts());
    }

    /** The reload command could not even run (missing executable, timeout): retry like a failed reload. */
    public void recordError(Exchange exchange) {
        window.close();
        Exception e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        long generation = exchange.getIn().getHeader(GENERATION, 0L, Long.class);
        String message = "the reload command could not run: " + (e == null ? "unknown error" : e.getMessage());
        gate.reloaded(generation, false, message);
        status.reload(gate.facts());
        LOG.error("haproxy reload failed, will retry after the rate limit ({}): {}", gate.minInterval(), message);
    }

    /** haproxy started (or restarted) by the supervisor runs whatever config is on disk: it is all live. */
    public void started() {
        gate.started("haproxy started");
        status.reload(gate.facts());
    }

    /** Waits until the master reports one more reload; a failed one (bad config, bind error) is a failure. */
    private String confirm(ProcessTable before, Long masterPid) {
        if (master == null || before == null) {
            return null;
        }
        long deadline = System.nanoTime() + CONFIRM_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (supervisor != null && masterPid != null && !supervisor.masterPid().equals(Optional.of(masterPid))) {
                // A new master counts its reloads from zero: waiting for the old count would take the whole timeout.
                return "haproxy (master pid " + masterPid + ") exited during the reload; the watchdog starts it again"
                        + " with the newest config";
            }
            Optional<ProcessTable> now = processTable();
            if (now.isPresent() && now.get().reloads() > before.reloads()) {
                if (now.get().failedReloads() > before.failedReloads()) {
                    return "haproxy refused the new config on reload (master CLI 'show proc' counts a failed"
                            + " reload); the previous config keeps serving. See haproxy's log.";
                }
                return null;
            }
            try {
                Thread.sleep(10); // the master is re-executing itself: nothing to wait on but its socket
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted while waiting for haproxy to reload";
            }
        }
        return "haproxy did not report the reload within " + CONFIRM_TIMEOUT.toSeconds() + " s (master CLI 'show proc')";
    }

    private Optional<ProcessTable> processTable() {
        if (master == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(master.showProc());
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // the master is busy re-executing, or not there (yet)
        }
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
