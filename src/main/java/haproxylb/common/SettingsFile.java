package haproxylb.common;

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
 * Settings read the way Camel reads them for the daemon, without Camel: -D system property, then environment
 * variable (lb.state-dir → LB_STATE_DIR), then conf/application.properties, with {{key}} references resolved. For
 * haproxy-config, and for the daemon's first step (starting haproxy before Camel boots: HaproxyLb).
 */
public final class SettingsFile {
    private static final Pattern REF = Pattern.compile("\\{\\{([^}]+)}}");
    private final Properties file = new Properties();
    private final Map<String, String> env;
    private final Map<String, String> overrides;

    public SettingsFile(Path confDir, Map<String, String> env) throws IOException {
        this(confDir, env, Map.of());
    }

    /** @param overrides win over everything else, as Camel Main's override properties do */
    public SettingsFile(Path confDir, Map<String, String> env, Map<String, String> overrides) throws IOException {
        this.env = env;
        this.overrides = Map.copyOf(overrides);
        Path props = confDir.resolve("application.properties");
        if (Files.exists(props)) {
            try (Reader r = Files.newBufferedReader(props)) {
                file.load(r);
            }
        }
        file.putIfAbsent("lb.conf-dir", confDir.toString());
    }

    public Optional<String> get(String key) {
        String v = overrides.get(key);
        if (v == null) {
            v = System.getProperty(key);
        }
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
