package haproxylb.assembly;

import haproxylb.common.Settings;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** The base template's {{name}} values, from the settings: one place for the daemon and haproxy-config check. */
public final class TemplateValues {
    /** Backends of the base template that a map line may name (the unknown-host page, for instance). */
    public static final Set<String> BASE_BACKENDS = Set.of("lb_unknown_host");

    private TemplateValues() {}

    public static Map<String, String> of(Settings s, Path certDir) {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("http-bind", s.string("lb.edge.http-bind"));
        v.put("https-bind", s.string("lb.edge.https-bind"));
        String publicPort = s.string("lb.edge.https-public-port", "443");
        v.put("https-port-suffix", publicPort.equals("443") ? "" : ":" + publicPort);
        v.put("cert-dir", certDir.toString());
        v.put("stats-socket", s.path("lb.haproxy.stats-socket").toString());
        v.put("stats-socket-options", s.string("lb.haproxy.stats-socket-options", "mode 600"));
        String user = s.string("lb.haproxy.process-user", "");
        v.put("process-user", user.isEmpty() ? "    # workers keep the user haproxy was started as (lb.haproxy.process-user)"
                : "    user " + user + "\n    group " + user);
        v.put("acme-responder", s.string("lb.acme.responder"));
        String alpn = s.string("lb.edge.alpn", "h2,http/1.1").strip();
        v.put("https-alpn", alpn.isEmpty() ? "" : " alpn " + alpn);
        v.put("hard-stop-after", s.string("lb.haproxy.hard-stop-after", "5m"));
        v.put("max-old-reloads", s.string("lb.haproxy.max-old-reloads", "10"));
        v.put("log-target", HaproxyLogTarget.globalLines(s.string("lb.haproxy.log", "auto"), s.superviseMode()));
        v.put("timeout-connect", s.string("lb.edge.timeout-connect"));
        v.put("timeout-client", s.string("lb.edge.timeout-client"));
        v.put("timeout-server", s.string("lb.edge.timeout-server"));
        v.put("maxconn", s.string("lb.edge.maxconn"));
        v.put("host-routing", HostRouting.rules(s.string("lb.routing.match", "exact")));
        return v;
    }
}
