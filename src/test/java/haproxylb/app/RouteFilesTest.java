package haproxylb.app;

import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.support.PluginHelper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The build's check of the operator-editable route files (the YAML DSL validator plugin is not served by the
 * registry here): every file in routes/ parses with Camel's YAML DSL, and every route has a unique explicit id
 * and a description, so JMX and the logs name it.
 */
class RouteFilesTest {
    @Test
    void every_route_file_parses_and_every_route_has_an_id_and_a_description() throws Exception {
        check(Path.of("routes"));
    }

    @Test
    void the_check_catches_a_misspelt_step_and_a_route_without_id(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("bad.camel.yaml"), """
                - route:
                    id: bad
                    description: "misspelt step"
                    from:
                      uri: "direct:x"
                      steps:
                        - bena:
                            ref: nothing
                """);
        assertThrows(Exception.class, () -> check(dir));
        Files.writeString(dir.resolve("bad.camel.yaml"), """
                - route:
                    description: "no id"
                    from:
                      uri: "direct:x"
                      steps:
                        - log:
                            message: "x"
                """);
        AssertionError e = assertThrows(AssertionError.class, () -> check(dir));
        assertTrue(e.getMessage().contains("a route without an explicit id"), e.getMessage());
    }

    private static void check(Path dir) throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".camel.yaml")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        Set<String> ids = new HashSet<>();
        for (Path file : files) {
            try (DefaultCamelContext context = new DefaultCamelContext()) {
                PluginHelper.getRoutesLoader(context).loadRoutes(
                        PluginHelper.getResourceLoader(context).resolveResource("file:" + file));
                List<RouteDefinition> routes = ((ModelCamelContext) context).getRouteDefinitions();
                assertFalse(routes.isEmpty(), file + " defines no route");
                for (RouteDefinition r : routes) {
                    assertTrue(r.hasCustomIdAssigned(), file + ": a route without an explicit id");
                    assertTrue(ids.add(r.getId()), file + ": route id '" + r.getId() + "' is used twice");
                    assertNotNull(r.getDescriptionText(), file + ": route '" + r.getId() + "' has no description");
                }
            }
        }
    }
}
