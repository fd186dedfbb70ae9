package haproxylb.assembly;

/**
 * Where haproxy sends its access log and its own messages (setting {@code lb.haproxy.log}): "journal" is Debian's
 * way (the {@code /dev/log} socket, facility local0), "daemon" is haproxy's stdout, which in supervise mode the
 * daemon reads (HaproxyOutput: access.log under the state dir, rotated, and haproxy's alerts in the daemon's log),
 * "off" logs nothing. "auto" picks "daemon" in supervise mode and "journal" in systemd mode.
 */
final class HaproxyLogTarget {
    private HaproxyLogTarget() {}

    static String globalLines(String setting, boolean supervise) {
        String target = setting.equals("auto") ? (supervise ? "daemon" : "journal") : setting;
        return switch (target) {
            case "journal" -> "    log /dev/log local0";
            case "daemon" -> "    log stdout format raw local0";
            case "off" -> "    # no log (lb.haproxy.log = off)";
            default -> throw new IllegalArgumentException("setting lb.haproxy.log = '" + setting
                    + "' must be auto, journal, daemon or off");
        };
    }
}
