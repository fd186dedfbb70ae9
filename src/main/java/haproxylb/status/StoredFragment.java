package haproxylb.status;

/**
 * What the fragment store holds for one name, read at start-up. Status is rebuilt from this, never trusted over it:
 * status.json is published after the store changes, so a crash in between leaves it one step behind (issue 13).
 *
 * @param pendingId id of the change waiting in pending/, or null
 * @param liveId    id of the version in fragments/ (the last validated config), or null
 * @param rejection text of rejected/NAME.error, or null
 * @param rejectedId id of the rejected copy in rejected/, or null when there is none (a refused removal, a bad name)
 */
public record StoredFragment(String pendingId, String liveId, String rejection, String rejectedId) {
    public static final StoredFragment NONE = new StoredFragment(null, null, null, null);
}
