package haproxylb.certificates.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import haproxylb.support.TestCertificates.Authority;
import haproxylb.support.TestCertificates;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CertificateIndexTest {
    private static final Instant START = Instant.parse("2025-06-01T00:00:00Z");
    private static final Instant NOW = START.plus(Duration.ofDays(10));
    private static final Authority CA = TestCertificates.rootCa("Index Root", TestCertificates.ecKey(),
            START.minus(Duration.ofDays(30)), START.plus(Duration.ofDays(3650)));

    private final List<InstalledCertificate> installed = new ArrayList<>();

    private InstalledCertificate install(String name, Instant from, Duration lifetime, String... names)
            throws CertificateProblem {
        CertificateBundle b = CertificateBundle.read(name, CA.leaf(names).validity(from, lifetime).issue().pem());
        InstalledCertificate c = new InstalledCertificate(name, Path.of(name + ".pem"), b, true);
        installed.add(c);
        return c;
    }

    private Optional<String> best(String domain) {
        return CertificateIndex.of(installed).best(domain, NOW).map(InstalledCertificate::name);
    }

    @Test
    void finds_a_certificate_by_an_exact_name_in_any_spelling() throws Exception {
        install("web", START, Duration.ofDays(90), "a.example.com", "b.example.com");

        assertEquals(Optional.of("web"), best("b.example.com"));
        assertEquals(Optional.of("web"), best("B.Example.COM."));
        assertEquals(Optional.empty(), best("c.example.com"));
    }

    @Test
    void a_wildcard_covers_exactly_one_label() throws Exception {
        install("wild", START, Duration.ofDays(90), "*.example.com");

        assertEquals(Optional.of("wild"), best("a.example.com"));
        assertEquals(Optional.of("wild"), best("*.example.com"));
        assertEquals(Optional.empty(), best("example.com"));
        assertEquals(Optional.empty(), best("a.b.example.com"));
        assertEquals(Optional.empty(), best("*.b.example.com"));
    }

    @Test
    void the_latest_expiry_wins_between_exact_and_wildcard_and_the_first_given_on_a_tie() throws Exception {
        install("exact", START, Duration.ofDays(60), "a.example.com");
        install("wild", START, Duration.ofDays(90), "*.example.com");
        install("twin", START, Duration.ofDays(90), "*.example.com");

        assertEquals(Optional.of("wild"), best("a.example.com"));
    }

    @Test
    void expired_not_yet_valid_and_fallback_certificates_never_serve() throws Exception {
        install("old", START.minus(Duration.ofDays(100)), Duration.ofDays(90), "a.example.com");
        install("future", NOW.plus(Duration.ofDays(1)), Duration.ofDays(90), "a.example.com");
        install(FallbackCertificate.NAME, START, Duration.ofDays(90), "a.example.com");

        assertEquals(Optional.empty(), best("a.example.com"));

        install("good", START, Duration.ofDays(30), "a.example.com");
        assertEquals(Optional.of("good"), best("a.example.com"));
    }
}
