package haproxylb.certificates.issuer;

import haproxylb.common.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * DNS-01 for the issuer: which names use it (every wildcard, and the names {@code lb.acme.dns.domains} lists), the
 * provider that publishes the TXT records, the check that the zone's authoritative servers answer with the record
 * before the CA is asked to look, and a journal ({@code <state>/certificates/dns-challenges.json}, written before a
 * record is added and after it is removed) so records left behind by a crash are removed at the next start.
 */
public final class DnsChallenges {
    private static final Logger LOG = LoggerFactory.getLogger(DnsChallenges.class);
    /** Between two propagation queries: an authoritative server answers a fresh update within a second or so. */
    private static final Duration CHECK_INTERVAL = Duration.ofMillis(200);

    /** A published challenge record. */
    public record TxtRecord(String fqdn, String value) {}

    private final DnsRecordPublisher publisher;
    private final List<InetSocketAddress> authoritative;
    private final Predicate<String> wanted;
    private final Path journal;
    private final Duration propagationTimeout;

    /**
     * @param authoritative servers asked whether the record is visible before the challenge is triggered (the zone's
     *                      authoritative servers); empty: no check (the provider returns once it is visible)
     * @param wanted        non-wildcard names that use DNS-01 too
     */
    public DnsChallenges(DnsRecordPublisher publisher, List<InetSocketAddress> authoritative, Predicate<String> wanted,
                         Path journal, Duration propagationTimeout) {
        this.publisher = Objects.requireNonNull(publisher, "publisher");
        this.authoritative = List.copyOf(authoritative);
        this.wanted = Objects.requireNonNull(wanted, "wanted");
        this.journal = Objects.requireNonNull(journal, "journal");
        this.propagationTimeout = Objects.requireNonNull(propagationTimeout, "propagationTimeout");
    }

    /** True when {@code domain} (a map name, possibly {@code *.x}) is validated over DNS-01. */
    public boolean usesDns(String domain) {
        return domain.startsWith("*.") || wanted.test(domain);
    }

    public String describe() {
        return publisher.describe() + (authoritative.isEmpty() ? "" : ", checked at " + authoritative);
    }

    /** Publishes the record, journaled first so a crash in between leaves a trace to clean. */
    public synchronized void publish(TxtRecord r) throws IOException {
        Set<TxtRecord> pending = pending();
        pending.add(r);
        save(pending);
        publisher.add(r.fqdn(), r.value());
        LOG.info("DNS-01: published TXT {} through {}", r.fqdn(), publisher.describe());
    }

    /** Removes the record and its journal entry; a failure is logged and left in the journal for the next clean-up. */
    public synchronized void withdraw(TxtRecord r) {
        try {
            publisher.remove(r.fqdn(), r.value());
            Set<TxtRecord> pending = pending();
            pending.remove(r);
            save(pending);
            LOG.info("DNS-01: removed TXT {}", r.fqdn());
        } catch (IOException | RuntimeException e) {
            LOG.warn("DNS-01: could not remove TXT {} ({}); retried at the next clean-up", r.fqdn(), e.getMessage());
        }
    }

    /** Removes what an earlier run left behind (crash between publish and withdraw); returns how many. */
    public synchronized int cleanUp() {
        List<TxtRecord> left = new ArrayList<>(pending());
        for (TxtRecord r : left) {
            LOG.info("DNS-01: removing TXT {} left behind by an earlier run", r.fqdn());
            withdraw(r);
        }
        return left.size() - pending().size();
    }

    /** The records published and not yet removed, as the journal says. */
    public synchronized Set<TxtRecord> pending() {
        Set<TxtRecord> result = new LinkedHashSet<>();
        JsonState.load(journal, LOG, "DNS-01 challenge journal").ifPresent(root -> {
            for (JsonNode n : root.path("records")) {
                result.add(new TxtRecord(n.path("fqdn").asText(), n.path("value").asText()));
            }
        });
        return result;
    }

    /**
     * Waits until every authoritative server answers the TXT query for each record with its value, or throws once the
     * propagation timeout has passed (naming the server that does not have it).
     */
    public void awaitPropagation(List<TxtRecord> records) throws IOException, InterruptedException {
        Instant deadline = Instant.now().plus(propagationTimeout);
        for (InetSocketAddress server : authoritative) {
            for (TxtRecord r : records) {
                while (!visible(server, r)) {
                    if (Instant.now().isAfter(deadline)) {
                        throw new IOException("TXT " + r.fqdn() + " is not visible at " + server.getHostString() + ":"
                                + server.getPort() + " after " + propagationTimeout.toSeconds() + " s");
                    }
                    Thread.sleep(CHECK_INTERVAL.toMillis());
                }
            }
        }
    }

    private static boolean visible(InetSocketAddress server, TxtRecord r) {
        try {
            SimpleResolver resolver = new SimpleResolver(server);
            resolver.setTimeout(Duration.ofSeconds(2));
            Message answer = resolver.send(Message.newQuery(Record.newRecord(Rfc2136Publisher.name(r.fqdn()),
                    Type.TXT, DClass.IN)));
            for (Record rec : answer.getSection(Section.ANSWER)) {
                if (rec instanceof TXTRecord txt && txt.getStrings().contains(r.value())) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private void save(Set<TxtRecord> pending) throws IOException {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode records = root.putArray("records");
        for (TxtRecord r : pending) {
            records.addObject().put("fqdn", r.fqdn()).put("value", r.value());
        }
        JsonState.save(journal, root);
    }
}
