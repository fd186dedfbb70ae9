package haproxylb.cli;

import haproxylb.assembly.ConfigAssembler;
import haproxylb.assembly.ConfigTemplate;
import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentReader;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FragmentDiffTest {
    private static final ConfigAssembler ASSEMBLER = new ConfigAssembler(ConfigTemplate.of("base.template", """
            frontend https
                use_backend %[req.hdr(host),map({{backend-map}})]
            """), Map.of());

    private static Fragment fragment(String name, String cfg, String map) throws Exception {
        return new FragmentReader(false, 1 << 20).read(name, cfg.getBytes(), map.getBytes());
    }

    private static final String CFG = "backend be_web\n    server s1 127.0.0.1:8001\n    timeout server 5s\n";
    private static final String MAP = "web.example.test be_web\nold.example.test be_web\napi.example.test be_web\n";

    @Test
    void names_removed_and_added_lines_domains_added_removed_and_moved_and_a_reload() throws Exception {
        Fragment live = fragment("web", CFG, MAP);
        Fragment next = fragment("web", "backend be_web\n    server s1 127.0.0.1:8002\n    timeout server 5s\n"
                + "backend be_api\n    server a1 127.0.0.1:9000\n",
                "web.example.test be_web\napi.example.test be_api\nnew.example.test be_web\n");
        assertEquals("fragment 'web': live version " + live.id() + " -> version " + next.id() + "\n"
                + "web.cfg:\n"
                + "  - 2:     server s1 127.0.0.1:8001\n"
                + "  + 2:     server s1 127.0.0.1:8002\n"
                + "  + 4: backend be_api\n"
                + "  + 5:     server a1 127.0.0.1:9000\n"
                + "web.map:\n"
                + "  ~ api.example.test: be_web -> be_api\n"
                + "  + new.example.test -> be_web\n"
                + "  - old.example.test (was -> be_web)\n"
                + "goes live: with a reload of haproxy (haproxy.cfg changes)\n",
                FragmentDiff.describe(Map.of("web", live), next, ASSEMBLER, "/x/backend.map", true));
    }

    @Test
    void a_change_of_map_lines_only_goes_through_the_runtime_api_unless_that_is_switched_off() throws Exception {
        Fragment live = fragment("web", CFG, MAP);
        Fragment next = fragment("web", CFG, MAP + "more.example.test be_web\n");
        String diff = FragmentDiff.describe(Map.of("web", live), next, ASSEMBLER, "/x/backend.map", true);
        assertEquals(List.of("web.cfg: no config line changes", "web.map:", "  + more.example.test -> be_web",
                "goes live: through haproxy's runtime API, without a reload (only backend map lines change)"),
                diff.lines().skip(1).toList());
        assertEquals(FragmentDiff.Effect.RELOAD_MAP,
                FragmentDiff.effect(Map.of("web", live), next, ASSEMBLER, "/x/backend.map", false));
    }

    @Test
    void comments_in_the_map_change_nothing_but_comments_in_the_config_need_a_reload() throws Exception {
        Fragment live = fragment("web", CFG, MAP);
        assertEquals(FragmentDiff.Effect.NOTHING, FragmentDiff.effect(Map.of("web", live),
                fragment("web", CFG, "# moved\n" + MAP), ASSEMBLER, "/m", true));
        assertEquals(FragmentDiff.Effect.RELOAD, FragmentDiff.effect(Map.of("web", live),
                fragment("web", "# note\n" + CFG, MAP), ASSEMBLER, "/m", true));
    }

    @Test
    void a_new_fragment_is_all_additions() throws Exception {
        Fragment next = fragment("shop", "backend be_shop\n", "shop.test be_shop\n");
        assertEquals("fragment 'shop': not live now -> version " + next.id() + "\n"
                + "shop.cfg:\n  + 1: backend be_shop\n"
                + "shop.map:\n  + shop.test -> be_shop\n"
                + "goes live: with a reload of haproxy (haproxy.cfg changes)\n",
                FragmentDiff.describe(Map.of(), next, ASSEMBLER, "/m", true));
    }

    @Test
    void the_line_diff_is_minimal_around_moved_blocks() {
        assertEquals(List.of("- 1: a", "+ 3: a"), FragmentDiff.lineChanges("a\nb\nc\n", "b\nc\na\n"));
        assertEquals(List.of(), FragmentDiff.lineChanges("a\nb", "a\nb\n"));
        assertEquals(List.of("- 2: x", "+ 2: y", "+ 3: z"), FragmentDiff.lineChanges("a\nx\nb\n", "a\ny\nz\nb\n"));
    }
}
