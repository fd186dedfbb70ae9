package haproxylb.haproxy;

import java.util.Map;

/**
 * Setting lb.haproxy.huge-pages: haproxy started with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, so that glibc's malloc
 * (2.35 and later) asks the kernel for transparent huge pages (madvise) for its heap. haproxy keeps every map entry
 * and one struct per backend there; a request for a host not asked for recently walks through tens of MB of it, and
 * on 4 KiB pages each of those steps is also a TLB miss (bench/routing-rules.sh, variant thp). Without effect where
 * transparent huge pages are "never", or with an older glibc, which ignores the tunable.
 */
final class MallocHugePages {
    static final String VARIABLE = "GLIBC_TUNABLES";
    private static final String TUNABLE = "glibc.malloc.hugetlb";

    private MallocHugePages() {
    }

    /** Adds the tunable to a process environment; a value of it already there (the operator's own) is kept. */
    static void ask(Map<String, String> environment) {
        environment.merge(VARIABLE, TUNABLE + "=1",
                (own, added) -> own.contains(TUNABLE + "=") ? own : own.isEmpty() ? added : own + ":" + added);
    }
}
