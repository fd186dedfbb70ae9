package haproxylb.it;

import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.support.DaemonHarness;
import haproxylb.support.EdgeClient;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * What the certificate tests look at: the chain the daemon's haproxy serves for a name, the certificate status the
 * daemon reports, and its certificate maintenance bean.
 */
final class EdgeCertificates {
    private final DaemonHarness daemon;

    EdgeCertificates(DaemonHarness daemon) {
        this.daemon = daemon;
    }

    /** A backend answering 200 with its own name. */
    static String cfg(String backend) {
        return "backend " + backend + "\n    http-request return status 200 content-type text/plain string "
                + backend + "\n";
    }

    /** The chain haproxy serves for SNI {@code host}, empty while the TLS handshake fails. */
    List<X509Certificate> served(String host) {
        try {
            return EdgeClient.https(daemon.httpsPort(), host, "/").peerChain();
        } catch (IOException e) {
            return List.of();
        }
    }

    Optional<X509Certificate> servedLeaf(String host) {
        return served(host).stream().findFirst();
    }

    boolean servedFromPebbleFor(String host, Set<String> names) {
        return servedLeaf(host).map(leaf -> leaf.getIssuerX500Principal().getName().contains("Pebble")
                && names.equals(sans(leaf))).orElse(false);
    }

    String stateOf(String domain) {
        return String.valueOf(daemon.certificateStatus(domain).get("state"));
    }

    /** The running daemon's bean: a restart starts its counters from zero. */
    CertificateMaintenance maintenance() {
        return daemon.context().getRegistry().lookupByNameAndType("certificateMaintenance", CertificateMaintenance.class);
    }

    long reloads() throws IOException {
        return daemon.status().reloads();
    }

    static Set<String> sans(X509Certificate c) {
        try {
            Collection<List<?>> all = c.getSubjectAlternativeNames();
            Set<String> names = new TreeSet<>();
            if (all != null) {
                all.stream().filter(san -> Integer.valueOf(2).equals(san.get(0))).forEach(san -> names.add((String) san.get(1)));
            }
            return names;
        } catch (CertificateParsingException e) {
            throw new IllegalStateException(e);
        }
    }

    static void verifyChain(List<X509Certificate> chain, X509Certificate root) throws Exception {
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(chain),
                params);
    }

    static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> all = Files.list(dir)) {
            return all.sorted().toList();
        }
    }
}
