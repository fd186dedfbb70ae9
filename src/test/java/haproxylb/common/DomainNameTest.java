package haproxylb.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class DomainNameTest {

    @Test
    void oneSpellingForEveryWayOfWritingAName() {
        assertEquals(DomainName.of("example.test"), DomainName.of(" Example.TEST. "));
        assertEquals("example.test", DomainName.of("EXAMPLE.test.").value());
    }

    @Test
    void wildcardCoversExactlyOneMoreLabel() {
        DomainName wildcard = DomainName.of("*.example.test");
        assertEquals(Optional.of(wildcard), DomainName.of("a.example.test").wildcardAbove());
        assertNotEquals(Optional.of(wildcard), DomainName.of("a.b.example.test").wildcardAbove());
        assertNotEquals(Optional.of(wildcard), DomainName.of("example.test").wildcardAbove());
        assertEquals(Optional.empty(), wildcard.wildcardAbove(), "a wildcard is covered by itself only");
        assertEquals(Optional.empty(), DomainName.of("localhost").wildcardAbove());
        assertEquals(DomainName.of("example.test"), wildcard.withoutWildcard());
    }

    @Test
    void parseRefusesWhatIsNotAHostName() {
        for (String bad : new String[] {"", "  ", "exa mple.test", "example.test:443", "http://example.test",
                "-a.test", "a..test", "*.test", "*.*.example.test", "a".repeat(64) + ".test", "ex\u00e4mple.test"}) {
            assertThrows(IllegalArgumentException.class, () -> DomainName.parse(bad), bad);
        }
        assertEquals("*.example.test", DomainName.parse("*.Example.test").value());
        assertTrue(DomainName.problemWith("xn--bcher-kva.example").isEmpty());
    }
}
