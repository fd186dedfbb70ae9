package haproxylb.status;

import java.util.Map;

/** The daemon's state as the CLI, monitoring and people read it from status.json. */
public record Status(String updatedAt, long configGeneration, long liveGeneration, boolean reloadPending,
                     String nextReloadAt, long reloads, long reloadsCoalesced, ReloadStatus lastReload,
                     Map<String, FragmentStatus> fragments, Map<String, Object> certificates,
                     OldWorkers oldWorkers) {
    /** A status.json edited by hand, or cut down, lacks whole maps: they read as empty, not as null. */
    public Status {
        fragments = fragments == null ? Map.of() : fragments;
        certificates = certificates == null ? Map.of() : certificates;
    }
}
