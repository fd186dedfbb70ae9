package haproxylb.haproxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** {@code haproxy -c -f FILE}: haproxy's own verdict on a candidate config, before it can reach a reload. */
public final class HaproxyCheck {
    private final String binary;
    private final long timeoutSeconds;

    public HaproxyCheck(String binary, long timeoutSeconds) {
        this.binary = binary;
        this.timeoutSeconds = timeoutSeconds;
    }

    /** Empty when haproxy accepts the file; otherwise haproxy's messages (alerts and warnings). */
    public Optional<String> check(Path config) {
        ProcessBuilder pb = new ProcessBuilder(List.of(binary, "-c", "-f", config.toString()))
                .redirectErrorStream(true);
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            // haproxy's output is small; reading to EOF before waiting cannot dead-lock on a full pipe.
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Optional.of("haproxy -c did not finish within " + timeoutSeconds + " s");
            }
            if (p.exitValue() == 0) {
                return Optional.empty();
            }
            // Not -q: in 2.6 it silences the alerts too. The NOTICE lines (version, path) are noise here.
            String text = new String(out, StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.startsWith("[NOTICE]"))
                    .collect(java.util.stream.Collectors.joining("\n")).strip();
            return Optional.of(text.isEmpty() ? "haproxy -c exited with status " + p.exitValue() : text);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run '" + binary + " -c': " + e.getMessage()
                    + " (is haproxy installed? setting lb.haproxy.binary)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("interrupted while running haproxy -c");
        }
    }
}
