package haproxylb.haproxy;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class MallocHugePagesTest {
    @Test
    void sets_the_tunable_when_there_is_none() {
        Map<String, String> env = new HashMap<>(Map.of("PATH", "/usr/bin"));
        MallocHugePages.ask(env);
        assertEquals("glibc.malloc.hugetlb=1", env.get("GLIBC_TUNABLES"));
    }

    @Test
    void keeps_the_operators_other_tunables() {
        Map<String, String> env = new HashMap<>(Map.of("GLIBC_TUNABLES", "glibc.malloc.arena_max=2"));
        MallocHugePages.ask(env);
        assertEquals("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1", env.get("GLIBC_TUNABLES"));
    }

    @Test
    void keeps_the_operators_own_choice_of_huge_pages() {
        Map<String, String> env = new HashMap<>(Map.of("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0"));
        MallocHugePages.ask(env);
        assertEquals("glibc.malloc.hugetlb=0", env.get("GLIBC_TUNABLES"));
    }

    @Test
    void an_empty_variable_gets_the_tunable_alone() {
        Map<String, String> env = new HashMap<>(Map.of("GLIBC_TUNABLES", ""));
        MallocHugePages.ask(env);
        assertEquals("glibc.malloc.hugetlb=1", env.get("GLIBC_TUNABLES"));
    }
}
