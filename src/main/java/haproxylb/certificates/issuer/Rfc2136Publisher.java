package haproxylb.certificates.issuer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

/**
 * RFC 2136 dynamic updates signed with TSIG (RFC 8945), which BIND, Knot, PowerDNS and most self-hosted DNS servers
 * accept: the TXT record goes to the primary server of the name's zone, found by asking that server for the SOA of
 * the name and its parents. Over TCP, so a large update or answer is never truncated.
 */
public final class Rfc2136Publisher implements DnsRecordPublisher {
    /** Short: a challenge record lives for minutes, and a resolver should not keep a stale one for long. */
    static final long TTL_SECONDS = 60;

    private final InetSocketAddress server;
    private final TSIG key;
    private final String keyName;
    private final Duration timeout;

    /**
     * @param algorithm TSIG algorithm, e.g. {@code hmac-sha256}
     * @param keyName   the key's name as the server knows it
     * @param secret    the key's secret, base64
     */
    public Rfc2136Publisher(InetSocketAddress server, String algorithm, String keyName, String secret, Duration timeout) {
        this.server = Objects.requireNonNull(server, "server");
        this.keyName = Objects.requireNonNull(keyName, "keyName");
        this.key = new TSIG(algorithm, keyName.endsWith(".") ? keyName : keyName + ".", secret);
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    public InetSocketAddress server() {
        return server;
    }

    @Override
    public void add(String fqdn, String value) throws IOException {
        Name name = name(fqdn);
        Update update = new Update(zoneOf(name));
        update.add(new TXTRecord(name, DClass.IN, TTL_SECONDS, value));
        send(update, "add TXT " + fqdn);
    }

    @Override
    public void remove(String fqdn, String value) throws IOException {
        Name name = name(fqdn);
        Update update = new Update(zoneOf(name));
        update.delete(new TXTRecord(name, DClass.IN, 0, value));
        send(update, "remove TXT " + fqdn);
    }

    @Override
    public String describe() {
        return "RFC 2136 updates to " + server.getHostString() + ":" + server.getPort() + " signed with TSIG key "
                + keyName;
    }

    /** The zone {@code name} is in: the closest enclosing name for which the server answers with an SOA. */
    Name zoneOf(Name name) throws IOException {
        for (Name candidate = name; candidate.labels() > 1; candidate = new Name(candidate, 1)) {
            Message answer = resolver(false).send(Message.newQuery(Record.newRecord(candidate, Type.SOA, DClass.IN)));
            for (Record r : answer.getSection(Section.ANSWER)) {
                if (r instanceof SOARecord && r.getName().equals(candidate)) {
                    return candidate;
                }
            }
            for (Record r : answer.getSection(Section.AUTHORITY)) {
                if (r instanceof SOARecord) {
                    return r.getName();
                }
            }
        }
        throw new IOException("DNS server " + server + " is not authoritative for any zone holding " + name);
    }

    private void send(Update update, String what) throws IOException {
        Message response = resolver(true).send(update);
        int rcode = response.getRcode();
        if (rcode != Rcode.NOERROR) {
            throw new IOException("DNS server " + server.getHostString() + ":" + server.getPort() + " refused to "
                    + what + ": " + Rcode.string(rcode) + (rcode == Rcode.NOTAUTH || rcode == Rcode.REFUSED
                    ? " (check the TSIG key name, secret and algorithm, and the zone's allow-update)" : ""));
        }
    }

    private SimpleResolver resolver(boolean signed) {
        SimpleResolver r = new SimpleResolver(server);
        r.setTCP(true);
        r.setTimeout(timeout);
        if (signed) {
            r.setTSIGKey(key);
        }
        return r;
    }

    static Name name(String fqdn) throws TextParseException {
        return Name.fromString(fqdn.endsWith(".") ? fqdn : fqdn + ".");
    }
}
