package haproxylb.certificates.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RegisteredDomainTest {
    @Test
    void takes_the_last_two_labels() {
        assertEquals("example.com", RegisteredDomain.of("www.example.com"));
        assertEquals("example.com", RegisteredDomain.of("a.b.c.example.com"));
        assertEquals("example.com", RegisteredDomain.of("example.com"));
        assertEquals("localhost", RegisteredDomain.of("localhost"));
    }

    @Test
    void takes_three_labels_under_a_known_multi_label_public_suffix() {
        assertEquals("example.co.uk", RegisteredDomain.of("new.blog.example.co.uk"));
        assertEquals("example.com.au", RegisteredDomain.of("shop.example.com.au"));
        assertEquals("example.co.uk", RegisteredDomain.of("example.co.uk"));
    }

    @Test
    void ignores_case_a_trailing_dot_and_a_wildcard_label() {
        assertEquals("example.com", RegisteredDomain.of("WWW.Example.COM."));
        assertEquals("example.com", RegisteredDomain.of("*.api.example.com"));
    }

    @Test
    void an_ip_address_is_its_own_registered_domain() {
        assertEquals("192.0.2.10", RegisteredDomain.of("192.0.2.10"));
        assertEquals("2001:db8::1", RegisteredDomain.of("2001:db8::1"));
    }
}
