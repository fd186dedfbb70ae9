package haproxylb.intake;

/**
 * Why a fragment cannot go live, phrased for the operator: which file, which line, what is wrong, what to do.
 * An expected outcome, not a bug, so it carries no stack trace into the logs.
 */
public final class FragmentProblem extends Exception {
    private final String fragment;

    public FragmentProblem(String fragment, String message) {
        super(message, null, false, false);
        this.fragment = fragment;
    }

    public static FragmentProblem at(String fragment, String file, int line, String message) {
        return new FragmentProblem(fragment, file + " line " + line + ": " + message);
    }

    public String fragment() {
        return fragment;
    }
}
