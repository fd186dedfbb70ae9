package haproxylb.status;

import java.time.Instant;

/**
 * What the reload stage knows, as status.json shows it. The reload stage ({@code haproxy.ReloadGate}) owns these facts;
 * {@link StatusBoard} only publishes the latest copy it was handed, and gives back the last published one at start-up.
 *
 * @param configGeneration the newest validated config on disk
 * @param liveGeneration   the newest config haproxy is known to run
 * @param nextReloadAt     when the pending reload may run; null when none is pending
 */
public record ReloadFacts(long configGeneration, long liveGeneration, boolean reloadPending, Instant nextReloadAt,
                          long reloads, long reloadsCoalesced, ReloadStatus lastReload) {
    public static final ReloadFacts NONE = new ReloadFacts(0, 0, false, null, 0, 0, null);

    /** A validated config on disk that haproxy has not (confirmed to have) loaded. */
    public boolean reloadOwed() {
        return configGeneration > liveGeneration;
    }
}
