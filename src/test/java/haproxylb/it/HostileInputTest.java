package haproxylb.it;

import haproxylb.status.FragmentStatus;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 8: the hostile corpus of src/test/resources/hostile/ (expected.tsv says what each rejection must contain) and
 * the cases only a running test can make (links, a FIFO, a device node, a 1 GB file, a 10 MB line, a 30,000-line
 * map, overlong and escape-laden names, the certificate inbox) go through the real daemon and haproxy at once. Each
 * is refused with its exact reason, naming file and line; a secret file some of them point at never shows up under
 * the state dir, in status.json or in anything haproxy serves; what the daemon writes is not readable by others.
 */
class HostileInputTest {
    private static final Path CORPUS = Path.of("src/test/resources/hostile");
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    Path elsewhere;
    private DaemonHarness daemon;
    private final String marker = "HOSTILE-SECRET-" + UUID.randomUUID();
    private Path secret;

    @Test
    void every_hostile_input_is_refused_exactly_and_the_secret_appears_nowhere() throws Exception {
        secret = Files.writeString(elsewhere.resolve("secret.key"), marker + "\n");
        daemon = fixture.daemon().start();
        daemon.drop("good", "backend be_good\n    http-request return status 200 content-type text/plain string"
                + " \"good\"\n", "good.hostile.test be_good\n");
        await("good.hostile.test served", LIMIT, () -> daemon.serves("good.hostile.test", "good"));

        Map<String, String> expected = corpus();
        expected.putAll(madeHere());
        for (String name : corpus().keySet()) {
            dropFromCorpus(name);
        }

        List<String> fragmentsChecked = new ArrayList<>();
        for (var e : expected.entrySet()) {
            if (e.getKey().startsWith("cert:") || e.getKey().startsWith("name:")) {
                continue;
            }
            String name = e.getKey();
            FragmentStatus f = daemon.awaitFragmentState(name, "rejected", LIMIT);
            String error = daemon.rejection(name);
            assertTrue(error.contains(e.getValue()), name + ": '" + e.getValue() + "' not in:\n" + error);
            assertEquals(error.strip(), f.error().strip(), name + ": status.json carries the same reason");
            fragmentsChecked.add(name);
        }
        for (var e : expected.entrySet()) {
            if (e.getKey().startsWith("name:")) {
                String error = daemon.awaitRejectionMentioning(e.getValue(), LIMIT);
                assertTrue(error.contains("invalid fragment name"), error);
            } else if (e.getKey().startsWith("cert:")) {
                Path errorFile = fixture.state().resolve("rejected-certs").resolve(e.getKey().substring(5) + ".error");
                await(errorFile + " written", LIMIT, () -> Files.exists(errorFile));
                String error = Files.readString(errorFile);
                assertTrue(error.contains(e.getValue()), "'" + e.getValue() + "' not in:\n" + error);
                assertFalse(Files.exists(errorFile.resolveSibling(e.getKey().substring(5) + ".pem")),
                        "no copy of what a refused certificate entry pointed at");
            }
        }

        assertNoSecretAnywhere(expected);
        assertLeastPrivilege();
        assertTrue(Files.exists(secret) && Files.readString(secret).contains(marker), "the secret itself untouched");
        assertTrue(daemon.serves("good.hostile.test", "good"), "what was live still is");
        assertTrue(daemon.context().getRouteController().getRouteStatus("fragment-intake").isStarted());
        System.out.printf("HostileInputTest: %d hostile inputs refused (%d fragments, %d names, %d certificate"
                + " entries); the secret found nowhere%n", expected.size(), fragmentsChecked.size(),
                expected.keySet().stream().filter(k -> k.startsWith("name:")).count(),
                expected.keySet().stream().filter(k -> k.startsWith("cert:")).count());
        assertTrue(expected.size() >= 40, "at least 40 hostile inputs: " + expected.size());
    }

    /** Every byte under the state dir, the status, and the answer haproxy gives for every hostile domain. */
    private void assertNoSecretAnywhere(Map<String, String> expected) throws IOException {
        Path state = fixture.state();
        for (Path p : filesUnder(state)) {
            String content;
            try {
                content = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
            } catch (NoSuchFileException renamedAway) {
                continue; // a temp file the daemon has just renamed: its content is checked under the final name
            }
            assertFalse(content.contains(marker), "the secret is in " + p);
        }
        assertFalse(Files.readString(state.resolve("status.json")).contains(marker), "the secret is in status.json");
        for (String name : expected.keySet()) {
            String host = name.replaceAll("^[a-z]+:", "").replaceAll("[^a-z0-9-]", "x") + ".hostile.test";
            EdgeClient.Response r = EdgeClient.https(daemon.httpsPort(), host, "/");
            assertFalse(r.body().contains(marker), host + " served the secret");
            assertEquals(404, r.status(), host + " is not routed: its fragment was refused");
        }
    }

    /** The running daemon renames temp files meanwhile: a walk that meets one vanishing is simply walked again. */
    private static List<Path> filesUnder(Path dir) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try (Stream<Path> all = Files.walk(dir)) {
                return all.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList();
            } catch (UncheckedIOException e) {
                if (!(e.getCause() instanceof NoSuchFileException) || attempt == 10) {
                    throw e;
                }
            }
        }
    }

    /** Rejected copies and the status are readable by the daemon's group only; sockets by the daemon's user only. */
    private void assertLeastPrivilege() throws IOException {
        Path state = fixture.state();
        for (Path p : List.of(state.resolve("status.json"), state.resolve("rejected/return-file.cfg"),
                state.resolve("rejected/return-file.error"), state.resolve("haproxy/haproxy.cfg"))) {
            assertEquals("rw-r-----", mode(p), p.toString());
        }
        assertEquals("rw-------", mode(state.resolve("certs/fallback.pem")));
        assertEquals("rw-------", mode(state.resolve("run/admin.sock")));
        assertEquals("rw-------", mode(state.resolve("run/master.sock")));
        for (Path dir : List.of(state, state.resolve("rejected"), state.resolve("fragments"), state.resolve("certs"))) {
            assertFalse(Files.getPosixFilePermissions(dir).stream().anyMatch(p -> p.name().startsWith("OTHERS")),
                    dir + " is open to other users: " + mode(dir));
        }
        assertEquals("rwx------", mode(state.resolve("claimed")));
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    /** Inputs a corpus file cannot be: made in the inbox the way an attacker with write access would. */
    private Map<String, String> madeHere() throws Exception {
        Map<String, String> cases = new LinkedHashMap<>();
        Path inbox = daemon.inbox();
        String good = "  http-request return status 200 content-type text/plain string \"x\"\n";

        writeMap("link-secret");
        Files.createSymbolicLink(inbox.resolve("link-secret.cfg"), secret);
        cases.put("link-secret", "inbox/link-secret.cfg: is a symbolic link; only regular files with a single name"
                + " are read. It was removed without being opened.");

        Path outsideCfg = Files.writeString(elsewhere.resolve("outside.cfg"), "backend be_link-map\n" + good);
        Files.createSymbolicLink(inbox.resolve("link-map.map"), secret);
        hidden("link-map.cfg", Files.readString(outsideCfg));
        cases.put("link-map", "inbox/link-map.map: is a symbolic link");

        writeMap("hard-secret");
        Files.createLink(inbox.resolve("hard-secret.cfg"), secret);
        cases.put("hard-secret", "inbox/hard-secret.cfg: is a hard link to a file that has other names (2 links)");

        writeMap("fifo");
        run("mkfifo", inbox.resolve("fifo.cfg").toString());
        cases.put("fifo", "inbox/fifo.cfg: is not a regular file (a FIFO, socket or device)");

        writeMap("device");
        if (run("mknod", inbox.resolve("device.cfg").toString(), "c", "1", "5") == 0) { // /dev/zero: never ends
            cases.put("device", "inbox/device.cfg: is not a regular file (a FIFO, socket or device)");
        } else {
            Files.deleteIfExists(inbox.resolve("device.map"));
        }

        // 1 GB, sparse: refused by its size, never read.
        Path gig = elsewhere.resolve(".gigabyte.cfg");
        try (RandomAccessFile f = new RandomAccessFile(gig.toFile(), "rw")) {
            f.setLength(1L << 30);
        }
        writeMap("gigabyte");
        Files.move(gig, inbox.resolve("gigabyte.cfg"), StandardCopyOption.ATOMIC_MOVE);
        cases.put("gigabyte", "gigabyte.cfg: is 1073741824 bytes, more than the limit of 1048576 bytes");

        writeMap("ten-mb-line");
        Path line = elsewhere.resolve(".line");
        try (OutputStream out = Files.newOutputStream(line)) {
            out.write(("backend be_ten-mb-line\n  # ").getBytes(StandardCharsets.US_ASCII));
            out.write("z".repeat(10 << 20).getBytes(StandardCharsets.US_ASCII));
        }
        Files.move(line, inbox.resolve("ten-mb-line.cfg"));
        cases.put("ten-mb-line", "ten-mb-line.cfg: is " + (10 * 1024 * 1024 + 27) + " bytes, more than the limit");

        hidden("long-line.cfg", "backend be_long-line\n  # " + "w".repeat(20_000) + "\n");
        writeMap("long-line");
        cases.put("long-line", "long-line.cfg line 2: is 20004 characters long, more than the limit of 8192"
                + " (setting lb.fragments.max-line-length)");

        StringBuilder map = new StringBuilder();
        for (int i = 0; i < 30_000; i++) {
            map.append("d").append(i).append(".ml.test be_ml\n");
        }
        hidden("many-lines.cfg", "backend be_many-lines\n" + good);
        hidden("many-lines.map", map.toString());
        cases.put("many-lines", "many-lines.map line 20001: has 30000 lines, more than the limit of 20000");

        // The issue's million-line map is over the byte limit long before its line count matters: refused unread.
        hidden("million-lines.cfg", "backend be_million-lines\n" + good);
        hidden("million-lines.map", "a b\n".repeat(1_000_000));
        cases.put("million-lines", "million-lines.map: is 4000000 bytes, more than the limit of 1048576 bytes");

        String longName = "a".repeat(200) + "-" + "b".repeat(40);
        hidden(longName + ".cfg", "backend be_x\n");
        cases.put("name:long", "inbox/" + "a".repeat(80) + "... (");

        hidden("ansi\u001b[2J\u001b]0;owned\u0007.cfg", "backend be_y\n");
        cases.put("name:ansi", "inbox/ansi\\x1b[2J\\x1b]0;owned\\x07.cfg");

        Path certInbox = Files.createDirectories(fixture.state().resolve("cert-inbox"));
        Files.createSymbolicLink(certInbox.resolve("cert-link.pem"), secret);
        cases.put("cert:cert-link", "cert-inbox/cert-link.pem: is a symbolic link");
        run("mkfifo", certInbox.resolve("cert-fifo.pem").toString());
        cases.put("cert:cert-fifo", "cert-inbox/cert-fifo.pem: is not a regular file");
        return cases;
    }

    private void writeMap(String name) throws IOException {
        hidden(name + ".map", name + ".hostile.test be_" + name + "\n");
    }

    /** Written under a dot name and renamed in, as senders do. */
    private void hidden(String fileName, String content) throws IOException {
        Path temp = daemon.inbox().resolve(".part-" + UUID.randomUUID());
        Files.writeString(temp, content);
        Files.move(temp, daemon.inbox().resolve(fileName), StandardCopyOption.ATOMIC_MOVE);
    }

    private Map<String, String> corpus() throws IOException {
        Map<String, String> cases = new LinkedHashMap<>();
        for (String line : Files.readAllLines(CORPUS.resolve("expected.tsv"))) {
            if (!line.isBlank() && !line.startsWith("#")) {
                String[] f = line.split("\t", 2);
                cases.put(f[0], f[1].replace("@SECRET@", secret.toString()));
            }
        }
        return cases;
    }

    private void dropFromCorpus(String name) throws IOException {
        for (String ext : List.of(".cfg", ".map")) {
            byte[] bytes = Files.readAllBytes(CORPUS.resolve(name + ext));
            String text = new String(bytes, StandardCharsets.ISO_8859_1).replace("@SECRET@", secret.toString());
            Path temp = daemon.inbox().resolve(".corpus-" + UUID.randomUUID());
            Files.write(temp, text.getBytes(StandardCharsets.ISO_8859_1));
            Files.move(temp, daemon.inbox().resolve(name + ext), StandardCopyOption.ATOMIC_MOVE);
        }
    }

    private static int run(String... command) throws Exception {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start().waitFor();
    }
}
