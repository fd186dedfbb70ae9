package haproxylb.common;

/**
 * What an error message may quote of operator-supplied text. Errors end up in status.json and on the terminal of
 * whoever runs {@code haproxy-config status}, so a hostile file must not be able to write escape sequences (ANSI
 * colours, cursor moves, a fake prompt) there, nor a bidirectional override that makes a line read differently from
 * what it is, nor a screenful of its content. Control and format characters are shown as escapes ({@code \x1b},
 * {@code \u202e}) and the text is cut to a short excerpt.
 */
public final class Excerpt {
    /** Enough to recognise a line; short enough that an error never carries a file's content. */
    public static final int MAX_CHARS = 80;

    private Excerpt() {}

    /** At most {@link #MAX_CHARS} characters of {@code text}, escaped; longer text ends with how much was left out. */
    public static String of(String text) {
        return of(text, MAX_CHARS);
    }

    public static String of(String text, int maxChars) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        int shown = 0;
        int i = 0;
        while (i < text.length() && shown < maxChars) {
            int c = text.codePointAt(i);
            appendEscaped(out, c);
            i += Character.charCount(c);
            shown++;
        }
        if (i < text.length()) {
            out.append("... (").append(text.codePointCount(i, text.length())).append(" more characters)");
        }
        return out.toString();
    }

    /**
     * The whole text with control characters escaped except line feeds and tabs: for messages that are already
     * bounded (an error assembled by the daemon) but may contain quoted input, such as haproxy's own diagnostics.
     */
    public static String controlsEscaped(String text) {
        if (text == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            if (c == '\n' || c == '\t') {
                out.append((char) c);
            } else {
                appendEscaped(out, c);
            }
        });
        return out.toString();
    }

    private static void appendEscaped(StringBuilder out, int c) {
        if (c < 0x20 || c == 0x7f) {
            out.append(String.format("\\x%02x", c));
        } else if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                || c == '\u2028' || c == '\u2029') {
            // C1 controls (a single-byte CSI), bidi overrides, zero-width characters, line separators.
            out.append(String.format("\\u%04x", c));
        } else {
            out.appendCodePoint(c);
        }
    }
}
