package haproxylb.intake;

import haproxylb.common.Excerpt;

import java.util.regex.Pattern;

/** The name shared by NAME.cfg, NAME.map and NAME.remove; it becomes a file name, so no path tricks. */
public final class FragmentName {
    private static final Pattern VALID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");

    private FragmentName() {}

    public static boolean isValid(String name) {
        return name != null && VALID.matcher(name).matches() && !name.contains("..");
    }

    public static String check(String name) throws FragmentProblem {
        if (!isValid(name)) {
            throw new FragmentProblem(safe(name), "invalid fragment name '" + printable(name)
                    + "': use 1 to 100 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit,"
                    + " without '..' (for example 'shop-example')");
        }
        return name;
    }

    /**
     * A file-system-safe stand-in for an invalid name, so its rejection can still be written down. It starts with
     * '_', which no valid name does: "Shop.cfg" must not file its rejection under (and overwrite the status of) the
     * live fragment "shop" (BadInputTest).
     */
    public static String safe(String name) {
        String s = name == null ? "" : name.toLowerCase().replaceAll("[^a-z0-9._-]", "_").replace("..", "__");
        s = s.replaceFirst("^[^a-z0-9]+", "");
        if (s.isEmpty()) {
            s = "unnamed";
        }
        return "_" + (s.length() > 100 ? s.substring(0, 100) : s);
    }

    /** Operator-supplied text inside an error: short, with control characters escaped (see {@link Excerpt}). */
    static String printable(String s) {
        return Excerpt.of(s);
    }
}
