package haproxylb.support;

/** The settings that point a test daemon at a Pebble (directly or through a proxy) and make it order quickly. */
public final class AcmeDaemonSettings {
    private AcmeDaemonSettings() {}

    /**
     * ACME on with {@code directoryUrl}, Pebble's listener CA trusted, terms agreed, names checked against Pebble's
     * DNS server (every name is 127.0.0.1, which counts as here), no rate limits, fast polling, an early first check.
     */
    public static DaemonHarness orderingFrom(DaemonHarness daemon, String directoryUrl, PebbleServer pebble) {
        return daemon.with("lb.acme.directory-url", directoryUrl)
                .with("lb.acme.trust-ca", pebble.listenerCaPem().toString())
                .with("lb.acme.agree-terms", "true")
                .with("lb.acme.dns-resolver", "127.0.0.1:" + pebble.dnsAddress().getPort())
                .with("lb.acme.loopback-is-here", "true")
                .with("lb.acme.limits", "unlimited")
                .with("lb.acme.poll", "100")
                .with("lb.acme.timeout", "30000")
                .with("lb.acme.first-check-delay", "100");
    }
}
