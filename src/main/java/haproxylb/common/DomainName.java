package haproxylb.common;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A host name as the edge routes and certifies it: lower-case ASCII, no trailing dot, optionally one leading
 * {@code *.} label. The one place names are normalised, so "Example.TEST." in a map line, a certificate's
 * SAN and a ledger key are the same name.
 *
 * <p>{@link #of} only normalises (it is used on names that are already known good, e.g. a certificate's own
 * SANs); {@link #parse} also checks the syntax and says what is wrong, for names that come from a sender.
 */
public final class DomainName implements Comparable<DomainName> {

    private static final Pattern LABELS = Pattern.compile(
            "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");

    private final String name;

    private DomainName(String name) {
        this.name = name;
    }

    /** Normalises without judging: trims, lower-cases and drops one trailing dot. */
    public static DomainName of(String text) {
        if (text == null) {
            throw new IllegalArgumentException("a domain name is missing");
        }
        String n = text.trim().toLowerCase(Locale.ROOT);
        if (n.endsWith(".")) {
            n = n.substring(0, n.length() - 1);
        }
        if (n.isEmpty()) {
            throw new IllegalArgumentException("a domain name is empty");
        }
        return new DomainName(n);
    }

    /**
     * The name, or why it is not one: letters, digits and '-' in dot-separated labels of at most 63
     * characters, at most 253 in all, optionally "*." in front of a name of two labels or more.
     */
    public static Optional<String> problemWith(String text) {
        DomainName d;
        try {
            d = of(text);
        } catch (IllegalArgumentException e) {
            return Optional.of(e.getMessage());
        }
        String host = d.isWildcard() ? d.name.substring(2) : d.name;
        if (host.length() > 253 || !LABELS.matcher(host).matches()) {
            return Optional.of("not a valid domain name (letters, digits, '-' and dots, optionally '*.' in front;"
                    + " no port, no scheme)");
        }
        if (d.isWildcard() && !host.contains(".")) {
            return Optional.of("a wildcard needs at least two labels after '*.'");
        }
        return Optional.empty();
    }

    /** Normalises and checks; the message of the exception says what is wrong, without the name itself. */
    public static DomainName parse(String text) {
        Optional<String> problem = problemWith(text);
        if (problem.isPresent()) {
            throw new IllegalArgumentException(problem.get());
        }
        return of(text);
    }

    public boolean isWildcard() {
        return name.startsWith("*.");
    }

    /** For "*.example.test", "example.test"; for any other name, the name itself. */
    public DomainName withoutWildcard() {
        return isWildcard() ? new DomainName(name.substring(2)) : this;
    }

    /**
     * The one wildcard that covers this host besides its own name: its first label replaced by '*'
     * ("a.example.test" → "*.example.test"; RFC 6125 6.4.3: a wildcard stands for exactly one whole label, so not
     * "a.b.example.test" nor the apex). Empty for a wildcard and for a single label.
     */
    public Optional<DomainName> wildcardAbove() {
        int dot = name.indexOf('.');
        return isWildcard() || dot <= 0 ? Optional.empty() : Optional.of(new DomainName("*" + name.substring(dot)));
    }

    /** The name in its one spelling (lower case, no trailing dot). */
    public String value() {
        return name;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DomainName other && other.name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public int compareTo(DomainName o) {
        return name.compareTo(o.name);
    }

    @Override
    public String toString() {
        return name;
    }
}
