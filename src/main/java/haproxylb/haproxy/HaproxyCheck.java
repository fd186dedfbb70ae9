package haproxylb.haproxy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * {@code haproxy -c -f FILE}: haproxy's own verdict on a candidate config, before it can reach a reload. A check that
 * gives no verdict (haproxy cannot run, or hangs past {@code lb.haproxy.check-timeout}) is not a refusal: it throws
 * {@link Unavailable}, so the assembly holds the changes instead of rejecting them for haproxy's fault.
 */
public final class HaproxyCheck {
    /** No verdict from haproxy -c: the changes are not to blame and must wait, not be rejected. */
    public static final class Unavailable extends IllegalStateException {
        public Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final String binary;
    private final long timeoutSeconds;

    public HaproxyCheck(String binary, long timeoutSeconds) {
        this.binary = binary;
        this.timeoutSeconds = timeoutSeconds;
    }

    /**
     * Empty when haproxy accepts the file; otherwise haproxy's messages (alerts and warnings).
     *
     * @throws Unavailable when haproxy gives no verdict
     */
    public Optional<String> check(Path config) {
        ProcessBuilder pb = new ProcessBuilder(List.of(binary, "-c", "-f", config.toString()))
                .redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
            p.getOutputStream().close();
        } catch (IOException e) {
            throw new Unavailable("cannot run '" + binary + " -c': " + e.getMessage()
                    + " (is haproxy installed? setting lb.haproxy.binary)", e);
        }
        // Read on a thread of its own: a hung haproxy (or a child of a wrapper script) keeps the pipe open, and a
        // read on this thread would outlast any timeout.
        InputStream stdout = p.getInputStream();
        // A thread per check, not a pool's: a reader blocked by a hung check must not hold up the next check's reader.
        FutureTask<byte[]> out = new FutureTask<>(() -> {
            try {
                return stdout.readAllBytes();
            } catch (IOException e) {
                return new byte[0];
            }
        });
        Thread reader = new Thread(out, "haproxy-check-output");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                kill(p);
                throw new Unavailable("haproxy -c did not finish within " + timeoutSeconds
                        + " s (lb.haproxy.check-timeout); it was stopped", null);
            }
            byte[] text = out.get(timeoutSeconds, TimeUnit.SECONDS);
            if (p.exitValue() == 0) {
                return Optional.empty();
            }
            // Not -q: in 2.6 it silences the alerts too. The NOTICE lines (version, path) are noise here.
            String alerts = new String(text, StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.startsWith("[NOTICE]"))
                    .collect(Collectors.joining("\n")).strip();
            return Optional.of(alerts.isEmpty() ? "haproxy -c exited with status " + p.exitValue() : alerts);
        } catch (TimeoutException | ExecutionException e) {
            kill(p);
            throw new Unavailable("haproxy -c exited but its output did not end within " + timeoutSeconds
                    + " s (a child process of lb.haproxy.binary keeps it open)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill(p);
            throw new Unavailable("interrupted while running haproxy -c", e);
        }
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }
}
