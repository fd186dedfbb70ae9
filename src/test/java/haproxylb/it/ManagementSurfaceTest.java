package haproxylb.it;

import haproxylb.support.DaemonFixture;
import haproxylb.support.DaemonHarness;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 8, item 6: what the daemon exposes besides the edge. Every TCP socket this JVM listens on (found through
 * /proc/self/fd and /proc/net/tcp{,6}: the health and metrics server, the ACME responder, a JMX connector if one
 * were opened) is bound to loopback; haproxy's admin and master sockets are usable by the daemon's user only.
 * With camel.management.host set to another address, the endpoint does listen there: the setting decides.
 */
class ManagementSurfaceTest {
    @RegisterExtension
    final DaemonFixture fixture = new DaemonFixture();
    private DaemonHarness daemon;

    @Test
    void every_listening_socket_of_the_daemon_is_on_loopback_and_haproxys_sockets_are_private() throws Exception {
        daemon = fixture.daemon().with("lb.acme.directory-url", "").start();
        Map<Integer, String> listening = listeningSocketsOfThisProcess();
        assertTrue(listening.containsKey(daemon.managementPort()), "the management endpoint listens: " + listening);
        listening.forEach((port, address) -> assertTrue(address.startsWith("127.") || address.equals("::1"),
                "port " + port + " listens on " + address + ", not loopback"));
        assertFalse(System.getProperties().stringPropertyNames().stream().anyMatch(k -> k.startsWith(
                "com.sun.management.jmxremote.port")), "no remote JMX port unless an operator adds one");

        for (String socket : List.of("run/admin.sock", "run/master.sock")) {
            Path p = fixture.state().resolve(socket);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p,
                    LinkOption.NOFOLLOW_LINKS)), socket);
        }
        System.out.println("ManagementSurfaceTest: listening sockets of the daemon's JVM: " + listening);
    }

    @Test
    void the_management_host_setting_decides_where_the_endpoint_listens() throws Exception {
        daemon = fixture.daemon().with("camel.management.host", "0.0.0.0").start();
        String address = listeningSocketsOfThisProcess().get(daemon.managementPort());
        assertTrue("0.0.0.0".equals(address) || "::".equals(address), "listens on all addresses: " + address);
    }

    /** Port → local address of every TCP socket in LISTEN state whose inode is an open file of this JVM. */
    private static Map<Integer, String> listeningSocketsOfThisProcess() throws IOException {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException closedMeanwhile) {
                    // an fd closed while listing
                }
            }
        }
        Map<Integer, String> listening = new TreeMap<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            List<String> lines = Files.readAllLines(Path.of(table));
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.strip().split("\\s+");
                if (f[3].equals("0A") && inodes.contains(f[9])) { // 0A: TCP_LISTEN
                    String[] local = f[1].split(":");
                    listening.put(Integer.parseInt(local[1], 16), address(local[0]));
                }
            }
        }
        return listening;
    }

    /** /proc/net/tcp{,6} write addresses as host-order hex words. */
    private static String address(String hex) {
        if (hex.length() == 8) {
            long v = Long.parseLong(hex, 16);
            return (v & 0xff) + "." + (v >> 8 & 0xff) + "." + (v >> 16 & 0xff) + "." + (v >> 24 & 0xff);
        }
        if (hex.equals("00000000000000000000000000000000")) {
            return "::";
        }
        if (hex.equals("00000000000000000000000001000000")) {
            return "::1";
        }
        if (hex.startsWith("0000000000000000FFFF0000")) { // IPv4-mapped
            return address(hex.substring(24));
        }
        return hex;
    }
}
