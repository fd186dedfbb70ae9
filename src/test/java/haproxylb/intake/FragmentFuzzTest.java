package haproxylb.intake;

import haproxylb.status.StatusBoard;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 8, item 5: seeded random and mutated inputs (the corpora of src/test/resources plus generated lines) through
 * the fragment and map parsers, the policy and the real intake. Every input is accepted or refused with an error that
 * names its file (and line where there is one), no exception escapes, no error carries a raw control character, and
 * nothing is written outside the state directory. The intake gets fewer inputs: each drop costs fsyncs (~30 ms
 * here), the parsers nothing. The seed is printed; set -Dfuzz.seed to replay a run.
 */
class FragmentFuzzTest {
    private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());
    private static final int READER_INPUTS = 10_000;
    private static final int INTAKE_DROPS = 250;
    /** What a refusal starts with: the file and a line, the file alone (encoding, size), or the pair. */
    private static final Pattern REFUSAL = Pattern.compile(
            "^([a-z0-9._-]+\\.(cfg|map)( line [0-9]+)?: |[a-z0-9._-]+\\.cfg and [a-z0-9._-]+\\.map are both empty)");
    private static final Pattern CONTROL = Pattern.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f\\x{80}-\\x{9f}]");

    private static final String[] WORDS = {"backend", "frontend", "global", "listen", "defaults", "server", "s1",
        "127.0.0.1:8080", "http-request", "http-response", "return", "status", "200", "file", "lf-file", "errorfile",
        "errorfiles", "ca-file", "crt", "crl-file", "@system-ca", "-f", "map(/etc/passwd)", "%[env(HOME)]", "$HOME",
        "${X}", "'$HOME'", "\"quoted word\"", "\\", "#", "/etc/shadow", "../../etc/passwd", "unix@/run/x.sock",
        "use-service", "lua.x", "stats", "enable", "option", "external-check", "be_app", "lb_reserved", "*.a.test",
        "a.test", "UPPER.Test", "x".repeat(300), "\u001b[31m", "\u202e", "\u0000", "\r", "\t", "\uFEFF", "é", "😀",
        "..", "//", "a b", "\u0085"};

    @TempDir
    Path root;

    @Test
    void random_and_mutated_fragments_are_accepted_or_refused_with_file_and_line() throws Exception {
        System.out.println("FragmentFuzzTest seed: " + SEED + " (replay with -Dfuzz.seed=" + SEED + ")");
        SplittableRandom random = new SplittableRandom(SEED);
        List<byte[]> seeds = corpus();
        FragmentReader reader = new FragmentReader(random.nextBoolean(), 64 * 1024, 512, 200, FragmentPolicy.DEFAULT);
        int accepted = 0;
        for (int i = 0; i < READER_INPUTS; i++) {
            byte[] cfg = input(random, seeds);
            byte[] map = input(random, seeds);
            try {
                Fragment f = reader.read("fz" + i, cfg, map);
                assertEquals(f, reader.read("fz" + i, cfg, map), "reading is deterministic");
                accepted++;
            } catch (FragmentProblem p) {
                checkRefusal(p.getMessage(), cfg, map);
            } catch (RuntimeException e) {
                fail("input " + i + " of seed " + SEED + " threw " + e + "\ncfg: " + show(cfg) + "\nmap: " + show(map), e);
            }
        }
        System.out.printf("FragmentFuzzTest: %d inputs through the reader, %d accepted, %d refused%n", READER_INPUTS,
                accepted, READER_INPUTS - accepted);
        assertTrue(accepted > 0 && accepted < READER_INPUTS, "the generator reaches both outcomes: " + accepted);
    }

    @Test
    void random_drops_through_the_real_intake_stay_inside_the_state_dir() throws Exception {
        SplittableRandom random = new SplittableRandom(SEED ^ 0x5DEECE66DL);
        List<byte[]> seeds = corpus();
        Path state = Files.createDirectories(root.resolve("state"));
        Path inbox = Files.createDirectories(state.resolve("inbox"));
        FragmentStore store = new FragmentStore(state, new FragmentReader(false, 16 * 1024, 512, 200,
                FragmentPolicy.DEFAULT));
        StatusBoard status = new StatusBoard(state.resolve("status.json"), Clock.systemUTC());
        FragmentIntake intake = new FragmentIntake(store, status, Clock.systemUTC(), state.resolve("claimed"), inbox,
                FragmentIntake.PartnerCheck.NEVER);
        String[] names = {"a", "b", "shop", "x-1", "..", "../escape", "a..b", "UP", ".hidden", "-dash", "n\u001b]0;t",
            "a/b", "x".repeat(120), "é", " sp", "a.cfg"};
        for (int i = 0; i < INTAKE_DROPS; i++) {
            String name = names[random.nextInt(names.length)];
            String ext = random.nextInt(10) == 0 ? ".remove" : random.nextBoolean() ? ".cfg" : ".map";
            Path file = inbox.resolve(name.replace('/', '_') + ext);
            byte[] content = input(random, seeds);
            try {
                Files.write(file, content);
                intake.receive(new File(inbox.toFile(), name + ext));
            } catch (Exception e) {
                fail("drop " + i + " (" + show((name + ext).getBytes(StandardCharsets.UTF_8)) + ") of seed " + SEED
                        + " threw " + e, e);
            }
        }
        try (Stream<Path> all = Files.walk(root)) {
            List<Path> outside = all.filter(p -> !p.startsWith(state) && !p.equals(root)).toList();
            assertEquals(List.of(), outside, "nothing outside the state dir");
        }
        for (String file : store.rejections().values()) {
            assertFalse(CONTROL.matcher(file).find(), "a rejection carries a raw control character: " + show(
                    file.getBytes(StandardCharsets.UTF_8)));
        }
        assertFalse(CONTROL.matcher(Files.readString(state.resolve("status.json"))).find());
        System.out.printf("FragmentFuzzTest: %d drops through the intake, %d rejections on file, %d pending%n",
                INTAKE_DROPS, store.rejections().size(), store.pendingChanges().size());
    }

    private static void checkRefusal(String message, byte[] cfg, byte[] map) {
        if (!REFUSAL.matcher(message).find()) {
            fail("refusal without file (and line): " + show(message.getBytes(StandardCharsets.UTF_8)) + "\ncfg: "
                    + show(cfg) + "\nmap: " + show(map));
        }
        assertFalse(CONTROL.matcher(message).find(), "raw control character in: " + show(
                message.getBytes(StandardCharsets.UTF_8)));
        assertTrue(message.length() < 2_000, "an error is an excerpt, not the input: " + message.length());
    }

    /** A corpus file mutated, or lines made of random words, or raw random bytes. */
    private static byte[] input(SplittableRandom random, List<byte[]> seeds) {
        return switch (random.nextInt(4)) {
            case 0 -> mutate(random, seeds.get(random.nextInt(seeds.size())));
            case 1 -> seeds.get(random.nextInt(seeds.size()));
            case 2 -> words(random);
            default -> {
                byte[] b = new byte[random.nextInt(200)];
                random.nextBytes(b);
                yield b;
            }
        };
    }

    private static byte[] words(SplittableRandom random) {
        StringBuilder text = new StringBuilder(random.nextBoolean() ? "backend be_fz\n" : "");
        int lines = random.nextInt(12);
        for (int l = 0; l < lines; l++) {
            text.append(random.nextBoolean() ? "    " : "");
            int n = 1 + random.nextInt(7);
            for (int w = 0; w < n; w++) {
                text.append(WORDS[random.nextInt(WORDS.length)]).append(random.nextInt(5) == 0 ? "" : " ");
            }
            text.append(random.nextInt(8) == 0 ? "\r\n" : "\n");
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] mutate(SplittableRandom random, byte[] seed) {
        byte[] b = seed.clone();
        int edits = 1 + random.nextInt(4);
        for (int e = 0; e < edits && b.length > 0; e++) {
            int at = random.nextInt(b.length);
            switch (random.nextInt(4)) {
                case 0 -> b[at] = (byte) random.nextInt(256);
                case 1 -> b = splice(b, at, WORDS[random.nextInt(WORDS.length)].getBytes(StandardCharsets.UTF_8));
                case 2 -> b = java.util.Arrays.copyOf(b, at); // truncated, as by a dropped connection
                default -> b = splice(b, at, java.util.Arrays.copyOfRange(b, at, Math.min(b.length, at + 40)));
            }
        }
        return b;
    }

    private static byte[] splice(byte[] b, int at, byte[] insert) {
        byte[] out = new byte[b.length + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at, out, at + insert.length, b.length - at);
        return out;
    }

    private static List<byte[]> corpus() throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        for (String dir : List.of("src/test/resources/corpus", "src/test/resources/hostile")) {
            if (!Files.isDirectory(Path.of(dir))) {
                continue;
            }
            try (Stream<Path> files = Files.list(Path.of(dir))) {
                for (Path p : files.filter(p -> p.toString().endsWith(".cfg") || p.toString().endsWith(".map"))
                        .sorted().toList()) {
                    seeds.add(Files.readAllBytes(p));
                }
            }
        }
        assertFalse(seeds.isEmpty());
        return seeds;
    }

    private static String show(byte[] bytes) {
        String s = new String(bytes, 0, Math.min(bytes.length, 300), StandardCharsets.UTF_8);
        return haproxylb.common.Excerpt.controlsEscaped(s).replace("\n", "\\n");
    }
}
