package haproxylb.intake;

/**
 * A change accepted at intake and waiting for assembly: a new version of a fragment, or its removal.
 * Stored as one file per fragment name, so a newer drop simply replaces an older one still waiting.
 */
public record PendingChange(String name, boolean remove, String cfg, String map, String id, long receivedAtMillis) {

    public static PendingChange upsert(Fragment f, long now) {
        return new PendingChange(f.name(), false, f.cfg(), f.map(), f.id(), now);
    }

    public static PendingChange removal(String name, long now) {
        return new PendingChange(name, true, null, null, "remove-" + now, now);
    }

    public String describe() {
        return remove ? "removal of fragment '" + name + "'" : "fragment '" + name + "'";
    }
}
