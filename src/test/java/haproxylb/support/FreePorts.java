package haproxylb.support;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;

/**
 * Loopback ports for the servers tests start (haproxy, Pebble, ZooKeeper, named, the daemon's own listeners), safe
 * when Surefire runs test classes in parallel JVMs:
 * <ul>
 * <li>below the kernel's ephemeral range, so no outgoing connection of any process takes a port between its choice
 * and the server's bind (with {@code bind(0)} that happened);</li>
 * <li>each Surefire fork counts through its own slice of that range ({@code test.fork}, set from
 * {@code surefire.forkNumber} in the pom, of {@code test.forks} slices), so two forks never choose the same
 * port;</li>
 * <li>never the same port twice in one JVM, so a port a closed server released is not handed to the next one
 * while its old listener may still be closing;</li>
 * <li>free for TCP and UDP when chosen (the DNS servers need both), which also steps over ports that another
 * checkout's test run holds.</li>
 * </ul>
 */
public final class FreePorts {
    private static final int LOWEST = 10000;
    /** As many slices as Surefire runs forks (surefire.forkNumber goes from 1 to forkCount). */
    private static final int SLICES = Math.max(1, Integer.getInteger("test.forks", 4));
    private static final Slice SLICE = Slice.ofThisFork();

    private FreePorts() {}

    /** A port free on 127.0.0.1 (TCP and UDP) that this JVM has not handed out before. */
    public static int next() {
        return SLICE.next();
    }

    /** The first of {@code n} consecutive ports, each as {@link #next()} (for a server that takes port, port + 2). */
    public static int consecutive(int n) {
        return SLICE.consecutive(n);
    }

    /** {@code n} distinct ports, as {@link #next()}. */
    public static int[] next(int n) {
        int[] ports = new int[n];
        for (int i = 0; i < n; i++) {
            ports[i] = next();
        }
        return ports;
    }

    private static final class Slice {
        private final int first;
        private final int size;
        private int offset;
        private int handedOut;

        private Slice(int first, int size) {
            this.first = first;
            this.size = size;
            // another checkout's run with the same fork number starts elsewhere in the slice
            this.offset = ThreadLocalRandom.current().nextInt(size);
        }

        static Slice ofThisFork() {
            int ephemeralStart = ephemeralRangeStart();
            int sliceSize = (ephemeralStart - LOWEST) / SLICES;
            int fork = Integer.getInteger("test.fork", 1);
            int index = Math.floorMod(fork - 1, SLICES);
            return new Slice(LOWEST + index * sliceSize, sliceSize);
        }

        synchronized int next() {
            while (handedOut < size) {
                int port = first + offset;
                offset = (offset + 1) % size;
                handedOut++;
                if (free(port)) {
                    return port;
                }
            }
            throw new IllegalStateException("no free loopback port left in " + first + "-" + (first + size - 1));
        }

        synchronized int consecutive(int n) {
            while (handedOut + n <= size) {
                if (offset + n > size) {
                    handedOut += size - offset;
                    offset = 0;
                    continue;
                }
                int start = first + offset;
                offset = (offset + n) % size;
                handedOut += n;
                if (IntStream.range(start, start + n).allMatch(Slice::free)) {
                    return start;
                }
            }
            throw new IllegalStateException("no " + n + " consecutive free loopback ports left in " + first + "-"
                    + (first + size - 1));
        }

        private static boolean free(int port) {
            InetAddress loopback = InetAddress.getLoopbackAddress();
            try (ServerSocket tcp = new ServerSocket(port, 1, loopback);
                 DatagramSocket udp = new DatagramSocket(new InetSocketAddress(loopback, port))) {
                return true;
            } catch (IOException busy) {
                return false;
            }
        }

        /** The first port the kernel hands to outgoing connections (32768 on Debian). */
        private static int ephemeralRangeStart() {
            try {
                String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
                int start = Integer.parseInt(range.split("\\s+")[0]);
                if (start >= LOWEST + 1000 * SLICES) {
                    return start;
                }
            } catch (IOException | RuntimeException unreadable) {
                // the Debian default below
            }
            return 32768;
        }
    }
}
