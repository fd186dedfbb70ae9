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
            // The wildcard key is the host with its first label replaced by '*': a.example.test → *.example.test.
            // Variables, because a regex's brackets cannot stand inside a %[...] expression.
            case "exact" -> String.join("\n",
                    "    http-request set-var(txn.lb_host) req.hdr(host),lower,word(1,:)",
                    "    http-request set-var(txn.lb_wildcard) var(txn.lb_host),regsub(^[^.]*,*)",
                    "    use_backend %[var(txn.lb_host),map({{backend-map}})] if { var(txn.lb_host),map({{backend-map}}) -m found }",
                    "    use_backend %[var(txn.lb_wildcard),map({{backend-map}})] if { var(txn.lb_wildcard),map({{backend-map}}) -m found }");
            // The old role's semantics: a map key matches the Host as a whole dot-delimited suffix
            // (example.test also matches www.example.test), first line wins.
            case "dom" -> "    use_backend %[req.hdr(host),lower,map_dom({{backend-map}})]";
            default -> throw new IllegalArgumentException("setting lb.routing.match = '" + match
                    + "' must be 'exact' or 'dom'");
        };
    }
}
