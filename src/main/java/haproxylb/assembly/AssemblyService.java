package haproxylb.assembly;

import haproxylb.common.AtomicFiles;
import haproxylb.common.Pacing;
import haproxylb.haproxy.HaproxyCheck;
import haproxylb.haproxy.MapUpdater;
import haproxylb.haproxy.ReloadGate;
import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentProblem;
import haproxylb.intake.PendingChange;
import haproxylb.intake.FragmentStore;
import haproxylb.intake.InboxBacklog;
import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The assembly stage: live fragments + pending changes → a validated haproxy.cfg and backend map, moved into place
 * atomically. Changes that break the config are found by bisection and rejected one by one; everything else goes
 * live. A change of map lines only (for backends haproxy already has) goes to the running haproxy through the
 * runtime API instead of a reload. Returns whether haproxy needs a reload.
 */
public final class AssemblyService {
    private static final Logger LOG = LoggerFactory.getLogger(AssemblyService.class);

    private final FragmentStore store;
    /** An assembly is O(fragments): in a storm each takes what came meanwhile, at most half a core's worth. */
    private final Pacing pacing = new Pacing(1);
    private volatile boolean stopping;
    /** In a storm of drops an assembly waits for the inbox to drain (up to a hold), then takes it all at once. */
    private final InboxBacklog backlog;
    private final ConfigAssembler assembler;
    private final CandidateValidator validator;
    private final Path liveConfig;
    private final Path liveMap;
    private final StatusBoard status;
    private final ReloadGate reloads;
    private final MapUpdater mapUpdater;
    private volatile AssemblyReport lastReport;
    /**
     * The last haproxy.cfg (rendered with the live map path) that haproxy -c accepted, and the last one it refused
     * with its error: the same text is not checked twice (a batch that fails as a whole is the bisection's first
     * trial; the bisection's last success is the set that goes live).
     */
    private String lastAcceptedCfg;
    private String lastRefusedCfg;
    /**
     * The last set rendered with the live map path, and its rendering: a clean batch's set is validated, validated
     * again after the bisection's verdict and written, and is rendered once for all three (twice with the candidate).
     */
    private List<Fragment> lastRenderedSet;
    private AssembledConfig lastRendered;
    private String lastRefusal;
    private volatile String fault;
    /** The live files were written by an assembly that failed before the status and the reload request. */
    private volatile boolean unrecorded;
    /** What this process last wrote to (or found in) haproxy.cfg and the map: a difference on disk is a hand edit. */
    private String writtenCfg;
    private String writtenMap;

    /** What an assembly changed on disk, and so what haproxy needs. */
    public enum Outcome {
        /** nothing: no reload */
        UNCHANGED,
        /** only the backend map: applied to the running haproxy through its runtime API, no reload */
        MAP_APPLIED,
        /** haproxy.cfg changed (or the runtime API could not apply the map): reload */
        RELOAD_NEEDED
    }

    public record AssemblyReport(int accepted, int rejected, int validations, long millis, Outcome outcome) {}

    public AssemblyService(FragmentStore store, ConfigAssembler assembler, CandidateRules rules, HaproxyCheck haproxy,
                           Path liveConfig, Path liveMap, Path candidateDir, StatusBoard status,
                           ReloadGate reloads, MapUpdater mapUpdater, InboxBacklog backlog) {
        this.store = store;
        this.backlog = backlog;
        this.assembler = assembler;
        this.validator = new CandidateValidator(rules, assembler, haproxy, candidateDir);
        this.liveConfig = liveConfig.toAbsolutePath();
        this.liveMap = liveMap.toAbsolutePath();
        this.status = status;
        this.reloads = reloads;
        this.mapUpdater = mapUpdater;
    }

    /**
     * The daemon stops: an assembly waiting for its turn or for a storm ends its wait and does not start (its changes
     * stay in pending/ for the next start). Without this a stop waited out the pause, which after an assembly of
     * 23,000 fragments is ~11 s, and Camel's graceful shut-down forced the routes down with stack traces at 15 s.
     */
    public void stop() {
        stopping = true;
        pacing.stop();
    }

    public Path liveConfig() {
        return liveConfig;
    }

    public Path liveMap() {
        return liveMap;
    }

    /** The daemon's validation, for operator checks; give it a candidate directory of its own ({@code in}). */
    public CandidateValidator validator() {
        return validator;
    }

    /** Whether a change of map lines only goes live through the runtime API (lb.haproxy.runtime-map-updates). */
    public boolean appliesMapChangesLive() {
        return mapUpdater != MapUpdater.NONE;
    }

    public AssemblyReport lastReport() {
        return lastReport;
    }

    /**
     * Why the last assembly could not finish (a full or read-only state directory, haproxy -c giving no verdict or
     * refusing the live config too), or null. Its changes stay pending with this reason in their status, nothing is
     * rejected for it, and {@link #retryDue()} asks for another try.
     */
    public String fault() {
        return fault;
    }

    /**
     * True while an assembly is owed another try: the last one hit a fault, or wrote the live files without
     * recording them (the status and the reload are still owed for what is on disk).
     */
    public boolean retryDue() {
        return fault != null || unrecorded;
    }

    /**
     * @return true when a new haproxy.cfg or map was written and haproxy should reload. A fault of the state directory
     * or of haproxy -c does not throw: the changes wait (see {@link #fault()}) and the last good config keeps serving.
     */
    public boolean assemble() throws IOException {
        // The pause first: a storm may start during it, and is then waited for too.
        pacing.awaitTurn();
        backlog.awaitCalm();
        if (stopping || Thread.currentThread().isInterrupted()) {
            // Stopping: the changes stay in pending/ for the next start. Assembling now would fail on the first
            // interruptible write and be logged as a full or read-only disk.
            return false;
        }
        return pacing.run(this::assembleNow);
    }

    private synchronized boolean assembleNow() throws IOException {
        try (StatusBoard.Publication batch = status.publication()) {
            return assembleChanges();
        } catch (HaproxyCheck.Unavailable e) {
            hold(e.getMessage());
        } catch (IOException | UncheckedIOException e) {
            IOException io = e instanceof UncheckedIOException u ? u.getCause() : (IOException) e;
            if (io instanceof ClosedByInterruptException || Thread.currentThread().isInterrupted()) {
                // A stop, not the disk: what this assembly had not finished stays pending (promotion repeats safely).
                LOG.info("Stopped during an assembly; its unfinished changes stay pending for the next start");
                return false;
            }
            // A temp file's random name would make every retry's reason new, and the log line repeat.
            hold("cannot write the state directory or haproxy's files (" + io.getClass().getSimpleName() + ": "
                    + String.valueOf(io.getMessage()).replaceAll("\\.tmp-[^\\s:]*", ".tmp-*")
                    + "); is the disk full or read-only?");
        }
        return false;
    }

    /**
     * Nothing of the batch is rejected or promoted while the fault lasts: pending/ keeps every change, status shows why
     * they wait, and a refusal seen meanwhile is forgotten (it may have come from a broken haproxy binary).
     */
    private void hold(String reason) {
        lastRefusedCfg = null;
        lastRefusal = null;
        String text = reason + " Nothing was rejected and the last good config keeps serving; the changes wait and"
                + " are retried every lb.assembly.retry ms.";
        if (!text.equals(fault)) {
            LOG.error("Assembly could not finish: {}", text);
        }
        fault = text;
        try {
            Map<String, String> waiting = new TreeMap<>();
            for (PendingChange c : store.pendingChanges()) {
                waiting.put(c.name(), c.id());
            }
            status.held(waiting, text);
        } catch (RuntimeException e) {
            LOG.warn("Could not list the pending changes to show why they wait: {}", e.getMessage());
        }
    }

    private boolean assembleChanges() throws IOException {
        long start = System.nanoTime();
        TreeMap<String, Fragment> live = store.liveFragments();
        List<PendingChange> changes = store.pendingChanges();
        Map<PendingChange, Fragment> parsed = new LinkedHashMap<>();
        List<PendingChange> unparsable = new ArrayList<>();
        for (PendingChange c : changes) {
            if (c.remove()) {
                continue;
            }
            try {
                parsed.put(c, store.parsed(c));
            } catch (FragmentProblem e) {
                unparsable.add(c);
                rejectChange(c, e.getMessage());
            }
        }
        List<PendingChange> candidates = new ArrayList<>(changes);
        candidates.removeAll(unparsable);

        ChangeBisector<PendingChange> bisector = new ChangeBisector<>(cs -> validate(apply(live, cs, parsed)));
        ChangeBisector.Outcome<PendingChange> outcome;
        if (candidates.isEmpty() || validate(apply(live, candidates, parsed)).isEmpty()) {
            outcome = new ChangeBisector.Outcome<>(candidates, Map.of(), candidates.isEmpty() ? 0 : 1);
        } else {
            // Not from the cache: the live config passed before, so a refusal now says haproxy -c itself is broken
            // (a failing binary) or the base template changed; either way the changes are not to blame.
            lastAcceptedCfg = null;
            Optional<String> baseError = validate(live);
            if (baseError.isPresent()) {
                hold("haproxy -c refuses the config that is live now as well, so the new changes are not to blame"
                        + " (is lb.haproxy.binary working? was the base template changed?). haproxy -c said:\n"
                        + baseError.get() + "\n");
                return false;
            }
            // haproxy -c works on the live config now; had it just been repaired (a binary swapped back), the batch's
            // refusal was its fault: checked again before the bisection could blame a change for it.
            lastRefusedCfg = null;
            outcome = validate(apply(live, candidates, parsed)).isEmpty()
                    ? new ChangeBisector.Outcome<>(candidates, Map.of(), 3) : bisector.split(candidates);
        }
        for (var rejected : outcome.rejected().entrySet()) {
            rejectChange(rejected.getKey(), rejected.getValue());
        }

        TreeMap<String, Fragment> next = apply(live, outcome.accepted(), parsed);
        Optional<String> nextError = validate(next); // cached: the bisection validated exactly this set last
        if (nextError.isPresent()) {
            hold("the assembled config does not pass haproxy -c (most likely the base template):\n"
                    + nextError.get() + "\n");
            return false;
        }
        boolean reloadOwed = reloads.owed();
        Written written = writeLive(next);
        if (written == Written.NOTHING && unrecorded) {
            // An earlier try wrote these very files and failed before recording them: haproxy has not loaded them.
            written = Written.CONFIG;
        }
        unrecorded = written != Written.NOTHING;
        store.promote(outcome.accepted());
        Map<String, String> mapBefore = mapOf(live);
        Map<String, String> mapAfter = mapOf(next);
        Outcome result = switch (written) {
            case NOTHING -> Outcome.UNCHANGED;
            case CONFIG -> Outcome.RELOAD_NEEDED;
            // While a reload is owed anyway, it will load the new map file too.
            case MAP_ONLY -> !reloadOwed && mapUpdater.apply(mapBefore, mapAfter)
                    ? Outcome.MAP_APPLIED : Outcome.RELOAD_NEEDED;
        };
        // Domains that leave the map stop being served now, through the runtime API; the reload that drops their
        // backends may wait for the rate limit (haproxy-config remove waits for this: issue 11).
        boolean withdrawn = result == Outcome.RELOAD_NEEDED && withdraw(mapBefore, mapAfter);
        Map<String, String> ids = new TreeMap<>();
        next.forEach((name, f) -> ids.put(name, f.id()));
        Map<String, String> accepted = new TreeMap<>();
        outcome.accepted().stream().filter(c -> !c.remove()).forEach(c -> accepted.put(c.name(), c.id()));
        List<String> removed = outcome.accepted().stream().filter(PendingChange::remove)
                .map(PendingChange::name).filter(n -> !next.containsKey(n)).toList();
        long generation = written == Written.NOTHING ? reloads.configGeneration() : reloads.assembled();
        if (result == Outcome.MAP_APPLIED) {
            reloads.liveWithoutReload(generation);
        }
        status.assembled(reloads.facts(), accepted, ids, removed);
        if (withdrawn) {
            status.withdrawn(removed);
        }
        for (PendingChange c : outcome.accepted()) {
            LOG.info("{} accepted{}", capitalised(c.describe()), switch (result) {
                case UNCHANGED -> " (config unchanged)";
                case MAP_APPLIED -> ": map generation " + generation + " applied through the runtime API, no reload";
                case RELOAD_NEEDED -> " into config generation " + generation;
            });
        }
        unrecorded = false;
        if (fault != null) {
            LOG.info("Assembly works again: the changes that waited are decided");
            fault = null;
        }
        lastReport = new AssemblyReport(outcome.accepted().size(), outcome.rejected().size() + unparsable.size(),
                outcome.validations(), (System.nanoTime() - start) / 1_000_000, result);
        return result == Outcome.RELOAD_NEEDED;
    }

    private enum Written { NOTHING, MAP_ONLY, CONFIG }

    /** Takes the domains that are gone from the map out of the running haproxy's map; true when there were some. */
    private boolean withdraw(Map<String, String> before, Map<String, String> after) {
        Map<String, String> kept = new HashMap<>(before);
        kept.keySet().retainAll(after.keySet());
        return kept.size() < before.size() && mapUpdater.apply(before, kept);
    }

    private static Map<String, String> mapOf(TreeMap<String, Fragment> fragments) {
        Map<String, String> map = new HashMap<>();
        fragments.values().forEach(f -> f.entries().forEach(e -> map.put(e.domain(), e.backend())));
        return map;
    }

    private Written writeLive(TreeMap<String, Fragment> fragments) throws IOException {
        AssembledConfig config = rendered(fragments);
        String cfgOnDisk = Files.exists(liveConfig) ? Files.readString(liveConfig) : null;
        String mapOnDisk = Files.exists(liveMap) ? Files.readString(liveMap) : null;
        warnIfChangedOutside(liveConfig, cfgOnDisk, writtenCfg, config.cfg());
        warnIfChangedOutside(liveMap, mapOnDisk, writtenMap, config.map());
        boolean sameCfg = config.cfg().equals(cfgOnDisk);
        boolean sameMap = config.map().equals(mapOnDisk);
        // Each remembered once it is on disk: after a failed write (a full disk) the old file is no hand edit.
        if (sameCfg) {
            writtenCfg = config.cfg();
        }
        if (sameMap) {
            writtenMap = config.map();
        }
        if (sameCfg && sameMap) {
            return Written.NOTHING;
        }
        // Map first: a crash between the two writes leaves the old config, which ignores unknown map lines.
        AtomicFiles.write(liveMap, config.map());
        writtenMap = config.map();
        if (sameCfg) {
            return Written.MAP_ONLY;
        }
        AtomicFiles.write(liveConfig, config.cfg());
        writtenCfg = config.cfg();
        return Written.CONFIG;
    }

    /**
     * A hand edit of haproxy.cfg or the map (a hotfix at 3 a.m.) is replaced by the next assembly: said, so that it
     * does not vanish unexplained. Known only for what this process wrote; a change across a restart looks like a
     * new template.
     */
    private static void warnIfChangedOutside(Path file, String onDisk, String written, String next) {
        if (written != null && onDisk != null && !onDisk.equals(written) && !onDisk.equals(next)) {
            LOG.warn("{} was changed outside haproxy-lb since it wrote it (by hand?): the assembled one replaces it"
                    + " now. A lasting change belongs in the template (lb.haproxy.template) or in a fragment.", file);
        }
    }

    /** Checks a complete candidate set: haproxy-lb's own rules, then haproxy -c on the rendered files. */
    Optional<String> validate(TreeMap<String, Fragment> fragments) {
        Optional<String> ruleError = validator.rules(fragments.values());
        if (ruleError.isPresent()) {
            return ruleError;
        }
        // haproxy -c does not read map contents beyond loading them, so a change of map lines only needs the
        // rules above: the config itself was already validated.
        String liveCfg = rendered(fragments).cfg();
        if (liveCfg.equals(lastAcceptedCfg)) {
            return Optional.empty();
        }
        if (liveCfg.equals(lastRefusedCfg)) {
            return Optional.of(lastRefusal);
        }
        Optional<String> error = validator.haproxy(fragments.values());
        if (error.isEmpty()) {
            lastAcceptedCfg = liveCfg;
        } else {
            lastRefusedCfg = liveCfg;
            lastRefusal = error.get();
        }
        return error;
    }

    /** The set rendered with the live map path (haproxy.cfg as it would be written). */
    private AssembledConfig rendered(TreeMap<String, Fragment> fragments) {
        List<Fragment> set = List.copyOf(fragments.values());
        if (!set.equals(lastRenderedSet)) {
            lastRendered = assembler.assemble(set, liveMap.toString());
            lastRenderedSet = set;
        }
        return lastRendered;
    }

    private static TreeMap<String, Fragment> apply(TreeMap<String, Fragment> live, List<PendingChange> changes,
                                                   Map<PendingChange, Fragment> parsed) {
        TreeMap<String, Fragment> result = new TreeMap<>(live);
        for (PendingChange c : changes) {
            if (c.remove()) {
                result.remove(c.name());
            } else {
                result.put(c.name(), parsed.get(c));
            }
        }
        return result;
    }

    private void rejectChange(PendingChange c, String error) throws IOException {
        String text = (c.remove() ? "Removal of fragment '" + c.name() + "' was refused: "
                : "Fragment '" + c.name() + "' was rejected: ") + error + "\n\n"
                + (c.remove() ? "The fragment stays live. Fix the fragments that depend on it first."
                : "Nothing live was changed" + (Files.exists(store.liveDir().resolve(c.name() + ".cfg"))
                ? ": the previous version of '" + c.name() + "' keeps serving" : "")
                + ". Fix the files and send both " + c.name() + ".cfg and " + c.name() + ".map again.");
        store.reject(c, text);
        status.rejected(c.name(), c.id(), text);
        LOG.warn("{} rejected: {}", capitalised(c.describe()), error.lines().findFirst().orElse(error));
    }

    private static String capitalised(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
