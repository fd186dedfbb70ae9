package haproxylb.certificates.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ProfileChoiceTest {

    @Test
    void the_default_applies_unless_a_name_has_an_override_and_exact_beats_wildcard() {
        ProfileChoice p = ProfileChoice.parse("shortlived", "api.shop.test=classic, *.shop.test=tlsserver");
        assertEquals(Optional.of("shortlived"), p.forDomain("www.other.test"));
        assertEquals(Optional.of("classic"), p.forDomain("api.shop.test"));
        assertEquals(Optional.of("tlsserver"), p.forDomain("www.shop.test"));
        assertEquals(Optional.of("tlsserver"), p.forDomain("*.shop.test"), "the wildcard line itself");
        assertEquals(Optional.of("shortlived"), p.forDomain("a.b.shop.test"), "one label only, as the map routes");
        assertEquals(Optional.of("shortlived"), p.forDomain("shop.test"), "the apex is not under its wildcard");
    }

    @Test
    void a_certificate_takes_the_first_override_among_its_names() {
        ProfileChoice p = ProfileChoice.parse("", "b.test=shortlived c.test=classic");
        assertEquals(Optional.of("shortlived"), p.forNames(List.of("a.test", "b.test", "c.test")));
        assertEquals(Optional.empty(), p.forNames(List.of("a.test")), "no default: the CA's default");
        assertEquals(Optional.empty(), ProfileChoice.none().forNames(List.of("a.test")));
    }

    @Test
    void a_bad_entry_is_refused_with_the_setting_and_the_entry_named() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProfileChoice.parse("", "api.test=shortlived, api2.test"));
        assertTrue(e.getMessage().contains("lb.acme.profile-by-domain entry 'api2.test'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ProfileChoice.parse("", "a.test=x, a.test=y"));
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ProfileChoice.parse("short lived!", ""));
        assertTrue(e.getMessage().startsWith("lb.acme.profile = "), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ProfileChoice.parse("", "a..test=classic"));
    }
}
