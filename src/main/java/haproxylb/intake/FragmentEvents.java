package haproxylb.intake;

/**
 * What the {@link FragmentStore} decided, told after it is on disk: a change promoted into fragments/ (a new version or
 * a removal), or a fragment filed in rejected/ with its error. The cluster publishes these to the other nodes; a
 * listener must return quickly (it runs inside assembly) and must not throw.
 */
public interface FragmentEvents {
    FragmentEvents NONE = new FragmentEvents() {
        @Override
        public void promoted(PendingChange change) {}

        @Override
        public void rejected(String name, byte[] cfg, byte[] map, String id, String error) {}
    };

    void promoted(PendingChange change);

    /** @param cfg, map the refused files, null when there are none (a refused removal, an unreadable drop) */
    void rejected(String name, byte[] cfg, byte[] map, String id, String error);
}
