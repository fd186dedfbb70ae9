package haproxylb.certificates.policy;

import haproxylb.common.DomainName;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Which ACME certificate profile (draft-aaron-acme-profiles: Let's Encrypt's {@code classic}, {@code tlsserver},
 * {@code shortlived}) a certificate is ordered with: the default ({@code lb.acme.profile}, empty for the CA's own
 * default) unless one of its names has an override ({@code lb.acme.profile-by-domain}). Renewals ask again, so a
 * certificate keeps its profile for as long as the settings say so.
 *
 * <p>Overrides are {@code domain=profile} entries separated by commas or white space. The domain is a name as the
 * map writes it, or {@code *.parent}, which applies to the wildcard line itself and to every name one label under
 * {@code parent} (the same names a {@code *.parent} map line routes). An exact entry wins over a wildcard one. A
 * certificate of several names takes the profile of its first name (in map order) that has an override.
 */
public final class ProfileChoice {
    private static final Pattern PROFILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern DOMAIN = Pattern.compile("(\\*\\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*");

    private final Optional<String> defaultProfile;
    private final Map<String, String> overrides;

    private ProfileChoice(Optional<String> defaultProfile, Map<String, String> overrides) {
        this.defaultProfile = defaultProfile;
        this.overrides = Map.copyOf(overrides);
    }

    /** No profile asked for: every certificate gets the CA's default. */
    public static ProfileChoice none() {
        return new ProfileChoice(Optional.empty(), Map.of());
    }

    /**
     * @param defaultProfile the {@code lb.acme.profile} setting (blank: the CA's default)
     * @param overrides      the {@code lb.acme.profile-by-domain} setting
     * @throws IllegalArgumentException naming the setting and the entry that is wrong
     */
    public static ProfileChoice parse(String defaultProfile, String overrides) {
        Optional<String> def = Optional.ofNullable(defaultProfile).map(String::strip).filter(p -> !p.isEmpty());
        def.ifPresent(p -> checkProfile(p, "lb.acme.profile = '" + p + "'"));
        Map<String, String> map = new LinkedHashMap<>();
        if (overrides != null && !overrides.isBlank()) {
            for (String entry : overrides.strip().split("[,\\s]+")) {
                int eq = entry.indexOf('=');
                String where = "lb.acme.profile-by-domain entry '" + entry + "'";
                if (eq <= 0 || eq == entry.length() - 1) {
                    throw new IllegalArgumentException(where + " must be domain=profile (e.g. api.example.com=shortlived)");
                }
                String raw = entry.substring(0, eq);
                // a lone "." normalises to nothing: keep it so the check below names it
                String domain = raw.equals(".") ? raw : DomainName.of(raw).value();
                String profile = entry.substring(eq + 1);
                if (!DOMAIN.matcher(domain).matches()) {
                    throw new IllegalArgumentException(where + ": '" + domain + "' is not a domain or *.domain");
                }
                checkProfile(profile, where);
                if (map.put(domain, profile) != null) {
                    throw new IllegalArgumentException(where + ": " + domain + " is given a profile twice");
                }
            }
        }
        return new ProfileChoice(def, map);
    }

    private static void checkProfile(String profile, String where) {
        if (!PROFILE.matcher(profile).matches()) {
            throw new IllegalArgumentException(where + ": '" + profile + "' is not a profile name (letters, digits, "
                    + "'.', '_', '-')");
        }
    }

    /** The profile for one name: its exact override, else its wildcard parent's, else the default. */
    public Optional<String> forDomain(String domain) {
        return override(domain).or(() -> defaultProfile);
    }

    /** The profile for a certificate of these names (see the class comment). */
    public Optional<String> forNames(List<String> names) {
        return names.stream().map(this::override).flatMap(Optional::stream).findFirst().or(() -> defaultProfile);
    }

    private Optional<String> override(String domain) {
        String exact = overrides.get(domain);
        if (exact != null) {
            return Optional.of(exact);
        }
        return DomainName.of(domain).wildcardAbove().map(w -> overrides.get(w.value()));
    }

    @Override
    public String toString() {
        return "profile " + defaultProfile.orElse("(CA default)") + (overrides.isEmpty() ? "" : ", overrides " + overrides);
    }
}
