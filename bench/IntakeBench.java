import haproxylb.intake.FragmentIntake;
import haproxylb.intake.FragmentReader;
import haproxylb.intake.FragmentStore;
import haproxylb.status.StatusBoard;

import com.sun.management.OperatingSystemMXBean;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Intake throughput in a storm (issue 11 item 3), the intake bean alone on a real file system: N fragment pairs
 * already in the inbox, taken in name order as the intake route takes them: polls of POLL files (default 500, the
 * default lb.intake.max-per-poll), the last of each marked as Camel marks it. "per file": every file durable before
 * the next (FragmentIntake.receive, the previous behaviour: each write fsynced on its own); "grouped": each poll's
 * writes made durable together after its last file (FragmentIntake.take, what the route does). Prints the wall
 * time and the CPU time the JVM spent meanwhile (all its threads).
 * Usage: java -cp CLASSPATH bench/IntakeBench.java N [DIR [MODES [POLL]]]   (MODES: both (default), grouped or per-file)
 */
public class IntakeBench {
    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        Path base = Path.of(args.length > 1 ? args[1] : System.getProperty("java.io.tmpdir"));
        String modes = args.length > 2 ? args[2] : "both";
        int poll = args.length > 3 ? Integer.parseInt(args[3]) : 500;
        int warmup = Integer.parseInt(System.getenv().getOrDefault("WARMUP", "0"));
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        if (warmup > 0) {
            // The daemon is long-running: a storm meets a JVM that has compiled the intake already.
            storm(warmup, base, true, poll, os, "warm-up");
        }
        for (boolean grouped : new boolean[] {false, true}) {
            if (!modes.equals("both") && modes.equals("grouped") != grouped) {
                continue;
            }
            storm(n, base, grouped, poll, os, grouped ? "grouped" : "per file");
        }
    }

    private static void storm(int n, Path base, boolean grouped, int poll, OperatingSystemMXBean os, String label)
            throws Exception {
        {
            Path state = Files.createTempDirectory(base, "intake-bench");
            Path inbox = Files.createDirectories(state.resolve("inbox"));
            StatusBoard status = new StatusBoard(state.resolve("status.json"), Clock.systemUTC());
            FragmentStore store = new FragmentStore(state, new FragmentReader(false, 1 << 20));
            FragmentIntake intake = new FragmentIntake(store, status, Clock.systemUTC());
            for (int i = 0; i < n; i++) {
                String name = String.format("f%05d", i);
                Files.writeString(inbox.resolve(name + ".cfg"), "backend be_" + name + "\n    server s1 127.0.0.1:8080\n");
                Files.writeString(inbox.resolve(name + ".map"), name + ".example.test be_" + name + "\n");
            }
            List<File> files = new ArrayList<>();
            try (Stream<Path> s = Files.list(inbox)) {
                s.sorted().forEach(p -> files.add(p.toFile()));
            }
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            for (int i = 0; i < files.size(); i++) {
                if (grouped) {
                    intake.take(files.get(i), i == files.size() - 1 || i % poll == poll - 1);
                } else {
                    intake.receive(files.get(i));
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
            long pending;
            try (Stream<Path> s = Files.list(state.resolve("pending"))) {
                pending = s.count();
            }
            System.out.printf("%-9s %6d pairs in %6.2f s: %7.0f pairs/s, CPU %5.2f s (queued: %d)%n",
                    label, n, seconds, n / seconds, cpu, pending);
        }
    }
}
