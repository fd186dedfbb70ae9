package haproxylb.certificates.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.support.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FallbackCertificateTest {
    private final MutableClock clock = MutableClock.at("2025-06-01T00:00:00Z");

    @TempDir
    Path certDir;

    @Test
    void creates_a_self_signed_p256_certificate_for_ten_years_readable_only_by_its_owner() throws Exception {
        FallbackCertificate.ensure(certDir, clock);

        Path file = certDir.resolve("fallback.pem");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        CertificateBundle b = CertificateBundle.parse("fallback.pem", Files.readString(file), clock);
        assertEquals("CN=haproxy-lb fallback", b.leaf().getSubjectX500Principal().getName());
        assertEquals(b.leaf().getSubjectX500Principal(), b.leaf().getIssuerX500Principal());
        b.leaf().verify(b.leaf().getPublicKey());
        assertEquals(256, ((ECPublicKey) b.leaf().getPublicKey()).getParams().getCurve().getField().getFieldSize());
        assertEquals(Set.of("haproxy-lb fallback"), b.dnsNames());
        Duration validity = Duration.between(b.notBefore(), b.notAfter());
        assertTrue(validity.toDays() >= 3652 && validity.toDays() <= 3654, validity.toString());
        assertTrue(b.isValidAt(clock.instant()));
    }

    @Test
    void keeps_an_existing_usable_fallback_as_it_is() throws Exception {
        FallbackCertificate.ensure(certDir, clock);
        String before = Files.readString(certDir.resolve("fallback.pem"));

        FallbackCertificate.ensure(certDir, clock);

        assertEquals(before, Files.readString(certDir.resolve("fallback.pem")));
    }

    @Test
    void replaces_an_unreadable_fallback() throws Exception {
        Files.writeString(certDir.resolve("fallback.pem"), "");

        FallbackCertificate.ensure(certDir, clock);

        CertificateBundle.parse("fallback.pem", Files.readString(certDir.resolve("fallback.pem")), clock);
    }

    @Test
    void creates_the_directory_when_it_is_missing() throws Exception {
        Path nested = certDir.resolve("a/b");

        FallbackCertificate.ensure(nested, clock);

        assertTrue(Files.exists(nested.resolve("fallback.pem")));
    }
}
