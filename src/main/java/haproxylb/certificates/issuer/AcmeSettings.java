package haproxylb.certificates.issuer;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * How the daemon talks to its ACME CA.
 *
 * @param directoryUrl      the CA's directory URL (https); {@link #of} also accepts {@code letsencrypt} and
 *                          {@code letsencrypt-staging}
 * @param email             contact e-mail for the account (optional)
 * @param agreeToTerms      must be true before an account can be created (the CA's terms of service)
 * @param keyType           the type of the certificate (domain) key
 * @param extraTrustedCaPem a PEM file with CA certificates trusted in addition to the JVM's own, for the CA's
 *                          TLS listener only (test servers such as Pebble); no JVM-global setting is touched
 * @param pollInterval      how often an authorization or order is polled (100–500 ms is sensible; a longer
 *                          Retry-After from the CA wins)
 * @param timeout           upper bound for one whole issuance (order, validation, finalization, download)
 * @param label             the CA's name in logs, the status and issued.json (a fallback CA's setting name); empty:
 *                          derived from the directory URL ({@link #caName()})
 * @param eab               External Account Binding for CAs that require it (key id and HMAC key), used when the
 *                          account is created
 */
public record AcmeSettings(
        String directoryUrl,
        Optional<String> email,
        boolean agreeToTerms,
        KeyType keyType,
        Optional<Path> extraTrustedCaPem,
        Duration pollInterval,
        Duration timeout,
        Optional<String> label,
        Optional<ExternalAccountBinding> eab) {

    /**
     * RFC 8555 section 7.3.4: the key id and the base64url HMAC key the CA handed out for binding a new account.
     */
    public record ExternalAccountBinding(String keyId, String hmacKey) {
        public ExternalAccountBinding {
            if (keyId == null || keyId.isBlank() || hmacKey == null || !hmacKey.strip().matches("[A-Za-z0-9_-]+=*")) {
                throw new IllegalArgumentException("an External Account Binding needs a key id and a base64url HMAC key");
            }
            keyId = keyId.strip();
            hmacKey = hmacKey.strip();
        }

        @Override
        public String toString() {
            return "EAB key id " + keyId; // never the HMAC key
        }
    }

    public AcmeSettings(String directoryUrl, Optional<String> email, boolean agreeToTerms, KeyType keyType,
                        Optional<Path> extraTrustedCaPem, Duration pollInterval, Duration timeout) {
        this(directoryUrl, email, agreeToTerms, keyType, extraTrustedCaPem, pollInterval, timeout, Optional.empty(),
                Optional.empty());
    }

    public static final String LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";
    public static final String LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(500);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);

    /** The certificate key types the daemon can order. */
    public enum KeyType {
        EC256("ec256"), RSA2048("rsa2048"), RSA3072("rsa3072"), RSA4096("rsa4096");

        private final String settingName;

        KeyType(String settingName) {
            this.settingName = settingName;
        }

        public String settingName() {
            return settingName;
        }

        public boolean isRsa() {
            return this != EC256;
        }

        public int rsaBits() {
            return switch (this) {
                case RSA2048 -> 2048;
                case RSA3072 -> 3072;
                case RSA4096 -> 4096;
                case EC256 -> throw new IllegalStateException("ec256 is not an RSA key type");
            };
        }

        /** {@code ec256} (also {@code ecdsa}, {@code p256}), {@code rsa2048}, {@code rsa3072}, {@code rsa4096}; blank means ec256. */
        public static KeyType parse(String text) {
            if (text == null || text.isBlank()) {
                return EC256;
            }
            String t = text.trim().toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
            switch (t) {
                case "ec256", "ecdsa", "ec", "p256", "ecdsap256", "secp256r1", "prime256v1":
                    return EC256;
                case "rsa", "rsa2048":
                    return RSA2048;
                case "rsa3072":
                    return RSA3072;
                case "rsa4096":
                    return RSA4096;
                default:
                    throw new IllegalArgumentException("unknown ACME key type '" + text
                            + "': use ec256 (default), rsa2048, rsa3072 or rsa4096");
            }
        }

        @Override
        public String toString() {
            return settingName;
        }
    }

    public AcmeSettings {
        directoryUrl = resolveDirectory(directoryUrl);
        email = Objects.requireNonNull(email, "email").map(String::trim).filter(s -> !s.isEmpty());
        email.ifPresent(AcmeSettings::checkEmail);
        keyType = keyType == null ? KeyType.EC256 : keyType;
        extraTrustedCaPem = Objects.requireNonNull(extraTrustedCaPem, "extraTrustedCaPem");
        pollInterval = pollInterval == null ? DEFAULT_POLL_INTERVAL : pollInterval;
        timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
        label = label == null ? Optional.empty() : label.map(String::strip).filter(l -> !l.isEmpty());
        eab = eab == null ? Optional.empty() : eab;
        if (pollInterval.isNegative() || pollInterval.isZero() || pollInterval.compareTo(Duration.ofSeconds(30)) > 0) {
            throw new IllegalArgumentException("ACME poll interval must be between 1 ms and 30 s, was " + pollInterval);
        }
        if (timeout.compareTo(pollInterval) < 0) {
            throw new IllegalArgumentException("ACME timeout " + timeout + " is shorter than the poll interval " + pollInterval);
        }
    }

    /**
     * Builds settings from configuration text; blank or null values take the defaults.
     *
     * @param directory    {@code letsencrypt}, {@code letsencrypt-staging} or an https URL
     * @param email        contact e-mail or blank
     * @param agreeToTerms whether the operator agreed to the CA's terms of service
     * @param keyType      {@code ec256}, {@code rsa2048}, {@code rsa3072}, {@code rsa4096} or blank
     * @param extraCaPem   path of a PEM file with extra trusted CA certificates, or blank
     */
    public static AcmeSettings of(String directory, String email, boolean agreeToTerms, String keyType,
                                  String extraCaPem, Duration pollInterval, Duration timeout) {
        Optional<Path> ca = extraCaPem == null || extraCaPem.isBlank() ? Optional.empty() : Optional.of(Path.of(extraCaPem.trim()));
        ca.ifPresent(p -> {
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException("extra trusted CA file " + p + " does not exist or is not readable");
            }
        });
        return new AcmeSettings(directory, Optional.ofNullable(email), agreeToTerms, KeyType.parse(keyType), ca,
                pollInterval, timeout);
    }

    /** Settings for a test CA such as Pebble: fast polling, the listener CA trusted, terms agreed. */
    public static AcmeSettings forTestCa(String directoryUrl, Path listenerCaPem) {
        return new AcmeSettings(directoryUrl, Optional.empty(), true, KeyType.EC256, Optional.of(listenerCaPem),
                Duration.ofMillis(100), Duration.ofSeconds(60));
    }

    public AcmeSettings withDirectoryUrl(String url) {
        return new AcmeSettings(url, email, agreeToTerms, keyType, extraTrustedCaPem, pollInterval, timeout, label, eab);
    }

    public AcmeSettings withAgreeToTerms(boolean agree) {
        return new AcmeSettings(directoryUrl, email, agree, keyType, extraTrustedCaPem, pollInterval, timeout, label, eab);
    }

    public AcmeSettings withKeyType(KeyType type) {
        return new AcmeSettings(directoryUrl, email, agreeToTerms, type, extraTrustedCaPem, pollInterval, timeout, label, eab);
    }

    public AcmeSettings withEmail(String mail) {
        return new AcmeSettings(directoryUrl, Optional.ofNullable(mail), agreeToTerms, keyType, extraTrustedCaPem, pollInterval, timeout, label, eab);
    }

    public AcmeSettings withTimeout(Duration t) {
        return new AcmeSettings(directoryUrl, email, agreeToTerms, keyType, extraTrustedCaPem, pollInterval, t, label, eab);
    }

    public AcmeSettings withPollInterval(Duration p) {
        return new AcmeSettings(directoryUrl, email, agreeToTerms, keyType, extraTrustedCaPem, p, timeout, label, eab);
    }

    /** This CA under another name (a fallback CA's setting name), with an External Account Binding if given. */
    public AcmeSettings asNamed(String name, Optional<ExternalAccountBinding> binding) {
        return new AcmeSettings(directoryUrl, email, agreeToTerms, keyType, extraTrustedCaPem, pollInterval, timeout,
                Optional.of(name), binding);
    }

    public URI directoryUri() {
        return URI.create(directoryUrl);
    }

    /** A short name for log lines and error messages: the CA's host name ("pebble" for a local Pebble). */
    public String caName() {
        if (label.isPresent()) {
            return label.get();
        }
        URI u = directoryUri();
        if (LETSENCRYPT.equals(directoryUrl)) {
            return "letsencrypt";
        }
        if (LETSENCRYPT_STAGING.equals(directoryUrl)) {
            return "letsencrypt-staging";
        }
        String host = u.getHost();
        if (host != null && ("127.0.0.1".equals(host) || "localhost".equals(host) || "::1".equals(host) || "[::1]".equals(host))
                && u.getPath() != null && u.getPath().equals("/dir")) {
            return "pebble";
        }
        return host == null ? directoryUrl : host;
    }

    /** {@code letsencrypt} / {@code letsencrypt-staging} → their URLs; anything else must be an absolute https URL. */
    public static String resolveDirectory(String directory) {
        if (directory == null || directory.isBlank()) {
            throw new IllegalArgumentException("ACME directory is not set: use letsencrypt, letsencrypt-staging or an https URL");
        }
        String d = directory.trim();
        switch (d.toLowerCase(Locale.ROOT)) {
            case "letsencrypt", "letsencrypt-production", "le", "production":
                return LETSENCRYPT;
            case "letsencrypt-staging", "le-staging", "staging":
                return LETSENCRYPT_STAGING;
            default:
                break;
        }
        URI uri;
        try {
            uri = new URI(d);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("ACME directory '" + d + "' is not a URL: " + e.getMessage());
        }
        if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("ACME directory '" + d
                    + "' must be letsencrypt, letsencrypt-staging or an https:// URL");
        }
        return d;
    }

    private static void checkEmail(String mail) {
        int at = mail.indexOf('@');
        if (at <= 0 || at == mail.length() - 1 || mail.indexOf('@', at + 1) >= 0 || mail.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("ACME contact e-mail '" + mail + "' is not an e-mail address");
        }
    }
}
