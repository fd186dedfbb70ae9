package haproxylb.assembly;

/** A candidate haproxy.cfg and backend map, and where each config line came from. */
public record AssembledConfig(String cfg, String map, SourceMap sources) {}
