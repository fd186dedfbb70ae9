package haproxylb.app;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code systemd-analyze verify} on the unit, in a scratch root holding the system's units and the launcher. */
class SystemdUnitTest {
    private static final Path ANALYZE = Path.of("/usr/bin/systemd-analyze");
    private static final Path SYSTEM_UNITS = Path.of("/lib/systemd/system");

    @Test
    void the_unit_passes_systemd_analyze_verify_without_warnings(@TempDir Path root) throws Exception {
        assumeTrue(Files.isExecutable(ANALYZE) && Files.isDirectory(SYSTEM_UNITS)
                && Files.exists(SYSTEM_UNITS.resolve("haproxy.service")), "systemd-analyze and haproxy.service needed");
        Path units = Files.createDirectories(root.resolve("lib/systemd/system"));
        try (Stream<Path> files = Files.list(SYSTEM_UNITS)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, units.resolve(f.getFileName()));
            }
        }
        Path unitDir = Files.createDirectories(root.resolve("etc/systemd/system"));
        Files.copy(Path.of("systemd/haproxy-lb.service"), unitDir.resolve("haproxy-lb.service"));
        Path launcher = Files.createDirectories(root.resolve("usr/share/haproxy-lb/bin")).resolve("haproxy-lb");
        Files.writeString(launcher, "#!/bin/sh\n");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));

        Process p = new ProcessBuilder(ANALYZE.toString(), "verify", "--root=" + root,
                "/etc/systemd/system/haproxy-lb.service").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertFalse(!p.waitFor(60, TimeUnit.SECONDS), "systemd-analyze hung");
        assertEquals(0, p.exitValue(), out);
        assertEquals("", out.strip(), "systemd-analyze warnings");
    }
}
