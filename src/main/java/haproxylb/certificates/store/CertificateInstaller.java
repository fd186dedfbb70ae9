package haproxylb.certificates.store;

import haproxylb.common.AtomicFiles;
import haproxylb.common.Excerpt;
import haproxylb.common.InboxEntry;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Called by the certificate-intake route for every complete {@code NAME.pem} in the certificate inbox: what the
 * coverage check obtained from the CA, and what an operator drops by hand (certificate, intermediates and private
 * key in one PEM file). Checks it ({@link CertificateBundle#parse}: the key matches, the chain is in order, the
 * certificate has not expired), writes it to haproxy's crt directory as {@code NAME.pem} (atomically, mode 0600,
 * replacing a file of that name) and has haproxy serve it at once ({@link HaproxyCertificates}).
 *
 * <p>A file that cannot be installed goes to {@code rejected-certs/NAME.pem} (mode 0600: it may hold a key) with
 * {@code NAME.error} beside it, which names the file, says what is wrong and what to do; nothing in the crt
 * directory changes. An IOException while installing leaves the inbox file where it is (Camel retries it).
 */
public final class CertificateInstaller {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateInstaller.class);
    private static final String PEM = ".pem";
    /** A PEM bundle of a leaf, a few intermediates and a key is a few KiB; anything this big is not one. */
    static final long MAX_BYTES = 1024 * 1024;
    /** The names {@link CertificateStore} accepts (a file name without a leading dot). */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,229}");

    private final CertificateStore store;
    private final HaproxyCertificates haproxy;
    private final Path inbox;
    private final Path rejectedDir;
    private final Path claimDir;
    private final Clock clock;

    public CertificateInstaller(CertificateStore store, HaproxyCertificates haproxy, Path inbox, Path rejectedDir,
                                Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.haproxy = Objects.requireNonNull(haproxy, "haproxy");
        this.inbox = Objects.requireNonNull(inbox, "inbox");
        this.rejectedDir = Objects.requireNonNull(rejectedDir, "rejectedDir");
        this.claimDir = claimDirOf(inbox);
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Where inbox entries are checked and read, where only the daemon writes ({@link InboxEntry}). */
    static Path claimDirOf(Path inbox) {
        return inbox.resolveSibling("claimed-certs");
    }

    /**
     * True while {@code NAME.pem} waits in the inbox or is being installed (claimed out of the inbox): an issued
     * certificate on its way, which the coverage check must not order again.
     */
    public static boolean onItsWay(Path inbox, String certName) {
        return Files.exists(inbox.resolve(certName + PEM)) || Files.exists(claimDirOf(inbox).resolve(certName + PEM));
    }

    public Path rejectedDir() {
        return rejectedDir;
    }

    public void receive(File file) throws IOException {
        String fileName = file.getName();
        String name = fileName.endsWith(PEM) ? fileName.substring(0, fileName.length() - PEM.length()) : fileName;
        String shown = inbox.getFileName() + "/" + printable(fileName);
        if (!NAME.matcher(name).matches()) {
            reject(safe(name), null, shown + ": '" + printable(name) + "' cannot be a certificate file name in "
                    + "haproxy's crt directory. Use letters, digits, '.', '_' and '-' (starting with a letter, digit or "
                    + "'_'), e.g. shop.example.com.pem, and drop the file into " + inbox + " again.");
            return;
        }
        if (FallbackCertificate.NAME.equals(name)) {
            reject(name, null, shown + ": the name 'fallback' is reserved for the self-signed certificate haproxy "
                    + "serves for unknown names. To replace that default certificate, write " + store.pathOf(name)
                    + " directly; to add a certificate, drop it under another name into " + inbox + ".");
            return;
        }
        Optional<InboxEntry> claimed;
        try {
            claimed = InboxEntry.claim(file.toPath(), claimDir, shown);
        } catch (InboxEntry.Refused refused) {
            reject(name, null, refused.getMessage() + " Nothing was installed.");
            return;
        }
        if (claimed.isEmpty()) {
            return;
        }
        InboxEntry entry = claimed.get();
        try {
            install(name, shown, entry);
        } catch (IOException e) {
            entry.putBack(file.toPath()); // as before claiming: Camel retries the inbox file
            throw e;
        }
        entry.discard();
    }

    private void install(String name, String shown, InboxEntry entry) throws IOException {
        if (entry.size() > MAX_BYTES) {
            // Not copied to rejected-certs/: keeping a copy of an oversized file is exactly what the limit prevents.
            reject(name, null, shown + " is " + entry.size() + " bytes; a certificate file (certificate, "
                    + "intermediates, key) is a few KiB, at most " + MAX_BYTES + " bytes are accepted. Drop the right file.");
            return;
        }
        byte[] content;
        try {
            content = entry.read(MAX_BYTES, shown);
        } catch (InboxEntry.Refused refused) {
            reject(name, null, refused.getMessage() + " Nothing was installed.");
            return;
        }
        CertificateBundle bundle;
        try {
            bundle = CertificateBundle.parse(shown, new String(content, StandardCharsets.US_ASCII), clock);
        } catch (CertificateProblem p) {
            reject(name, content, Excerpt.controlsEscaped(p.getMessage()) + " Nothing was installed; fix the file and"
                    + " drop it into " + inbox + " again.");
            return;
        }
        Path installed = store.install(name, bundle);
        HaproxyCertificates.Via via = haproxy.install(installed, bundle);
        Files.deleteIfExists(rejectedDir.resolve(name + ".error"));
        Files.deleteIfExists(rejectedDir.resolve(name + PEM));
        LOG.info("certificate {} ({}, {}, valid until {}) installed as {}; haproxy serves it {}", name,
                String.join(", ", bundle.dnsNames()), store.isIssuedHere(bundle) ? "issued by haproxy-lb" : "operator-supplied",
                bundle.notAfter(), installed, via == HaproxyCertificates.Via.RUNTIME_API
                        ? "now (runtime API, no reload)" : "after the next reload");
    }

    private void reject(String name, byte[] content, String error) throws IOException {
        LOG.warn("rejected certificate file: {}", error);
        if (content != null) {
            AtomicFiles.writePrivate(rejectedDir.resolve(name + PEM), content);
        }
        AtomicFiles.write(rejectedDir.resolve(name + ".error"), error + "\n");
    }

    private static String safe(String name) {
        String s = name.replaceAll("[^A-Za-z0-9._-]", "_");
        if (s.isEmpty() || s.startsWith(".") || s.startsWith("-")) {
            s = "_" + s;
        }
        return s.length() > 200 ? s.substring(0, 200) : s;
    }

    private static String printable(String s) {
        return Excerpt.of(s);
    }
}
