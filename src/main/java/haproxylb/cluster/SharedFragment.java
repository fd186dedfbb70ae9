package haproxylb.cluster;

/**
 * A fragment's state as the cluster shares it, one znode per name: the accepted version
 * ({@code fragments/NAME}: cfg, map and id) or the refused one ({@code rejections/NAME}: id and error), with the node
 * that decided it. Also the shape of a decision waiting in this node's outbox ({@code kind}).
 */
public record SharedFragment(String kind, String name, String id, String cfg, String map, String error, String node,
                             long at) {
    public static final String UPSERT = "upsert";
    public static final String REMOVE = "remove";
    public static final String REJECT = "reject";
}
