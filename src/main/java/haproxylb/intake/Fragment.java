package haproxylb.intake;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A named piece of operator configuration: haproxy backend sections plus the domains routed to them.
 * {@code id} identifies exactly what the operator sent (the raw bytes of both files), so the CLI can tell
 * whether <em>its</em> version went live or was rejected. {@code references}: the names its config uses as a backend or
 * a stick table, with the line of their first mention ({@link ConfigFragmentParser.Sections}).
 */
public record Fragment(String name, String cfg, String map, List<MapEntry> entries, Map<String, Integer> backends,
                       Map<String, Integer> references, String id) {

    /** The same fragment under another id (the id of the bytes the operator sent, kept beside it). */
    public Fragment withId(String id) {
        return new Fragment(name, cfg, map, entries, backends, references, id);
    }

    public String cfgFile() {
        return name + ".cfg";
    }

    public String mapFile() {
        return name + ".map";
    }

    public static String idOf(byte[] cfg, byte[] map) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(cfg);
            md.update((byte) 0);
            md.update(map);
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String idOf(String cfg, String map) {
        return idOf(cfg.getBytes(StandardCharsets.UTF_8), map.getBytes(StandardCharsets.UTF_8));
    }
}
