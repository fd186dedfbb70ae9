package haproxylb.support;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Comparator;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real Pebble ACME server (Debian's {@code /usr/bin/pebble}) plus {@code pebble-challtestsrv} as its DNS server,
 * all on 127.0.0.1 with ports chosen at run time. Every name resolves to 127.0.0.1 (A only, no AAAA), and the
 * VA fetches HTTP-01 challenges from {@code http://<name>:<httpPort>/}, {@code httpPort} being given by the
 * caller: the challenge responder directly in unit tests, haproxy's HTTP port in integration tests.
 *
 * <p>The TLS listener certificate is signed by a CA generated here ({@link #listenerCaPem()}); Pebble's own
 * issuing root and intermediate change on every (re)start ({@link #rootCertificates()}). {@link #stop()} and
 * {@link #start()} take Pebble down and up again on the same ports (its accounts and orders are lost, as with a
 * real restart); the DNS server stays up. {@link #close()} kills both processes and deletes the temp dir.
 *
 * <pre>
 * try (PebbleServer pebble = PebbleServer.start(responder.port())) {
 *     AcmeSettings s = AcmeSettings.forTestCa(pebble.directoryUrl(), pebble.listenerCaPem());
 * }
 * </pre>
 */
public final class PebbleServer implements AutoCloseable {
    public static final String PEBBLE = "/usr/bin/pebble";
    public static final String CHALLTESTSRV = "/usr/bin/pebble-challtestsrv";
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);

    /** Pebble's issuing hierarchy (changes on every start). */
    public record CaCertificates(X509Certificate root, X509Certificate intermediate) {
        public List<X509Certificate> asList() {
            return List.of(intermediate, root);
        }
    }

    private final Path dir;
    private final int httpPort;
    private final Map<String, String> env;
    private final int listenPort;
    private final int managementPort;
    private final int dnsPort;
    private final int challMgmtPort;
    private final SSLContext sslContext;
    private SSLContext listenerServerContext;
    private final HttpClient https;
    private final HttpClient http;
    private final Thread shutdownHook;
    private Process pebble;
    private Process challtestsrv;
    private int starts;

    /** Starts DNS and Pebble with the default environment; HTTP-01 validation connects to {@code httpPort}. */
    public static PebbleServer start(int httpPort) {
        return start(httpPort, Map.of());
    }

    /**
     * @param envOverrides environment for Pebble on top of {@code PEBBLE_VA_NOSLEEP=1}, {@code PEBBLE_WFE_NONCEREJECT=0},
     *                     {@code PEBBLE_AUTHZREUSE=0}; a null value removes a variable
     */
    public static PebbleServer start(int httpPort, Map<String, String> envOverrides) {
        return start(httpPort, envOverrides, Map.of());
    }

    /**
     * @param config more keys of Pebble's JSON config ({@code certificateValidityPeriod} in seconds,
     *               {@code externalAccountBindingRequired}, {@code externalAccountMACKeys} as a map key id → base64url
     *               HMAC key, ...); they win over the defaults
     */
    public static PebbleServer start(int httpPort, Map<String, String> envOverrides, Map<String, Object> config) {
        return start(httpPort, envOverrides, config, 0);
    }

    /**
     * Pebble resolving every name at the DNS server on 127.0.0.1:{@code dnsPort} (e.g. a real authoritative server
     * for DNS-01 tests) instead of its own mock; the mock DNS is not started.
     */
    public static PebbleServer startWithDns(int httpPort, Map<String, Object> config, int dnsPort) {
        return start(httpPort, Map.of(), config, dnsPort);
    }

    private static PebbleServer start(int httpPort, Map<String, String> envOverrides, Map<String, Object> config,
                                      int externalDnsPort) {
        PebbleServer p = new PebbleServer(httpPort, envOverrides, config, externalDnsPort);
        try {
            if (externalDnsPort == 0) {
                p.startChalltestsrv();
            }
            p.start();
            return p;
        } catch (RuntimeException | Error e) {
            String logs = p.logs();
            p.close();
            throw new IllegalStateException(e.getMessage() + "\n" + logs, e);
        }
    }

    private PebbleServer(int httpPort, Map<String, String> envOverrides, Map<String, Object> config,
                         int externalDnsPort) {
        if (!Files.isExecutable(Path.of(PEBBLE)) || !Files.isExecutable(Path.of(CHALLTESTSRV))) {
            throw new IllegalStateException("Pebble is not installed (" + PEBBLE + ", " + CHALLTESTSRV + "): apt-get install pebble");
        }
        this.httpPort = httpPort;
        Map<String, String> e = new LinkedHashMap<>();
        e.put("PEBBLE_VA_NOSLEEP", "1");
        e.put("PEBBLE_WFE_NONCEREJECT", "0");
        e.put("PEBBLE_AUTHZREUSE", "0");
        envOverrides.forEach(e::put);
        this.env = e;
        try {
            this.dir = Files.createTempDirectory("pebble-");
            int[] ports = freePorts(4);
            this.listenPort = ports[0];
            this.managementPort = ports[1];
            this.dnsPort = externalDnsPort != 0 ? externalDnsPort : ports[2];
            this.challMgmtPort = ports[3];
            int tlsPort = freePorts(1)[0];
            this.sslContext = writeListenerCertificates();
            Map<String, Object> pebbleConfig = new LinkedHashMap<>();
            pebbleConfig.put("listenAddress", "127.0.0.1:" + listenPort);
            pebbleConfig.put("managementListenAddress", "127.0.0.1:" + managementPort);
            pebbleConfig.put("certificate", dir.resolve("cert.pem").toString());
            pebbleConfig.put("privateKey", dir.resolve("key.pem").toString());
            pebbleConfig.put("httpPort", httpPort);
            pebbleConfig.put("tlsPort", tlsPort);
            pebbleConfig.put("ocspResponderURL", "");
            pebbleConfig.put("externalAccountBindingRequired", false);
            pebbleConfig.putAll(config);
            Files.writeString(dir.resolve("pebble-config.json"), new com.fasterxml.jackson.databind.ObjectMapper()
                    .writerWithDefaultPrettyPrinter().writeValueAsString(Map.of("pebble", pebbleConfig)));
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        this.https = HttpClient.newBuilder().sslContext(sslContext).connectTimeout(Duration.ofSeconds(2)).build();
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        this.shutdownHook = new Thread(this::killProcesses, "pebble-server-cleanup");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    // ------------------------------------------------------------------ accessors

    /** {@code https://127.0.0.1:<port>/dir}. */
    public String directoryUrl() {
        return "https://127.0.0.1:" + listenPort + "/dir";
    }

    /** The PEM of the CA that signed Pebble's TLS listener certificate (trust it as an extra CA). */
    public Path listenerCaPem() {
        return dir.resolve("listener-ca.pem");
    }

    /** An SSL context trusting only the listener CA (for talking to Pebble's API or management port directly). */
    public SSLContext listenerSslContext() {
        return sslContext;
    }

    /**
     * A server-side SSL context with Pebble's own listener certificate (127.0.0.1 and localhost, signed by
     * {@link #listenerCaPem()}): a proxy in front of Pebble presents it, so clients trusting Pebble trust the proxy.
     */
    public SSLContext listenerServerSslContext() {
        return listenerServerContext;
    }

    /** Where Pebble's VA connects for HTTP-01. */
    public int httpPort() {
        return httpPort;
    }

    public int listenPort() {
        return listenPort;
    }

    public int managementPort() {
        return managementPort;
    }

    /** The mock DNS server (UDP/TCP) Pebble uses. */
    public InetSocketAddress dnsAddress() {
        return new InetSocketAddress("127.0.0.1", dnsPort);
    }

    public Path workDir() {
        return dir;
    }

    public synchronized boolean isRunning() {
        return pebble != null && pebble.isAlive();
    }

    // ------------------------------------------------------------------ lifecycle

    /** (Re)starts Pebble on its ports; returns when the directory answers. */
    public synchronized void start() {
        if (isRunning()) {
            return;
        }
        starts++;
        ProcessBuilder pb = new ProcessBuilder(PEBBLE, "-config", dir.resolve("pebble-config.json").toString(),
                "-dnsserver", "127.0.0.1:" + dnsPort)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("pebble.log").toFile()));
        Map<String, String> pe = pb.environment();
        env.forEach((k, v) -> {
            if (v == null) {
                pe.remove(k);
            } else {
                pe.put(k, v);
            }
        });
        try {
            Files.writeString(dir.resolve("pebble.log"), "=== start #" + starts + " at " + Instant.now() + " ===\n",
                    StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            pebble = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + PEBBLE, e);
        }
        Instant deadline = Instant.now().plus(STARTUP_TIMEOUT);
        while (true) {
            if (!pebble.isAlive()) {
                throw new IllegalStateException("pebble exited with " + pebble.exitValue() + " during start-up\n" + logs());
            }
            try {
                HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create(directoryUrl()))
                        .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains("newAccount")) {
                    return;
                }
            } catch (IOException ignored) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for pebble", e);
            }
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("pebble did not answer " + directoryUrl() + " within " + STARTUP_TIMEOUT + "\n" + logs());
            }
            sleep(50);
        }
    }

    /** Stops Pebble (not the DNS server): the CA is "down" until {@link #start()}. */
    public synchronized void stop() {
        kill(pebble);
        pebble = null;
    }

    @Override
    public synchronized void close() {
        killProcesses();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // JVM already shutting down
        }
        if (!Boolean.getBoolean("pebble.keep")) {
            deleteTree(dir);
        }
    }

    private synchronized void killProcesses() {
        kill(pebble);
        kill(challtestsrv);
        pebble = null;
        challtestsrv = null;
    }

    private void startChalltestsrv() {
        ProcessBuilder pb = new ProcessBuilder(CHALLTESTSRV,
                "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                "-dns01", "127.0.0.1:" + dnsPort,
                "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-management", "127.0.0.1:" + challMgmtPort)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("challtestsrv.log").toFile());
        try {
            challtestsrv = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + CHALLTESTSRV, e);
        }
        Instant deadline = Instant.now().plus(STARTUP_TIMEOUT);
        while (true) {
            if (!challtestsrv.isAlive()) {
                throw new IllegalStateException("pebble-challtestsrv exited with " + challtestsrv.exitValue() + "\n" + logs());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", challMgmtPort), 500);
                return;
            } catch (IOException ignored) {
                // not yet
            }
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("pebble-challtestsrv did not start within " + STARTUP_TIMEOUT + "\n" + logs());
            }
            sleep(50);
        }
    }

    // ------------------------------------------------------------------ test helpers

    /** Fetches Pebble's current root ({@code /roots/0}) and intermediate ({@code /intermediates/0}). */
    public CaCertificates rootCertificates() {
        return new CaCertificates(fetchCertificate("/roots/0"), fetchCertificate("/intermediates/0"));
    }

    /** Makes the mock DNS answer {@code host} with {@code ipv4} (instead of 127.0.0.1). */
    public void addARecord(String host, String ipv4) {
        challtestsrvPost("/add-a", "{\"host\":\"" + fqdn(host) + "\",\"addresses\":[\"" + ipv4 + "\"]}");
    }

    /** Back to the default answer (127.0.0.1) for {@code host}. */
    public void clearARecord(String host) {
        challtestsrvPost("/clear-a", "{\"host\":\"" + fqdn(host) + "\"}");
    }

    /** Both processes' logs (for failure reports). */
    public String logs() {
        StringBuilder sb = new StringBuilder();
        for (String name : List.of("challtestsrv.log", "pebble.log")) {
            Path p = dir == null ? null : dir.resolve(name);
            sb.append("----- ").append(name).append(" -----\n");
            try {
                sb.append(p != null && Files.exists(p) ? tail(Files.readString(p, StandardCharsets.UTF_8), 20000) : "(none)\n");
            } catch (IOException e) {
                sb.append("(unreadable: ").append(e.getMessage()).append(")\n");
            }
        }
        return sb.toString();
    }

    /** A JUnit extension printing the logs of the Pebble a test used when that test fails. */
    public static TestWatcher printLogsOnFailure(Supplier<PebbleServer> pebble) {
        return new TestWatcher() {
            @Override
            public void testFailed(ExtensionContext context, Throwable cause) {
                PebbleServer p = pebble.get();
                if (p != null) {
                    System.err.println("Pebble logs for failed test " + context.getDisplayName() + ":\n" + p.logs());
                }
            }
        };
    }

    private X509Certificate fetchCertificate(String path) {
        try {
            HttpResponse<byte[]> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + managementPort + path))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("pebble management " + path + " answered " + r.statusCode());
            }
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(r.body()));
        } catch (IOException | java.security.cert.CertificateException e) {
            throw new IllegalStateException("cannot fetch " + path + " from pebble's management port: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void challtestsrvPost(String path, String json) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + challMgmtPort + path))
                    .timeout(Duration.ofSeconds(5)).POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2) {
                throw new IllegalStateException("pebble-challtestsrv " + path + " answered " + r.statusCode() + ": " + r.body());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ certificates for the TLS listener

    private SSLContext writeListenerCertificates() throws IOException {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair caKey = g.generateKeyPair();
            KeyPair srvKey = g.generateKeyPair();
            Instant now = Instant.now();
            X500Name caName = new X500Name("CN=haproxy-lb test listener CA " + Long.toHexString(now.toEpochMilli()));
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            ContentSigner caSigner = new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate());

            JcaX509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(caName, serial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(3650))), caName, caKey.getPublic());
            ca.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            ca.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            ca.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(caKey.getPublic()));
            X509Certificate caCert = convert(ca.build(caSigner));

            JcaX509v3CertificateBuilder srv = new JcaX509v3CertificateBuilder(caName, serial(),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(3650))),
                    new X500Name("CN=localhost"), srvKey.getPublic());
            srv.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            srv.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            srv.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            srv.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            srv.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
            X509Certificate srvCert = convert(srv.build(caSigner));

            Files.writeString(listenerCaPem(), pem("CERTIFICATE", caCert.getEncoded()));
            Files.writeString(dir.resolve("cert.pem"), pem("CERTIFICATE", srvCert.getEncoded()));
            Files.writeString(dir.resolve("key.pem"), pem("PRIVATE KEY", srvKey.getPrivate().getEncoded()));
            Files.setPosixFilePermissions(dir.resolve("key.pem"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

            KeyStore serverKeys = KeyStore.getInstance("PKCS12");
            serverKeys.load(null, null);
            serverKeys.setKeyEntry("listener", srvKey.getPrivate(), new char[0],
                    new java.security.cert.Certificate[] {srvCert, caCert});
            javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                    javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(serverKeys, new char[0]);
            listenerServerContext = SSLContext.getInstance("TLS");
            listenerServerContext.init(kmf.getKeyManagers(), null, null);

            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setCertificateEntry("listener-ca", caCert);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot create pebble listener certificates: " + e, e);
        }
    }

    private static X509Certificate convert(X509CertificateHolder holder) throws java.security.cert.CertificateException {
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    private static BigInteger serial() {
        return new BigInteger(64, new SecureRandom()).abs().add(BigInteger.ONE);
    }

    private static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    // ------------------------------------------------------------------ plumbing

    /** Distinct free ports on 127.0.0.1, for TCP and UDP alike (see {@link FreePorts}). */
    public static int[] freePorts(int n) {
        return FreePorts.next(n);
    }

    private static void kill(Process p) {
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String fqdn(String host) {
        return host.endsWith(".") ? host : host + ".";
    }

    private static String tail(String s, int max) {
        return s.length() <= max ? s : "...\n" + s.substring(s.length() - max);
    }

    private static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    @Override
    public String toString() {
        return "PebbleServer[" + directoryUrl() + ", httpPort " + httpPort + ", dns " + dnsPort + "]";
    }
}
