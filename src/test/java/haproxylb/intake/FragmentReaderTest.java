package haproxylb.intake;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FragmentReaderTest {
    private final FragmentReader reader = new FragmentReader(false, 1024);

    private Fragment read(String name, String cfg, String map) throws FragmentProblem {
        return reader.read(name, cfg.getBytes(StandardCharsets.UTF_8), map.getBytes(StandardCharsets.UTF_8));
    }

    private String problem(String name, String cfg, String map) {
        return assertThrows(FragmentProblem.class, () -> read(name, cfg, map)).getMessage();
    }

    @Test
    void reads_backends_and_map_of_a_fragment() throws Exception {
        Fragment f = read("shop", "backend be_shop\n    server s1 127.0.0.1:8080\n", "shop.test be_shop\n");
        assertEquals(Map.of("be_shop", 1), f.backends());
        assertEquals("shop.test", f.entries().get(0).domain());
        assertEquals(16, f.id().length());
    }

    @Test
    void the_id_changes_with_either_file() throws Exception {
        Fragment a = read("shop", "backend be_shop\n", "shop.test be_shop\n");
        assertNotEquals(a.id(), read("shop", "backend be_shop\n", "www.shop.test be_shop\n").id());
        assertNotEquals(a.id(), read("shop", "backend be_shop\n  server s 127.0.0.1:1\n", "shop.test be_shop\n").id());
    }

    @Test
    void strips_a_utf8_bom_and_crlf_line_ends() throws Exception {
        Fragment f = read("win", "\uFEFFbackend be_win\r\n    server s1 127.0.0.1:8080\r\n", "\uFEFFwin.test be_win\r\n");
        assertEquals("backend be_win\n    server s1 127.0.0.1:8080\n", f.cfg());
        assertEquals("win.test", f.entries().get(0).domain());
        assertEquals("be_win", f.entries().get(0).backend());
    }

    @Test
    void rejects_binary_junk() {
        String msg = assertThrows(FragmentProblem.class, () -> reader.read("bin",
                new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 2}, "a.test be_a\n".getBytes())).getMessage();
        assertTrue(msg.startsWith("bin.cfg: is not UTF-8 text"), msg);
        msg = problem("bin", "backend be_a\n\0\n", "a.test be_a\n");
        assertTrue(msg.startsWith("bin.cfg line 2: contains a NUL byte"), msg);
    }

    @Test
    void rejects_files_over_the_size_limit_without_parsing_them() {
        String msg = problem("big", "backend be_a\n" + "#".repeat(2000), "a.test be_a\n");
        assertTrue(msg.startsWith("big.cfg: is 2013 bytes, more than the limit of 1024 bytes"), msg);
    }

    @Test
    void rejects_two_empty_files_and_says_how_to_remove_instead() {
        assertTrue(problem("empty", "", "").contains("haproxy-config remove empty"));
    }

    @Test
    void rejects_global_defaults_and_frontend_sections() {
        for (String section : new String[] {"global", "defaults", "frontend fe", "listen l", "userlist u"}) {
            String msg = problem("evil", "backend be_a\n  server s 127.0.0.1:1\n" + section + "\n  maxconn 1\n",
                    "a.test be_a\n");
            assertTrue(msg.startsWith("evil.cfg line 3: '" + section.split(" ")[0] + "' sections are not allowed"), msg);
        }
    }

    @Test
    void a_setting_allows_other_sections() throws Exception {
        FragmentReader lenient = new FragmentReader(true, 1024);
        Fragment f = lenient.read("l", "listen stats\n  bind 127.0.0.1:9000\n".getBytes(), "".getBytes());
        assertEquals(Map.of("stats", 1), f.backends());
    }

    @Test
    void rejects_a_backend_defined_twice_in_one_fragment() {
        assertEquals("dup.cfg line 3: backend 'be_a' is already defined on line 1",
                problem("dup", "backend be_a\n  server s 127.0.0.1:1\nbackend be_a\n", "a.test be_a\n"));
    }

    @Test
    void rejects_directives_before_any_section() {
        String msg = problem("x", "  server s 127.0.0.1:1\n", "a.test be_a\n");
        assertTrue(msg.startsWith("x.cfg line 1: 'server' appears before any section"), msg);
    }

    @Test
    void reserves_the_lb_prefix_for_haproxy_lbs_own_backends() {
        String msg = problem("x", "backend lb_acme_challenge\n", "a.test lb_acme_challenge\n");
        assertTrue(msg.contains("reserved"), msg);
    }

    @Test
    void rejects_names_with_path_tricks() {
        for (String bad : new String[] {"../etc", "a/b", "..", ".hidden", "UPPER", "a b", "", "x".repeat(101)}) {
            String msg = problem(bad, "backend be_a\n", "a.test be_a\n");
            assertTrue(msg.startsWith("invalid fragment name"), bad + " -> " + msg);
        }
        assertEquals("_etc", FragmentName.safe("../etc"), "never a valid name: it must not clash with fragment 'etc'");
    }
}
