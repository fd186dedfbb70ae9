package haproxylb.app;

/** Called by the watchdog route: in supervise mode, starts haproxy again if it died. */
public final class HaproxyWatchdog {
    private final Daemon daemon;

    public HaproxyWatchdog(Daemon daemon) {
        this.daemon = daemon;
    }

    public void check() throws Exception {
        daemon.watchdog();
    }
}
