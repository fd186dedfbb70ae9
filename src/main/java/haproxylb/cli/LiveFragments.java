package haproxylb.cli;

import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentProblem;
import haproxylb.intake.FragmentReader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A live fragments directory ({@code <state>/fragments/}, or a copy of it in a CI job) read the way the daemon reads
 * it at assembly, without writing anything: NAME.cfg with NAME.map, the id from NAME.id when there is one. A
 * fragment the daemon would skip (no map, no longer parses) is skipped here too and reported.
 *
 * @param skipped one line per skipped fragment, saying why
 */
record LiveFragments(TreeMap<String, Fragment> fragments, List<String> skipped) {

    static LiveFragments read(Path dir, FragmentReader reader) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + " is not a directory of live fragments (NAME.cfg + NAME.map)");
        }
        TreeMap<String, Fragment> fragments = new TreeMap<>();
        List<String> skipped = new ArrayList<>();
        List<Path> cfgs;
        try (Stream<Path> files = Files.list(dir)) {
            cfgs = files.filter(p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".cfg") && !n.startsWith(".");
            }).sorted().toList();
        }
        for (Path cfg : cfgs) {
            String file = cfg.getFileName().toString();
            String name = file.substring(0, file.length() - 4);
            Path map = dir.resolve(name + ".map");
            if (!Files.exists(map)) {
                skipped.add(name + ": " + file + " has no " + name + ".map");
                continue;
            }
            try {
                Fragment f = reader.read(name, Files.readAllBytes(cfg), Files.readAllBytes(map));
                Path idFile = dir.resolve(name + ".id");
                String id = Files.exists(idFile) ? Files.readString(idFile).strip() : f.id();
                fragments.put(name, f.withId(id));
            } catch (FragmentProblem e) {
                skipped.add(name + ": " + e.getMessage());
            }
        }
        return new LiveFragments(fragments, List.copyOf(skipped));
    }
}
