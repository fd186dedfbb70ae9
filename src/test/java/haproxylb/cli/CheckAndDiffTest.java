package haproxylb.cli;

import haproxylb.common.SettingsFile;
import haproxylb.common.AtomicFiles;
import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentName;
import haproxylb.intake.FragmentReader;
import haproxylb.monitoring.HaproxyLbControl;
import haproxylb.status.FragmentStatus;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import javax.management.MBeanServer;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * haproxy-config check and diff against the real daemon and the real haproxy: check decides what the daemon decides
 * (the whole bad-input corpus, one by one), writes nothing in the state directory and also works on a copy of the
 * live fragments with no daemon at all; diff's claim about a reload holds.
 */
class CheckAndDiffTest {
    private static final Path CORPUS = Path.of("src/test/resources/corpus");
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final String GOOD_CFG = "backend be_good\n    http-request return status 200 content-type"
            + " text/plain string \"good\"\n";

    @RegisterExtension
    static final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    static Path files;
    static Path state;
    static DaemonHarness daemon;

    @BeforeAll
    static void start() throws Exception {
        state = fixture.state();
        // Files arrive by atomic rename here, so they need no settling time; the rate limit stays short.
        daemon = fixture.daemon().with("lb.reload.min-interval", "200").with("lb.intake.settle", "50").start();
        daemon.drop("good", GOOD_CFG, "good.corpus.test be_good\n");
        await("good.corpus.test served", LIMIT, () -> daemon.serves("good.corpus.test", "good"));
    }

    record Run(int exit, String out, String err) {}

    static Run cli(Path stateDir, String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        SettingsFile settings = new SettingsFile(Path.of("conf"), Map.of("LB_STATE_DIR", stateDir.toString()));
        int exit = HaproxyConfig.from(settings, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).dispatch(List.of(args));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Path file(String name, String text) throws IOException {
        return Files.writeString(files.resolve(name), text);
    }

    /** The reason in a rejection, as check prints it and the daemon files it; haproxy's pids differ per run. */
    private static String reason(String text) {
        return text.strip().replaceFirst("^Fragment '[^']*' (was|would be) rejected: ", "")
                .replaceFirst("(?s)\\n+Nothing live was changed.*$", "")
                .replaceAll("\\((\\d+)\\) : ", "(PID) : ");
    }

    @Test
    void check_decides_what_the_daemon_decides_over_the_bad_input_corpus() throws Exception {
        List<String> names;
        try (Stream<Path> corpus = Files.list(CORPUS)) {
            names = corpus.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cfg"))
                    .map(n -> n.substring(0, n.length() - 4)).filter(n -> Files.exists(CORPUS.resolve(n + ".map")))
                    .sorted().toList();
        }
        int accepted = 0;
        int rejected = 0;
        for (String name : names) {
            Path cfg = CORPUS.resolve(name + ".cfg");
            Path map = CORPUS.resolve(name + ".map");
            Run check = cli(state, "check", name, cfg.toString(), map.toString());
            if (!FragmentName.isValid(name)) {
                // The daemon files these under a stand-in name; apply refuses them before sending, as check does.
                Run apply = cli(state, "apply", name, cfg.toString(), map.toString());
                assertEquals(List.of(1, 1), List.of(check.exit(), apply.exit()), name + ": " + check.err());
                assertTrue(check.err().contains("invalid fragment name"), check.err());
                rejected++;
                continue;
            }
            Instant sent = Instant.now();
            AtomicFiles.write(daemon.inbox().resolve(name + ".cfg"), Files.readAllBytes(cfg));
            AtomicFiles.write(daemon.inbox().resolve(name + ".map"), Files.readAllBytes(map));
            await("the daemon's verdict on " + name, LIMIT, () -> daemon.fragment(name)
                    .filter(f -> Set.of("live", "rejected").contains(f.state()))
                    .filter(f -> !Instant.parse(f.updatedAt()).isBefore(sent)).isPresent());
            FragmentStatus verdict = daemon.fragment(name).orElseThrow();
            if (verdict.state().equals("live")) {
                assertEquals(0, check.exit(), name + ": the daemon took it, check said:\n" + check.err());
                assertTrue(check.out().startsWith("fragment '" + name + "' would be accepted"), check.out());
                accepted++;
            } else {
                assertEquals(1, check.exit(), name + ": the daemon rejected it:\n" + verdict.error()
                        + "\ncheck said:\n" + check.out());
                assertEquals(reason(verdict.error()), reason(check.err()), name);
                rejected++;
            }
        }
        System.out.printf("CheckAndDiffTest: check agreed with the daemon on %d corpus fragments (%d accepted,"
                + " %d rejected)%n", names.size(), accepted, rejected);
        assertTrue(accepted >= 3 && rejected >= 10, accepted + " accepted, " + rejected + " rejected");
    }

    @Test
    void check_against_the_running_daemon_writes_nothing_in_its_state_directory() throws Exception {
        Map<String, String> before = contents(state);
        Run ok = cli(state, "check", "fresh", file("fresh.cfg", "backend be_fresh\n").toString(),
                file("fresh.map", "fresh.corpus.test be_fresh\n").toString());
        assertEquals(0, ok.exit(), ok.err());
        Run taken = cli(state, "check", "thief", file("thief.cfg", "backend be_good\n").toString(),
                file("thief.map", "").toString());
        assertEquals(1, taken.exit());
        assertEquals("Fragment 'thief' would be rejected: good.cfg line 1 and thief.cfg line 1 both define backend"
                + " 'be_good' (fragments 'good' and 'thief'); backend names must be unique across fragments\n",
                taken.err());
        Run broken = cli(state, "check", "broken",
                file("broken.cfg", "backend be_broken\n    server s1 127.0.0.1:notaport\n").toString(),
                file("broken.map", "").toString());
        assertEquals(1, broken.exit());
        assertTrue(broken.err().startsWith("Fragment 'broken' would be rejected: broken.cfg line 2: haproxy -c"
                + " refused the config."), broken.err());
        assertEquals(before, contents(state), "check changed nothing under the state directory");
        assertTrue(daemon.fragment("fresh").isEmpty() && daemon.fragment("thief").isEmpty());
    }

    @Test
    void check_works_on_a_copy_of_the_live_fragments_without_a_daemon_or_state_directory(@TempDir Path ci)
            throws Exception {
        Path copy = ci.resolve("live-copy");
        Files.createDirectories(copy);
        try (Stream<Path> live = Files.list(state.resolve("fragments"))) {
            for (Path p : live.toList()) {
                Files.copy(p, copy.resolve(p.getFileName()));
            }
        }
        Path noState = ci.resolve("no-state-here");
        Run ok = cli(noState, "check", "fresh", file("fresh.cfg", "backend be_fresh\n").toString(),
                file("fresh.map", "fresh.corpus.test be_fresh\n").toString(), "--fragments", copy.toString());
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(ok.out().contains("live fragment(s) in " + copy), ok.out());
        Run taken = cli(noState, "check", "thief", file("thief.map2", "").toString(),
                file("thief.map", "good.corpus.test be_good\n").toString(), "--fragments", copy.toString());
        assertEquals(1, taken.exit());
        assertTrue(taken.err().contains("good.map line 1 and thief.map line 1 both route domain 'good.corpus.test'"),
                taken.err());
        assertFalse(Files.exists(noState), "nothing was created where the state directory would be");
        Run missing = cli(noState, "check", "fresh", ci.resolve("fresh.cfg").toString(),
                ci.resolve("fresh.map").toString());
        assertEquals(2, missing.exit());
    }

    @Test
    void diff_shows_the_changes_and_its_no_reload_claim_holds_when_the_change_is_applied() throws Exception {
        String cfg = "backend be_shop\n    http-request return status 200 content-type text/plain string \"shop\"\n";
        assertEquals(0, cli(state, "apply", "shop", file("shop.cfg", cfg).toString(),
                file("shop.map", "shop.corpus.test be_shop\nold.corpus.test be_shop\n").toString(),
                "--timeout", "30").exit());
        String liveId = daemon.fragment("shop").orElseThrow().id();

        Path mapOnly = file("shop2.map", "shop.corpus.test be_shop\nwww.corpus.test be_shop\n");
        Run diff = cli(state, "diff", "shop", files.resolve("shop.cfg").toString(), mapOnly.toString());
        assertEquals(0, diff.exit(), diff.err());
        String newId = Fragment.idOf(cfg.getBytes(), Files.readAllBytes(mapOnly));
        assertEquals("fragment 'shop': live version " + liveId + " -> version " + newId + "\n"
                + "shop.cfg: no config line changes\n"
                + "shop.map:\n"
                + "  + www.corpus.test -> be_shop\n"
                + "  - old.corpus.test (was -> be_shop)\n"
                + "goes live: through haproxy's runtime API, without a reload (only backend map lines change)\n",
                diff.out());
        await("no reload owed", LIMIT, () -> status().liveGeneration() == status().configGeneration()
                && !status().reloadPending());
        long reloads = status().reloads();
        assertEquals(0, cli(state, "apply", "shop", files.resolve("shop.cfg").toString(), mapOnly.toString(),
                "--timeout", "30").exit());
        await("www.corpus.test served", LIMIT, () -> daemon.serves("www.corpus.test", "shop"));
        assertEquals(reloads, status().reloads(), "diff said no reload, and there was none");

        Run cfgChange = cli(state, "diff", "shop", file("shop3.cfg", cfg.replace("\"shop\"", "\"shop v2\"")).toString(),
                mapOnly.toString());
        assertEquals(List.of("shop.cfg:",
                "  - 2:     http-request return status 200 content-type text/plain string \"shop\"",
                "  + 2:     http-request return status 200 content-type text/plain string \"shop v2\"",
                "shop.map: no domain added, removed or moved",
                "goes live: with a reload of haproxy (haproxy.cfg changes)"), cfgChange.out().lines().skip(1).toList());
    }

    @Test
    void the_mbean_checks_diffs_and_lists_the_history() throws Exception {
        MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
        String[] sig = {String.class.getName(), String.class.getName(), String.class.getName()};
        String taken = (String) mbeans.invoke(HaproxyLbControl.NAME, "checkFragment", new Object[] {"thief",
                file("jmx.cfg", "backend be_good\n").toString(), file("jmx.map", "").toString()}, sig);
        assertTrue(taken.startsWith("Fragment 'thief' would be rejected: good.cfg line 1 and thief.cfg line 1 both"
                + " define backend 'be_good'"), taken);
        String fine = (String) mbeans.invoke(HaproxyLbControl.NAME, "checkFragment", new Object[] {"jmx",
                file("jmx.cfg", "backend be_jmx\n").toString(), file("jmx.map", "jmx.test be_jmx\n").toString()}, sig);
        assertTrue(fine.startsWith("fragment 'jmx' would be accepted"), fine);
        String diff = (String) mbeans.invoke(HaproxyLbControl.NAME, "diffFragment", new Object[] {"jmx",
                files.resolve("jmx.cfg").toString(), files.resolve("jmx.map").toString()}, sig);
        assertTrue(diff.contains("jmx.cfg:\n  + 1: backend be_jmx\n") && diff.contains("  + jmx.test -> be_jmx\n"),
                diff);
        String history = (String) mbeans.invoke(HaproxyLbControl.NAME, "fragmentHistory", new Object[] {"good"},
                new String[] {String.class.getName()});
        String goodId = daemon.fragment("good").orElseThrow().id();
        assertTrue(history.contains("\tlive\t" + goodId + "\t(live now)"), history);
        assertTrue(Files.notExists(daemon.inbox().resolve("jmx.cfg")), "check and diff send nothing");
    }

    private static haproxylb.status.Status status() {
        try {
            return daemon.status();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every file under dir (but haproxy's sockets and pid, and status.json, which the daemon may rewrite) by hash. */
    private static Map<String, String> contents(Path dir) throws Exception {
        Map<String, String> out = new TreeMap<>();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (Stream<Path> tree = Files.walk(dir)) {
            for (Path p : tree.filter(Files::isRegularFile).toList()) {
                String rel = dir.relativize(p).toString();
                if (!rel.startsWith("run/") && !rel.equals("status.json")) {
                    out.put(rel, HexFormat.of().formatHex(sha.digest(Files.readAllBytes(p))));
                }
            }
        }
        return out;
    }
}
