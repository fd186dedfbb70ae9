package haproxylb.haproxy;

import java.util.Map;

/** Brings the running haproxy's backend map from one content to another without a reload. */
public interface MapUpdater {
    /** @return false when the change could not be applied (the caller then reloads instead) */
    boolean apply(Map<String, String> before, Map<String, String> after);

    MapUpdater NONE = (before, after) -> false;
}
