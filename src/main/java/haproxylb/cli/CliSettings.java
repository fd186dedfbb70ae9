package haproxylb.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The few settings the CLI needs, read the way the daemon reads them: -D system property, then environment
 * variable (lb.state-dir → LB_STATE_DIR), then conf/application.properties, with {{key}} references resolved.
 */
final class CliSettings {
    private static final Pattern REF = Pattern.compile("\\{\\{([^}]+)}}");
    private final Properties file = new Properties();
    private final Map<String, String> env;

    CliSettings(Path confDir, Map<String, String> env) throws IOException {
        this.env = env;
        Path props = confDir.resolve("application.properties");
        if (Files.exists(props)) {
            try (Reader r = Files.newBufferedReader(props)) {
                file.load(r);
            }
        }
        file.putIfAbsent("lb.conf-dir", confDir.toString());
    }

    Optional<String> get(String key) {
        String v = System.getProperty(key);
        if (v == null) {
            v = env.get(key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
        }
        if (v == null) {
            v = file.getProperty(key);
        }
        return Optional.ofNullable(v).map(String::strip).map(this::resolve);
    }

    private String resolve(String value) {
        Matcher m = REF.matcher(value);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(get(m.group(1)).orElse("")));
        }
        m.appendTail(sb);
        return sb.toString();
    }
}
