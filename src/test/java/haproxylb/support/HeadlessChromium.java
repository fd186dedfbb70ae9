package haproxylb.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's chromium, headless, as a test's browser: a fresh profile per run, nothing fetched from the network but
 * the page under test. --virtual-time-budget lets the page's own fetches finish before the DOM is dumped or the
 * screenshot taken, without a sleep in the test.
 */
public final class HeadlessChromium {
    private static final String BINARY = "/usr/bin/chromium";
    private static final long TIMEOUT_SECONDS = 90;
    private static final int VIRTUAL_TIME_MS = 5000;

    private final Path profiles;

    /** @param profiles a directory for the throwaway user-data directories */
    public HeadlessChromium(Path profiles) {
        this.profiles = profiles;
    }

    public static boolean installed() {
        return Files.isExecutable(Path.of(BINARY));
    }

    /** The DOM after the page's scripts ran. */
    public String dumpDom(String url) throws IOException, InterruptedException {
        return run(List.of("--dump-dom", url));
    }

    public void screenshot(String url, Path png, int width, int height) throws IOException, InterruptedException {
        Files.createDirectories(png.toAbsolutePath().getParent());
        Files.deleteIfExists(png);
        run(List.of("--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height,
                "--hide-scrollbars", url));
    }

    private String run(List<String> args) throws IOException, InterruptedException {
        if (!installed()) {
            throw new AssertionError(BINARY + " is missing: install Debian's chromium package (make deps)");
        }
        Path profile = Files.createTempDirectory(profiles, "chromium-profile");
        List<String> command = new ArrayList<>(List.of(BINARY, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
                "--virtual-time-budget=" + VIRTUAL_TIME_MS));
        command.addAll(args);
        Path stderr = profile.resolveSibling(profile.getFileName() + ".stderr");
        Process p = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish within " + TIMEOUT_SECONDS + " s: " + command);
        }
        if (p.exitValue() != 0) {
            throw new AssertionError("chromium exited with " + p.exitValue() + ": " + Files.readString(stderr));
        }
        return new String(out, StandardCharsets.UTF_8);
    }
}
