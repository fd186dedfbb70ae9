package haproxylb.status;

public record ReloadStatus(String at, boolean ok, long generation, String message) {}
