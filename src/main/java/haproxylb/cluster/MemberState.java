package haproxylb.cluster;

import java.util.List;
import java.util.Map;

/**
 * What a member says about itself in its ephemeral znode {@code members/NODE} (gone when its session ends): its
 * config generations (each node counts its own), whether it has what the cluster holds, what it refuses (skew), and
 * the id of each fragment its haproxy runs ({@code live}, so {@code haproxy-config apply} can wait for every member;
 * null from a member that predates it).
 */
public record MemberState(String node, long configGeneration, long liveGeneration, boolean inSync, int fragments,
                          List<String> skew, Map<String, String> live) {}
