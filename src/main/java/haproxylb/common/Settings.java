package haproxylb.common;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Typed access to the {@code lb.*} settings of conf/application.properties (overridable by -D and environment
 * variables through Camel's properties component). Every setting is documented in the README.
 */
public final class Settings {
    private final Function<String, Optional<String>> source;

    public Settings(Function<String, Optional<String>> source) {
        this.source = source;
    }

    public String string(String key) {
        return source.apply(key).map(String::strip)
                .orElseThrow(() -> new IllegalArgumentException("missing setting " + key
                        + " (conf/application.properties)"));
    }

    public String string(String key, String fallback) {
        return source.apply(key).map(String::strip).orElse(fallback);
    }

    public Path path(String key) {
        return Path.of(string(key)).toAbsolutePath().normalize();
    }

    public long number(String key) {
        String v = string(key);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("setting " + key + " = '" + v + "' is not a whole number");
        }
    }

    public boolean flag(String key) {
        String v = string(key, "false");
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("setting " + key + " = '" + v + "' must be true or false");
        }
        return Boolean.parseBoolean(v);
    }

    public Duration millis(String key) {
        return Duration.ofMillis(number(key));
    }

    public List<String> words(String key) {
        return Arrays.stream(string(key).split("\\s+")).filter(s -> !s.isEmpty()).toList();
    }

    // The settings shared by several stages.
    public Path stateDir() {
        return path("lb.state-dir");
    }

    public boolean superviseMode() {
        String mode = string("lb.reload.mode");
        return switch (mode) {
            case "supervise" -> true;
            case "systemd" -> false;
            default -> throw new IllegalArgumentException("setting lb.reload.mode = '" + mode
                    + "' must be 'systemd' or 'supervise'");
        };
    }
}
