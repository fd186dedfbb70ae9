package haproxylb.certificates.policy;

import haproxylb.common.DomainName;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The names that share one certificate, and the name that certificate is stored under.
 *
 * @param name    the certificate's store name ({@code <certDir>/<name>.pem}) and the backoff key of the group: the
 *                backend's name (characters outside {@code [A-Za-z0-9._-]} replaced by {@code _}), or the domain in
 *                per-domain mode; split groups get {@code -2}, {@code -3}, ...; a wildcard gets
 *                {@code _wildcard.<rest>} (an underscore cannot start a hostname a CA would certify, so it never
 *                collides with a domain)
 * @param domains lower-case, sorted, without duplicates
 */
public record CertificateGroup(String name, List<String> domains) {
    /**
     * At most this many names per certificate: Let's Encrypt's "up to 100 identifiers per certificate"
     * (https://letsencrypt.org/docs/rate-limits/, New Orders per Account).
     */
    public static final int MAX_NAMES_PER_CERTIFICATE = 100;
    static final String WILDCARD_PREFIX = "_wildcard";
    private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._-]");

    public CertificateGroup {
        Objects.requireNonNull(name, "name");
        domains = List.copyOf(domains);
    }

    /** True when the group is a wildcard name, which HTTP-01 cannot validate (RFC 8555 section 8.3; Let's Encrypt requires DNS-01 for wildcards). */
    public boolean isWildcard() {
        return domains.stream().anyMatch(d -> d.startsWith("*."));
    }

    /** {@link #group(Map, boolean, int)} with at most {@value #MAX_NAMES_PER_CERTIFICATE} names per certificate. */
    public static List<CertificateGroup> group(Map<String, String> domainToBackend, boolean perDomain) {
        return group(domainToBackend, perDomain, MAX_NAMES_PER_CERTIFICATE);
    }

    /**
     * Groups the domains of the backend map into certificates: one per backend (as the old role did), or one per
     * domain when {@code perDomain}. A wildcard key ({@code *.example.com}) always gets a group of its own, so that it
     * (which cannot be issued over HTTP-01) does not hold back the other names of its backend. A backend with more
     * than {@code maxNamesPerCert} names is split into groups of that size, in alphabetical order of the names.
     * The result is sorted by group name and the same for the same map.
     *
     * <p>Known limitation of the split: adding a name to a backend of more than {@code maxNamesPerCert} names shifts
     * the names of the later groups, which then need new certificates.
     */
    public static List<CertificateGroup> group(Map<String, String> domainToBackend, boolean perDomain,
                                               int maxNamesPerCert) {
        return group(domainToBackend, perDomain, maxNamesPerCert, true);
    }

    /**
     * As {@link #group(Map, boolean, int)}; with {@code wildcardsApart} false (DNS-01 can validate wildcards), a
     * wildcard is grouped with its backend like any other name, so {@code *.example.com} and {@code example.com} of
     * one backend share a certificate.
     */
    public static List<CertificateGroup> group(Map<String, String> domainToBackend, boolean perDomain,
                                               int maxNamesPerCert, boolean wildcardsApart) {
        if (maxNamesPerCert < 1) {
            throw new IllegalArgumentException("maxNamesPerCert must be at least 1, got " + maxNamesPerCert);
        }
        Map<String, TreeSet<String>> byName = new TreeMap<>();
        // many domains share a backend: its file-safe name is worked out once
        Map<String, String> safeNames = new HashMap<>();
        new TreeMap<>(domainToBackend).forEach((rawDomain, backend) -> {
            if (rawDomain.isBlank() || rawDomain.strip().equals(".")) {
                return; // no name
            }
            String domain = DomainName.of(rawDomain).value();
            String name;
            if (domain.startsWith("*.") && (wildcardsApart || perDomain)) {
                name = WILDCARD_PREFIX + domain.substring(1);
            } else if (perDomain) {
                name = domain;
            } else {
                name = safeNames.computeIfAbsent(backend, CertificateGroup::fileSafe);
            }
            byName.computeIfAbsent(name, k -> new TreeSet<>()).add(domain);
        });
        List<CertificateGroup> groups = new ArrayList<>();
        Set<String> taken = new HashSet<>(byName.keySet());
        byName.forEach((name, domains) -> {
            List<String> all = new ArrayList<>(domains);
            for (int from = 0, part = 1; from < all.size(); from += maxNamesPerCert, part++) {
                String partName = name;
                if (part > 1) {
                    partName = name + "-" + part;
                    while (!taken.add(partName)) {
                        partName = partName + "-" + part;
                    }
                }
                groups.add(new CertificateGroup(partName,
                        all.subList(from, Math.min(all.size(), from + maxNamesPerCert))));
            }
        });
        groups.sort((a, b) -> a.name().compareTo(b.name()));
        return groups;
    }

    private static String fileSafe(String backend) {
        String trimmed = backend.trim();
        String safe = isSafe(trimmed) ? trimmed : UNSAFE.matcher(trimmed).replaceAll("_");
        if (safe.isEmpty() || safe.startsWith(".") || safe.startsWith("-")) {
            safe = "_" + safe;
        }
        return safe.length() > 150 ? safe.substring(0, 150) : safe;
    }

    /** No character {@link #UNSAFE} would replace: the usual backend name, checked without a regular expression. */
    private static boolean isSafe(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
                    || c == '-')) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return name + domains;
    }
}
