package haproxylb.certificates.policy;

import haproxylb.certificates.issuer.JsonState;
import haproxylb.common.DomainName;
import haproxylb.common.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import haproxylb.storage.Storage;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local record of what the daemon asked of the CA, so that it refuses to place an order the CA's rate limits would
 * reject (and that would count against the account).
 *
 * <p>Each limit is kept as a sliding window: at most {@code max} events in any {@code window}. Let's Encrypt
 * implements its limits as token buckets that refill gradually (https://letsencrypt.org/docs/rate-limits/); a sliding
 * window of the same size never allows a request such a bucket would refuse (within any window the bucket refills
 * exactly {@code max} tokens), so the ledger is a little stricter than the CA, never looser. Events older than their
 * window are pruned on every call. The ledger only knows what this daemon did: certificates issued for the same
 * registered domain elsewhere are invisible to it. Thread-safe.
 */
public final class RateLimitLedger {
    private static final Logger LOG = LoggerFactory.getLogger(RateLimitLedger.class);
    private static final int FORMAT_VERSION = 1;

    /** At most {@code max} events in any {@code window}. */
    public record Limit(int max, Duration window) {
        public static final Limit UNLIMITED = new Limit(Integer.MAX_VALUE, Duration.ZERO);

        public Limit {
            if (max < 1) {
                throw new IllegalArgumentException("a limit allows at least one event, got " + max);
            }
            Objects.requireNonNull(window, "window");
        }

        public boolean unlimited() {
            return max == Integer.MAX_VALUE;
        }
    }

    /**
     * The limits the ledger enforces. Values of {@link #LETS_ENCRYPT} are from https://letsencrypt.org/docs/rate-limits/
     * (page last updated 2025-06-12 when this was written): "Authorization Failures per Identifier per Account" 5 per hour, "New Orders per
     * Account" 300 per 3 hours, "New Certificates per Registered Domain" 50 per 7 days, "New Certificates per Exact Set
     * of Identifiers" 5 per 7 days.
     */
    public record Limits(Limit failedAuthorizationsPerHostname, Limit newOrdersPerAccount,
                         Limit certificatesPerRegisteredDomain, Limit duplicateCertificates) {
        public static final Limits LETS_ENCRYPT = new Limits(
                new Limit(5, Duration.ofHours(1)),
                new Limit(300, Duration.ofHours(3)),
                new Limit(50, Duration.ofDays(7)),
                new Limit(5, Duration.ofDays(7)));

        public Limits {
            Objects.requireNonNull(failedAuthorizationsPerHostname, "failedAuthorizationsPerHostname");
            Objects.requireNonNull(newOrdersPerAccount, "newOrdersPerAccount");
            Objects.requireNonNull(certificatesPerRegisteredDomain, "certificatesPerRegisteredDomain");
            Objects.requireNonNull(duplicateCertificates, "duplicateCertificates");
        }

        /** No limits: for a private test CA such as Pebble, which has none. */
        public static Limits unlimited() {
            return new Limits(Limit.UNLIMITED, Limit.UNLIMITED, Limit.UNLIMITED, Limit.UNLIMITED);
        }
    }

    /** Why an order may not be placed now, and when it may. */
    public record Refusal(String limit, Instant freesAt, String message) {}

    private final Clock clock;
    private final Limits limits;
    /** hostname → failed authorization times. Let's Encrypt counts per account and hostname; this counts per hostname, which is stricter. */
    private final Map<String, List<Instant>> failedAuthorizations = new TreeMap<>();
    /** account id → new order times. */
    private final Map<String, List<Instant>> orders = new TreeMap<>();
    /** registered domain → issuance times. */
    private final Map<String, List<Instant>> issuedPerRegisteredDomain = new TreeMap<>();
    /** sorted, comma-separated set of names → issuance times. */
    private final Map<String, List<Instant>> issuedPerNameSet = new TreeMap<>();

    public RateLimitLedger(Clock clock) {
        this(clock, Limits.LETS_ENCRYPT);
    }

    public RateLimitLedger(Clock clock, Limits limits) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    public Limits limits() {
        return limits;
    }

    /** Empty when a new (not renewal) order for {@code names} may be placed now, else a sentence saying why not. */
    public Optional<String> refusal(String accountId, List<String> names) {
        return check(accountId, names, false).map(Refusal::message);
    }

    /**
     * Like {@link #refusal(String, List)}. A {@code renewal} (an order for exactly the names of a certificate issued
     * before) is exempt from the per-registered-domain limit, as at Let's Encrypt ("Renewal Exemption"), but not from
     * the duplicate-certificate limit.
     */
    public Optional<String> refusal(String accountId, List<String> names, boolean renewal) {
        return check(accountId, names, renewal).map(Refusal::message);
    }

    /** The first limit an order for {@code names} would exceed now, in the order: failed authorizations, new orders, registered domain, duplicates. */
    public synchronized Optional<Refusal> check(String accountId, List<String> names, boolean renewal) {
        Instant now = clock.instant();
        prune(now);
        for (String name : new TreeSet<>(normalise(names))) {
            Optional<Refusal> r = over(limits.failedAuthorizationsPerHostname(), failedAuthorizations, name,
                    "failed authorizations per hostname", name + " had %d failed authorizations");
            if (r.isPresent()) {
                return r;
            }
        }
        Optional<Refusal> r = over(limits.newOrdersPerAccount(), orders, accountId,
                "new orders per account", "account " + accountId + " placed %d orders");
        if (r.isPresent()) {
            return r;
        }
        if (!renewal) {
            for (String domain : registeredDomains(names)) {
                r = over(limits.certificatesPerRegisteredDomain(), issuedPerRegisteredDomain, domain,
                        "certificates per registered domain", domain + " got %d certificates");
                if (r.isPresent()) {
                    return r;
                }
            }
        }
        String set = nameSet(names);
        return over(limits.duplicateCertificates(), issuedPerNameSet, set,
                "duplicate certificates", "the exact set of names [" + set + "] got %d certificates");
    }

    private Optional<Refusal> over(Limit limit, Map<String, List<Instant>> events, String key, String limitName,
                                   String countFormat) {
        if (limit.unlimited()) {
            return Optional.empty();
        }
        List<Instant> times = events.getOrDefault(key, List.of());
        if (times.size() < limit.max()) {
            return Optional.empty();
        }
        // The oldest (size - max + 1) events have to leave the window before one more fits.
        Instant freesAt = times.get(times.size() - limit.max()).plus(limit.window());
        String message = limitName + " limit reached: " + String.format(Locale.ROOT, countFormat, times.size())
                + " in the last " + describe(limit.window()) + " (the limit is " + limit.max() + " per "
                + describe(limit.window()) + "); no order before " + freesAt;
        return Optional.of(new Refusal(limitName, freesAt, message));
    }

    /**
     * How much of each budget that concerns {@code names} is used: one entry per limit (unlimited ones left out),
     * with when the oldest counted event leaves the window, freeing one unit.
     */
    public record Usage(String limit, String key, int used, int max, Duration window, Optional<Instant> freesOneAt) {
        /** "new orders per account: 3 of 300 per 3 hours, one more free at 2026-...". */
        public String describe() {
            return limit + " (" + key + "): " + used + " of " + max + " per " + RateLimitLedger.describe(window)
                    + freesOneAt.map(t -> ", the oldest leaves the window at " + t).orElse("");
        }
    }

    /** The budgets {@code names} draw on at {@code accountId}, as {@link Usage} entries. */
    public synchronized List<Usage> usage(String accountId, List<String> names) {
        prune(clock.instant());
        List<Usage> result = new ArrayList<>();
        usage(result, limits.newOrdersPerAccount(), orders, accountId, "new orders per account");
        for (String name : new TreeSet<>(normalise(names))) {
            usage(result, limits.failedAuthorizationsPerHostname(), failedAuthorizations, name,
                    "failed authorizations per hostname");
        }
        for (String domain : registeredDomains(names)) {
            usage(result, limits.certificatesPerRegisteredDomain(), issuedPerRegisteredDomain, domain,
                    "certificates per registered domain");
        }
        usage(result, limits.duplicateCertificates(), issuedPerNameSet, nameSet(names), "duplicate certificates");
        return result;
    }

    /**
     * Per limit (unlimited ones left out), the budget closest to it: the account, hostname, registered domain or set
     * of names with the most events in the window ({@code used} 0 and key "" when none has any). What a "quota nearly
     * used" alert watches, with a bounded set of series: one per limit, not one per name.
     */
    public synchronized List<Usage> fullest() {
        prune(clock.instant());
        List<Usage> result = new ArrayList<>();
        fullest(result, limits.failedAuthorizationsPerHostname(), failedAuthorizations, "failed authorizations per hostname");
        fullest(result, limits.newOrdersPerAccount(), orders, "new orders per account");
        fullest(result, limits.certificatesPerRegisteredDomain(), issuedPerRegisteredDomain,
                "certificates per registered domain");
        fullest(result, limits.duplicateCertificates(), issuedPerNameSet, "duplicate certificates");
        return result;
    }

    private static void fullest(List<Usage> out, Limit limit, Map<String, List<Instant>> events, String name) {
        String key = "";
        int most = 0;
        for (Map.Entry<String, List<Instant>> e : events.entrySet()) {
            if (e.getValue().size() > most) {
                key = e.getKey();
                most = e.getValue().size();
            }
        }
        if (key.isEmpty()) {
            if (!limit.unlimited()) {
                out.add(new Usage(name, "", 0, limit.max(), limit.window(), Optional.empty()));
            }
            return;
        }
        usage(out, limit, events, key, name);
    }

    private static void usage(List<Usage> out, Limit limit, Map<String, List<Instant>> events, String key, String name) {
        if (limit.unlimited()) {
            return;
        }
        List<Instant> times = events.getOrDefault(key, List.of());
        out.add(new Usage(name, key, times.size(), limit.max(), limit.window(),
                times.isEmpty() ? Optional.empty() : Optional.of(times.get(0).plus(limit.window()))));
    }

    /** A new order was placed (whatever its outcome). */
    public synchronized void recordOrder(String accountId) {
        add(limits.newOrdersPerAccount(), orders, accountId);
    }

    /** An authorization for {@code hostname} failed (the CA could not validate it). */
    public synchronized void recordFailedAuthorization(String hostname) {
        add(limits.failedAuthorizationsPerHostname(), failedAuthorizations, normalise(hostname));
    }

    /** A certificate for {@code names} was issued. */
    public synchronized void recordIssued(List<String> names) {
        for (String domain : registeredDomains(names)) {
            add(limits.certificatesPerRegisteredDomain(), issuedPerRegisteredDomain, domain);
        }
        add(limits.duplicateCertificates(), issuedPerNameSet, nameSet(names));
    }

    private void add(Limit limit, Map<String, List<Instant>> events, String key) {
        Instant now = clock.instant();
        prune(now);
        if (limit.unlimited()) {
            return;
        }
        List<Instant> times = events.computeIfAbsent(key, k -> new ArrayList<>());
        times.add(now);
        times.sort(null);
    }

    private void prune(Instant now) {
        prune(failedAuthorizations, limits.failedAuthorizationsPerHostname(), now);
        prune(orders, limits.newOrdersPerAccount(), now);
        prune(issuedPerRegisteredDomain, limits.certificatesPerRegisteredDomain(), now);
        prune(issuedPerNameSet, limits.duplicateCertificates(), now);
    }

    private static void prune(Map<String, List<Instant>> events, Limit limit, Instant now) {
        Instant oldestKept = now.minus(limit.window());
        for (Iterator<List<Instant>> it = events.values().iterator(); it.hasNext(); ) {
            List<Instant> times = it.next();
            times.removeIf(t -> !t.isAfter(oldestKept));
            if (times.isEmpty()) {
                it.remove();
            }
        }
    }

    private static String normalise(String name) {
        return DomainName.of(name).value();
    }

    private static List<String> normalise(Collection<String> names) {
        return names.stream().map(RateLimitLedger::normalise).toList();
    }

    private static TreeSet<String> registeredDomains(Collection<String> names) {
        TreeSet<String> domains = new TreeSet<>();
        for (String n : names) {
            domains.add(RegisteredDomain.of(n));
        }
        return domains;
    }

    /** The duplicate-certificate key: names lower-cased, de-duplicated and sorted, as Let's Encrypt compares them. */
    static String nameSet(Collection<String> names) {
        return String.join(",", new TreeSet<>(normalise(names)));
    }

    static String describe(Duration d) {
        if (d.toDays() > 0 && d.equals(Duration.ofDays(d.toDays()))) {
            return d.toDays() == 1 ? "day" : d.toDays() + " days";
        }
        if (d.toHours() > 0 && d.equals(Duration.ofHours(d.toHours()))) {
            return d.toHours() == 1 ? "hour" : d.toHours() + " hours";
        }
        if (d.toMinutes() > 0 && d.equals(Duration.ofMinutes(d.toMinutes()))) {
            return d.toMinutes() == 1 ? "minute" : d.toMinutes() + " minutes";
        }
        return d.toString();
    }

    /** Writes the ledger as JSON under {@code key}, replacing the stored value whole (events inside their window only). */
    public synchronized void save(Storage storage, String key) throws IOException {
        prune(clock.instant());
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("version", FORMAT_VERSION);
        write(root.putObject("failedAuthorizationsPerHostname"), failedAuthorizations);
        write(root.putObject("newOrdersPerAccount"), orders);
        write(root.putObject("certificatesPerRegisteredDomain"), issuedPerRegisteredDomain);
        write(root.putObject("certificatesPerNameSet"), issuedPerNameSet);
        JsonState.save(storage, key, root);
    }

    private static void write(ObjectNode target, Map<String, List<Instant>> events) {
        events.forEach((key, times) -> {
            ArrayNode a = target.putArray(key);
            times.forEach(t -> a.add(t.toString()));
        });
    }

    /** The ledger stored under {@code key} with Let's Encrypt's limits; see {@link #load(Storage, String, Clock, Limits)}. */
    public static RateLimitLedger load(Storage storage, String key, Clock clock) {
        return load(storage, key, clock, Limits.LETS_ENCRYPT);
    }

    /**
     * The ledger stored under {@code key}: empty when there is none; empty, with a warning naming where it is, when it
     * cannot be read or is corrupt. Never throws.
     */
    public static RateLimitLedger load(Storage storage, String key, Clock clock, Limits limits) {
        RateLimitLedger ledger = new RateLimitLedger(clock, limits);
        try {
            ledger.reload(storage, key);
        } catch (IOException e) {
            LOG.warn("rate-limit ledger {} cannot be read ({}); starting with an empty ledger", storage.where(key),
                    e.getMessage());
        }
        return ledger;
    }

    /**
     * Replaces the events with those stored under {@code key} (in a cluster, what the previous certificate leader
     * saved); a corrupt value counts as none, with a warning. When the storage cannot be read this throws and the
     * events stay as they are.
     */
    public void reload(Storage storage, String key) throws IOException {
        Optional<JsonNode> root = JsonState.load(storage, key, LOG, "rate-limit ledger");
        RateLimitLedger stored = new RateLimitLedger(clock, limits);
        try {
            if (root.isPresent()) {
                read(root.get().path("failedAuthorizationsPerHostname"), stored.failedAuthorizations);
                read(root.get().path("newOrdersPerAccount"), stored.orders);
                read(root.get().path("certificatesPerRegisteredDomain"), stored.issuedPerRegisteredDomain);
                read(root.get().path("certificatesPerNameSet"), stored.issuedPerNameSet);
            }
        } catch (RuntimeException e) {
            LOG.warn("rate-limit ledger file {} is corrupt ({}); starting with an empty ledger (the file is replaced on "
                    + "the next save)", storage.where(key), e.getMessage());
            stored = new RateLimitLedger(clock, limits);
        }
        synchronized (this) {
            failedAuthorizations.clear();
            failedAuthorizations.putAll(stored.failedAuthorizations);
            orders.clear();
            orders.putAll(stored.orders);
            issuedPerRegisteredDomain.clear();
            issuedPerRegisteredDomain.putAll(stored.issuedPerRegisteredDomain);
            issuedPerNameSet.clear();
            issuedPerNameSet.putAll(stored.issuedPerNameSet);
            prune(clock.instant());
        }
    }

    private static void read(JsonNode source, Map<String, List<Instant>> target) {
        Function<JsonNode, Instant> instant = n -> Instant.parse(n.asText());
        for (Iterator<Map.Entry<String, JsonNode>> it = source.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getValue().isArray()) {
                throw new IllegalArgumentException(f.getKey() + " is not a list of times");
            }
            List<Instant> times = new ArrayList<>();
            f.getValue().forEach(n -> times.add(instant.apply(n)));
            times.sort(null);
            target.put(f.getKey(), times);
        }
    }
}
