package haproxylb.certificates.policy;

import haproxylb.common.DomainName;
import java.util.Arrays;
import java.util.Set;

/**
 * The "registered domain" of a hostname, the unit of Let's Encrypt's certificates-per-registered-domain limit
 * (www.example.com → example.com, new.blog.example.co.uk → example.co.uk).
 *
 * <p>Let's Encrypt computes it with the Public Suffix List (https://publicsuffix.org/). This class deliberately does
 * not ship that list (about 10,000 rules that go stale): it takes the last two labels, or the last three when the last
 * two are one of the common multi-label public suffixes below. The simplification errs on the safe side: for a name
 * under a multi-label suffix missing here (say foo.example.gov.xx), the result is the shorter gov.xx, which lumps more
 * certificates into one bucket, so the local ledger refuses earlier than Let's Encrypt would, never later. Private
 * suffixes of the list (github.io, ...) are treated the same way, again on the safe side.
 */
public final class RegisteredDomain {
    /**
     * Common two-label public suffixes (ICANN section of the Public Suffix List). Not complete by design; see the
     * class comment for why missing entries only make the ledger stricter. Only add entries that are on the list: a
     * wrong one would split one registered domain into several buckets and make the ledger looser than the CA.
     */
    static final Set<String> MULTI_LABEL_SUFFIXES = Set.of(
            "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "ac.uk", "gov.uk",
            "com.au", "net.au", "org.au", "edu.au", "gov.au", "id.au", "asn.au",
            "co.nz", "net.nz", "org.nz", "ac.nz", "govt.nz",
            "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp",
            "co.za", "org.za", "net.za", "gov.za", "ac.za",
            "com.br", "net.br", "org.br", "gov.br", "edu.br",
            "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn",
            "com.hk", "net.hk", "org.hk", "edu.hk", "gov.hk",
            "com.tw", "net.tw", "org.tw", "edu.tw", "gov.tw",
            "com.sg", "net.sg", "org.sg", "edu.sg", "gov.sg",
            "com.mx", "net.mx", "org.mx", "gob.mx", "edu.mx",
            "com.ar", "net.ar", "org.ar", "gob.ar", "edu.ar",
            "com.tr", "net.tr", "org.tr", "gov.tr", "edu.tr",
            "co.in", "net.in", "org.in", "ac.in", "gov.in", "edu.in",
            "co.kr", "or.kr", "ne.kr", "ac.kr", "go.kr",
            "co.il", "org.il", "net.il", "ac.il", "gov.il",
            "com.pl", "net.pl", "org.pl", "edu.pl", "gov.pl",
            "com.ua", "net.ua", "org.ua", "gov.ua", "edu.ua",
            "co.id", "or.id", "ac.id", "go.id",
            "com.my", "net.my", "org.my", "gov.my", "edu.my",
            "com.ph", "net.ph", "org.ph", "gov.ph", "edu.ph",
            "co.th", "in.th", "or.th", "ac.th", "go.th",
            "com.vn", "net.vn", "org.vn", "gov.vn", "edu.vn",
            "com.co", "net.co", "org.co", "gov.co", "edu.co",
            "com.pe", "net.pe", "org.pe", "gob.pe", "edu.pe",
            "com.eg", "net.eg", "org.eg", "gov.eg", "edu.eg",
            "com.sa", "net.sa", "org.sa", "gov.sa", "edu.sa",
            "com.ng", "net.ng", "org.ng", "gov.ng", "edu.ng",
            "co.ke", "or.ke", "ac.ke", "go.ke");

    private RegisteredDomain() {}

    /**
     * The registered domain of {@code hostname} (lower-cased, trailing dot and a leading {@code *.} removed). An IP
     * address is its own registered domain, as for Let's Encrypt's IPv4 certificates.
     */
    public static String of(String hostname) {
        String name = DomainName.of(hostname).withoutWildcard().value();
        if (name.contains(":") || name.matches("[0-9.]+")) {
            return name;
        }
        String[] labels = name.split("\\.");
        if (labels.length <= 2) {
            return name;
        }
        String lastTwo = labels[labels.length - 2] + "." + labels[labels.length - 1];
        int keep = MULTI_LABEL_SUFFIXES.contains(lastTwo) ? 3 : 2;
        return String.join(".", Arrays.copyOfRange(labels, labels.length - keep, labels.length));
    }
}
