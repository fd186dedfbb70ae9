package haproxylb.app;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No package depends on itself through others (issue 9): the stages read as a one-way flow, app wiring at the top.
 * A scan of the main sources' imports (same-package references need no import, and there are no wildcard imports of
 * project packages), then a depth-first search for a cycle, which the failure names. Checked twice: between the
 * top-level packages, and between all packages with their subpackages apart ({@code certificates.store},
 * {@code certificates.policy}, ...).
 */
class PackageCyclesTest {
    private static final Path SOURCES = Path.of("src/main/java/haproxylb");
    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?haproxylb\\.([a-z]+)\\.", Pattern.MULTILINE);
    private static final Pattern IMPORT_FULL =
            Pattern.compile("^import (?:static )?haproxylb\\.((?:[a-z]+\\.)*[a-z]+)\\.[A-Z]", Pattern.MULTILINE);

    /** Top-level package → the top-level packages it imports from. */
    static Map<String, Set<String>> dependencies(Path root) throws IOException {
        return dependencies(root, IMPORT, file -> root.relativize(file).getName(0).toString());
    }

    /** Package (subpackages apart, as "certificates.store") → the packages it imports from. */
    static Map<String, Set<String>> subpackageDependencies(Path root) throws IOException {
        return dependencies(root, IMPORT_FULL, file -> root.relativize(file.getParent()).toString().replace('/', '.'));
    }

    private static Map<String, Set<String>> dependencies(Path root, Pattern imports, Function<Path, String> packageOf)
            throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String pkg = packageOf.apply(file);
                Set<String> deps = graph.computeIfAbsent(pkg, k -> new TreeSet<>());
                Matcher m = imports.matcher(Files.readString(file));
                while (m.find()) {
                    if (!m.group(1).equals(pkg)) {
                        deps.add(m.group(1));
                    }
                }
            }
        }
        return graph;
    }

    /** The first cycle found, as "a -> b -> a", or empty. */
    static List<String> cycle(Map<String, Set<String>> graph) {
        Set<String> done = new TreeSet<>();
        for (String start : graph.keySet()) {
            List<String> found = visit(start, graph, new ArrayDeque<>(), done);
            if (!found.isEmpty()) {
                return found;
            }
        }
        return List.of();
    }

    private static List<String> visit(String pkg, Map<String, Set<String>> graph, Deque<String> path, Set<String> done) {
        if (path.contains(pkg)) {
            List<String> loop = new ArrayList<>(path);
            Collections.reverse(loop);
            loop = new ArrayList<>(loop.subList(loop.indexOf(pkg), loop.size()));
            loop.add(pkg);
            return loop;
        }
        if (done.contains(pkg)) {
            return List.of();
        }
        path.push(pkg);
        for (String next : graph.getOrDefault(pkg, Set.of())) {
            List<String> found = visit(next, graph, path, done);
            if (!found.isEmpty()) {
                return found;
            }
        }
        path.pop();
        done.add(pkg);
        return List.of();
    }

    @Test
    void the_main_packages_have_no_dependency_cycle() throws IOException {
        Map<String, Set<String>> graph = dependencies(SOURCES);
        assertTrue(graph.size() > 5, "packages found: " + graph.keySet());
        assertEquals(List.of(), cycle(graph), "package cycle; dependencies: " + graph);
    }

    @Test
    void the_subpackages_have_no_dependency_cycle() throws IOException {
        Map<String, Set<String>> graph = subpackageDependencies(SOURCES);
        assertTrue(graph.containsKey("certificates.store"), "packages found: " + graph.keySet());
        assertTrue(graph.get("certificates.maintenance").contains("certificates.policy"), "dependencies: " + graph);
        assertEquals(List.of(), cycle(graph), "package cycle; dependencies: " + graph);
    }

    @Test
    void the_search_finds_a_cycle_through_three_packages() {
        Map<String, Set<String>> graph = Map.of("app", Set.of("monitoring"), "monitoring", Set.of("cli"),
                "cli", Set.of("app"), "common", Set.of());
        assertEquals(List.of("app", "monitoring", "cli", "app"), cycle(new TreeMap<>(graph)));
    }
}
