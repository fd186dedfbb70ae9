package haproxylb.it;

import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.support.DaemonFixture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static haproxylb.support.DaemonHarness.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Setting lb.haproxy.huge-pages (supervise mode): the haproxy the daemon starts, master and worker, runs with glibc's
 * malloc asking for transparent huge pages; turned off, it runs with the daemon's own environment.
 */
class HaproxyHugePagesTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final String TUNABLE = "GLIBC_TUNABLES=glibc.malloc.hugetlb=1";

    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();

    @Test
    void haproxy_runs_with_the_huge_pages_tunable_by_default() throws Exception {
        List<List<String>> environments = haproxyEnvironments(fixture.daemon().start().context()
                .getRegistry().lookupByNameAndType("haproxySupervisor", HaproxySupervisor.class));
        environments.forEach(env -> assertEquals(List.of(TUNABLE), tunables(env), "master and worker"));
    }

    @Test
    void turned_off_haproxy_gets_the_daemons_environment() throws Exception {
        List<List<String>> environments = haproxyEnvironments(fixture.daemon().with("lb.haproxy.huge-pages", "false")
                .start().context().getRegistry().lookupByNameAndType("haproxySupervisor", HaproxySupervisor.class));
        String own = System.getenv("GLIBC_TUNABLES");
        environments.forEach(env -> assertEquals(own == null ? List.of() : List.of("GLIBC_TUNABLES=" + own),
                tunables(env), "master and worker"));
    }

    /** The environments of the haproxy master and its worker, from /proc. */
    private static List<List<String>> haproxyEnvironments(HaproxySupervisor supervisor) throws IOException {
        ProcessHandle master = ProcessHandle.of(supervisor.masterPid().orElseThrow()).orElseThrow();
        await("haproxy's worker", LIMIT, () -> master.children().findAny().isPresent());
        ProcessHandle worker = master.children().findFirst().orElseThrow();
        return List.of(environment(master.pid()), environment(worker.pid()));
    }

    private static List<String> tunables(List<String> environment) {
        return environment.stream().filter(v -> v.startsWith("GLIBC_TUNABLES=")).toList();
    }

    private static List<String> environment(long pid) throws IOException {
        return Arrays.asList(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/environ")),
                StandardCharsets.UTF_8).split("\0"));
    }
}
