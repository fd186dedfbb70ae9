// Certificates at scale (issue 11 item 4): how long the coverage check takes over many mapped domains with many
// certificates in haproxy's crt directory, and how many times one check writes status.json.
//
// Run with the project's classpath by bench/coverage.sh:
//   java -cp BUILD/classes:$(cat BUILD/classpath.txt) bench/CoverageBench.java WORKDIR CACHEDIR LABEL PHASE
// LABEL names the build in the output (and its state dirs under WORKDIR); PHASE is "start" (a fresh state dir per
// size, as on the first start ever) or "restart" (the state dirs the start phase left, in a new JVM: the first check
// after a restart, with whatever the build saved at its last run).
// Environment: SIZES (default "1000:250 1000:1000 10000:2500 10000:10000"), each DOMAINS:CERTIFICATES;
// CHECKS (default 3) checks per size after the first; CHECK_TIMEOUT (default 120) seconds one check may take before
// it is stopped and reported as "> CHECK_TIMEOUT s".
//
// Per size: DOMAINS names d<i>.bench.test on CERTIFICATES backends (DOMAINS/CERTIFICATES names each) in backend.map,
// and one self-signed certificate per backend (its names, valid from 10 days ago for 90 days, so covered and not due)
// in the crt directory, every one recorded as issued here in issued.json (so the renewal and origin paths run). The
// certificates are made once with BouncyCastle (one EC P-256 key for all, they are only parsed) into CACHEDIR and
// copied into a fresh state dir per size. The check is built as the daemon builds it with ACME off (no issuer: the
// check lists the store, groups, decides, publishes and archives, and orders nothing), with a real StatusBoard
// writing status.json atomically. Timed: building the status board (which reads status.json), the store and the check
// ("start ms"), plus the first check, which loads the store's saved index (if any) and publishes every domain
// ("start+1st"); then CHECKS checks with nothing changed. Status writes are counted from inotify
// (a rename of a new status.json into place is one write).

import haproxylb.certificates.policy.Backoff;
import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.certificates.store.CertificateStore;
import haproxylb.certificates.policy.CoverageDecision;
import haproxylb.certificates.issuer.DisabledIssuer;
import haproxylb.certificates.store.HaproxyCertificates;
import haproxylb.certificates.policy.RateLimitLedger;
import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.ReloadWindow;
import haproxylb.haproxy.RuntimeApi;
import haproxylb.status.StatusBoard;
import haproxylb.storage.LocalStorage;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;
import java.util.stream.Stream;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

public class CoverageBench {
    static final int CHECKS = Integer.parseInt(System.getenv().getOrDefault("CHECKS", "3"));
    static final long CHECK_TIMEOUT = Long.parseLong(System.getenv().getOrDefault("CHECK_TIMEOUT", "120"));
    static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        Path cache = Path.of(args[1]);
        String label = args[2];
        boolean restart = args[3].equals("restart");
        Security.addProvider(new BouncyCastleProvider());
        String sizes = System.getenv().getOrDefault("SIZES", "1000:250 1000:1000 10000:2500 10000:10000");
        for (String size : sizes.trim().split("\\s+")) {
            String[] parts = size.split(":");
            int domains = Integer.parseInt(parts[0]);
            int certs = Integer.parseInt(parts[1]);
            if (domains % certs != 0) {
                throw new IllegalArgumentException(size + ": DOMAINS must be a multiple of CERTIFICATES");
            }
            Path state = work.resolve(label + "-run-" + domains + "-" + certs);
            if (!restart) {
                copyCertificates(certificates(cache, domains, certs), state);
            }
            runSize(label + " " + args[3], state, domains, certs);
        }
    }

    /** The certificate files and issued.json made for this size, into a fresh state dir. */
    static void copyCertificates(Path madeCerts, Path state) throws Exception {
        Path certDir = Files.createDirectories(state.resolve("certs"));
        try (Stream<Path> files = Files.list(madeCerts)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (name.equals("issued.json")) {
                    Files.createDirectories(state.resolve("certificates"));
                    Files.copy(f, state.resolve("certificates/issued.json"), StandardCopyOption.REPLACE_EXISTING);
                } else if (name.endsWith(".pem")) {
                    Files.copy(f, certDir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    static void runSize(String label, Path state, int domains, int certs) throws Exception {
        Path certDir = state.resolve("certs");
        Path liveMap = state.resolve("backend.map");
        StringBuilder map = new StringBuilder();
        // in memory, as the daemon hands the check its live set (LiveSet.domains(), built once per change)
        SortedMap<String, String> live = new TreeMap<>();
        int perCert = domains / certs;
        for (int i = 0; i < domains; i++) {
            map.append(domain(i)).append(' ').append(backend(i / perCert)).append('\n');
            live.put(domain(i), backend(i / perCert));
        }
        Files.writeString(liveMap, map);
        Path inbox = Files.createDirectories(state.resolve("cert-inbox"));
        Path statusFile = state.resolve("status.json");

        try (WriteCounter writes = new WriteCounter(state, "status.json")) {
            Clock clock = Clock.systemUTC();
            long t0 = System.nanoTime();
            StatusBoard status = new StatusBoard(statusFile, clock);
            CertificateStore store = new CertificateStore(certDir, state.resolve("certificates/archive"), clock);
            HaproxyCertificates haproxy = new HaproxyCertificates(
                    new RuntimeApi(new HaproxySocket(state.resolve("no-haproxy.sock"), Duration.ofSeconds(1))),
                    certDir.toString(), new ReloadWindow(), () -> { });
            CertificateMaintenance check = new CertificateMaintenance(
                    new CertificateMaintenance.Locations(() -> Optional.of(live), inbox, new LocalStorage(state),
                            "certificates/backoff.json", "certificates/rate-limits.json"),
                    store, new DisabledIssuer(), CoverageDecision.Reachability.assumeAll(), new Backoff(clock, RandomGenerator.getDefault()),
                    new RateLimitLedger(clock), haproxy, status, clock, false);
            // the daemon's start-up part: the status board (reading status.json), the store and the check built
            long startMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            long lastStart = System.nanoTime();
            String first = timed(check, t0, writes);
            long lastEnd = System.nanoTime();
            List<String> next = new ArrayList<>();
            List<Long> nextWrites = new ArrayList<>();
            for (int i = 0; i < CHECKS && !first.startsWith(">"); i++) {
                // The daemon paces checks (common.Pacing: the next starts no sooner than twice the last one's length
                // after it): waited out here, so what is timed is the check itself.
                TimeUnit.NANOSECONDS.sleep(Math.max(0, lastEnd + 2 * (lastEnd - lastStart) - System.nanoTime())
                        + TimeUnit.MILLISECONDS.toNanos(20));
                long before = writes.settled();
                lastStart = System.nanoTime();
                next.add(timed(check, lastStart, writes));
                lastEnd = System.nanoTime();
                nextWrites.add(writes.settled() - before);
            }
            long firstWrites = writes.firstCheckWrites;
            System.out.printf("%-14s %-8d %-6d %-6d %-9s %-26s %-11s %-50s %s%n", label, domains, certs, perCert,
                    startMs, first,
                    (writes.overflowed ? ">= " : "") + firstWrites, String.join(" / ", next),
                    nextWrites.stream().map(String::valueOf).reduce((a, b) -> a + " / " + b).orElse("-"));
        }
    }

    /**
     * One check, in ms of wall time (with what ran since {@code t0}) and, in brackets, ms of CPU time this process used
     * meanwhile (all threads, the JIT compiler's and the parallel stats' included: on a loaded machine that is the
     * steadier figure) / ms of CPU time of the thread that ran the check, or "> CHECK_TIMEOUT s" when it had to be
     * stopped.
     */
    static String timed(CertificateMaintenance check, long t0, WriteCounter writes) throws Exception {
        long checksBefore = check.checks();
        long cpu0 = cpuNanos();
        ExecutorService one = Executors.newSingleThreadExecutor();
        try {
            Future<Long> run = one.submit(() -> {
                long own = THREADS.getCurrentThreadCpuTime();
                check.check();
                return THREADS.getCurrentThreadCpuTime() - own;
            });
            long checkThreadCpu;
            try {
                checkThreadCpu = run.get(CHECK_TIMEOUT, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                check.stop();
                run.get();
                writes.firstCheckWrites = writes.settled();
                return "> " + CHECK_TIMEOUT + " s";
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            long cpuMs = TimeUnit.NANOSECONDS.toMillis(cpuNanos() - cpu0);
            if (checksBefore == 0) {
                writes.firstCheckWrites = writes.settled();
            }
            return ms + " (" + cpuMs + "/" + TimeUnit.NANOSECONDS.toMillis(checkThreadCpu) + ")";
        } finally {
            one.shutdownNow();
        }
    }

    static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static String domain(int i) {
        return "d" + i + ".bench.test";
    }

    static String backend(int j) {
        return "b" + j;
    }

    /** The certificate files and issued.json for this size, made once into {@code cache}. */
    static Path certificates(Path cache, int domains, int certs) throws Exception {
        Path dir = cache.resolve(domains + "-" + certs);
        if (Files.exists(dir.resolve("complete"))) {
            return dir;
        }
        Files.createDirectories(dir);
        long t0 = System.nanoTime();
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        KeyPair key = generator.generateKeyPair();
        ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate());
        String keyPem = pem(new JcaPKCS8Generator(key.getPrivate(), null));
        Instant now = Instant.now();
        Instant notBefore = now.minus(Duration.ofDays(10));
        Instant notAfter = notBefore.plus(Duration.ofDays(90));
        ObjectNode root = JSON.createObjectNode();
        root.put("version", 1);
        ObjectNode issued = root.putObject("certificates");
        int perCert = domains / certs;
        for (int j = 0; j < certs; j++) {
            GeneralName[] names = new GeneralName[perCert];
            for (int k = 0; k < perCert; k++) {
                names[k] = new GeneralName(GeneralName.dNSName, domain(j * perCert + k));
            }
            X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
                    new X500Name("CN=" + domain(j * perCert)), BigInteger.valueOf(j + 1L), Date.from(notBefore),
                    Date.from(notAfter), new X500Name("CN=" + domain(j * perCert)), key.getPublic())
                    .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names)).build(signer));
            Files.writeString(dir.resolve(backend(j) + ".pem"), pem(leaf) + keyPem, StandardCharsets.US_ASCII);
            ObjectNode entry = issued.putObject(HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(leaf.getEncoded())));
            var list = entry.putArray("names");
            for (int k = 0; k < perCert; k++) {
                list.add(domain(j * perCert + k));
            }
            entry.put("notAfter", notAfter.toString());
            entry.put("recordedAt", now.toString());
        }
        Files.write(dir.resolve("issued.json"), JSON.writeValueAsBytes(root));
        Files.writeString(dir.resolve("complete"), "");
        System.err.printf(Locale.ROOT, "made %d certificates for %d domains in %.1f s (cached in %s)%n", certs, domains,
                (System.nanoTime() - t0) / 1e9, dir);
        return dir;
    }

    static String pem(Object o) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        }
        return out.toString();
    }

    /** Counts renames of a new {@code name} into {@code dir} (AtomicFiles writes a temp file, then renames it). */
    static final class WriteCounter implements AutoCloseable {
        final WatchService watch;
        final AtomicLong count = new AtomicLong();
        final AtomicBoolean closed = new AtomicBoolean();
        final Thread reader;
        volatile boolean overflowed;
        long firstCheckWrites;

        WriteCounter(Path dir, String name) throws IOException {
            watch = FileSystems.getDefault().newWatchService();
            dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
            reader = new Thread(() -> {
                try {
                    while (!closed.get()) {
                        WatchKey key = watch.poll(50, TimeUnit.MILLISECONDS);
                        if (key == null) {
                            continue;
                        }
                        for (WatchEvent<?> e : key.pollEvents()) {
                            if (e.kind() == StandardWatchEventKinds.OVERFLOW) {
                                overflowed = true;
                            } else if (e.context().toString().equals(name)) {
                                count.addAndGet(e.count());
                            }
                        }
                        key.reset();
                    }
                } catch (InterruptedException | java.nio.file.ClosedWatchServiceException e) {
                    // closed
                }
            }, "status-writes");
            reader.setDaemon(true);
            reader.start();
        }

        /** The count once the events of writes already made have been read. */
        long settled() throws InterruptedException {
            long last;
            do {
                last = count.get();
                Thread.sleep(200);
            } while (count.get() != last);
            return last;
        }

        @Override
        public void close() throws IOException {
            closed.set(true);
            watch.close();
        }
    }
}
