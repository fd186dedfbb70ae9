package haproxylb.certificates.issuer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A command the operator provides for any DNS API, in the spirit of acme.sh's and lego's hooks: run as
 * {@code COMMAND add FQDN VALUE} and {@code COMMAND remove FQDN VALUE} (no shell: the arguments are passed as they are),
 * it should return once the record is published (or gone); exit status 0 means done, anything else is an error whose
 * output is reported. {@code FQDN} is {@code _acme-challenge.<name>.}, {@code VALUE} the TXT record's text.
 */
public final class ExecPublisher implements DnsRecordPublisher {
    private static final int MAX_OUTPUT = 2000;

    private final String command;
    private final Duration timeout;

    public ExecPublisher(String command, Duration timeout) {
        this.command = Objects.requireNonNull(command, "command").strip();
        if (this.command.isEmpty()) {
            throw new IllegalArgumentException("the exec DNS provider needs a command (lb.acme.dns.exec.command)");
        }
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    @Override
    public void add(String fqdn, String value) throws IOException {
        run("add", fqdn, value);
    }

    @Override
    public void remove(String fqdn, String value) throws IOException {
        run("remove", fqdn, value);
    }

    @Override
    public String describe() {
        return "the command " + command;
    }

    private void run(String verb, String fqdn, String value) throws IOException {
        // Output goes to a file, not a pipe: a chatty command must not block on a full pipe nobody reads.
        Path output = Files.createTempFile("haproxy-lb-dns-hook-", ".out");
        try {
            run(verb, fqdn, value, output);
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private void run(String verb, String fqdn, String value, Path output) throws IOException {
        Process p = new ProcessBuilder(List.of(command, verb, fqdn.endsWith(".") ? fqdn : fqdn + ".", value))
                .redirectErrorStream(true).redirectOutput(output.toFile()).start();
        p.getOutputStream().close();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(command + " " + verb + " " + fqdn + " did not finish within " + timeout.toSeconds()
                        + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command, e);
        }
        if (p.exitValue() != 0) {
            String out;
            try (var in = Files.newInputStream(output)) {
                out = new String(in.readNBytes(MAX_OUTPUT), StandardCharsets.UTF_8).strip();
            }
            throw new IOException(command + " " + verb + " " + fqdn + " exited with " + p.exitValue()
                    + (out.isEmpty() ? "" : ": " + out));
        }
    }
}
