package haproxylb.assembly;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The operator's base haproxy config (global, defaults, frontends, haproxy-lb's own backends) with
 * {@code {{name}}} placeholders for the settings (not in comment lines). Unknown placeholders fail at start-up, naming the line,
 * rather than reaching haproxy as literal braces.
 */
public final class ConfigTemplate {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{([a-z0-9-]+)}}");

    private final Path source;
    private final String text;

    private ConfigTemplate(Path source, String text) {
        this.source = source;
        this.text = text;
    }

    public static ConfigTemplate load(Path source) throws IOException {
        return new ConfigTemplate(source, Files.readString(source).replace("\r\n", "\n"));
    }

    public static ConfigTemplate of(String name, String text) {
        return new ConfigTemplate(Path.of(name), text);
    }

    public Path source() {
        return source;
    }

    public String render(Map<String, String> values) {
        StringBuilder out = new StringBuilder(text.length() + 256);
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].stripLeading().startsWith("#")) {
                out.append(lines[i]).append(i < lines.length - 1 ? "\n" : "");
                continue; // comments may talk about {{placeholders}} without being filled
            }
            Matcher m = PLACEHOLDER.matcher(lines[i]);
            StringBuilder line = new StringBuilder();
            while (m.find()) {
                String value = values.get(m.group(1));
                if (value == null) {
                    throw new IllegalArgumentException(source + " line " + (i + 1) + ": unknown placeholder {{"
                            + m.group(1) + "}}; known ones are " + new java.util.TreeSet<>(values.keySet()));
                }
                m.appendReplacement(line, Matcher.quoteReplacement(value));
            }
            m.appendTail(line);
            out.append(line);
            if (i < lines.length - 1) {
                out.append('\n');
            }
        }
        if (out.length() > 0 && out.charAt(out.length() - 1) != '\n') {
            out.append('\n');
        }
        return out.toString();
    }
}
