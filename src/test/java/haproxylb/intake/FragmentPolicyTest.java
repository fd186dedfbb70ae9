package haproxylb.intake;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FragmentPolicyTest {
    @TempDir
    Path tmp;

    private static String refusal(FragmentPolicy policy, String cfg) {
        return assertThrows(FragmentProblem.class, () -> policy.check("app", "app.cfg", cfg)).getMessage();
    }

    private static void refusedOnLine(FragmentPolicy policy, int line, String cfg, String reason) {
        String message = refusal(policy, cfg);
        assertTrue(message.startsWith("app.cfg line " + line + ": "), message);
        assertTrue(message.contains(reason), "'" + reason + "' not in: " + message);
    }

    /** Every haproxy 2.6 construct that makes it read a file, on line 2 of a backend. */
    @Test
    void by_default_no_directive_may_name_a_file() {
        String[] lines = {
            "http-request return status 200 content-type text/plain file /etc/passwd",
            "http-request return status 200 lf-file /etc/passwd",
            "http-request return status 503 errorfile /etc/passwd",
            "http-response return status 200 file /etc/passwd",
            "http-after-response return status 200 file /etc/passwd",
            "http-request deny deny_status 403 errorfile /etc/passwd",
            "http-request tarpit status 403 file /etc/passwd",
            "http-error status 503 errorfile /etc/passwd",
            "errorfile 503 /etc/passwd",
            "server s1 127.0.0.1:443 ssl ca-file /etc/passwd",
            "server s1 127.0.0.1:443 ssl verify none crt /etc/passwd",
            "server s1 127.0.0.1:443 ssl crl-file /etc/passwd",
            "default-server ssl ca-file /etc/passwd",
            "server-template s 1-3 127.0.0.1:443 ssl crt /etc/passwd",
            "acl secret hdr(host) -f /etc/passwd",
            "http-request set-header X %[req.hdr(host),map(/etc/passwd)]",
            "http-request set-header X %[req.hdr(host),map_str(/etc/passwd,none)]",
            "http-request set-map(/etc/passwd) %[src] x",
            "http-request add-acl(/etc/passwd) %[src]",
            "filter spoe engine e config /etc/passwd",
            "log /dev/log local0",
        };
        for (String line : lines) {
            refusedOnLine(FragmentPolicy.DEFAULT, 2, "backend be\n    " + line + "\n",
                    line.contains("/dev/log") ? "'/dev/log'" : "'/etc/passwd'");
            assertTrue(refusal(FragmentPolicy.DEFAULT, "backend be\n    " + line + "\n")
                    .contains("lb.fragments.file-dirs"), line);
        }
    }

    @Test
    void code_environment_local_sockets_and_the_stats_page_are_refused() {
        String[][] cases = {
            {"option external-check", "runs a program"},
            {"external-check command /bin/sh", "runs a program"},
            {"http-request use-service prometheus-exporter", "use-service"},
            {"tcp-request content use-service lua.x", "use-service"},
            {"http-request lua.hello", "Lua action"},
            {"http-request set-header X %[lua.secret]", "uses Lua"},
            {"http-request return status 200 string \"${HOME}\"", "environment variables"},
            {"http-request return status 200 string $HOME", "environment variables"},
            {"http-request set-header X %[env(HOME)]", "'env()'"},
            {"server s1 /run/haproxy/admin.sock", "local socket"},
            {"server s1 unix@/run/haproxy/admin.sock", "local socket"},
            {"server s1 abns@x", "local socket"},
            {"server s1 127.0.0.1:80 namespace other", "namespace"},
            {"server-state-file-name be", "state file"},
            {"load-server-state-from-file global", "state file"},
            {"stats enable", "'stats'"},
            {"stats admin if TRUE", "'stats'"},
            {"http-request return status 200 file relative.txt", "relative path"},
        };
        for (String[] c : cases) {
            refusedOnLine(FragmentPolicy.DEFAULT, 3, "# comment\nbackend be\n  " + c[0] + "\n", c[1]);
        }
    }

    @Test
    void quoting_and_escapes_are_read_as_haproxy_reads_them() {
        refusedOnLine(FragmentPolicy.DEFAULT, 1, "\"err\"orfile 503 '/etc/passwd'", "'/etc/passwd'");
        refusedOnLine(FragmentPolicy.DEFAULT, 1, "http-request return status 200 fi\\x6ce /etc/passwd", "'/etc/passwd'");
        // every check of the policy sees through haproxy's escapes ("\\x6e" is 'n', "\\x2f" is '/')
        refusedOnLine(FragmentPolicy.DEFAULT, 1, "http-request return status 200 content-type text/plain lf-string"
                + " \"%[e\\x6ev(HOME)]\"", "'env()' reads haproxy's own environment variables");
        refusedOnLine(FragmentPolicy.DEFAULT, 1, "http-request set-var(txn.x) req.hdr(host),\\x6dap(/etc/passwd)",
                "'map()' makes haproxy read the file '/etc/passwd'");
        refusedOnLine(FragmentPolicy.DEFAULT, 1, "\\x73tats enable", "'stats' pages list every fragment's backends");
        refusedOnLine(FragmentPolicy.DEFAULT, 1, "server s1 \\x2frun/haproxy/admin.sock",
                "'server' address '/run/haproxy/admin.sock' is a local socket");
        refusedOnLine(FragmentPolicy.DEFAULT, 1, "errorfile 503 \\x2fetc\\x2fshadow", "the file '/etc/shadow'");
        // what haproxy does not read as an escape is not one: "fi\\le" is not the keyword file (haproxy -c refuses it)
        assertDoesNotThrow(() -> FragmentPolicy.DEFAULT.check("app", "app.cfg",
                "backend be\n  http-request return status 200 fi\\le /etc/passwd\n"));
        assertDoesNotThrow(() -> FragmentPolicy.DEFAULT.check("app", "app.cfg",
                "backend be\n  http-request return status 200 string '$HOME' # errorfile 503 /etc/passwd\n"
                        + "  http-request return status 200 string \"\\$HOME\"\n"
                        + "  server s1 127.0.0.1:443 ssl ca-file @system-ca\n"
                        + "  http-request set-header X %[req.hdr(host),lower]\n"));
    }

    @Test
    void a_file_inside_an_allowed_directory_is_accepted_and_every_escape_from_it_refused() throws Exception {
        Path allowed = Files.createDirectories(tmp.resolve("errors"));
        Path page = Files.writeString(allowed.resolve("503.http"), "HTTP/1.0 503\r\n\r\nsorry");
        Path outside = Files.writeString(tmp.resolve("secret"), "marker");
        Files.createSymbolicLink(allowed.resolve("link"), outside);
        FragmentPolicy policy = FragmentPolicy.of("strict", allowed + ", " + tmp.resolve("nonexistent").getParent());

        assertDoesNotThrow(() -> policy.check("app", "app.cfg", "backend be\n  errorfile 503 " + page + "\n"));
        FragmentPolicy narrow = FragmentPolicy.of("strict", allowed.toString());
        refusedOnLine(narrow, 2, "backend be\n  errorfile 503 " + outside + "\n", "outside lb.fragments.file-dirs");
        refusedOnLine(narrow, 2, "backend be\n  errorfile 503 " + allowed.resolve("link") + "\n",
                "which resolves to '" + outside.toRealPath() + "'");
        refusedOnLine(narrow, 2, "backend be\n  errorfile 503 " + allowed + "/../secret\n", "contains '..'");
        refusedOnLine(narrow, 2, "backend be\n  errorfile 503 " + allowed + "\n", "outside lb.fragments.file-dirs");
        refusedOnLine(narrow, 2, "backend be\n  errorfile 503 " + allowed + "/missing\n", "does not exist");
    }

    @Test
    void the_trusted_level_checks_nothing_and_bad_settings_stop_start_up() {
        FragmentPolicy trusted = FragmentPolicy.of("trusted", "");
        assertEquals(FragmentPolicy.Level.TRUSTED, trusted.level());
        assertDoesNotThrow(() -> trusted.check("app", "app.cfg", "backend be\n  errorfile 503 /etc/passwd\n"));
        assertThrows(IllegalArgumentException.class, () -> FragmentPolicy.of("lenient", ""));
        assertThrows(IllegalArgumentException.class, () -> FragmentPolicy.of("strict", "relative/dir"));
        assertThrows(IllegalArgumentException.class, () -> FragmentPolicy.of("strict", tmp.resolve("none").toString()));
    }

    @Test
    void the_reader_applies_the_policy_and_the_line_bounds_with_file_and_line() {
        FragmentReader reader = new FragmentReader(false, 1 << 20, 100, 3, FragmentPolicy.DEFAULT);
        String p1 = assertThrows(FragmentProblem.class, () -> reader.read("app",
                "backend be\n  errorfile 503 /etc/passwd\n".getBytes(), "a.test be\n".getBytes())).getMessage();
        assertTrue(p1.startsWith("app.cfg line 2: 'errorfile'"), p1);
        String p2 = assertThrows(FragmentProblem.class, () -> reader.read("app",
                ("backend be\n\n  # " + "x".repeat(200) + "\n").getBytes(), "a.test be\n".getBytes())).getMessage();
        assertTrue(p2.startsWith("app.cfg line 3: is 204 characters long, more than the limit of 100"), p2);
        String p3 = assertThrows(FragmentProblem.class, () -> reader.read("app", "backend be\n".getBytes(),
                "a.test be\nb.test be\nc.test be\nd.test be\n".getBytes())).getMessage();
        assertTrue(p3.startsWith("app.map line 4: has 4 lines, more than the limit of 3"), p3);
    }

    @Test
    void control_and_invisible_characters_are_refused_before_haproxy_can_quote_them() {
        FragmentReader reader = new FragmentReader(false, 1 << 20);
        String p = assertThrows(FragmentProblem.class, () -> reader.read("app",
                "backend be\n  server s\u001b[2J 127.0.0.1:1\n".getBytes(), "a.test be\n".getBytes())).getMessage();
        assertEquals("app.cfg line 2: contains the control or invisible character \\x1b; only printable text, spaces"
                + " and tabs are allowed", p);
        String bidi = assertThrows(FragmentProblem.class, () -> reader.read("app", "backend be\n".getBytes(),
                "a.test be\n# \u202e\n".getBytes(java.nio.charset.StandardCharsets.UTF_8))).getMessage();
        assertTrue(bidi.startsWith("app.map line 2: contains the control or invisible character \\u202e"), bidi);
    }

    @Test
    void a_ten_thousand_character_name_is_refused_with_a_short_escaped_excerpt() {
        String name = "\u001b[2J" + "n".repeat(10_000);
        String message = assertThrows(FragmentProblem.class, () -> FragmentName.check(name)).getMessage();
        assertTrue(message.startsWith("invalid fragment name '\\x1b[2J" + "n".repeat(76) + "... (9924 more characters)'"),
                message);
        assertTrue(message.length() < 400, "an excerpt, not the name: " + message.length());
        assertTrue(FragmentName.safe(name).length() <= 101, "the stand-in it is filed under is short too");
    }
}
