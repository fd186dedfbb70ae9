package haproxylb.cli;

import haproxylb.intake.FragmentReader;
import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** haproxy-config against the running daemon: exit codes an Ansible task can rely on. */
class HaproxyConfigTest {
    @RegisterExtension
    static final DaemonFixture fixture = new DaemonFixture();
    @TempDir
    static Path files;
    static Path state;
    static DaemonHarness daemon;

    @BeforeAll
    static void start() throws Exception {
        state = fixture.state();
        daemon = fixture.daemon().with("lb.reload.min-interval", "200").start();
    }

    record Run(int exit, String out, String err) {}

    private static Run cli(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new HaproxyConfig(state, new FragmentReader(false, 1 << 20), new PrintStream(out, true),
                new PrintStream(err, true)).dispatch(List.of(args));
        return new Run(exit, out.toString(), err.toString());
    }

    private static Path file(String name, String text) throws Exception {
        return Files.writeString(files.resolve(name), text);
    }

    @Test
    void apply_exits_0_once_the_fragment_is_live_and_list_shows_it() throws Exception {
        Run r = cli("apply", "web", file("web.cfg", "backend be_web\n    http-request return status 200 content-type"
                + " text/plain string web-ok\n").toString(), file("web.map", "web.example.test be_web\n").toString(),
                "--timeout", "60");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("fragment 'web' is live"), r.out());
        assertEquals("web-ok", EdgeClient.https(daemon.httpsPort(), "web.example.test", "/").body());
        Run list = cli("list");
        assertTrue(list.out().contains("web\tbe_web\tweb.example.test"), list.out());
        Run status = cli("status");
        assertEquals(0, status.exit());
        assertTrue(status.out().contains("web\tlive\t"), status.out());
    }

    @Test
    void apply_exits_1_with_the_daemons_error_when_haproxy_rejects_the_fragment() throws Exception {
        Run r = cli("apply", "broken", file("broken.cfg", "backend be_broken\n    server s1 127.0.0.1:notaport\n").toString(),
                file("broken.map", "broken.example.test be_broken\n").toString(), "--timeout", "60");
        assertEquals(1, r.exit(), r.out() + r.err());
        assertTrue(r.err().startsWith("Fragment 'broken' was rejected: broken.cfg line 2: haproxy -c refused"), r.err());
    }

    @Test
    void apply_refuses_bad_input_before_sending_it() throws Exception {
        Run r = cli("apply", "bad", file("bad.cfg", "frontend x\n").toString(), file("bad.map", "").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("bad.cfg line 1: 'frontend' sections are not allowed"), r.err());
        assertTrue(Files.notExists(state.resolve("inbox/bad.cfg")));
    }

    @Test
    void remove_exits_0_when_the_fragment_is_gone() throws Exception {
        assertEquals(0, cli("apply", "temp", file("t.cfg", "backend be_temp\n    http-request return status 200\n")
                .toString(), file("t.map", "temp.example.test be_temp\n").toString(), "--timeout", "60").exit());
        Run r = cli("remove", "temp", "--timeout", "60");
        assertEquals(0, r.exit(), r.err());
        DaemonHarness.await("temp unknown", Duration.ofSeconds(30),
                () -> EdgeClient.statusOrMinusOne(daemon.httpsPort(), "temp.example.test", "/", true) == 404);
    }

    @Test
    void removing_a_name_the_balancer_does_not_have_says_so_and_sends_nothing() throws Exception {
        Run r = cli("remove", "never-applied", "--timeout", "5");
        assertEquals(0, r.exit(), r.err());
        assertEquals("fragment 'never-applied' is not on this balancer (haproxy-config list shows what is): nothing to"
                + " remove\n", r.out());
        assertTrue(Files.notExists(state.resolve("inbox/never-applied.remove")));
    }

    @Test
    void files_that_are_no_fragment_get_an_answer_naming_them() throws Exception {
        Path map = file("any.map", "any.example.test be_any\n");
        Run device = cli("apply", "any", "/dev/zero", map.toString(), "--timeout", "5");
        assertEquals(2, device.exit());
        assertEquals("haproxy-config: cannot read /dev/zero: not a regular file (a device, a pipe or a socket)\n",
                device.err());
        Run dir = cli("apply", "any", files.toString(), map.toString());
        assertEquals("haproxy-config: cannot read " + files + ": not a regular file (a directory)\n", dir.err());
        Run missing = cli("apply", "any", files.resolve("nope.cfg").toString(), map.toString());
        assertEquals("haproxy-config: cannot read " + files.resolve("nope.cfg") + ": no such file\n", missing.err());
        Path big = Files.write(files.resolve("big.cfg"), new byte[(1 << 20) + 1]);
        Run tooBig = cli("check", "any", big.toString(), map.toString());
        assertEquals(2, tooBig.exit());
        assertTrue(tooBig.err().startsWith("haproxy-config: cannot read " + big + ": more than the limit of 1048576"
                + " bytes (setting lb.fragments.max-bytes)"), tooBig.err());
        assertTrue(Files.notExists(state.resolve("inbox/any.cfg")));
    }

    @Test
    void wrong_arguments_print_usage_and_exit_2() throws Exception {
        assertEquals(2, cli("apply", "only-two").exit());
        assertEquals(2, cli("remove").exit());
        assertTrue(cli("frobnicate").err().contains("usage: haproxy-config apply NAME"));
        assertEquals(2, cli("remove", "../etc").exit());
    }
}
