package haproxylb.common;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What the state directory's file system does not give the daemon, said once at start-up: ext4 without its journal
 * (the intake's batches rely on ordered metadata across a crash, and every new file scans the inodes deleted in the
 * last 30 s: storms run several times slower, bench/README "Storms, 2026-11-30"), or a file system in memory (the
 * fragments, certificates and ACME account are gone at the next boot).
 */
public final class StateFileSystem {
    private static final Path JOURNALS = Path.of("/proc/fs/jbd2");

    private StateFileSystem() {}

    /** The problem with {@code stateDir}'s file system, if there is one this process can be sure of. */
    public static Optional<String> problem(Path stateDir) {
        try {
            FileStore store = Files.getFileStore(stateDir);
            return problem(stateDir, store.type(), kernelDevice(store.name()), journals());
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // nothing known for sure: nothing to say
        }
    }

    /**
     * @param kernelDevice the device's kernel name (vda, dm-0, loop0), when known
     * @param journals     the entries of /proc/fs/jbd2 (one per journal: DEVICE-INODE), when it can be read
     */
    static Optional<String> problem(Path stateDir, String type, Optional<String> kernelDevice,
                                    Optional<Set<String>> journals) {
        if (type.equals("tmpfs") || type.equals("ramfs")) {
            return Optional.of("The state directory " + stateDir + " is on " + type + ": its fragments, certificates"
                    + " and ACME account are gone at the next boot. Set lb.state-dir to a directory on disk.");
        }
        if (type.equals("ext4") && kernelDevice.isPresent() && journals.isPresent()
                && journals.get().stream().noneMatch(j -> j.startsWith(kernelDevice.get() + "-"))) {
            return Optional.of("The state directory " + stateDir + " is on ext4 without its journal (/dev/"
                    + kernelDevice.get() + "): a crash may leave the intake's batches out of order, and storms of"
                    + " fragments run several times slower (README, \"What an acknowledged change is owed\"). Put it on"
                    + " a journaling file system (ext4 has one by default; tune2fs -O has_journal adds it).");
        }
        return Optional.empty();
    }

    /** /dev/mapper/vg-root → dm-0: /proc/fs/jbd2 names journals by the kernel's device name. */
    private static Optional<String> kernelDevice(String storeName) {
        try {
            Path device = Path.of(storeName);
            if (!device.isAbsolute() || !Files.exists(device)) {
                return Optional.empty();
            }
            return Optional.of(device.toRealPath().getFileName().toString());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<Set<String>> journals() {
        if (!Files.isDirectory(JOURNALS)) {
            return Optional.empty();
        }
        try (Stream<Path> entries = Files.list(JOURNALS)) {
            return Optional.of(entries.map(p -> p.getFileName().toString()).collect(Collectors.toSet()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
