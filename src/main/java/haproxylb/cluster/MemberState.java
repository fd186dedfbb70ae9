package haproxylb.cluster;

import java.util.List;

/**
 * What a member says about itself in its ephemeral znode {@code members/NODE} (gone when its session ends): its
 * config generations (each node counts its own), whether it has what the cluster holds, and what it refuses (skew).
 */
public record MemberState(String node, long configGeneration, long liveGeneration, boolean inSync, int fragments,
                          List<String> skew) {}
