package haproxylb.intake;

import java.util.ArrayList;
import java.util.List;

/**
 * One haproxy config line split into words the way haproxy 2.6's parser does (configuration manual 2.2): whitespace
 * separates words unless quoted or escaped, double quotes and unquoted text expand {@code $VAR} and {@code ${VAR}},
 * single quotes do not, an unquoted {@code #} starts a comment. The policy must see what haproxy will see:
 * {@code "err"orfile} is the keyword errorfile.
 */
record ConfigWords(List<String> words, boolean expandsEnvironment) {

    static ConfigWords of(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        boolean expands = false;
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote == 0 && c == '#') {
                break;
            }
            if (quote == 0 && Character.isWhitespace(c)) {
                if (word != null) {
                    words.add(word.toString());
                    word = null;
                }
                continue;
            }
            if (word == null) {
                word = new StringBuilder();
            }
            if (c == '\\' && quote != '\'' && i + 1 < line.length()) {
                word.append(line.charAt(++i));
            } else if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else if (quote != 0 && c == quote) {
                quote = 0;
            } else {
                if (c == '$' && quote != '\'' && i + 1 < line.length()) {
                    char next = line.charAt(i + 1);
                    expands |= next == '{' || next == '_' || Character.isLetter(next);
                }
                word.append(c);
            }
        }
        if (word != null) {
            words.add(word.toString());
        }
        return new ConfigWords(List.copyOf(words), expands);
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
