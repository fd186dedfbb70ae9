package haproxylb.intake;

/** One routing line of a fragment's map: requests for {@code domain} go to {@code backend}. */
public record MapEntry(String domain, String backend, int line) {}
