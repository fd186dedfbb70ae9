package haproxylb.intake;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One haproxy config line split into words exactly as haproxy 2.6's {@code parse_line()} (src/tools.c) splits it
 * for its config parser, so that every check sees what haproxy will see: {@code "err"orfile} and
 * {@code \x65rrorfile} are the keyword errorfile, {@code e\x6ev(} is the fetch {@code env(}, {@code "program"} opens
 * a program section. The rules:
 * <ul>
 * <li>a carriage return or a NUL ends the line; an unquoted {@code #} starts a comment, even inside a word;</li>
 * <li>space, tab, vertical tab and form feed separate words, unless quoted or escaped; a quote does not end a word
 * ({@code "a"b} is {@code ab}), and {@code ""} is an empty word;</li>
 * <li>inside single quotes nothing is special but the closing quote;</li>
 * <li>elsewhere a backslash escapes a space, {@code \}, {@code #}, {@code '} and {@code "}, makes {@code \t},
 * {@code \n}, {@code \r} and {@code \xHH} (any byte) from their C forms, escapes {@code $} inside double quotes only,
 * and stays a backslash before anything else ({@code \1});</li>
 * <li>{@code $NAME}, {@code ${NAME}} and the pseudo-variables {@code $.FILE} etc. are expanded inside double quotes
 * (configuration manual 2.3). {@link #expandsEnvironment()} says whether the line has one there or unquoted (which
 * haproxy before 2.3 expanded too), never inside single quotes or escaped.</li>
 * </ul>
 * Bytes made by {@code \xHH} are read as UTF-8 with the text around them.
 */
record ConfigWords(List<String> words, boolean expandsEnvironment) {

    static ConfigWords of(String line) {
        List<String> words = new ArrayList<>();
        Word word = null;
        boolean expands = false;
        boolean squote = false;
        boolean dquote = false;
        int n = line.length();
        int i = 0;
        while (i < n) {
            char c = line.charAt(i);
            if (c == '\r' || c == '\n' || c == '\0' || (c == '#' && !squote && !dquote)) {
                break;
            }
            if (isSpace(c) && !squote && !dquote) {
                if (word != null) {
                    words.add(word.finish());
                    word = null;
                }
                i++;
                continue;
            }
            if (word == null) {
                word = new Word();
            }
            if (c == '"' && !squote) {
                dquote = !dquote;
                i++;
            } else if (c == '\'' && !dquote) {
                squote = !squote;
                i++;
            } else if (c == '\\' && !squote) {
                i = escape(line, i, dquote, word);
            } else {
                if (c == '$' && !squote && i + 1 < n) {
                    // haproxy 2.6 expands inside double quotes only; older ones expanded unquoted words too
                    char next = line.charAt(i + 1);
                    expands |= next == '{' || next == '_' || next == '.' || (next < 128 && Character.isLetter(next));
                }
                int cp = line.codePointAt(i);
                word.append(cp);
                i += Character.charCount(cp);
            }
        }
        if (word != null) {
            words.add(word.finish());
        }
        return new ConfigWords(List.copyOf(words), expands);
    }

    /** The backslash at {@code at}: appends what it stands for, returns where reading goes on. */
    private static int escape(String line, int at, boolean dquote, Word word) {
        char next = at + 1 < line.length() ? line.charAt(at + 1) : 0;
        switch (next) {
            case ' ', '\\', '#', '\'', '"' -> word.append(next);
            case 't' -> word.append('\t');
            case 'n' -> word.append('\n');
            case 'r' -> word.append('\r');
            case '$' -> {
                if (!dquote) {
                    // outside double quotes '\$' is two characters, and the '$' expands nothing there
                    word.append('\\');
                    return at + 1;
                }
                word.append('$');
            }
            case 'x' -> {
                int hi = at + 2 < line.length() ? hexDigit(line.charAt(at + 2)) : -1;
                int lo = at + 3 < line.length() ? hexDigit(line.charAt(at + 3)) : -1;
                if (hi < 0 || lo < 0) {
                    // haproxy refuses the line ("truncated or invalid hexadecimal sequence"): haproxy -c says so
                    word.append('\\');
                    return at + 1;
                }
                word.appendByte(hi << 4 | lo);
                return at + 4;
            }
            default -> {
                word.append('\\');
                return at + 1;
            }
        }
        return at + 2;
    }

    private static int hexDigit(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }

    /** C's isspace() in the C locale, less the line ends (which end the line before this is asked). */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\u000b' || c == '\f';
    }

    /** A word being read: text, and bytes from {@code \xHH} escapes, which join the text as UTF-8. */
    private static final class Word {
        private final StringBuilder text = new StringBuilder();
        private byte[] bytes;
        private int byteCount;

        void append(int codePoint) {
            flushBytes();
            text.appendCodePoint(codePoint);
        }

        void appendByte(int b) {
            if (b < 0x80 && byteCount == 0) {
                text.append((char) b);
                return;
            }
            if (bytes == null) {
                bytes = new byte[8];
            } else if (byteCount == bytes.length) {
                bytes = Arrays.copyOf(bytes, bytes.length * 2);
            }
            bytes[byteCount++] = (byte) b;
        }

        private void flushBytes() {
            if (byteCount > 0) {
                text.append(new String(bytes, 0, byteCount, StandardCharsets.UTF_8));
                byteCount = 0;
            }
        }

        String finish() {
            flushBytes();
            return text.toString();
        }
    }

    /** Every line of a config text, split into words once for all the checks that read them. */
    static List<ConfigWords> lines(String text) {
        List<ConfigWords> lines = new ArrayList<>();
        int start = 0;
        while (start <= text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            lines.add(of(text.substring(start, end)));
            start = end + 1;
        }
        return lines;
    }

    boolean isEmpty() {
        return words.isEmpty();
    }

    String keyword() {
        return words.get(0);
    }

    /** The word after the first occurrence of {@code option} at or after {@code from}, or null. */
    String after(String option, int from) {
        for (int i = from; i < words.size() - 1; i++) {
            if (words.get(i).equals(option)) {
                return words.get(i + 1);
            }
        }
        return null;
    }
}
