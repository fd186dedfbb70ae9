package haproxylb.status;

/**
 * What became of one fragment. {@code state} is one of: pending (accepted, waiting for assembly), assembled (in the
 * validated haproxy.cfg, waiting for the rate-limited reload), live (haproxy runs it), rejected, removed.
 */
public record FragmentStatus(String state, String id, long generation, String error, String updatedAt) {}
