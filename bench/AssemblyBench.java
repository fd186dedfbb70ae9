// Assembly + validation time of haproxy-lb's real AssemblyService against the number of fragments.
//
// Run with the project's classpath (bench/assembly.sh does this):
//   java -cp BUILD/classes:$(cat BUILD/classpath.txt) bench/AssemblyBench.java WORKDIR [N ...]
// WORKDIR is a scratch folder (the caller creates and deletes it); N defaults to 100 1000 5000.
// Environment: REPS (default 3) repetitions of the cheap steps, LB_CONF_DIR (default conf), any LB_* setting.
//
// For each N, a fresh state dir is filled the way the daemon would see it and the wiring is the one of
// src/main/java/haproxylb/app/DaemonConfiguration.java (same constructors, same settings from
// conf/application.properties, real conf/haproxy.cfg.template, real HaproxyCheck running `haproxy -c`):
//   intake  N fragments (1 backend, 1 server on 127.0.0.1, 2 domains each) passed to FragmentIntake.receive the way
//           the inbox route does (NAME.cfg then NAME.map, file deleted afterwards)
//   (a)     AssemblyService.assemble() with those N pending: parse, CandidateRules, haproxy -c, atomic write of
//           haproxy.cfg + backend.map, promotion of every fragment to fragments/, status.json
//   (b)     one more good fragment on top of N live ones (intake, then assemble() is timed)
//   (c)     one bad fragment (haproxy -c refuses it) on top of N live ones: assemble() finds it, rejects it
// and, separately, the parts: reading the live fragments back, ConfigAssembler.assemble, CandidateRules.check,
// haproxy -c on the assembled config, StatusBoard.pending ×N (each rewrites status.json), FragmentStore.promote ×N.

import haproxylb.app.Settings;
import haproxylb.assembly.AssembledConfig;
import haproxylb.assembly.AssemblyService;
import haproxylb.assembly.CandidateRules;
import haproxylb.assembly.ConfigAssembler;
import haproxylb.assembly.ConfigTemplate;
import haproxylb.assembly.MapUpdater;
import haproxylb.common.AtomicFiles;
import haproxylb.haproxy.HaproxyCheck;
import haproxylb.haproxy.ReloadGate;
import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentIntake;
import haproxylb.intake.FragmentReader;
import haproxylb.intake.FragmentStore;
import haproxylb.intake.PendingChange;
import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class AssemblyBench {
    static final int REPS = Integer.parseInt(System.getenv().getOrDefault("REPS", "3"));
    static final Path CONF = Path.of(System.getenv().getOrDefault("LB_CONF_DIR", "conf")).toAbsolutePath();

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: AssemblyBench WORKDIR [N ...]");
            System.exit(2);
        }
        work = Path.of(args[0]).toAbsolutePath();
        int[] sizes = args.length > 1 ? Arrays.stream(args, 1, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {100, 1000, 5000};
        System.out.printf("haproxy-lb assembly + validation: %d CPU(s), JVM %s, max heap %d MiB, %s; REPS=%d%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                Runtime.getRuntime().maxMemory() >> 20, haproxyVersion(), REPS);
        System.out.println("state dirs under " + work + " (" + Files.getFileStore(work).type() + ")");

        Path fallback = makeFallbackCertificate(work.resolve("fallback-cert"));
        System.out.println("warm-up (N=50, not reported) ...");
        new Run(work.resolve("warmup"), 50, fallback, true).run();

        List<Run> runs = new ArrayList<>();
        for (int n : sizes) {
            Run r = new Run(work.resolve("n" + n), n, fallback, false);
            r.run();
            runs.add(r);
            deleteTree(r.state); // keep the disk small between sizes
        }
        printTables(runs);
    }

    // ---------------------------------------------------------------------------------------------------------

    static final class Run {
        final Path state;
        final int n;
        final Path fallback;
        final boolean quiet;
        // results (ms unless noted)
        double intake, first, statusShare, promoteShare, readLive, pureAssemble, rules, haproxyC;
        List<Double> plusOne = new ArrayList<>(), plusBad = new ArrayList<>(), haproxyRuns = new ArrayList<>();
        long firstChecks, plusOneChecks, badChecks; // haproxy -c runs in (a), in each (b), in each (c)
        long cfgLines, cfgBytes, mapLines, heapAfter, heapAfterGc;

        Run(Path state, int n, Path fallback, boolean quiet) {
            this.state = state;
            this.n = n;
            this.fallback = fallback;
            this.quiet = quiet;
        }

        void run() throws Exception {
            Files.createDirectories(state);
            Rig rig = new Rig(state, fallback);
            long calls;
            Path inbox = state.resolve("inbox");

            // ---- intake of N fragments, then (a) the first assembly ----
            for (int i = 0; i < n; i++) {
                writeFragment(inbox, String.format("f%05d", i), i, false);
            }
            long t = System.nanoTime();
            for (int i = 0; i < n; i++) {
                receivePair(rig.intake, inbox, String.format("f%05d", i));
            }
            intake = ms(t);
            check(rig.store.pendingChanges().size() == n, "intake queued " + rig.store.pendingChanges().size()
                    + " of " + n + " fragments (see the log)");

            calls = haproxyCalls();
            t = System.nanoTime();
            boolean changed = rig.assembly.assemble();
            first = ms(t);
            firstChecks = haproxyCalls() - calls;
            AssemblyService.AssemblyReport rep = rig.assembly.lastReport();
            check(changed && rep.accepted() == n && rep.rejected() == 0,
                    "first assembly: changed=" + changed + " report=" + rep);
            heapAfter = heapUsed();
            System.gc();
            heapAfterGc = heapUsed();
            String cfg = Files.readString(rig.liveConfig);
            cfgBytes = cfg.length();
            cfgLines = cfg.lines().count();
            mapLines = Files.readString(rig.liveMap).lines().filter(l -> !l.startsWith("#")).count();
            log("N=%d: intake %.0f ms, (a) first assembly %.0f ms (%d haproxy -c), heap %d MiB (%d after GC)",
                    n, intake, first, firstChecks, heapAfter >> 20, heapAfterGc >> 20);

            // ---- (b) one more good fragment on top of N live ----
            for (int r = 0; r < REPS; r++) {
                String name = String.format("g%05d", r);
                writeFragment(inbox, name, n + r, false);
                receivePair(rig.intake, inbox, name);
                calls = haproxyCalls();
                t = System.nanoTime();
                changed = rig.assembly.assemble();
                plusOne.add(ms(t));
                plusOneChecks = haproxyCalls() - calls;
                rep = rig.assembly.lastReport();
                check(changed && rep.accepted() == 1 && rep.rejected() == 0, "+1 good: " + rep);
            }
            log("N=%d: (b) +1 good fragment %s ms (%d haproxy -c each)", n, list(plusOne), plusOneChecks);

            // ---- (c) one bad fragment on top of N (+REPS) live ----
            for (int r = 0; r < REPS; r++) {
                String name = String.format("bad%02d", r);
                writeFragment(inbox, name, n + REPS + r, true);
                receivePair(rig.intake, inbox, name);
                Path before = rig.liveConfig;
                String liveBefore = Files.readString(before);
                calls = haproxyCalls();
                t = System.nanoTime();
                changed = rig.assembly.assemble();
                plusBad.add(ms(t));
                badChecks = haproxyCalls() - calls;
                rep = rig.assembly.lastReport();
                check(!changed && rep.accepted() == 0 && rep.rejected() == 1, "+1 bad: changed=" + changed
                        + " " + rep);
                check(Files.exists(rig.store.rejectedDir().resolve(name + ".error")), "no " + name + ".error");
                check(Files.readString(before).equals(liveBefore), "the live config changed on a rejection");
            }
            String error = Files.readString(rig.store.rejectedDir().resolve("bad00.error"));
            log("N=%d: (c) +1 bad fragment %s ms (%d haproxy -c each); its error starts: %s", n, list(plusBad),
                    badChecks, error.lines().findFirst().orElse(""));

            // ---- the parts, separately ----
            AtomicReference<TreeMap<String, Fragment>> live = new AtomicReference<>();
            readLive = median(REPS, () -> {
                try {
                    live.set(rig.store.liveFragments());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            Collection<Fragment> fragments = live.get().values();
            check(fragments.size() == n + REPS, "live fragments: " + fragments.size());
            Path shareDir = state.resolve("share");
            String mapPath = shareDir.resolve("backend.map").toString();
            AssembledConfig[] assembled = new AssembledConfig[1];
            pureAssemble = median(Math.max(REPS, 5), () -> assembled[0] = rig.assembler.assemble(fragments, mapPath));
            rules = median(Math.max(REPS, 5), () -> check(rig.rules.check(fragments).isEmpty(), "rules refused"));
            AtomicFiles.write(shareDir.resolve("backend.map"), assembled[0].map());
            AtomicFiles.write(shareDir.resolve("haproxy.cfg"), assembled[0].cfg());
            HaproxyCheck plain = new HaproxyCheck(rig.haproxyBinary, rig.checkTimeout); // without the counter
            for (int r = 0; r < REPS; r++) {
                t = System.nanoTime();
                Optional<String> verdict = plain.check(shareDir.resolve("haproxy.cfg"));
                haproxyRuns.add(ms(t));
                check(verdict.isEmpty(), "haproxy -c refused the assembled config: " + verdict.orElse(""));
            }
            haproxyC = median(haproxyRuns);

            // N per-fragment status updates, as the intake makes them (StatusBoard.pending once per fragment); each
            // rewrites the whole status.json (atomically, with fsync).
            StatusBoard board = new StatusBoard(shareDir.resolve("status.json"), Clock.systemUTC());
            List<Fragment> firstN = fragments.stream().limit(n).toList();
            t = System.nanoTime();
            for (Fragment f : firstN) {
                board.pending(f.name(), f.id());
            }
            statusShare = ms(t);

            // FragmentStore.promote for N pending changes: what (a) does for every accepted fragment.
            FragmentStore scratch = new FragmentStore(shareDir.resolve("store"), rig.store.reader());
            List<PendingChange> pending = new ArrayList<>();
            for (Fragment f : firstN) {
                PendingChange c = PendingChange.upsert(f, System.currentTimeMillis());
                scratch.putPending(c);
                pending.add(c);
            }
            t = System.nanoTime();
            for (PendingChange c : pending) {
                scratch.promote(c);
            }
            promoteShare = ms(t);
            log("N=%d: parts: read live %.0f ms, ConfigAssembler.assemble %.1f ms, CandidateRules %.1f ms,"
                            + " haproxy -c %s ms, StatusBoard.pending ×N %.0f ms, promote ×N %.0f ms",
                    n, readLive, pureAssemble, rules, list(haproxyRuns), statusShare, promoteShare);
        }

        void log(String format, Object... args) {
            if (!quiet) {
                System.out.printf(format + "%n", args);
                System.out.flush();
            }
        }
    }

    /** The daemon's wiring, as in DaemonConfiguration.configure (without Camel, the reloader and haproxy itself). */
    static final class Rig {
        final FragmentStore store;
        final FragmentIntake intake;
        final ConfigAssembler assembler;
        final CandidateRules rules;
        final HaproxyCheck haproxy;
        final String haproxyBinary;
        final long checkTimeout;
        final AssemblyService assembly;
        final Path liveConfig;
        final Path liveMap;

        Rig(Path state, Path fallback) throws Exception {
            Settings s = settings(state);
            Clock clock = Clock.systemUTC();
            Files.createDirectories(state.resolve("inbox"));
            Files.createDirectories(state.resolve("run"));
            StatusBoard status = new StatusBoard(state.resolve("status.json"), clock);
            FragmentReader reader = new FragmentReader(s.flag("lb.fragments.allow-any-section"),
                    s.number("lb.fragments.max-bytes"));
            store = new FragmentStore(state, reader);
            liveConfig = s.path("lb.haproxy.config");
            liveMap = s.path("lb.haproxy.map");
            Path certDir = s.path("lb.haproxy.cert-dir");
            Files.createDirectories(certDir);
            Files.copy(fallback, certDir.resolve("fallback.pem"));
            assembler = new ConfigAssembler(ConfigTemplate.load(s.path("lb.haproxy.template")),
                    templateValues(s, certDir));
            haproxyBinary = s.string("lb.haproxy.binary");
            checkTimeout = s.number("lb.haproxy.check-timeout");
            haproxy = new HaproxyCheck(countingHaproxy(haproxyBinary).toString(), checkTimeout);
            rules = new CandidateRules(baseBackends());
            // No haproxy runs here, so no runtime map updates (MapUpdater.NONE): every change is a config change.
            assembly = new AssemblyService(store, assembler, rules, haproxy, liveConfig, liveMap,
                    state.resolve("candidate"), status, new ReloadGate(clock, Duration.ofMinutes(1)), MapUpdater.NONE);
            intake = new FragmentIntake(store, status, clock);
        }
    }

    // ---- counting haproxy -c runs ----------------------------------------------------------------------------

    static Path work;

    /**
     * A two-line wrapper around the configured haproxy that appends a line to a counter file and execs haproxy, so
     * the bench can say how many haproxy -c runs each step cost (it adds one /bin/sh exec, ~1 ms, per run).
     */
    static Path countingHaproxy(String binary) throws IOException {
        Path wrapper = work.resolve("haproxy-counting");
        if (!Files.exists(wrapper)) {
            Files.writeString(wrapper, "#!/bin/sh\necho x >> '" + work.resolve("haproxy-c.calls") + "'\nexec '"
                    + binary.replace("'", "'\\''") + "' \"$@\"\n");
            wrapper.toFile().setExecutable(true);
        }
        return wrapper;
    }

    static long haproxyCalls() throws IOException {
        Path calls = work.resolve("haproxy-c.calls");
        return Files.exists(calls) ? Files.readAllLines(calls).size() : 0;
    }

    // ---- fragments -------------------------------------------------------------------------------------------

    static void writeFragment(Path inbox, String name, int i, boolean bad) throws IOException {
        String backend = "be_" + name;
        String cfg = "# bench fragment " + name + "\n"
                + "backend " + backend + "\n"
                + "    server s1 127.0.0.1:" + (20000 + i % 40000) + "\n"
                + (bad ? "    bogus-keyword on\n" : "");
        String map = name + ".example.com " + backend + "\n" + "www." + name + ".example.com " + backend + "\n";
        Files.writeString(inbox.resolve(name + ".cfg"), cfg);
        Files.writeString(inbox.resolve(name + ".map"), map);
    }

    /** What the inbox route does for a pair: NAME.cfg then NAME.map (sorted by name), each gone afterwards. */
    static void receivePair(FragmentIntake intake, Path inbox, String name) throws IOException {
        for (String ext : List.of(".cfg", ".map")) {
            Path file = inbox.resolve(name + ext);
            intake.receive(file.toFile());
            Files.deleteIfExists(file); // the inbox route deletes it (delete: true), unless receive() already did
        }
    }

    // ---- settings and wiring borrowed from the daemon -----------------------------------------------------------

    /** conf/application.properties with {{placeholders}} resolved and LB_* environment overrides, like Camel. */
    static Settings settings(Path state) throws IOException {
        Properties p = new Properties();
        try (var in = Files.newInputStream(CONF.resolve("application.properties"))) {
            p.load(in);
        }
        Map<String, String> fixed = Map.of("lb.state-dir", state.toString(), "lb.conf-dir", CONF.toString());
        return new Settings(key -> Optional.ofNullable(resolve(key, p, fixed, 0)));
    }

    static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{([^}]+)}}");

    static String resolve(String key, Properties p, Map<String, String> fixed, int depth) {
        if (depth > 10) {
            throw new IllegalArgumentException("placeholder loop at " + key);
        }
        String v = fixed.get(key);
        if (v == null) {
            v = System.getenv(key.toUpperCase().replace('.', '_').replace('-', '_'));
        }
        if (v == null) {
            v = p.getProperty(key);
        }
        if (v == null) {
            return null;
        }
        Matcher m = PLACEHOLDER.matcher(v);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String inner = resolve(m.group(1), p, fixed, depth + 1);
            if (inner == null) {
                throw new IllegalArgumentException("setting " + key + " refers to unknown {{" + m.group(1) + "}}");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(inner));
        }
        m.appendTail(out);
        return out.toString().strip();
    }

    /** DaemonConfiguration.templateValues (package-private there) through reflection, so the values stay the same. */
    @SuppressWarnings("unchecked")
    static Map<String, String> templateValues(Settings s, Path certDir) throws Exception {
        Method m = Class.forName("haproxylb.app.DaemonConfiguration")
                .getDeclaredMethod("templateValues", Settings.class, Path.class);
        m.setAccessible(true);
        return (Map<String, String>) m.invoke(null, s, certDir);
    }

    @SuppressWarnings("unchecked")
    static Set<String> baseBackends() throws Exception {
        var f = Class.forName("haproxylb.app.DaemonConfiguration").getDeclaredField("BASE_BACKENDS");
        f.setAccessible(true);
        return (Set<String>) f.get(null);
    }

    /** The daemon's own fallback certificate maker if it can be found, else the same openssl command line. */
    static Path makeFallbackCertificate(Path dir) throws Exception {
        Files.createDirectories(dir);
        for (String[] candidate : new String[][] {
                {"haproxylb.certificates.store.FallbackCertificate", "ensure"},
                {"haproxylb.app.DaemonConfiguration", "fallbackCertificate"}}) {
            try {
                Method m = Class.forName(candidate[0]).getDeclaredMethod(candidate[1], Path.class);
                m.setAccessible(true);
                m.invoke(null, dir);
                if (Files.exists(dir.resolve("fallback.pem"))) {
                    return dir.resolve("fallback.pem");
                }
            } catch (ReflectiveOperationException ignored) {
                // next candidate
            }
        }
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-days", "3650", "-subj", "/CN=haproxy-lb fallback",
                "-keyout", dir.resolve("k.pem").toString(), "-out", dir.resolve("c.pem").toString())
                .redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        check(p.waitFor() == 0, "openssl could not make a fallback certificate");
        Files.writeString(dir.resolve("fallback.pem"),
                Files.readString(dir.resolve("c.pem")) + Files.readString(dir.resolve("k.pem")));
        return dir.resolve("fallback.pem");
    }

    // ---- output ----------------------------------------------------------------------------------------------

    static void printTables(List<Run> runs) {
        System.out.println();
        System.out.println("== assembly + validation time (ms; (b), (c) and haproxy -c: median of " + REPS
                + " runs, every run in brackets; \"n× -c\": haproxy -c runs the step made) ==");
        System.out.println("| Fragments | cfg lines | map lines | (a) first assembly of N pending | (b) +1 fragment"
                + " to N live | (c) +1 bad fragment to N live | ConfigAssembler.assemble | haproxy -c alone | heap"
                + " used after (a) / after GC |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (Run r : runs) {
            System.out.printf("| %,d | %,d | %,d | **%,.0f** (%d× -c) | **%,.0f** (%s; %d× -c) | **%,.0f** (%s; %d× -c)"
                            + " | %.1f | %.0f (%s) | %d / %d MiB |%n",
                    r.n, r.cfgLines, r.mapLines, r.first, r.firstChecks, median(r.plusOne), list(r.plusOne),
                    r.plusOneChecks, median(r.plusBad), list(r.plusBad), r.badChecks, r.pureAssemble, r.haproxyC,
                    list(r.haproxyRuns), r.heapAfter >> 20, r.heapAfterGc >> 20);
        }
        System.out.println();
        System.out.println("== where the time goes (ms) ==");
        System.out.println("| Fragments | intake of N (FragmentIntake.receive ×2N) | read N live back from disk |"
                + " CandidateRules.check | StatusBoard.pending ×N (status.json rewrites) | FragmentStore.promote ×N |");
        System.out.println("|---:|---:|---:|---:|---:|---:|");
        for (Run r : runs) {
            System.out.printf("| %,d | %,.0f | %,.0f | %.1f | %,.0f | %,.0f |%n", r.n, r.intake, r.readLive, r.rules,
                    r.statusShare, r.promoteShare);
        }
        System.out.println();
        System.out.println("(a) AssemblyService.assemble() with N pending changes: parse, rules, haproxy -c, atomic writes,"
                + " promote ×N, status.json.");
        System.out.println("(b), (c) also read all live fragments back from disk. (c) bad = a backend with an unknown"
                + " keyword, rejected by haproxy -c.");
        System.out.println("Heap: used right after (a), and after a full GC (what the JVM keeps; the default heap and"
                + " GC of this JVM).");
    }

    // ---- small helpers ---------------------------------------------------------------------------------------

    static double ms(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e6;
    }

    static double median(int reps, Runnable r) {
        List<Double> times = new ArrayList<>();
        for (int i = 0; i < reps; i++) {
            long t = System.nanoTime();
            r.run();
            times.add(ms(t));
        }
        return median(times);
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int k = s.size();
        return k % 2 == 1 ? s.get(k / 2) : (s.get(k / 2 - 1) + s.get(k / 2)) / 2;
    }

    static String list(List<Double> xs) {
        StringBuilder b = new StringBuilder();
        for (double x : xs) {
            b.append(b.length() == 0 ? "" : "/").append(x < 10 ? String.format("%.1f", x) : String.format("%.0f", x));
        }
        return b.toString();
    }

    static long heapUsed() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("bench check failed: " + what);
        }
    }

    static String haproxyVersion() {
        try {
            Process p = new ProcessBuilder("haproxy", "-v").redirectErrorStream(true).start();
            String first = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().findFirst()
                    .orElse("haproxy ?");
            p.waitFor();
            return first.replaceAll(" - https?://\\S+", "");
        } catch (Exception e) {
            return "haproxy ?";
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
