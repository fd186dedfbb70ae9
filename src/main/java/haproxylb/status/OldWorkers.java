package haproxylb.status;

/**
 * haproxy workers replaced by a reload and still draining connections (WebSockets, long downloads), and how many
 * connections they hold: capped by lb.haproxy.hard-stop-after and lb.haproxy.max-old-reloads.
 */
public record OldWorkers(int workers, long connections) {
    public static final OldWorkers NONE = new OldWorkers(0, 0);
}
