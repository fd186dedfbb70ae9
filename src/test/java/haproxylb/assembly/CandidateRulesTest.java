package haproxylb.assembly;

import static org.junit.jupiter.api.Assertions.assertEquals;

import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentProblem;
import haproxylb.intake.FragmentReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The candidate set's own rules: one owner per backend and per domain, and no fragment using another's backend. */
class CandidateRulesTest {
    private static final CandidateRules RULES = new CandidateRules(Set.of("lb_unknown_host"));
    private static final FragmentReader READER = new FragmentReader(false, 1 << 20);

    private static Fragment fragment(String name, String cfg, String map) throws FragmentProblem {
        return READER.read(name, cfg.getBytes(StandardCharsets.UTF_8), map.getBytes(StandardCharsets.UTF_8));
    }

    private static final String LIMITED = "backend limited\n"
            + "  stick-table type ip size 1k expire 1m store gpc0,http_req_rate(10s)\n"
            + "  http-request track-sc0 src\n"
            + "  http-request deny if { sc_http_req_rate(0) gt 100 }\n"
            + "  server app 10.0.0.5:8080\n";

    @Test
    void a_fragment_may_not_use_another_fragments_stick_table_servers_or_counters() throws Exception {
        Fragment owner = fragment("owner", LIMITED, "shop.example.com limited\n");
        Map<String, String> uses = Map.of(
                "  http-request track-sc1 src table limited\n  http-request sc-inc-gpc0(1)\n", "line 3",
                "  stick on src table limited\n", "line 3",
                "  http-request set-var(txn.n) src,table_gpc0(limited)\n", "line 3",
                "  http-request return status 200 content-type text/plain lf-string \"%[src_clr_gpc0(limited)]\"\n",
                "line 3",
                "  http-request deny if { sc_get_gpc0(0,limited) gt 1 }\n", "line 3",
                "  http-request deny if { nbsrv(limited) lt 1 } || { be_conn(limited) gt 9 }\n", "line 3",
                "  server copy 10.0.0.6:8080 track limited/app\n", "line 3",
                "  http-request deny if { srv_is_up(limited/app) }\n", "line 3");
        for (var use : uses.entrySet()) {
            Fragment other = fragment("other", "backend mine\n  http-request return status 200\n" + use.getKey(),
                    "blog.example.com mine\n");
            assertEquals(Optional.of("other.cfg " + use.getValue() + " uses backend 'limited' (its stick table, servers"
                    + " or counters), which fragment 'owner' defines (owner.cfg line 1); a fragment may only use its own"
                    + " backends"), RULES.check(List.of(owner, other)), use.getKey());
        }
    }

    @Test
    void its_own_backends_and_names_that_only_look_alike_are_fine() throws Exception {
        Fragment owner = fragment("owner", LIMITED, "shop.example.com limited\n");
        // a server, an ACL, a variable and a header may share a name with another fragment's backend
        Fragment other = fragment("other", "backend mine\n"
                + "  stick-table type ip size 1k store gpc0\n"
                + "  acl limited path_beg /limited\n"
                + "  http-request track-sc0 src table mine\n"
                + "  http-request set-var(txn.limited) str(limited)\n"
                + "  http-request set-header X-Limited limited if limited\n"
                + "  http-request deny if { src,table_gpc0(mine) gt 3 } || { nbsrv(mine) lt 1 }\n"
                + "  server limited 10.0.0.7:8080 track mine/app2\n"
                + "  server app2 10.0.0.8:8080 check\n", "blog.example.com mine\n");
        assertEquals(Optional.empty(), RULES.check(List.of(owner, other)));
    }

    @Test
    void a_frontend_allowed_by_allow_any_section_may_not_route_to_another_fragments_backend() throws Exception {
        Fragment owner = fragment("owner", LIMITED, "shop.example.com limited\n");
        Fragment frontend = new FragmentReader(true, 1 << 20).read("edge", ("frontend extra\n"
                + "  bind 127.0.0.1:8081\n  use_backend limited if { path_beg /shop }\n  default_backend mine\n"
                + "backend mine\n  http-request return status 200\n").getBytes(StandardCharsets.UTF_8),
                "e.example.com mine\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(Optional.of("edge.cfg line 3 uses backend 'limited' (its stick table, servers or counters), which"
                + " fragment 'owner' defines (owner.cfg line 1); a fragment may only use its own backends"),
                RULES.check(List.of(frontend, owner)));
    }

    @Test
    void a_domain_is_routed_to_a_backend_of_its_own_fragment_unless_fragments_share_backends() throws Exception {
        Fragment owner = fragment("owner", LIMITED, "shop.example.com limited\n");
        Fragment alias = fragment("alias", "backend mine\n  http-request return status 200\n",
                "blog.example.com mine\nshop-alias.example.com limited\n");
        assertEquals(Optional.of("alias.map line 2: domain 'shop-alias.example.com' is routed to backend 'limited', which"
                + " fragment 'owner' defines (owner.cfg line 1); a fragment routes its domains to its own backends"
                + " (define one in alias.cfg, or add the domain to fragment 'owner')"), RULES.check(List.of(alias, owner)));

        CandidateRules shared = new CandidateRules(Set.of("lb_unknown_host"), true);
        Fragment tracking = fragment("tracking", "backend theirs\n  http-request track-sc0 src table limited\n",
                "t.example.com theirs\n");
        assertEquals(Optional.empty(), shared.check(List.of(alias, owner, tracking)),
                "lb.fragments.policy = trusted: one team, shared backends");
    }
}
