package haproxylb.intake;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The old role's get_all_domains cases (tests/unit/test_manage_certs.py), ported, plus what it never checked. */
class MapParserTest {

    @Test
    void parses_the_old_roles_map_with_comments_blank_lines_tabs_and_upper_case() throws Exception {
        String map = """
                # comment

                some.domain.name be-corresponding-backend
                  weird-whitespace.domain.name \t be-corresponding-backend \s
                UPPERCASE.domain.name be-corresponding-backend
                different.backend.domain be-different-backend
                yet.another.backend.domain be-UPPERCASE-backend
                """;
        List<MapEntry> entries = MapParser.parse("old", "old.map", map);
        assertEquals(List.of(
                new MapEntry("some.domain.name", "be-corresponding-backend", 3),
                new MapEntry("weird-whitespace.domain.name", "be-corresponding-backend", 4),
                new MapEntry("uppercase.domain.name", "be-corresponding-backend", 5),
                new MapEntry("different.backend.domain", "be-different-backend", 6),
                new MapEntry("yet.another.backend.domain", "be-UPPERCASE-backend", 7)), entries);
    }

    @Test
    void rejects_a_line_with_three_fields_naming_file_and_line() {
        FragmentProblem p = assertThrows(FragmentProblem.class,
                () -> MapParser.parse("shop", "shop.map", "a.test be_a\nb.test be_b extra\n"));
        assertEquals("shop.map line 2: expected 'domain backend' (two fields), found 3 field(s): 'b.test be_b extra'",
                p.getMessage());
    }

    @Test
    void rejects_a_line_with_only_a_domain() {
        FragmentProblem p = assertThrows(FragmentProblem.class, () -> MapParser.parse("s", "s.map", "a.test\n"));
        assertTrue(p.getMessage().startsWith("s.map line 1: expected 'domain backend'"), p.getMessage());
    }

    @Test
    void rejects_invalid_domain_names() {
        for (String bad : List.of("-a.test", "a..test", "a_b.test", "a.test:443", "http://a.test", "ä.test", "a.*.test",
                "a".repeat(64) + ".test")) {
            FragmentProblem p = assertThrows(FragmentProblem.class,
                    () -> MapParser.parse("s", "s.map", "# x\n" + bad + " be_a\n"), bad);
            assertTrue(p.getMessage().startsWith("s.map line 2: "), p.getMessage());
            assertTrue(p.getMessage().contains("not a valid domain name"), p.getMessage());
        }
    }

    @Test
    void accepts_a_wildcard_for_one_label_and_rejects_other_stars() throws Exception {
        assertEquals("*.a.test", MapParser.parse("s", "s.map", "*.A.test be_a\n").get(0).domain());
        for (String bad : List.of("*.test", "a.*.test", "*a.test", "**.a.test", "*")) {
            FragmentProblem p = assertThrows(FragmentProblem.class,
                    () -> MapParser.parse("s", "s.map", bad + " be_a\n"), bad);
            assertTrue(p.getMessage().contains("not a valid domain name"), p.getMessage());
        }
    }

    @Test
    void rejects_a_domain_listed_twice_whatever_its_case() {
        FragmentProblem p = assertThrows(FragmentProblem.class,
                () -> MapParser.parse("s", "s.map", "a.test be_a\nA.Test be_b\n"));
        assertEquals("s.map line 2: domain 'a.test' is already mapped on line 1; keep one line per domain",
                p.getMessage());
    }

    @Test
    void accepts_a_trailing_dot_as_the_same_domain() throws Exception {
        assertEquals("a.test", MapParser.parse("s", "s.map", "a.test. be_a").get(0).domain());
    }

    @Test
    void rejects_backend_names_haproxy_would_not_accept() {
        FragmentProblem p = assertThrows(FragmentProblem.class,
                () -> MapParser.parse("s", "s.map", "a.test be/a\n"));
        assertTrue(p.getMessage().contains("not a valid backend name"), p.getMessage());
    }

    @Test
    void a_trailing_comment_and_an_internationalised_name_are_refused_with_what_to_write_instead() {
        FragmentProblem comment = assertThrows(FragmentProblem.class,
                () -> MapParser.parse("m", "m.map", "shop.example.test be_m # the shop\n"));
        assertTrue(comment.getMessage().contains("m.map line 1: expected 'domain backend' (two fields), found 5"
                + " field(s)"), comment.getMessage());
        assertTrue(comment.getMessage().endsWith("; a comment goes on a line of its own, starting with '#'"),
                comment.getMessage());

        FragmentProblem idn = assertThrows(FragmentProblem.class,
                () -> MapParser.parse("m", "m.map", "B\u00fccher.example be_m\n*.b\u00fccher.example be_m\n"));
        assertTrue(idn.getMessage().contains("is not a valid domain name"), idn.getMessage());
        assertTrue(idn.getMessage().endsWith("written in its ASCII form: 'xn--bcher-kva.example'"), idn.getMessage());
        FragmentProblem wildcard = assertThrows(FragmentProblem.class,
                () -> MapParser.parse("m", "m.map", "*.b\u00fccher.example be_m\n"));
        assertTrue(wildcard.getMessage().endsWith("'*.xn--bcher-kva.example'"), wildcard.getMessage());

        FragmentProblem junk = assertThrows(FragmentProblem.class,
                () -> MapParser.parse("m", "m.map", "a\u00e9/../x:80 be_m\n"));
        assertFalse(junk.getMessage().contains("ASCII form"), "no suggestion that is not a name: " + junk.getMessage());
    }
}
