package haproxylb.common;

import java.nio.file.Path;

/**
 * The state directory's layout: the one place that spells its folders and files (README, "Settings":
 * {@code lb.state-dir}). The daemon, the CLI, monitoring and the status page find them here, so a folder is renamed or
 * moved in one place.
 */
public final class StateLayout {
    private final Path root;

    public StateLayout(Path root) {
        this.root = root;
    }

    public static StateLayout of(Settings settings) {
        return new StateLayout(settings.stateDir());
    }

    public Path root() {
        return root;
    }

    /** Operators drop NAME.cfg, NAME.map and NAME.remove here. */
    public Path inbox() {
        return root.resolve("inbox");
    }

    /** Operators (and the cluster) drop NAME.pem certificate bundles here. */
    public Path certInbox() {
        return root.resolve("cert-inbox");
    }

    /** Inbox entries taken out of the inbox while they are read (common.InboxEntry). */
    public Path claimed() {
        return root.resolve("claimed");
    }

    /** The first half of a pair, waiting for the second. */
    public Path staging() {
        return root.resolve("staging");
    }

    /** Checked changes waiting for assembly, one NAME.json each. */
    public Path pending() {
        return root.resolve("pending");
    }

    /** The live fragments: NAME.cfg, NAME.map, NAME.id. */
    public Path fragments() {
        return root.resolve("fragments");
    }

    /** Rejected fragments: a copy of the files, NAME.id and NAME.error. */
    public Path rejected() {
        return root.resolve("rejected");
    }

    /** Every fragment's versions and rejections (history/NAME/). */
    public Path history() {
        return root.resolve("history");
    }

    /** The candidate haproxy.cfg and map that haproxy -c checks. */
    public Path candidate() {
        return root.resolve("candidate");
    }

    /** Sockets and pid files of the haproxy this daemon supervises. */
    public Path run() {
        return root.resolve("run");
    }

    /** haproxy's rotated access log in supervise mode. */
    public Path log() {
        return root.resolve("log");
    }

    /** What happened to every change: what {@code haproxy-config status} and {@code apply} read. */
    public Path statusFile() {
        return root.resolve("status.json");
    }

    /** The cluster's local copy of the shared state. */
    public Path cluster() {
        return root.resolve("cluster");
    }

    /** Certificate maintenance's own state (archive, backoff, rate limits). */
    public Path certificates() {
        return root.resolve("certificates");
    }

    /** Certificate bundles the certificate intake refused, with NAME.error. */
    public Path rejectedCerts() {
        return root.resolve("rejected-certs");
    }

    /** The folders operators' tools write: never cleaned of temp files by the daemon, which may catch them mid-write. */
    public boolean isInbox(Path dir) {
        return dir.startsWith(inbox()) || dir.startsWith(certInbox());
    }
}
