package haproxylb.common;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExcerptTest {
    @Test
    void terminal_escapes_and_invisible_characters_are_shown_as_escapes() {
        assertEquals("a\\x1b[2Jb\\x07\\x0d\\u009b\\u202e\\u200b", Excerpt.of("a\u001b[2Jb\u0007\r\u009b\u202e\u200b"));
        assertEquals("caf\u00e9 \ud83d\ude00", Excerpt.of("caf\u00e9 \ud83d\ude00"), "printable text is kept");
    }

    @Test
    void long_text_is_cut_to_an_excerpt_that_says_how_much_is_left_out() {
        String shown = Excerpt.of("y".repeat(10_000_000));
        assertEquals("y".repeat(Excerpt.MAX_CHARS) + "... (" + (10_000_000 - Excerpt.MAX_CHARS)
                + " more characters)", shown);
    }

    @Test
    void whole_messages_keep_their_lines_but_lose_their_escapes() {
        String escaped = Excerpt.controlsEscaped("line 1\n\tline \u001b]0;title\u0007 2");
        assertEquals("line 1\n\tline \\x1b]0;title\\x07 2", escaped);
        assertFalse(escaped.chars().anyMatch(c -> c < 0x20 && c != '\n' && c != '\t'));
        assertTrue(Excerpt.of(null).isEmpty());
    }
}
