package haproxylb.certificates.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CertificateGroupTest {
    private static Map<String, String> map(String... domainBackendPairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < domainBackendPairs.length; i += 2) {
            m.put(domainBackendPairs[i], domainBackendPairs[i + 1]);
        }
        return m;
    }

    @Test
    void one_certificate_per_backend_with_its_names_sorted() {
        List<CertificateGroup> groups = CertificateGroup.group(map(
                "www.shop.example", "shop", "api.example", "api", "shop.example", "shop"), false);

        assertEquals(List.of(
                new CertificateGroup("api", List.of("api.example")),
                new CertificateGroup("shop", List.of("shop.example", "www.shop.example"))), groups);
    }

    @Test
    void one_certificate_per_domain_when_asked() {
        List<CertificateGroup> groups = CertificateGroup.group(map(
                "www.shop.example", "shop", "api.example", "api", "shop.example", "shop"), true);

        assertEquals(List.of(
                new CertificateGroup("api.example", List.of("api.example")),
                new CertificateGroup("shop.example", List.of("shop.example")),
                new CertificateGroup("www.shop.example", List.of("www.shop.example"))), groups);
    }

    @Test
    void a_backend_with_more_than_a_hundred_names_is_split_into_certificates_of_at_most_a_hundred() {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < 250; i++) {
            m.put(String.format("h%03d.example.com", i), "big");
        }
        m.put("small.example.net", "small");

        List<CertificateGroup> groups = CertificateGroup.group(m, false);

        assertEquals(List.of("big", "big-2", "big-3", "small"), groups.stream().map(CertificateGroup::name).toList());
        assertEquals(List.of(100, 100, 50, 1), groups.stream().map(g -> g.domains().size()).toList());
        assertEquals("h000.example.com", groups.get(0).domains().get(0));
        assertEquals("h100.example.com", groups.get(1).domains().get(0));
        assertEquals("h249.example.com", groups.get(2).domains().get(49));
        assertEquals(100, CertificateGroup.MAX_NAMES_PER_CERTIFICATE);
    }

    @Test
    void the_split_size_can_be_chosen() {
        List<CertificateGroup> groups = CertificateGroup.group(map("a.x", "b", "b.x", "b", "c.x", "b"), false, 2);

        assertEquals(List.of(new CertificateGroup("b", List.of("a.x", "b.x")), new CertificateGroup("b-2", List.of("c.x"))),
                groups);
    }

    @Test
    void a_split_name_never_collides_with_another_backend() {
        List<CertificateGroup> groups = CertificateGroup.group(map("a.x", "b", "b.x", "b", "c.x", "b-2"), false, 1);

        assertEquals(3, groups.stream().map(CertificateGroup::name).distinct().count(), groups.toString());
    }

    @Test
    void the_same_map_gives_the_same_groups_whatever_its_order() {
        List<String> domains = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            domains.add("d" + i + ".example.com");
        }
        Map<String, String> first = new LinkedHashMap<>();
        domains.forEach(d -> first.put(d, "b" + (d.length() % 3)));
        Collections.shuffle(domains, new java.util.Random(4));
        Map<String, String> second = new LinkedHashMap<>();
        domains.forEach(d -> second.put(d, "b" + (d.length() % 3)));

        assertEquals(CertificateGroup.group(first, false, 4), CertificateGroup.group(second, false, 4));
        assertEquals(CertificateGroup.group(first, true), CertificateGroup.group(second, true));
    }

    @Test
    void a_wildcard_gets_a_group_of_its_own_so_it_does_not_hold_back_its_backend() {
        List<CertificateGroup> groups = CertificateGroup.group(map(
                "*.shop.example", "shop", "shop.example", "shop", "www.shop.example", "shop"), false);

        assertEquals(List.of(
                new CertificateGroup("_wildcard.shop.example", List.of("*.shop.example")),
                new CertificateGroup("shop", List.of("shop.example", "www.shop.example"))), groups);
        assertTrue(groups.get(0).isWildcard());
        assertFalse(groups.get(1).isWildcard());
    }

    @Test
    void names_are_lower_cased_and_backend_names_made_safe_for_file_names() {
        List<CertificateGroup> groups = CertificateGroup.group(map(
                "WWW.Example.COM.", "be:web/1", "www.example.com", "be:web/1"), false);

        assertEquals(List.of(new CertificateGroup("be_web_1", List.of("www.example.com"))), groups);
    }
}
