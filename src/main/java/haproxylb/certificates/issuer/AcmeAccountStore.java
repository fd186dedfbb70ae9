package haproxylb.certificates.issuer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import haproxylb.common.AtomicFiles;
import haproxylb.common.Json;
import haproxylb.storage.LocalStorage;
import haproxylb.storage.Storage;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.util.KeyPairUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ACME account per directory URL, kept across restarts in a {@link Storage}:
 * {@code <folder>/<first 16 hex chars of sha256(directory URL)>/account.key} (PEM, stored as private: mode 0600 on
 * disk) and {@code account.json} (directory URL, account location URL). The key is written before the account is
 * registered, so a crash in between never leads to a second account: the next start finds the key and asks the
 * CA for the existing account ({@code onlyReturnExisting}). In a cluster the storage is shared, so a new certificate
 * leader logs in to the same account. A new registration (with the same key) happens only when the CA does not know
 * the key any more (e.g. a restarted Pebble).
 */
public final class AcmeAccountStore {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeAccountStore.class);
    public static final String KEY_FILE = "account.key";
    public static final String JSON_FILE = "account.json";
    private static final String ACCOUNT_DOES_NOT_EXIST = "urn:ietf:params:acme:error:accountDoesNotExist";

    private final Storage storage;
    private final String folder;

    /** No account exists at the CA yet and the operator has not agreed to the CA's terms of service. */
    public static final class TermsNotAgreedException extends AcmeException {
        private static final long serialVersionUID = 1L;

        public TermsNotAgreedException(String message) {
            super(message);
        }
    }

    /** The account as stored on disk. */
    public record StoredAccount(String directoryUrl, URL location, Instant registeredAt) {}

    /** @param folder the storage folder of the accounts ({@code acme} in the state directory) */
    public AcmeAccountStore(Storage storage, String folder) {
        this.storage = Objects.requireNonNull(storage, "storage");
        this.folder = Storage.checkedKey(folder);
    }

    private String keyEntry(String directoryUrl) {
        return folder + "/" + hash(directoryUrl) + "/" + KEY_FILE;
    }

    private String accountEntry(String directoryUrl) {
        return folder + "/" + hash(directoryUrl) + "/" + JSON_FILE;
    }

    /** Reads the account key; creates (EC P-256) and stores it 0600 when there is none yet. */
    public synchronized KeyPair loadOrCreateKeyPair(String directoryUrl) throws IOException {
        String key = keyEntry(directoryUrl);
        Optional<KeyPair> existing = readKeyPair(key);
        if (existing.isPresent()) {
            return existing.get();
        }
        BouncyCastle.ensureRegistered();
        KeyPair kp = KeyPairUtils.createECKeyPair("secp256r1");
        StringWriter w = new StringWriter();
        KeyPairUtils.writeKeyPair(kp, w);
        storage.storePrivate(key, w.toString().getBytes(StandardCharsets.US_ASCII));
        LOG.info("created ACME account key {} for {}", storage.where(key), directoryUrl);
        return kp;
    }

    /** The account recorded for this directory, if any. */
    public synchronized Optional<StoredAccount> stored(String directoryUrl) throws IOException {
        String key = accountEntry(directoryUrl);
        Optional<byte[]> bytes = storage.load(key);
        if (bytes.isEmpty()) {
            return Optional.empty();
        }
        JsonNode n = Json.MAPPER.readTree(bytes.get());
        String dir = n.path("directoryUrl").asText("");
        String loc = n.path("accountLocation").asText("");
        if (!directoryUrl.equals(dir) || loc.isEmpty()) {
            LOG.warn("ignoring {}: it does not describe an account at {}", storage.where(key), directoryUrl);
            return Optional.empty();
        }
        Instant at = n.hasNonNull("registeredAt") ? Instant.parse(n.get("registeredAt").asText()) : null;
        return Optional.of(new StoredAccount(dir, URI.create(loc).toURL(), at));
    }

    public synchronized void save(String directoryUrl, URL location) throws IOException {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("directoryUrl", directoryUrl);
        n.put("accountLocation", location.toExternalForm());
        n.put("registeredAt", Instant.now().toString());
        storage.store(accountEntry(directoryUrl), Json.INDENTED.writeValueAsBytes(n));
    }

    /**
     * Logs in to the account for {@code settings.directoryUrl()}: looks the key up at the CA (never registers a
     * second account for a key the CA knows), and registers it only if the CA has no account for it and the
     * operator agreed to the terms of service.
     */
    public synchronized Login login(Session session, AcmeSettings settings) throws AcmeException, IOException {
        String url = settings.directoryUrl();
        KeyPair kp = loadOrCreateKeyPair(url);
        Optional<StoredAccount> stored = stored(url);
        try {
            Login login = new AccountBuilder().onlyExisting().useKeyPair(kp).createLogin(session);
            if (stored.isEmpty() || !stored.get().location().toExternalForm().equals(login.getAccountLocation().toExternalForm())) {
                save(url, login.getAccountLocation());
                LOG.info("ACME account at {}: {}", settings.caName(), login.getAccountLocation());
            }
            return login;
        } catch (AcmeServerException e) {
            if (e.getType() == null || !ACCOUNT_DOES_NOT_EXIST.equals(e.getType().toString())) {
                throw e;
            }
        }
        if (!settings.agreeToTerms()) {
            throw new TermsNotAgreedException("no ACME account at " + url + " yet, and creating one requires agreeing to the CA's"
                    + " terms of service: set the terms agreement setting to true after reading them");
        }
        AccountBuilder builder = new AccountBuilder().agreeToTermsOfService().useKeyPair(kp);
        settings.email().ifPresent(builder::addEmail);
        settings.eab().ifPresent(b -> builder.withKeyIdentifier(b.keyId(), b.hmacKey()));
        Login login = builder.createLogin(session);
        save(url, login.getAccountLocation());
        if (stored.isPresent()) {
            LOG.warn("the CA at {} no longer knows account {}: registered it again as {}", settings.caName(),
                    stored.get().location(), login.getAccountLocation());
        } else {
            LOG.info("registered ACME account at {}: {}", settings.caName(), login.getAccountLocation());
        }
        return login;
    }

    private Optional<KeyPair> readKeyPair(String key) throws IOException {
        Optional<byte[]> pem = storage.load(key);
        if (pem.isEmpty()) {
            return Optional.empty();
        }
        BouncyCastle.ensureRegistered();
        if (storage instanceof LocalStorage local) {
            Path file = local.file(key);
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (!AtomicFiles.PRIVATE.containsAll(perms)) {
                LOG.warn("ACME account key {} is readable by others ({}): tightening to 0600", file, perms);
                Files.setPosixFilePermissions(file, AtomicFiles.PRIVATE);
            }
        }
        try (StringReader r = new StringReader(new String(pem.get(), StandardCharsets.US_ASCII))) {
            return Optional.of(KeyPairUtils.readKeyPair(r));
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot read ACME account key " + storage.where(key) + " (refusing to replace it): "
                    + e.getMessage(), e);
        }
    }

    static String hash(String directoryUrl) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(directoryUrl.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
