package haproxylb.intake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The words haproxy 2.6 reads from a config line ({@code parse_line()} in src/tools.c). Each expectation below was
 * checked against haproxy 2.6.12 itself, by serving the word back as a response header.
 */
class ConfigWordsTest {
    private static List<String> words(String line) {
        return ConfigWords.of(line).words();
    }

    @Test
    void hex_escapes_make_the_byte_they_name_outside_single_quotes() {
        assertEquals(List.of("env", "\\x41"), words("e\\x6ev '\\x41'"));
        assertEquals(List.of("errorfile", "503", "/etc/shadow"), words("\\x65rrorfile 503 \\x2fetc\\x2fshadow"));
        assertEquals(List.of("%[env(HOME)]"), words("\"%[e\\x6Ev(HOME)]\""));
        assertEquals(List.of("caf\u00e9"), words("caf\\xc3\\xa9"), "bytes are UTF-8 with the text around them");
        assertEquals(List.of("\\xZZ"), words("\\xZZ"), "haproxy refuses an invalid sequence; kept as written");
    }

    @Test
    void backslashes_escape_only_what_haproxy_escapes() {
        assertEquals(List.of("a b", "#", "'", "\"", "\\"), words("a\\ b \\# \\' \\\" \\\\"));
        assertEquals(List.of("a\tb\nc\r"), words("a\\tb\\nc\\r"));
        assertEquals(List.of("a\\1b"), words("\"a\\1b\""), "no escape: the backslash stays");
        assertEquals(List.of("$HOME"), words("\"\\$HOME\""), "'\\$' is a '$' inside double quotes");
        assertEquals(List.of("\\$HOME"), words("\\$HOME"), "and two characters outside them");
        assertEquals(List.of("x\\"), words("x\\"));
    }

    @Test
    void quotes_join_and_comments_cut_words_as_in_haproxy() {
        assertEquals(List.of("errorfile", "503"), words("\"err\"orfile 503"));
        assertEquals(List.of("a b", "c d"), words("'a b' \"c d\""));
        assertEquals(List.of("", "x"), words("\"\" x"), "an empty quoted word is a word");
        assertEquals(List.of("abc"), words("abc#def ghi"), "an unquoted '#' starts a comment even inside a word");
        assertEquals(List.of("a#b", "c#d"), words("'a#b' \"c#d\""));
        assertEquals(List.of("a", "b"), words("a\u000bb"), "vertical tab separates, as C's isspace() says");
        assertEquals(List.of("a\u2003b"), words("a\u2003b"), "a Unicode space does not");
        assertEquals(List.of("a"), words("a\rb c"), "a carriage return ends the line for haproxy");
        assertEquals(List.of("a"), words("a\u0000b"), "so does a NUL");
    }

    @Test
    void environment_variables_are_flagged_where_haproxy_could_expand_them() {
        assertTrue(ConfigWords.of("string \"${HOME}\"").expandsEnvironment());
        assertTrue(ConfigWords.of("string \"$HOME\"").expandsEnvironment());
        assertTrue(ConfigWords.of("string \"${.FILE}\"").expandsEnvironment());
        assertTrue(ConfigWords.of("string $PATH").expandsEnvironment(), "unquoted: expanded by haproxy before 2.3");
        assertFalse(ConfigWords.of("string '${HOME}'").expandsEnvironment(), "single quotes expand nothing");
        assertFalse(ConfigWords.of("string \"\\$HOME\"").expandsEnvironment(), "escaped");
        assertFalse(ConfigWords.of("path_reg ^/a$ \"$1\"").expandsEnvironment(), "no name follows the '$'");
        assertFalse(ConfigWords.of("string x # \"${HOME}\"").expandsEnvironment(), "in a comment");
    }
}
