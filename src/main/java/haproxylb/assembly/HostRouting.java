package haproxylb.assembly;

/**
 * The HTTPS frontend's rules choosing a backend from the Host header, per setting {@code lb.routing.match}.
 * Measured on haproxy 2.6 here (../shared/BASELINE.md): an exact map lookup stays at ~25k req/s from 1k to 50k
 * domains, where map_dom falls to 4.2k req/s at 50k because it scans the map on every request.
 */
final class HostRouting {
    private HostRouting() {}

    static String rules(String match) {
        return switch (match) {
            // One map lookup for a host that is in the map; only a host that is not pays for the regexes and the
            // further lookups: the name without the trailing dot of a fully qualified "example.test." (which a
            // browser sends as typed, while its SNI has no dot), then its wildcard key (the first label replaced by
            // '*': a.example.test -> *.example.test). The previous rules looked each key up twice (condition, then
            // name) and ran the regex on every request: bench/routing-rules.sh measures both.
            case "exact" -> String.join("\n",
                    "    http-request set-var(txn.lb_host) req.hdr(host),lower,word(1,:)",
                    "    http-request set-var(txn.lb_backend) var(txn.lb_host),map({{backend-map}})",
                    "    http-request set-var(txn.lb_host) var(txn.lb_host),regsub(\\.$,) if { var(txn.lb_host) -m end . }"
                            + " !{ var(txn.lb_backend) -m found }",
                    "    http-request set-var(txn.lb_backend) var(txn.lb_host),map({{backend-map}})"
                            + " unless { var(txn.lb_backend) -m found }",
                    "    http-request set-var(txn.lb_backend) var(txn.lb_host),regsub(^[^.]*,*),map({{backend-map}})"
                            + " unless { var(txn.lb_backend) -m found }",
                    "    use_backend %[var(txn.lb_backend)] if { var(txn.lb_backend) -m found }");
            // The old role's semantics: a map key matches the Host as a whole dot-delimited suffix
            // (example.test also matches www.example.test), first line wins.
            case "dom" -> "    use_backend %[req.hdr(host),lower,map_dom({{backend-map}})]";
            default -> throw new IllegalArgumentException("setting lb.routing.match = '" + match
                    + "' must be 'exact' or 'dom'");
        };
    }
}
