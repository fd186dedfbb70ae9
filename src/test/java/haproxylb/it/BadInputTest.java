package haproxylb.it;

import haproxylb.cli.HaproxyConfig;
import haproxylb.status.FragmentStatus;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 5, item 6: the corpus of hostile and broken fragments in src/test/resources/corpus/ (and a 50 MB file made at
 * test time) goes through the real daemon. Each one gets a clear rejection in rejected/NAME.error naming its file and
 * line, or, for CRLF line ends and a UTF-8 BOM, is taken and served; a dot-file is left alone (the inbox's contract:
 * tools write .NAME.tmp and rename). Meanwhile a known good domain answers 200 on every request, the daemon keeps
 * running, and afterwards a good fragment still goes live.
 */
class BadInputTest {
    private static final Path CORPUS = Path.of("src/test/resources/corpus");
    private static final Duration LIMIT = Duration.ofSeconds(45);
    private static final long BIG = 50L << 20;

    /** Fragment name → what its rejection must say (file and line where there is one). */
    private static final Map<String, List<String>> REJECTED = new LinkedHashMap<>();

    static {
        REJECTED.put("syntax-error", List.of("syntax-error.cfg line 2: haproxy -c refused the config.",
                "[syntax-error.cfg:2]", "invalid character 'n' in port number 'notaport'"));
        REJECTED.put("unknown-directive", List.of("unknown-directive.cfg line 3: haproxy -c refused the config.",
                "[unknown-directive.cfg:3] : unknown keyword 'frobnicate' in 'backend' section"));
        REJECTED.put("global-section", List.of("global-section.cfg line 1: 'global' sections are not allowed"));
        REJECTED.put("frontend-section", List.of("frontend-section.cfg line 4: 'frontend' sections are not allowed"));
        REJECTED.put("three-fields", List.of("three-fields.map line 2: expected 'domain backend' (two fields),"
                + " found 3 field(s)"));
        REJECTED.put("invalid-domain", List.of("invalid-domain.map line 2: 'bad_domain!.corpus.test' is not a valid"
                + " domain name"));
        REJECTED.put("domain-with-port", List.of("domain-with-port.map line 1: 'https://port.corpus.test:8443' is not"
                + " a valid domain name"));
        REJECTED.put("duplicate-backend", List.of("duplicate-backend.cfg line 4: backend 'be_twice' is already defined"
                + " on line 1"));
        REJECTED.put("dup-b", List.of("dup-a.cfg line 1 and dup-b.cfg line 1 both define backend 'be_shared'"));
        // Sorts before the live fragment it clashes with: its own file and line must still be named.
        REJECTED.put("domain-taken", List.of("domain-taken.map line 1 and good.map line 1 both route domain"
                + " 'good.corpus.test'"));
        REJECTED.put("stray-directive", List.of("stray-directive.cfg line 1: 'server' appears before any section"));
        REJECTED.put("reserved-name", List.of("reserved-name.cfg line 1: backend names starting with 'lb_' are"
                + " reserved"));
        REJECTED.put("empty", List.of("empty.cfg and empty.map are both empty"));
        REJECTED.put("nul-byte", List.of("nul-byte.cfg line 2: contains a NUL byte"));
        REJECTED.put("binary-junk", List.of("binary-junk.cfg: is not UTF-8 text"));
        REJECTED.put("big", List.of("big.cfg: is " + BIG + " bytes, more than the limit of 1048576 bytes"));
    }

    /** Invalid names as inbox files: the rejection names the file as it was dropped. */
    private static final Map<String, String> INVALID_NAMES = Map.of(
            "a..b", "inbox/a..b.", // ".." inside
            "Good", "inbox/Good."); // upper case, and what it would be lower-cased is a live fragment's name

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    @Test
    void every_hostile_or_broken_fragment_is_rejected_clearly_or_handled_while_the_previous_config_keeps_serving()
            throws Exception {
        daemon = fixture.daemon().start();
        dropFromCorpus("dup-a");
        daemon.drop("good", "backend be_good\n    http-request return status 200 content-type text/plain string"
                + " \"good\"\n", "good.corpus.test be_good\n");
        await("good.corpus.test served", LIMIT, () -> daemon.serves("good.corpus.test", "good"));
        daemon.awaitFragmentState("dup-a", "live", LIMIT);

        // A known good domain, asked all along: every answer must be its 200.
        AtomicBoolean probing = new AtomicBoolean(true);
        AtomicInteger probes = new AtomicInteger();
        List<String> failures = new CopyOnWriteArrayList<>();
        Thread prober = new Thread(() -> {
            while (probing.get()) {
                try {
                    EdgeClient.Response r = EdgeClient.https(daemon.httpsPort(), "good.corpus.test", "/");
                    if (r.status() != 200 || !r.body().equals("good")) {
                        failures.add(r.status() + " " + r.body());
                    }
                } catch (IOException e) {
                    failures.add(e.toString());
                }
                probes.incrementAndGet();
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "good-domain-prober");
        prober.start();

        // Everything at once, as a careless or hostile sender would.
        for (String name : REJECTED.keySet()) {
            if (!name.equals("big")) {
                dropFromCorpus(name);
            }
        }
        dropBig();
        for (String name : List.of("crlf", "bom", "map-empty", "a..b", "Good", "..evil")) {
            dropFromCorpus(name);
        }
        String cfgBefore = Files.readString(fixture.state().resolve("haproxy/haproxy.cfg"));

        for (var e : REJECTED.entrySet()) {
            String name = e.getKey();
            FragmentStatus f = daemon.awaitFragmentState(name, "rejected", LIMIT);
            String error = daemon.rejection(name);
            assertTrue(error.startsWith("Fragment '" + name + "' was rejected: "), error);
            for (String expected : e.getValue()) {
                assertTrue(error.contains(expected), name + ": '" + expected + "' not in:\n" + error);
            }
            assertTrue(error.contains("send both " + name + ".cfg and " + name + ".map again"), error);
            assertEquals(error.strip(), f.error().strip(), name + ": status.json carries the same reason");
        }
        // The 50 MB file was not read into the daemon, nor copied to rejected/.
        assertFalse(Files.exists(fixture.state().resolve("rejected/big.cfg")), "the oversized file is not kept");

        for (var e : INVALID_NAMES.entrySet()) {
            String error = daemon.awaitRejectionMentioning(e.getValue(), LIMIT);
            assertTrue(error.contains("invalid fragment name '" + e.getKey() + "'"), error);
        }
        assertEquals("live", daemon.fragment("good").map(FragmentStatus::state).orElse(null),
                "an invalid name that lower-cases to 'good' must not touch the live fragment 'good'");

        // CRLF and a BOM are handled: served like any fragment.
        await("crlf.corpus.test served", LIMIT, () -> daemon.serves("crlf.corpus.test", "crlf ok"));
        await("bom.corpus.test served", LIMIT, () -> daemon.serves("bom.corpus.test", "bom ok"));
        // A backend-only fragment (empty map) is a fragment like any other: other fragments' maps may use it.
        daemon.awaitFragmentState("map-empty", "live", LIMIT);
        String cfg = Files.readString(fixture.state().resolve("haproxy/haproxy.cfg"));
        assertFalse(cfg.contains("\r") || cfg.contains("\uFEFF"), "line ends and BOM normalised in haproxy.cfg");
        assertTrue(cfg.contains("\nbackend be_mapless\n"), "the empty-map fragment's backend is in haproxy.cfg");

        // A dot-file is left alone: the inbox's contract for files still being written.
        assertTrue(Files.exists(daemon.inbox().resolve("..evil.cfg")), "..evil.cfg is left in the inbox");
        assertTrue(daemon.status().fragments().keySet().stream().noneMatch(n -> n.contains("evil")),
                "no status for the dot-file: " + daemon.status().fragments().keySet());

        // A name with '/' cannot be a file name; through the CLI it is refused before anything is written.
        cliRefuses(1, "invalid fragment name 'a/b'", "apply", "a/b", CORPUS.resolve("dup-a.cfg").toString(),
                CORPUS.resolve("dup-a.map").toString());
        cliRefuses(1, "invalid fragment name '../escape'", "apply", "../escape",
                CORPUS.resolve("dup-a.cfg").toString(), CORPUS.resolve("dup-a.map").toString());
        cliRefuses(2, "invalid fragment name 'a/b'", "remove", "a/b");

        // Nothing rejected reached haproxy; what was live still is, and the daemon still takes good fragments.
        for (String backend : List.of("be_syntax", "be_unknown", "be_global", "be_fe", "be_three", "be_invdom",
                "be_port", "be_twice", "be_hijack", "be_stray", "be_nul", "be_junk", "be_big", "be_evil", "be_hidden",
                "be_upper")) {
            assertFalse(cfg.contains("backend " + backend + "\n"), backend + " must not be in haproxy.cfg");
        }
        assertEquals(1, cfg.split("\nbackend be_shared\n", -1).length - 1, "be_shared once, from dup-a");
        assertTrue(cfgBefore.contains("\nbackend be_good\n") && cfg.contains("\nbackend be_good\n"));
        assertTrue(daemon.serves("dup-a.corpus.test", "dup-a"));
        assertTrue(daemon.context().getRouteController().getRouteStatus("fragment-intake").isStarted());
        daemon.drop("after", "backend be_after\n    http-request return status 200 content-type text/plain string"
                + " \"after\"\n", "after.corpus.test be_after\n");
        await("a good fragment after all that is served", LIMIT, () -> daemon.serves("after.corpus.test", "after"));

        probing.set(false);
        prober.join(10_000);
        System.out.printf("BadInputTest: %d cases rejected, 3 handled, 1 dot-file ignored, 3 CLI refusals; the good"
                + " domain answered %d requests, %d failures%n", REJECTED.size() + INVALID_NAMES.size(), probes.get(),
                failures.size());
        assertTrue(probes.get() > 20, "the prober ran: " + probes.get());
        assertEquals(List.of(), failures, "the known good domain answered 200 on every request");
    }

    /** Copies NAME.cfg and NAME.map from the corpus into the inbox the way tools do: hidden temp name, rename. */
    private void dropFromCorpus(String name) throws IOException {
        for (String ext : List.of(".cfg", ".map")) {
            Path temp = daemon.inbox().resolve(".corpus-" + ext.substring(1) + ".part");
            Files.copy(CORPUS.resolve(name + ext), temp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(temp, daemon.inbox().resolve(name + ext), StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** 50 MB of a backend with comment lines: made here, never committed. */
    private void dropBig() throws IOException {
        Path temp = daemon.inbox().resolve(".big.cfg.part");
        byte[] line = ("    # " + "x".repeat(1017) + "\n").getBytes(StandardCharsets.US_ASCII); // 1 KiB
        byte[] head = "backend be_big\n".getBytes(StandardCharsets.US_ASCII);
        try (OutputStream out = Files.newOutputStream(temp)) {
            out.write(head);
            long written = head.length;
            while (written + line.length <= BIG) {
                out.write(line);
                written += line.length;
            }
            out.write("x".repeat((int) (BIG - written - 1)).getBytes(StandardCharsets.US_ASCII));
            out.write('\n');
        }
        assertEquals(BIG, Files.size(temp));
        Files.move(temp, daemon.inbox().resolve("big.cfg"), StandardCopyOption.ATOMIC_MOVE);
        Files.writeString(daemon.inbox().resolve(".big.map.part"), "big.corpus.test be_big\n");
        Files.move(daemon.inbox().resolve(".big.map.part"), daemon.inbox().resolve("big.map"),
                StandardCopyOption.ATOMIC_MOVE);
    }

    private void cliRefuses(int exitCode, String message, String... args) throws IOException {
        List<String> inboxBefore = inbox();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String before = System.getProperty("lb.state-dir");
        System.setProperty("lb.state-dir", fixture.state().toString());
        int code;
        try {
            code = HaproxyConfig.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
        } finally {
            if (before == null) {
                System.clearProperty("lb.state-dir");
            } else {
                System.setProperty("lb.state-dir", before);
            }
        }
        String stderr = err.toString(StandardCharsets.UTF_8);
        assertEquals(exitCode, code, String.join(" ", args) + ": " + stderr);
        assertTrue(stderr.contains(message), stderr);
        assertEquals(inboxBefore, inbox(), "nothing was written into the inbox");
        assertFalse(Files.exists(fixture.state().resolve("escape.cfg"))
                || Files.exists(fixture.state().getParent().resolve("escape.cfg")));
    }

    private List<String> inbox() throws IOException {
        try (Stream<Path> files = Files.list(daemon.inbox())) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
