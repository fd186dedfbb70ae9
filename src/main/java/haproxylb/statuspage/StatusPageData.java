package haproxylb.statuspage;

import haproxylb.intake.Fragment;
import haproxylb.intake.FragmentStore;
import haproxylb.intake.MapEntry;
import haproxylb.status.StatusBoard;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The JSON behind the status page: status.json's content as the daemon holds it now, plus what status.json leaves
 * out and a person looking at the edge wants beside it: the domains of each live fragment, the reloads of the last
 * hours and haproxy's processes.
 */
public final class StatusPageData {
    private final Clock clock;
    private final StatusBoard status;
    private final FragmentStore fragments;
    private final ReloadHistory reloads;
    private final HaproxyProcesses haproxy;
    private final long reloadMinIntervalMillis;

    public StatusPageData(Clock clock, StatusBoard status, FragmentStore fragments, ReloadHistory reloads,
                          HaproxyProcesses haproxy, long reloadMinIntervalMillis) {
        this.clock = clock;
        this.status = status;
        this.fragments = fragments;
        this.reloads = reloads;
        this.haproxy = haproxy;
        this.reloadMinIntervalMillis = reloadMinIntervalMillis;
    }

    public Map<String, Object> collect() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("now", clock.instant().toString());
        var snapshot = status.snapshot();
        reloads.saw(snapshot.lastReload());
        data.put("status", snapshot);
        data.put("domains", liveDomains());
        data.put("reloads", reloads.recent());
        data.put("reloadWindowHours", reloads.window().toHours());
        data.put("reloadMinIntervalMillis", reloadMinIntervalMillis);
        data.put("haproxy", haproxy.describe());
        return data;
    }

    /** Fragment name to the domains its live map routes (the store's live set, in memory). */
    private Map<String, List<String>> liveDomains() {
        Map<String, List<String>> domains = new TreeMap<>();
        for (Map.Entry<String, Fragment> live : fragments.liveFragments().entrySet()) {
            domains.put(live.getKey(), live.getValue().entries().stream().map(MapEntry::domain).toList());
        }
        return domains;
    }
}
