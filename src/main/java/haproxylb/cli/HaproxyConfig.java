package haproxylb.cli;

import haproxylb.common.Settings;
import haproxylb.common.SettingsFile;
import haproxylb.common.StateDirLock;
import haproxylb.common.StateLayout;
import haproxylb.common.AtomicFiles;
import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentHistory;
import haproxylb.intake.FragmentName;
import haproxylb.intake.FragmentProblem;
import haproxylb.intake.FragmentReader;
import haproxylb.intake.MapEntry;
import haproxylb.status.FragmentStatus;
import haproxylb.status.Status;
import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@code haproxy-config}: the old role's verbs, so existing playbooks keep working, plus list and status, and the
 * verbs for a bad day: check and diff (what the daemon would decide and change, without sending anything), history
 * and rollback. apply, remove and rollback hand the files to the daemon through its inbox (atomically) and wait for
 * the outcome, so an Ansible task fails loudly when a fragment is rejected.
 * Exit codes: 0 done (check: would be accepted), 1 rejected (check: would be), 2 usage or local error, 3 no outcome
 * within the timeout.
 */
public final class HaproxyConfig {
    static final String USAGE = """
            usage: haproxy-config apply NAME CONFIG_FRAGMENT BACKEND_MAP_FRAGMENT [--timeout SECONDS] [--no-wait]
                   haproxy-config remove NAME [--timeout SECONDS] [--no-wait]
                   haproxy-config list
                   haproxy-config status
                   haproxy-config check NAME CONFIG_FRAGMENT BACKEND_MAP_FRAGMENT [--fragments LIVE_FRAGMENTS_DIR]
                   haproxy-config diff NAME CONFIG_FRAGMENT BACKEND_MAP_FRAGMENT [--fragments LIVE_FRAGMENTS_DIR]
                   haproxy-config history NAME
                   haproxy-config rollback NAME [ID] [--timeout SECONDS] [--no-wait]""";

    private final StateLayout state;
    private final FragmentReader reader;
    private final SettingsFile settings;
    private final PrintStream out;
    private final PrintStream err;
    /** Whether the daemon's lock was looked for: once per command (remove waits in two steps). */
    private boolean lookedForDaemon;

    HaproxyConfig(Path stateDir, FragmentReader reader, PrintStream out, PrintStream err) throws IOException {
        this(stateDir, reader, new SettingsFile(Path.of(System.getProperty("lb.conf-dir", "conf")), System.getenv()),
                out, err);
    }

    /** @param settings for check and diff (the template and its settings) and history (its length) */
    HaproxyConfig(Path stateDir, FragmentReader reader, SettingsFile settings, PrintStream out, PrintStream err) {
        this.state = new StateLayout(stateDir);
        this.reader = reader;
        this.settings = settings;
        this.out = out;
        this.err = err;
    }

    /** The state directory, fragment limits and fragment policy from the settings, as the daemon reads them. */
    static HaproxyConfig from(SettingsFile settings, PrintStream out, PrintStream err) {
        Path state = Path.of(settings.get("lb.state-dir").orElse("/var/lib/haproxy-lb"));
        FragmentReader reader = FragmentReader.from(new Settings(settings::get));
        return new HaproxyConfig(state, reader, settings, out, err);
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            SettingsFile settings = new SettingsFile(Path.of(System.getProperty("lb.conf-dir", "conf")), System.getenv());
            return from(settings, out, err).dispatch(List.of(args));
        } catch (IOException | RuntimeException e) {
            err.println("haproxy-config: " + e.getMessage());
            return 2;
        }
    }

    int dispatch(List<String> args) throws IOException {
        List<String> positional = new ArrayList<>();
        Duration timeout = Duration.ofSeconds(150);
        boolean wait = true;
        Path fragments = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--no-wait")) {
                wait = false;
            } else if (a.equals("--fragments") && i + 1 < args.size()) {
                fragments = Path.of(args.get(++i));
            } else if (a.equals("--timeout") && i + 1 < args.size()) {
                timeout = Duration.ofSeconds(Long.parseLong(args.get(++i)));
            } else {
                positional.add(a);
            }
        }
        String verb = positional.isEmpty() ? "" : positional.get(0);
        return switch (verb) {
            case "apply" -> positional.size() == 4
                    ? apply(positional.get(1), Path.of(positional.get(2)), Path.of(positional.get(3)), wait, timeout)
                    : usage();
            case "remove" -> positional.size() == 2 ? remove(positional.get(1), wait, timeout) : usage();
            case "list" -> positional.size() == 1 ? list() : usage();
            case "status" -> positional.size() == 1 ? status() : usage();
            case "check" -> positional.size() == 4
                    ? check(positional.get(1), Path.of(positional.get(2)), Path.of(positional.get(3)), fragments)
                    : usage();
            case "diff" -> positional.size() == 4
                    ? diff(positional.get(1), Path.of(positional.get(2)), Path.of(positional.get(3)), fragments)
                    : usage();
            case "history" -> positional.size() == 2 ? history(positional.get(1)) : usage();
            case "rollback" -> positional.size() == 2 || positional.size() == 3
                    ? rollback(positional.get(1), positional.stream().skip(2).findFirst(), wait, timeout)
                    : usage();
            default -> usage();
        };
    }

    private int usage() {
        err.println(USAGE);
        return 2;
    }

    int apply(String name, Path cfgFile, Path mapFile, boolean wait, Duration timeout) throws IOException {
        byte[][] files = readBoth(cfgFile, mapFile);
        if (files == null) {
            return 2;
        }
        byte[] cfg = files[0];
        byte[] map = files[1];
        Fragment fragment;
        try {
            fragment = reader.read(name, cfg, map); // same checks as the daemon's intake: fail before sending
        } catch (FragmentProblem p) {
            err.println("haproxy-config: fragment '" + name + "' rejected: " + p.getMessage());
            return 1;
        }
        Path inbox = state.inbox();
        Instant sent = Instant.now();
        // Written under hidden temp names and renamed: the daemon never sees a half-written file.
        AtomicFiles.write(inbox.resolve(name + ".cfg"), cfg);
        AtomicFiles.write(inbox.resolve(name + ".map"), map);
        if (!wait) {
            out.println("fragment '" + name + "' handed to haproxy-lb (" + fragment.id() + ")");
            return 0;
        }
        return awaitOutcome(name, timeout, s -> fragment.id().equals(s.id()) && updatedSince(s, sent), false, null);
    }

    /**
     * The status is about what was just sent, not an older verdict on the same bytes (a version rejected before and
     * sent again once another fragment was fixed): the daemon records it after the files were written.
     */
    private static boolean updatedSince(FragmentStatus s, Instant sent) {
        try {
            return s.updatedAt() != null && !Instant.parse(s.updatedAt()).isBefore(sent);
        } catch (java.time.format.DateTimeParseException e) {
            return false;
        }
    }

    int remove(String name, boolean wait, Duration timeout) throws IOException {
        try {
            haproxylb.intake.FragmentName.check(name);
        } catch (FragmentProblem p) {
            err.println("haproxy-config: " + p.getMessage());
            return 2;
        }
        if (!known(name)) {
            out.println("fragment '" + name + "' is not on this balancer (haproxy-config list shows what is):"
                    + " nothing to remove");
            return 0;
        }
        Path marker = state.inbox().resolve(name + ".remove");
        long sent = System.currentTimeMillis();
        AtomicFiles.write(marker, new byte[0]);
        if (!wait) {
            out.println("removal of fragment '" + name + "' handed to haproxy-lb");
            return 0;
        }
        Instant deadline = Instant.now().plus(timeout);
        sayIfNoDaemon(timeout);
        while (Files.exists(marker) && Instant.now().isBefore(deadline)) {
            pause();
        }
        // Besides the entry going, only a refusal of this removal is its outcome (a removal's id is "remove-" and the
        // millisecond the intake took it, so an older refusal is not); a "live" entry is the version being removed.
        return awaitOutcome(name, Duration.between(Instant.now(), deadline), s -> s.state().equals("rejected")
                && s.id() != null && s.id().startsWith("remove-") && intakeMillis(s.id()) >= sent, true, null);
    }

    /** Whether the daemon has the fragment (in its status, in any state) or has yet to take it from the inbox. */
    private boolean known(String name) throws IOException {
        Path statusFile = state.statusFile();
        if (!Files.exists(statusFile) || StatusBoard.read(statusFile).fragments().containsKey(name)) {
            return true; // no status yet: the daemon has not started; let the removal wait for it as before
        }
        return Files.exists(state.inbox().resolve(name + ".cfg")) || Files.exists(state.inbox().resolve(name + ".map"));
    }

    /**
     * Once, when no daemon holds the state directory: otherwise a stopped daemon shows only as the whole timeout
     * going by. The files stay in the inbox and are taken when it starts, so the wait goes on (a restart ends it).
     */
    private void sayIfNoDaemon(Duration timeout) {
        if (lookedForDaemon) {
            return;
        }
        lookedForDaemon = true;
        if (StateDirLock.probe(state.root()) == StateDirLock.Presence.NOT_RUNNING) {
            err.println("haproxy-config: no haproxy-lb daemon is running on " + state.root() + " now: the files wait"
                    + " in its inbox and are taken when it starts (systemctl start haproxy-lb). Waiting up to "
                    + Math.max(0, timeout.toSeconds()) + " s.");
        }
    }

    /**
     * Once, when the change is accepted and its reload waits for the rate limit: up to lb.reload.min-interval of
     * silence otherwise reads as a hang. Said on stderr, so stdout keeps only the outcome.
     */
    private boolean tellOfTheRateLimit(String name, FragmentStatus f, Status status) {
        Instant at;
        try {
            at = status.nextReloadAt() == null ? null : Instant.parse(status.nextReloadAt());
        } catch (java.time.format.DateTimeParseException e) {
            return false;
        }
        Instant now = Instant.now();
        if (at == null || !at.isAfter(now.plusSeconds(1))) {
            return false;
        }
        err.println("haproxy-config: fragment '" + name + "' is accepted into config generation " + f.generation()
                + "; haproxy reloads in " + Duration.between(now, at).toSeconds() + " s, at " + at
                + " (lb.reload.min-interval: at most one reload per interval). Waiting for it.");
        return true;
    }

    private static long intakeMillis(String removalId) {
        try {
            return Long.parseLong(removalId.substring("remove-".length()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** @param refusal a line to print before the daemon's error when it rejects the change; null for none */
    private int awaitOutcome(String name, Duration timeout, java.util.function.Predicate<FragmentStatus> ours,
                             boolean removal, String refusal) throws IOException {
        Instant deadline = Instant.now().plus(timeout.isNegative() ? Duration.ZERO : timeout);
        sayIfNoDaemon(timeout);
        Path statusFile = state.statusFile();
        FragmentStatus last = null;
        boolean toldOfTheRateLimit = false;
        do {
            if (Files.exists(statusFile)) {
                Status status = StatusBoard.read(statusFile);
                FragmentStatus f = status.fragments().get(name);
                last = f;
                // "removed" is in the config on disk only: done once haproxy no longer serves it (the entry goes).
                if (removal && f == null) {
                    out.println("fragment '" + name + "' removed: its domains are no longer served");
                    return new ClusterRollout(state.root(), out, err).awaitRemoved(name, deadline);
                }
                if (f != null && ours.test(f)) {
                    switch (f.state()) {
                        case "live" -> {
                            out.println("fragment '" + name + "' is live (config generation " + f.generation() + ")");
                            return new ClusterRollout(state.root(), out, err).awaitLive(name, f.id(), deadline);
                        }
                        case "rejected" -> {
                            if (refusal != null) {
                                err.println(refusal);
                            }
                            err.println(f.error());
                            return 1;
                        }
                        case "assembled" -> toldOfTheRateLimit = toldOfTheRateLimit || tellOfTheRateLimit(name, f,
                                status);
                        default -> { }
                    }
                }
            }
            pause();
        } while (Instant.now().isBefore(deadline));
        err.println("haproxy-config: no outcome for fragment '" + name + "' within " + timeout.toSeconds() + " s"
                + (last == null ? "; is the haproxy-lb daemon running (systemctl status haproxy-lb)?"
                : "; its state is '" + last.state() + "' (see haproxy-config status)"));
        return 3;
    }

    /** The files to check or compare, and the live set they are checked against (a copy of it in CI). */
    private record Proposal(byte[][] files, Path dir, LiveFragments live) {}

    /** null after a usage or local error, which was printed. */
    private Proposal proposal(Path cfgFile, Path mapFile, Path fragmentsDir) throws IOException {
        byte[][] files = readBoth(cfgFile, mapFile);
        if (files == null) {
            return null;
        }
        Path dir = fragmentsDir != null ? fragmentsDir : state.fragments();
        LiveFragments live = liveFragments(dir);
        return live == null ? null : new Proposal(files, dir, live);
    }

    int check(String name, Path cfgFile, Path mapFile, Path fragmentsDir) throws IOException {
        Proposal p = proposal(cfgFile, mapFile, fragmentsDir);
        if (p == null) {
            return 2;
        }
        byte[][] files = p.files();
        Path dir = p.dir();
        LiveFragments live = p.live();
        try (DaemonValidation validation = new DaemonValidation(settings, true, reader.policy())) {
            Optional<String> reason = FragmentCheck.verdict(reader, name, files[0], files[1], live.fragments(),
                    validation.validator());
            if (reason.isPresent()) {
                err.println("Fragment '" + name + "' would be rejected: " + reason.get());
                return 1;
            }
        }
        out.println("fragment '" + name + "' would be accepted: it passes haproxy-lb's rules and haproxy -c together"
                + " with the " + live.fragments().size() + " live fragment(s) in " + dir + " (nothing was sent)");
        return 0;
    }

    int diff(String name, Path cfgFile, Path mapFile, Path fragmentsDir) throws IOException {
        Proposal p = proposal(cfgFile, mapFile, fragmentsDir);
        if (p == null) {
            return 2;
        }
        byte[][] files = p.files();
        LiveFragments live = p.live();
        FragmentCheck.Read read = FragmentCheck.read(reader, name, files[0], files[1]);
        if (read.problem().isPresent()) {
            err.println("Fragment '" + name + "' would be rejected: " + read.problem().get());
            return 1;
        }
        try (DaemonValidation validation = new DaemonValidation(settings, false, reader.policy())) {
            out.print(FragmentDiff.describe(live.fragments(), read.fragment().orElseThrow(),
                    validation.validator().assembler(), validation.mapPath(), validation.runtimeMapUpdates()));
        }
        return 0;
    }

    int history(String name) throws IOException {
        if (!FragmentName.isValid(name)) {
            return invalidName(name);
        }
        FragmentHistory history = history();
        Path statusFile = state.statusFile();
        FragmentStatus now = Files.exists(statusFile) ? StatusBoard.read(statusFile).fragments().get(name) : null;
        out.print(HistoryReport.format(name, history.entries(name), history.keep(),
                HistoryReport.liveId(state.fragments(), name), now));
        return 0;
    }

    int rollback(String name, Optional<String> id, boolean wait, Duration timeout) throws IOException {
        if (!FragmentName.isValid(name)) {
            return invalidName(name);
        }
        Instant sent = Instant.now();
        Rollback.Handover handover;
        try {
            handover = Rollback.handOver(history(), state, name, id);
        } catch (FragmentProblem p) {
            err.println("haproxy-config: " + p.getMessage());
            return 2;
        }
        String version = "version " + handover.target().id() + " (live from " + handover.target().at() + ")";
        if (handover.alreadyLive()) {
            out.println("fragment '" + name + "' runs " + version + " already: nothing to roll back");
            return 0;
        }
        out.println("fragment '" + name + "': " + version + " handed to haproxy-lb (" + handover.id() + ")");
        if (!wait) {
            return 0;
        }
        return awaitOutcome(name, timeout, s -> handover.id().equals(s.id()) && updatedSince(s, sent), false,
                "haproxy-config: the rollback of fragment '" + name + "' to " + version + " was refused;"
                        + " what is live now stays:");
    }

    private FragmentHistory history() {
        int keep = Integer.parseInt(settings.get("lb.fragments.history")
                .orElse(Integer.toString(FragmentHistory.DEFAULT_KEEP)));
        return new FragmentHistory(state.history(), keep, Clock.systemUTC());
    }

    private int invalidName(String name) {
        try {
            FragmentName.check(name);
        } catch (FragmentProblem p) {
            err.println("haproxy-config: " + p.getMessage());
        }
        return 2;
    }

    /** Both files, or null after saying which one cannot be read. */
    private byte[][] readBoth(Path cfgFile, Path mapFile) {
        try {
            return new byte[][] {readBounded(cfgFile), readBounded(mapFile)};
        } catch (IOException e) {
            err.println("haproxy-config: cannot read " + describe(e));
            return null;
        }
    }

    /**
     * A fragment file, read no further than the daemon would take (lb.fragments.max-bytes): a device such as
     * /dev/zero, a pipe or a huge file given by mistake gets an answer, not an OutOfMemoryError.
     */
    private byte[] readBounded(Path file) throws IOException {
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new IOException(file + ": not a regular file (" + (Files.isDirectory(file) ? "a directory"
                    : "a device, a pipe or a socket") + ")");
        }
        long max = reader.maxBytes();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 16, max + 1));
            if (bytes.length > max) {
                throw new IOException(file + ": more than the limit of " + max + " bytes (setting"
                        + " lb.fragments.max-bytes); split it into several fragments");
            }
            return bytes;
        }
    }

    /** "/path: no such file" rather than Java's bare path or its exception's name. */
    private static String describe(IOException e) {
        if (e instanceof NoSuchFileException n) {
            return n.getFile() + ": no such file";
        }
        if (e instanceof AccessDeniedException a) {
            return a.getFile() + ": permission denied";
        }
        if (e instanceof FileSystemException f && f.getFile() != null) {
            return f.getFile() + ": " + (f.getReason() != null ? f.getReason() : e.getClass().getSimpleName());
        }
        return e.getMessage();
    }

    private LiveFragments liveFragments(Path dir) {
        try {
            LiveFragments live = LiveFragments.read(dir, reader);
            live.skipped().forEach(s -> err.println("haproxy-config: note: skipping live fragment " + s
                    + " (the daemon skips it too)"));
            return live;
        } catch (IOException e) {
            err.println("haproxy-config: " + e.getMessage() + "; is lb.state-dir right? (or give --fragments DIR)");
            return null;
        }
    }

    int list() throws IOException {
        Path live = state.fragments();
        if (!Files.isDirectory(live)) {
            err.println("haproxy-config: " + live + " does not exist; is lb.state-dir right?");
            return 2;
        }
        try (Stream<Path> files = Files.list(live)) {
            for (Path cfg : files.filter(p -> p.toString().endsWith(".cfg")).sorted().toList()) {
                String name = cfg.getFileName().toString().replaceFirst("\\.cfg$", "");
                try {
                    Fragment f = reader.read(name, Files.readAllBytes(cfg),
                            Files.readAllBytes(live.resolve(name + ".map")));
                    out.println(name + "\t" + String.join(",", f.backends().keySet().stream().sorted().toList())
                            + "\t" + String.join(" ", f.entries().stream().map(MapEntry::domain).toList()));
                } catch (FragmentProblem | IOException e) {
                    out.println(name + "\t(unreadable: " + e.getMessage() + ")");
                }
            }
        }
        return 0;
    }

    int status() throws IOException {
        Path statusFile = state.statusFile();
        if (!Files.exists(statusFile)) {
            err.println("haproxy-config: " + statusFile + " does not exist" + switch (StateDirLock.probe(state.root())) {
                case RUNNING -> " now; the daemon, which runs, writes it again within seconds: try again";
                case NOT_RUNNING -> ", and no haproxy-lb daemon is running on " + state.root()
                        + " (systemctl start haproxy-lb)";
                case UNKNOWN -> "; is the haproxy-lb daemon running?";
            });
            return 2;
        }
        Status s = StatusBoard.read(statusFile);
        if (StateDirLock.probe(state.root()) == StateDirLock.Presence.NOT_RUNNING) {
            out.println("haproxy-lb daemon: NOT RUNNING on " + state.root() + " (what follows is from its last run;"
                    + " systemctl start haproxy-lb)");
        }
        out.println("config generation " + s.configGeneration() + ", live generation " + s.liveGeneration()
                + (s.reloadPending() ? ", reload scheduled for " + s.nextReloadAt() : ""));
        Optional.ofNullable(s.lastReload()).ifPresent(r -> out.println("last reload: " + r.at() + " "
                + (r.ok() ? "ok" : "FAILED: " + r.message())));
        out.println("reloads: " + s.reloads() + " (changes coalesced by the rate limit: " + s.reloadsCoalesced() + ")");
        Optional.ofNullable(s.oldWorkers()).ifPresent(w -> out.println("old haproxy workers still draining: "
                + w.workers() + " (" + w.connections() + " connections)"));
        out.println();
        out.println("FRAGMENT\tSTATE\tID\tGENERATION");
        for (Map.Entry<String, FragmentStatus> e : s.fragments().entrySet()) {
            FragmentStatus f = e.getValue();
            out.println(e.getKey() + "\t" + f.state() + "\t" + (f.id() == null ? "-" : f.id()) + "\t" + f.generation());
            if (f.error() != null) {
                f.error().lines().forEach(l -> out.println("    " + l));
            }
        }
        if (s.certificates() != null && s.certificates().values().stream().anyMatch(c -> c != null)) {
            out.println();
            out.println("DOMAIN\tCERTIFICATE STATE\tEXPIRES\tNEXT RENEWAL\tBACKOFF STEP");
            s.certificates().forEach((domain, c) -> {
                if (c != null) {
                    printCertificate(domain, c);
                }
            });
        }
        Optional<haproxylb.cluster.ClusterView> cluster = haproxylb.cluster.ClusterView.read(state.root());
        if (cluster.isPresent()) {
            out.println();
            out.print(cluster.get().describe());
        }
        return 0;
    }

    /** One domain's certificate state (a CertificateStatus as status.json has it), plus why and the last error. */
    private void printCertificate(String domain, Object state) {
        if (!(state instanceof Map<?, ?> c)) {
            out.println(domain + "\t" + state);
            return;
        }
        Object name = c.get("certificate");
        Object step = c.get("backoffStep");
        out.println(domain + "\t" + field(c, "state") + (name == null ? "" : " (" + name
                + (c.get("source") == null ? "" : ", " + c.get("source")) + ")")
                + "\t" + field(c, "expires") + "\t" + field(c, "nextRenewal")
                + "\t" + (step == null || "0".equals(String.valueOf(step)) ? "-" : step
                + (c.get("nextAttempt") == null ? "" : " (next attempt " + c.get("nextAttempt") + ")")));
        if (c.get("reason") != null) {
            out.println("    why: " + c.get("reason"));
        }
        if (c.get("lastError") != null) {
            out.println("    last error: " + (c.get("lastErrorType") == null ? "" : "[" + c.get("lastErrorType") + "] ")
                    + c.get("lastError"));
        }
        if (c.get("issuer") != null) {
            out.println("    issued by: " + c.get("issuer") + (c.get("profile") == null ? "" : " (profile "
                    + c.get("profile") + ")"));
        }
        if (c.get("ariWindow") != null) {
            out.println("    CA's renewal window (ARI): " + c.get("ariWindow")
                    + (c.get("ariExplanation") == null ? "" : " (why: " + c.get("ariExplanation") + ")"));
        }
        if (c.get("note") != null) {
            out.println("    note: " + c.get("note"));
        }
        if (c.get("quota") instanceof List<?> quota) {
            quota.forEach(q -> out.println("    quota: " + q));
        }
    }

    private static String field(Map<?, ?> c, String name) {
        Object v = c.get(name);
        return v == null ? "-" : v.toString();
    }

    private static void pause() {
        try {
            // Polling a file another process writes (nothing to await on); reading status.json costs ~1 ms, and a
            // 200 ms step added ~100 ms to every apply (bench/drop-latency.sh).
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
