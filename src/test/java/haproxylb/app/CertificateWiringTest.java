package haproxylb.app;

import haproxylb.common.Settings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.certificates.policy.RateLimitLedger;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CertificateWiringTest {
    private static Settings settings(Map<String, String> values) {
        return new Settings(key -> Optional.ofNullable(values.get(key)));
    }

    @Test
    void the_probe_reaches_a_wildcard_http_bind_through_loopback() {
        assertEquals(new InetSocketAddress("127.0.0.1", 80), CertificateWiring.probeAddress(":80"));
        assertEquals(new InetSocketAddress("127.0.0.1", 80), CertificateWiring.probeAddress("*:80"));
        assertEquals(new InetSocketAddress("127.0.0.1", 80), CertificateWiring.probeAddress("0.0.0.0:80"));
        assertEquals(new InetSocketAddress("::1", 80), CertificateWiring.probeAddress("[::]:80"));
        assertEquals(new InetSocketAddress("::1", 80), CertificateWiring.probeAddress("ipv6@:::80"));
        assertEquals(new InetSocketAddress("127.0.0.1", 18080), CertificateWiring.probeAddress("127.0.0.1:18080"));
        assertEquals(new InetSocketAddress("203.0.113.7", 80),
                CertificateWiring.probeAddress("203.0.113.7:80,198.51.100.7:80"), "the first address of a list");
    }

    @Test
    void a_bind_without_a_port_is_refused_naming_the_setting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CertificateWiring.hostPort("lb.acme.responder", "127.0.0.1"));
        assertTrue(e.getMessage().contains("lb.acme.responder"), e.getMessage());
    }

    @Test
    void limits_and_grouping_come_from_settings_with_safe_defaults() {
        assertEquals(RateLimitLedger.Limits.LETS_ENCRYPT, CertificateWiring.limits(settings(Map.of())));
        assertEquals(RateLimitLedger.Limits.unlimited(),
                CertificateWiring.limits(settings(Map.of("lb.acme.limits", "unlimited"))));
        assertThrows(IllegalArgumentException.class,
                () -> CertificateWiring.limits(settings(Map.of("lb.acme.limits", "none"))));
        assertFalse(CertificateWiring.perDomain(settings(Map.of())));
        assertTrue(CertificateWiring.perDomain(settings(Map.of("lb.certs.per", "domain"))));
        assertThrows(IllegalArgumentException.class,
                () -> CertificateWiring.perDomain(settings(Map.of("lb.certs.per", "fragment"))));
    }
}
