package haproxylb.certificates.store;

import haproxylb.certificates.issuer.JsonState;
import haproxylb.common.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import haproxylb.common.AtomicFiles;
import haproxylb.common.FileVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The haproxy PEM bundles in haproxy's crt directory: {@code <certDir>/<name>.pem}, each written atomically with mode
 * 0600 (the file holds the private key).
 *
 * <p><b>Issued here or supplied by the operator.</b> Certificates this daemon obtained from the CA are recorded by
 * the SHA-256 fingerprint of their leaf in {@code issued.json}, next to the archive directory (never in the crt
 * directory, which haproxy reads). The issuer calls {@link #recordIssued} as soon as the CA returns a certificate,
 * whichever way it is then installed. Everything else (certificates dropped into the certificate inbox, files put
 * into the crt directory by hand, and {@code fallback.pem}) is the operator's: it is listed and served, but never
 * archived. Identifying by fingerprint rather than by file name means no naming convention to get wrong, and an
 * operator who replaces a daemon-issued file with a certificate of their own takes that file over. If
 * {@code issued.json} is lost or corrupt, every certificate looks operator-supplied: nothing is archived by mistake,
 * the clean-up merely stops until new certificates are issued.
 *
 * <p>Archiving moves a file to {@code <archiveDir>/<name>-<UTC timestamp>.pem} (same file system, atomic rename).
 *
 * <p><b>Parsed once.</b> The store keeps what every file it parsed holds ({@link CertificateSummary}) with the identity,
 * size and modification time the file had; {@link #list} lists the directory and re-parses only a file that is new or
 * changed on disk (an operator may put one there by hand), and {@link #install} and {@link #archive} update the index
 * themselves. Parsing checks that the key matches the certificate (a signature), so re-parsing every file on each
 * coverage check cost seconds at 10,000 certificates. The index is saved ({@link CertificateIndexFile}) when it
 * changes, so the first listing after a start parses only what changed while the daemon was down, not every file
 * (about 30 s of CPU at 10,000 files). Listed certificates carry no parsed bundle: the leaf is read from its file when
 * an ARI question or a renewal needs it ({@link InstalledCertificate#leaf}).
 */
public final class CertificateStore {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateStore.class);

    public static final String ISSUED_FILE = "issued.json";
    /** Beside issued.json: what each certificate file held when it was last parsed ({@link CertificateIndexFile}). */
    public static final String INDEX_FILE = "certificate-index.txt";
    private static final String PEM = ".pem";
    /**
     * A safe file name: no leading dot (hidden and temporary files), no path separators, and short enough that
     * {@code <name>.pem} and an archive time stamp fit the usual 255-byte file name limit.
     */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,229}");
    private static final DateTimeFormatter ARCHIVE_STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final int FORMAT_VERSION = 1;

    private final Path certDir;
    private final Path archiveDir;
    private final Path issuedFile;
    private final Path indexFile;
    private final Clock clock;
    /** Unreadable files already warned about, with the modification time seen, so each is reported once per change. */
    private final Map<Path, FileTime> reportedUnreadable = new HashMap<>();
    /** Every readable file by file name, as parsed when it last changed on disk; loaded from the index file first. */
    private final Map<String, CertificateIndexFile.Entry> parsed = new HashMap<>();
    private boolean indexLoaded;
    /** {@link #parsed} differs from the index file. */
    private boolean indexChanged;
    /** issued.json as last read or written, and its modification time then: re-read only when it changes. */
    private Map<String, JsonNode> issuedCache;
    private FileTime issuedCacheTime;

    public CertificateStore(Path certDir, Path archiveDir, Clock clock) {
        this.certDir = Objects.requireNonNull(certDir, "certDir");
        this.archiveDir = Objects.requireNonNull(archiveDir, "archiveDir");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.issuedFile = archiveDir.toAbsolutePath().resolveSibling(ISSUED_FILE);
        this.indexFile = archiveDir.toAbsolutePath().resolveSibling(INDEX_FILE);
    }

    public Path certDir() {
        return certDir;
    }

    public Path archiveDir() {
        return archiveDir;
    }

    /** {@code <certDir>/<name>.pem}. */
    public Path pathOf(String name) {
        return certDir.resolve(checkName(name) + PEM);
    }

    /**
     * Writes {@code bundle} as haproxy wants it (leaf, chain, key) to {@code <certDir>/<name>.pem}, atomically, mode
     * 0600, replacing a file of that name. Whether it counts as issued here depends on {@link #recordIssued} only.
     */
    public synchronized Path install(String name, CertificateBundle bundle) throws IOException {
        checkName(name);
        if (FallbackCertificate.NAME.equals(name)) {
            throw new IllegalArgumentException("the name " + name + " is reserved for the self-signed fallback "
                    + "certificate; install under another name");
        }
        Path target = pathOf(name);
        AtomicFiles.writePrivate(target, bundle.toHaproxyPem().getBytes(StandardCharsets.US_ASCII));
        remember(target.getFileName().toString(), new CertificateIndexFile.Entry(FileVersion.of(target),
                CertificateSummary.of(bundle)));
        return target;
    }

    /** {@link #recordIssued} then {@link #install}: for an issuer that installs what it obtained directly. */
    public synchronized Path installIssued(String name, CertificateBundle bundle) throws IOException {
        recordIssued(bundle);
        return install(name, bundle);
    }

    /**
     * Remembers that this daemon obtained {@code bundle} from the CA, so that it may be archived when its names leave
     * the map. Entries for certificates that have expired and are no longer in the crt directory are dropped here, so
     * the file stays small.
     */
    public synchronized void recordIssued(CertificateBundle bundle) throws IOException {
        recordIssued(bundle, null);
    }

    /** {@link #recordIssued(CertificateBundle)}, keeping how it was obtained ({@link #details}). */
    public synchronized void recordIssued(CertificateBundle bundle, IssuedDetails details) throws IOException {
        Map<String, JsonNode> issued = readIssued();
        ObjectNode entry = Json.MAPPER.createObjectNode();
        new TreeSet<>(bundle.dnsNames()).forEach(entry.putArray("names")::add);
        entry.put("notAfter", bundle.notAfter().toString());
        entry.put("recordedAt", clock.instant().toString());
        if (details != null) {
            details.writeTo(entry);
        }
        issued.put(bundle.fingerprint(), entry);
        Set<String> present = installedFingerprints();
        Instant now = clock.instant();
        issued.entrySet().removeIf(e -> !present.contains(e.getKey()) && !e.getKey().equals(bundle.fingerprint())
                && expiredEntry(e.getValue(), now));
        writeIssued(issued);
    }

    /** How the certificate with this fingerprint was obtained, if this daemon obtained it (as of the last listing). */
    public synchronized Optional<IssuedDetails> details(String fingerprint) {
        return Optional.ofNullable(issuedAsLastRead().get(fingerprint)).map(IssuedDetails::readFrom);
    }

    /** True when this daemon obtained {@code bundle} from the CA. */
    public synchronized boolean isIssuedHere(CertificateBundle bundle) {
        return issued().containsKey(bundle.fingerprint());
    }

    /**
     * The readable certificates in the crt directory, sorted by name, the fallback included. A {@code .pem} file that
     * cannot be read is skipped and logged (once, until it changes); expired certificates are listed.
     */
    public synchronized List<InstalledCertificate> list() throws IOException {
        loadIndex();
        if (!Files.isDirectory(certDir)) {
            forgetAllBut(Set.of());
            saveIndex();
            return List.of();
        }
        // One stat per file, side by side: at 10,000 files the stats are most of a check that parses nothing.
        List<Map.Entry<String, FileVersion>> files = pemFileNames().parallelStream()
                .map(this::regularFileVersion)
                .flatMap(Optional::stream)
                .toList();
        // New and changed files are parsed side by side: at start-up without an index that is every file.
        Map<String, Object> fresh = new HashMap<>();
        files.stream()
                .filter(e -> !isKnown(e.getKey(), e.getValue()))
                .toList().parallelStream()
                .map(e -> Map.entry(e.getKey(), parse(certDir.resolve(e.getKey()))))
                .toList().forEach(e -> fresh.put(e.getKey(), e.getValue()));
        Set<String> issued = issued().keySet();
        List<InstalledCertificate> result = new ArrayList<>(files.size());
        Map<Path, FileTime> stillUnreadable = new HashMap<>();
        Set<String> present = new HashSet<>();
        for (Map.Entry<String, FileVersion> e : files) {
            String fileName = e.getKey();
            Path file = certDir.resolve(fileName);
            present.add(fileName);
            Object outcome = fresh.get(fileName);
            if (outcome instanceof CertificateBundle bundle) {
                remember(fileName, new CertificateIndexFile.Entry(e.getValue(), CertificateSummary.of(bundle)));
            } else if (outcome instanceof Exception problem) {
                forget(fileName);
                FileTime modified = lastModified(file);
                if (!modified.equals(reportedUnreadable.get(file))) {
                    LOG.warn("skipping unreadable certificate file {}: {}", file, problem.getMessage());
                }
                stillUnreadable.put(file, modified);
                continue;
            }
            String name = fileName.substring(0, fileName.length() - PEM.length());
            CertificateSummary summary = parsed.get(fileName).summary();
            result.add(new InstalledCertificate(name, file, summary, issued.contains(summary.fingerprint())));
        }
        forgetAllBut(present);
        reportedUnreadable.clear();
        reportedUnreadable.putAll(stillUnreadable);
        saveIndex();
        return result;
    }

    /**
     * The file's name and version when it is still a regular file; empty when it is not, or was archived or replaced
     * since the listing, or cannot be looked at (as {@code Files.isRegularFile} would say).
     */
    private Optional<Map.Entry<String, FileVersion>> regularFileVersion(String fileName) {
        try {
            return FileVersion.ofRegularFile(certDir.resolve(fileName)).map(v -> Map.entry(fileName, v));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The index file once, at the first listing after start: its entries stand for files that have not changed. */
    private void loadIndex() {
        if (!indexLoaded) {
            CertificateIndexFile.load(indexFile).forEach(parsed::putIfAbsent);
            indexLoaded = true;
        }
    }

    private void remember(String fileName, CertificateIndexFile.Entry entry) {
        parsed.put(fileName, entry);
        indexChanged = true;
    }

    private void forget(String fileName) {
        indexChanged |= parsed.remove(fileName) != null;
    }

    private void forgetAllBut(Set<String> fileNames) {
        indexChanged |= parsed.keySet().retainAll(fileNames);
    }

    /** Writes the index file when it no longer matches; a failed write costs the next start parsing time only. */
    private void saveIndex() {
        if (!indexChanged) {
            return;
        }
        try {
            CertificateIndexFile.save(indexFile, parsed);
            indexChanged = false;
        } catch (IOException e) {
            LOG.warn("certificate index {} could not be written ({}): the next start parses the changed files again",
                    indexFile, e.getMessage());
        }
    }

    private boolean isKnown(String fileName, FileVersion now) {
        CertificateIndexFile.Entry known = parsed.get(fileName);
        return known != null && known.isUnchanged(now);
    }

    /** The file's bundle, or the problem that kept it from being read. */
    private static Object parse(Path file) {
        try {
            return CertificateBundle.read(file.getFileName().toString(),
                    Files.readString(file, StandardCharsets.US_ASCII));
        } catch (CertificateProblem | IOException | RuntimeException e) {
            return e;
        }
    }

    /**
     * The certificate installed under {@code name} right now, reading that one file only: the coverage check's last
     * look before it orders, as an install may have landed since the check listed the store.
     */
    public synchronized Optional<InstalledCertificate> reread(String name) throws IOException {
        checkName(name);
        Path file = certDir.resolve(name + PEM);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            CertificateBundle bundle = CertificateBundle.read(name + PEM, Files.readString(file, StandardCharsets.US_ASCII));
            return Optional.of(new InstalledCertificate(name, file, bundle, issued().containsKey(bundle.fingerprint())));
        } catch (CertificateProblem e) {
            return Optional.empty();
        }
    }

    /** The certificate named {@code name}, if it is there and readable. */
    public Optional<InstalledCertificate> get(String name) throws IOException {
        checkName(name);
        return list().stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /** True when {@link #archive} would move the certificate: it exists, was issued here and is not the fallback. */
    public synchronized boolean isArchivable(String name) throws IOException {
        if (FallbackCertificate.NAME.equals(name)) {
            return false;
        }
        return get(name).map(InstalledCertificate::issuedHere).orElse(false);
    }

    /**
     * Moves {@code <certDir>/<name>.pem} to {@code <archiveDir>/<name>-<yyyyMMddTHHmmssZ>.pem} and returns the new
     * path. Refuses the fallback certificate and any certificate not issued here (operator-supplied or unreadable),
     * with an {@link IllegalStateException} saying so; the file stays where it is.
     */
    public synchronized Path archive(String name) throws IOException {
        Path source = pathOf(name);
        if (FallbackCertificate.NAME.equals(name)) {
            throw new IllegalStateException(source + " is the fallback certificate haproxy serves for unknown names; "
                    + "it is never archived");
        }
        if (!Files.exists(source)) {
            throw new NoSuchFileException(source.toString(), null, "no such certificate to archive");
        }
        CertificateBundle bundle;
        try {
            bundle = CertificateBundle.read(source.getFileName().toString(),
                    Files.readString(source, StandardCharsets.US_ASCII));
        } catch (CertificateProblem e) {
            throw new IllegalStateException(source + " cannot be read, so it cannot be shown to be one haproxy-lb "
                    + "issued; it is left in place (" + e.getMessage() + ")", e);
        }
        Map<String, JsonNode> issued = readIssued();
        if (!issued.containsKey(bundle.fingerprint())) {
            throw new IllegalStateException(source + " was not issued by haproxy-lb (operator-supplied); it is never "
                    + "archived. Remove it by hand if it is no longer wanted.");
        }
        String stamp = ARCHIVE_STAMP.format(clock.instant());
        Path target = archiveDir.resolve(name + "-" + stamp + PEM);
        for (int n = 2; Files.exists(target); n++) {
            target = archiveDir.resolve(name + "-" + stamp + "-" + n + PEM);
        }
        AtomicFiles.move(source, target);
        forget(source.getFileName().toString());
        issued.remove(bundle.fingerprint());
        writeIssued(issued);
        return target;
    }

    /** The names of the {@code .pem} files in the crt directory (temporary and hidden ones aside), sorted. */
    private List<String> pemFileNames() throws IOException {
        // names only: a Path per entry made listing 10,000 files cost more than statting them
        String[] all = certDir.toFile().list();
        if (all == null) {
            throw new IOException("cannot list the certificate directory " + certDir);
        }
        List<String> names = new ArrayList<>(all.length);
        for (String n : all) {
            if (n.endsWith(PEM) && !n.startsWith(".")) {
                names.add(n);
            }
        }
        names.sort(null);
        return names;
    }

    private Set<String> installedFingerprints() throws IOException {
        return list().stream().map(InstalledCertificate::fingerprint).collect(Collectors.toSet());
    }

    private static boolean expiredEntry(JsonNode entry, Instant now) {
        try {
            return !Instant.parse(entry.path("notAfter").asText()).isAfter(now);
        } catch (RuntimeException e) {
            return true;
        }
    }

    /** A copy of issued.json's entries (fingerprint → details), to change and write back. */
    private Map<String, JsonNode> readIssued() {
        return new TreeMap<>(issued());
    }

    /**
     * {@link #issued()} as the last listing (or write) left it, without looking at the file again: the status asks
     * this for every certificate of a check, and two stats of issued.json per certificate were a tenth of a check at
     * 10,000 certificates. Only this store writes issued.json, and every listing looks at the file again.
     */
    private Map<String, JsonNode> issuedAsLastRead() {
        return issuedCache == null ? issued() : java.util.Collections.unmodifiableMap(issuedCache);
    }

    /** issued.json's entries (fingerprint → details), read only; empty when missing, empty and logged when corrupt. */
    private Map<String, JsonNode> issued() {
        FileTime modified = Files.exists(issuedFile) ? lastModified(issuedFile) : null;
        if (issuedCache == null || !Objects.equals(modified, issuedCacheTime)) {
            Map<String, JsonNode> issued = new HashMap<>();
            JsonState.load(issuedFile, LOG, "issued-certificates").ifPresent(root -> {
                for (Iterator<Map.Entry<String, JsonNode>> it = root.path("certificates").fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    issued.put(e.getKey(), e.getValue());
                }
            });
            issuedCache = issued;
            issuedCacheTime = modified;
        }
        return java.util.Collections.unmodifiableMap(issuedCache);
    }

    private void writeIssued(Map<String, JsonNode> issued) throws IOException {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("version", FORMAT_VERSION);
        ObjectNode certificates = root.putObject("certificates");
        issued.forEach(certificates::set);
        JsonState.save(issuedFile, root);
        issuedCache = new HashMap<>(issued);
        issuedCacheTime = lastModified(issuedFile);
    }

    private static FileTime lastModified(Path file) {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    private static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("certificate name " + name + " is not a safe file name: use letters, "
                    + "digits, '.', '_' and '-', starting with a letter, digit or '_'");
        }
        return name;
    }
}
