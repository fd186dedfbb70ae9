package haproxylb.certificates.issuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exec DNS provider runs the operator's command with the verb, the record name and the value as arguments. */
@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ExecPublisherTest {
    @TempDir
    Path tmp;

    private Path hook(String body) throws IOException {
        Path script = tmp.resolve("dns-hook");
        Files.writeString(script, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    @Test
    void the_command_gets_add_and_remove_with_the_name_and_the_value_unquoted() throws Exception {
        Path log = tmp.resolve("calls");
        ExecPublisher p = new ExecPublisher(hook("printf '%s|%s|%s\\n' \"$1\" \"$2\" \"$3\" >> " + log + "\n").toString(),
                Duration.ofSeconds(10));
        p.add("_acme-challenge.a.test", "v a l;$(reboot)");
        p.remove("_acme-challenge.a.test.", "v a l;$(reboot)");
        assertEquals(List.of("add|_acme-challenge.a.test.|v a l;$(reboot)",
                "remove|_acme-challenge.a.test.|v a l;$(reboot)"), Files.readAllLines(log));
    }

    @Test
    void a_failing_command_is_an_error_with_its_exit_status_and_output() throws Exception {
        ExecPublisher p = new ExecPublisher(hook("echo 'API says: zone not found' >&2\nexit 3\n").toString(),
                Duration.ofSeconds(10));
        IOException e = assertThrows(IOException.class, () -> p.add("_acme-challenge.b.test", "x"));
        assertTrue(e.getMessage().contains("exited with 3: API says: zone not found"), e.getMessage());
    }

    @Test
    void a_command_that_writes_a_lot_is_not_blocked_by_its_output() throws Exception {
        ExecPublisher p = new ExecPublisher(hook("head -c 1000000 /dev/zero | tr '\\0' x\n").toString(),
                Duration.ofSeconds(10));
        p.add("_acme-challenge.d.test", "x");
    }

    @Test
    void a_command_that_hangs_is_stopped_after_the_timeout() throws Exception {
        ExecPublisher p = new ExecPublisher(hook("sleep 30\n").toString(), Duration.ofMillis(300));
        IOException e = assertThrows(IOException.class, () -> p.add("_acme-challenge.c.test", "x"));
        assertTrue(e.getMessage().contains("did not finish"), e.getMessage());
    }
}
