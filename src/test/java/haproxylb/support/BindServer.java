package haproxylb.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * A real authoritative DNS server (Debian's BIND 9, {@code /usr/sbin/named}) for one zone, on 127.0.0.1 at a free
 * port, with its config, zone and journal in a temp dir: every name of the zone (apex and {@code *}) has the address
 * 127.0.0.1, and dynamic updates (RFC 2136) are accepted when signed with the TSIG key {@link #tsigKeyName()}.
 */
public final class BindServer implements AutoCloseable {
    public static final String NAMED = "/usr/sbin/named";
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(20);

    private final Path dir;
    private final int port;
    private final String zone;
    private final String secret;
    private final Process named;

    private BindServer(String zone) throws IOException {
        if (!Files.isExecutable(Path.of(NAMED))) {
            throw new IllegalStateException("BIND is not installed (" + NAMED + "): apt-get install bind9 bind9-utils");
        }
        this.zone = zone;
        this.dir = Files.createTempDirectory("bind-");
        this.port = PebbleServer.freePorts(1)[0];
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        this.secret = Base64.getEncoder().encodeToString(key);
        Files.writeString(dir.resolve(zone + ".zone"), """
                $TTL 60
                @   IN SOA ns.%1$s. hostmaster.%1$s. 1 60 60 600 60
                @   IN NS  ns.%1$s.
                ns  IN A   127.0.0.1
                @   IN A   127.0.0.1
                *   IN A   127.0.0.1
                """.formatted(zone));
        Files.writeString(dir.resolve("named.conf"), """
                key "%4$s" { algorithm hmac-sha256; secret "%3$s"; };
                controls { };
                options {
                    directory "%1$s";
                    pid-file "%1$s/named.pid";
                    session-keyfile "%1$s/session.key";
                    listen-on port %2$d { 127.0.0.1; };
                    listen-on-v6 { none; };
                    recursion no;
                    dnssec-validation no;
                    allow-query { any; };
                };
                zone "%5$s" { type primary; file "%1$s/%5$s.zone"; allow-update { key "%4$s"; }; };
                """.formatted(dir, port, secret, tsigKeyName(), zone));
        this.named = new ProcessBuilder(NAMED, "-g", "-c", dir.resolve("named.conf").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("named.log").toFile()).start();
    }

    /** Starts BIND for {@code zone} and returns once it answers for the zone. */
    public static BindServer start(String zone) {
        BindServer b;
        try {
            b = new BindServer(zone);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Instant deadline = Instant.now().plus(STARTUP_TIMEOUT);
        while (true) {
            if (!b.named.isAlive()) {
                String log = b.log();
                b.close();
                throw new IllegalStateException("named exited during start-up:\n" + log);
            }
            if (b.answers()) {
                return b;
            }
            if (Instant.now().isAfter(deadline)) {
                String log = b.log();
                b.close();
                throw new IllegalStateException("named did not answer within " + STARTUP_TIMEOUT + ":\n" + log);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    public int port() {
        return port;
    }

    public InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    public String tsigKeyName() {
        return "haproxylb-test";
    }

    /** The TSIG secret, base64. */
    public String tsigSecret() {
        return secret;
    }

    /** The TXT strings BIND answers for {@code fqdn} now. */
    public List<String> txt(String fqdn) {
        try {
            Message answer = resolver().send(Message.newQuery(Record.newRecord(
                    Name.fromString(fqdn.endsWith(".") ? fqdn : fqdn + "."), Type.TXT, DClass.IN)));
            List<String> values = new ArrayList<>();
            for (Record r : answer.getSection(Section.ANSWER)) {
                if (r instanceof TXTRecord t) {
                    values.addAll(t.getStrings());
                }
            }
            return values;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String log() {
        try {
            return Files.readString(dir.resolve("named.log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private boolean answers() {
        try {
            Message answer = resolver().send(Message.newQuery(Record.newRecord(Name.fromString(zone + "."), Type.SOA,
                    DClass.IN)));
            return !answer.getSection(Section.ANSWER).isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private SimpleResolver resolver() {
        SimpleResolver r = new SimpleResolver(address());
        r.setTimeout(Duration.ofSeconds(1));
        return r;
    }

    @Override
    public void close() {
        named.destroy();
        try {
            if (!named.waitFor(5, TimeUnit.SECONDS)) {
                named.destroyForcibly();
            }
        } catch (InterruptedException e) {
            named.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
