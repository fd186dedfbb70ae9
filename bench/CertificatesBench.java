// Certificates: how long the real daemon takes to cover new domains with certificates from a real Pebble, and how
// long haproxy takes to serve a new certificate through the runtime API versus by reload.
//
// Run with the project's classpath by bench/certificates.sh, which starts Pebble (PEBBLE_VA_NOSLEEP=1) and its mock
// DNS first:
//   java -cp BUILD/classes:$(cat BUILD/classpath.txt) bench/CertificatesBench.java WORKDIR HTTP_PORT HTTPS_PORT \
//       RESPONDER_PORT DIRECTORY_URL LISTENER_CA_PEM DNS_SERVER
// Environment: DOMAINS (default 100) new domains per run, REPS (default 10) certificates per pick-up method,
// POLL (default 100) lb.acme.poll in ms, MANAGEMENT_PORT the daemon's management HTTP port (a free one),
// COVER_TIMEOUT (default 600) seconds one coverage run may take.
//
// The daemon runs in this JVM exactly as bin/haproxy-lb runs it (HaproxyLb.newMain(), conf/ and routes/ from the
// working directory, supervise mode: it starts haproxy itself), with its own state dir, the given loopback ports,
// ACME pointed at Pebble, names resolved through Pebble's mock DNS (lb.acme.dns-resolver), no rate-limit ledger
// (lb.acme.limits=unlimited, Pebble has none) and otherwise the settings of conf/application.properties.
//   (1a) DOMAINS fragments of one domain each dropped into the inbox at once: one certificate per backend, so
//        DOMAINS orders. Timed from the drop until every domain's TLS handshake (SNI) returns a Pebble certificate.
//   (1b) one fragment with DOMAINS domains on one backend: one order for one certificate with DOMAINS names.
//   (2)  REPS new certificates (made here, one name each) written to haproxy's crt directory and served
//        (a) through the runtime API (HaproxyCertificates.install: new/set/commit ssl cert, add ssl crt-list), and
//        (b) by a reload (SIGUSR2 to the haproxy master, as the daemon's supervise mode reloads), each timed from
//        the call until a TLS handshake for the name returns the new certificate (handshakes polled back to back).

import haproxylb.app.HaproxyLb;
import haproxylb.certificates.store.CertificateBundle;
import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.certificates.store.HaproxyCertificates;
import haproxylb.common.AtomicFiles;
import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.haproxy.ReloadWindow;
import haproxylb.haproxy.RuntimeApi;
import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

public class CertificatesBench {
    static final int DOMAINS = Integer.parseInt(System.getenv().getOrDefault("DOMAINS", "100"));
    static final int REPS = Integer.parseInt(System.getenv().getOrDefault("REPS", "10"));
    static final String POLL = System.getenv().getOrDefault("POLL", "100");
    static final Duration COVER_TIMEOUT = Duration.ofSeconds(Long.parseLong(
            System.getenv().getOrDefault("COVER_TIMEOUT", "600")));
    static final Duration PICKUP_TIMEOUT = Duration.ofSeconds(30);

    static Path state;
    static int httpsPort;
    static CamelContext context;

    public static void main(String[] args) throws Exception {
        if (args.length != 7) {
            System.err.println("usage: CertificatesBench WORKDIR HTTP_PORT HTTPS_PORT RESPONDER_PORT DIRECTORY_URL"
                    + " LISTENER_CA_PEM DNS_SERVER");
            System.exit(2);
        }
        if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
            Security.addProvider(new BouncyCastleProvider());
        }
        state = Path.of(args[0]).toAbsolutePath().resolve("state");
        httpsPort = Integer.parseInt(args[2]);
        Main main = HaproxyLb.newMain();
        main.addOverrideProperty("lb.state-dir", state.toString());
        main.addOverrideProperty("lb.reload.mode", "supervise");
        main.addOverrideProperty("lb.edge.http-bind", "127.0.0.1:" + args[1]);
        main.addOverrideProperty("lb.edge.https-bind", "127.0.0.1:" + args[2]);
        main.addOverrideProperty("lb.acme.responder", "127.0.0.1:" + args[3]);
        main.addOverrideProperty("lb.acme.directory-url", args[4]);
        main.addOverrideProperty("lb.acme.trust-ca", args[5]);
        main.addOverrideProperty("lb.acme.dns-resolver", args[6]);
        main.addOverrideProperty("lb.acme.agree-terms", "true");
        main.addOverrideProperty("lb.acme.loopback-is-here", "true");
        main.addOverrideProperty("lb.acme.limits", "unlimited");
        main.addOverrideProperty("lb.acme.poll", POLL);
        // The management HTTP port of conf/ may be taken by another daemon on this machine.
        main.addOverrideProperty("camel.management.port", System.getenv().getOrDefault("MANAGEMENT_PORT", "0"));

        System.out.printf("haproxy-lb certificates: %d CPU(s), JVM %s, %s, Pebble at %s (PEBBLE_VA_NOSLEEP=1),"
                        + " lb.acme.poll=%s ms%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), haproxyVersion(), args[4], POLL);
        long t0 = System.nanoTime();
        main.start();
        await("the daemon to start", Duration.ofSeconds(60),
                () -> main.getCamelContext() != null && main.getCamelContext().isStarted());
        await("haproxy to listen", Duration.ofSeconds(60), () -> canConnect(httpsPort));
        context = main.getCamelContext();
        System.out.printf("daemon up in %d ms (state %s)%n", (System.nanoTime() - t0) / 1_000_000, state);
        try {
            cover("1a", DOMAINS + " fragments of one domain each (one certificate per backend: " + DOMAINS + " orders)",
                    CertificatesBench::manyFragments);
            cover("1b", "one fragment with " + DOMAINS + " domains on one backend (one order, one certificate with "
                    + DOMAINS + " names)", CertificatesBench::oneFragment);
            pickup();
        } finally {
            main.stop();
        }
    }

    // ------------------------------------------------------------------ (1) cover new domains

    static List<String> manyFragments() throws IOException {
        List<String> domains = new ArrayList<>();
        for (int i = 1; i <= DOMAINS; i++) {
            String name = String.format("s%03d", i);
            domains.add(name + ".single.bench.test");
            drop(name, "be_" + name, name + ".single.bench.test be_" + name + "\n");
        }
        return domains;
    }

    static List<String> oneFragment() throws IOException {
        List<String> domains = new ArrayList<>();
        StringBuilder map = new StringBuilder();
        for (int i = 1; i <= DOMAINS; i++) {
            String domain = String.format("m%03d.multi.bench.test", i);
            domains.add(domain);
            map.append(domain).append(" be_multi\n");
        }
        drop("multi", "be_multi", map.toString());
        return domains;
    }

    static void drop(String name, String backend, String map) throws IOException {
        Path inbox = state.resolve("inbox");
        AtomicFiles.write(inbox.resolve(name + ".cfg"), "backend " + backend
                + "\n    http-request return status 200 content-type text/plain string " + backend + "\n");
        AtomicFiles.write(inbox.resolve(name + ".map"), map);
    }

    /** Drops fragments into the inbox; returns their domains. */
    interface Drop {
        List<String> run() throws IOException;
    }

    static void cover(String label, String what, Drop drop) throws Exception {
        CertificateMaintenance maintenance = bean("certificateMaintenance", CertificateMaintenance.class);
        long ordersBefore = maintenance.orderAttempts();
        long reloadsBefore = status().reloads();
        long t0 = System.nanoTime();
        List<String> domains = drop.run();
        Set<String> waiting = new LinkedHashSet<>(domains);
        List<Long> coveredAt = new ArrayList<>();
        Instant deadline = Instant.now().plus(COVER_TIMEOUT);
        while (!waiting.isEmpty()) {
            for (String domain : new ArrayList<>(waiting)) {
                // The SAN matters: for a name it has no certificate for, haproxy serves its default certificate.
                if (servedLeaf(domain).filter(c -> c.getIssuerX500Principal().getName().contains("Pebble")
                        && sans(c).contains(domain)).isPresent()) {
                    waiting.remove(domain);
                    coveredAt.add((System.nanoTime() - t0) / 1_000_000);
                }
            }
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException(label + ": " + waiting.size() + " domains still not covered after "
                        + COVER_TIMEOUT + ", e.g. " + waiting.iterator().next() + " (see the bench log)");
            }
            if (!waiting.isEmpty()) {
                Thread.sleep(100);
            }
        }
        long orders = maintenance.orderAttempts() - ordersBefore;
        long reloads = status().reloads() - reloadsBefore;
        coveredAt.sort(null);
        System.out.printf("%n== (%s) cover %d new domains: %s ==%n", label, domains.size(), what);
        System.out.printf("all %d served with a Pebble certificate %.1f s after the drop (first after %.1f s, half after"
                        + " %.1f s); %d order(s)%s; %d reload(s) meanwhile (lb.reload.min-interval applies)%n",
                domains.size(), last(coveredAt) / 1000.0, coveredAt.get(0) / 1000.0,
                coveredAt.get((coveredAt.size() - 1) / 2) / 1000.0, orders,
                orders < 2 ? "" : String.format(", then one more certificate served every %.2f s",
                        (last(coveredAt) - coveredAt.get(0)) / 1000.0 / (orders - 1)), reloads);
    }

    // ------------------------------------------------------------------ (2) runtime API vs reload

    static void pickup() throws Exception {
        Path certDir = state.resolve("certs");
        Path statsSocket = state.resolve("run/admin.sock");
        HaproxyCertificates haproxy = new HaproxyCertificates(new RuntimeApi(new HaproxySocket(statsSocket,
                Duration.ofSeconds(5))), certDir.toString(), new ReloadWindow(), () -> {
                    throw new IllegalStateException("the runtime API failed: no reload fallback in this bench");
                });
        HaproxySupervisor supervisor = bean("haproxySupervisor", HaproxySupervisor.class);
        long reloadsBefore = status().reloads();
        List<Long> runtimeMicros = new ArrayList<>();
        List<Long> apiCallMicros = new ArrayList<>();
        List<Long> reloadMicros = new ArrayList<>();
        Issuer ca = new Issuer();
        warmUp(ca, certDir, haproxy);
        for (int i = 1; i <= REPS; i++) {
            String name = String.format("rt%02d.pickup.bench.test", i);
            CertificateBundle bundle = ca.issue(name);
            Path file = certDir.resolve(name + ".pem");
            AtomicFiles.writePrivate(file, bundle.toHaproxyPem().getBytes(StandardCharsets.US_ASCII));
            long t0 = System.nanoTime();
            haproxy.install(file, bundle);
            apiCallMicros.add((System.nanoTime() - t0) / 1000);
            awaitServed(name, bundle.leaf());
            runtimeMicros.add((System.nanoTime() - t0) / 1000);
        }
        int files;
        try (var list = Files.list(certDir)) {
            files = (int) list.filter(p -> p.toString().endsWith(".pem")).count();
        }
        for (int i = 1; i <= REPS; i++) {
            String name = String.format("rl%02d.pickup.bench.test", i);
            CertificateBundle bundle = ca.issue(name);
            AtomicFiles.writePrivate(certDir.resolve(name + ".pem"), bundle.toHaproxyPem().getBytes(StandardCharsets.US_ASCII));
            long pid = supervisor.masterPid().orElseThrow();
            long t0 = System.nanoTime();
            Process kill = new ProcessBuilder("kill", "-USR2", Long.toString(pid)).start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill -USR2 " + pid + " failed");
            }
            awaitServed(name, bundle.leaf());
            reloadMicros.add((System.nanoTime() - t0) / 1000);
            Thread.sleep(500); // let the old worker finish before the next reload
        }
        System.out.printf("%n== (2) haproxy serves a new certificate: runtime API vs reload (%d each, %d+ certificates"
                + " in the crt directory) ==%n", REPS, files);
        System.out.printf("%-12s %9s %9s %9s %9s   (ms from the call until a TLS handshake returns it)%n",
                "", "min", "p50", "p95", "max");
        row("runtime API", runtimeMicros);
        row("reload", reloadMicros);
        System.out.printf("runtime API calls alone (new/set/commit ssl cert, add ssl crt-list): p50 %.2f ms;"
                + " reloads counted by the daemon during the runtime API runs: %d%n",
                percentile(apiCallMicros, 50) / 1000.0, status().reloads() - reloadsBefore);
        System.out.println("each figure includes one TLS handshake (the poll that saw the certificate);"
                + " reloads are SIGUSR2 to haproxy's master, as the daemon's supervise mode sends them");
    }

    /** One certificate through each path first, so that class loading and JIT do not land on the first sample. */
    static void warmUp(Issuer ca, Path certDir, HaproxyCertificates haproxy) throws Exception {
        CertificateBundle bundle = ca.issue("warmup.pickup.bench.test");
        Path file = certDir.resolve("warmup.pickup.bench.test.pem");
        AtomicFiles.writePrivate(file, bundle.toHaproxyPem().getBytes(StandardCharsets.US_ASCII));
        haproxy.install(file, bundle);
        awaitServed("warmup.pickup.bench.test", bundle.leaf());
    }

    static void awaitServed(String name, X509Certificate leaf) {
        long deadline = System.nanoTime() + PICKUP_TIMEOUT.toNanos();
        while (!servedLeaf(name).map(leaf::equals).orElse(false)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " was not served within " + PICKUP_TIMEOUT + "; haproxy serves "
                        + servedLeaf(name).map(c -> c.getSubjectX500Principal().getName()).orElse("nothing"));
            }
        }
    }

    static void row(String label, List<Long> micros) {
        System.out.printf("%-12s %9.1f %9.1f %9.1f %9.1f%n", label, percentile(micros, 0) / 1000.0,
                percentile(micros, 50) / 1000.0, percentile(micros, 95) / 1000.0, percentile(micros, 100) / 1000.0);
    }

    // ------------------------------------------------------------------ helpers

    /** Certificates made here: a root and leaves for one name each (ECDSA P-256). */
    static final class Issuer {
        final KeyPair key = ecKey();
        final X500Name name = new X500Name("CN=haproxy-lb bench CA");
        final X509Certificate root;

        Issuer() throws Exception {
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(30))), name,
                    key.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            root = sign(b);
        }

        CertificateBundle issue(String dns) throws Exception {
            KeyPair leafKey = ecKey();
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(30))),
                    new X500Name("CN=" + dns), leafKey.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.dNSName, dns)));
            X509Certificate leaf = sign(b);
            StringWriter pem = new StringWriter();
            try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
                w.writeObject(leaf);
                w.writeObject(root);
                w.writeObject(new JcaPKCS8Generator(leafKey.getPrivate(), null));
            }
            return CertificateBundle.parse(dns + ".pem", pem.toString());
        }

        X509Certificate sign(JcaX509v3CertificateBuilder b) throws Exception {
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA")
                    .setProvider(BouncyCastleProvider.PROVIDER_NAME).build(key.getPrivate())));
        }
    }

    static KeyPair ecKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static BigInteger serial() {
        return new BigInteger(63, new SecureRandom()).add(BigInteger.ONE);
    }

    /** The leaf haproxy serves for SNI {@code host}, empty when the handshake fails. */
    static Optional<X509Certificate> servedLeaf(String host) {
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", httpsPort), 2000);
            plain.setSoTimeout(5000);
            // A new context each time: a cached TLS session would be resumed and show the certificate it was made with.
            SSLSocket ssl = (SSLSocket) trustAll().getSocketFactory().createSocket(plain, "127.0.0.1", httpsPort, true);
            SSLParameters p = ssl.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(host)));
            ssl.setSSLParameters(p);
            ssl.startHandshake();
            X509Certificate leaf = (X509Certificate) ssl.getSession().getPeerCertificates()[0];
            ssl.close();
            return Optional.of(leaf);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    static SSLContext trustAll() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                public void checkClientTrusted(X509Certificate[] c, String a) {}

                public void checkServerTrusted(X509Certificate[] c, String a) {}

                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, new SecureRandom());
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Set<String> sans(X509Certificate c) {
        Set<String> names = new LinkedHashSet<>();
        try {
            if (c.getSubjectAlternativeNames() != null) {
                c.getSubjectAlternativeNames().stream().filter(san -> Integer.valueOf(2).equals(san.get(0)))
                        .forEach(san -> names.add(String.valueOf(san.get(1))));
            }
        } catch (java.security.cert.CertificateParsingException e) {
            throw new IllegalStateException(e);
        }
        return names;
    }

    static boolean canConnect(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static <T> T bean(String name, Class<T> type) {
        T bean = context.getRegistry().lookupByNameAndType(name, type);
        if (bean == null) {
            throw new IllegalStateException("no bean " + name + " in the daemon");
        }
        return bean;
    }

    static haproxylb.status.Status status() throws IOException {
        return StatusBoard.read(state.resolve("status.json"));
    }

    static void await(String what, Duration limit, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    static long last(List<Long> sorted) {
        return sorted.get(sorted.size() - 1);
    }

    /** Nearest rank. */
    static long percentile(List<Long> values, int p) {
        long[] v = values.stream().mapToLong(Long::longValue).sorted().toArray();
        int rank = (int) Math.ceil(p / 100.0 * v.length);
        return v[Math.max(0, Math.min(v.length - 1, rank - 1))];
    }

    static String haproxyVersion() {
        try {
            Process p = new ProcessBuilder("haproxy", "-v").redirectErrorStream(true).start();
            String first = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().findFirst()
                    .orElse("haproxy ?");
            p.waitFor();
            return Arrays.stream(first.split(" ")).limit(3).reduce((a, b) -> a + " " + b).orElse(first);
        } catch (IOException | InterruptedException e) {
            return "haproxy ?";
        }
    }
}
