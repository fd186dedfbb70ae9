package haproxylb.common;

import java.util.Optional;

/** What an exception's chain of causes holds. */
public final class Causes {
    private Causes() {}

    /** The first throwable of {@code type} in {@code e}'s chain, {@code e} itself included. */
    public static <T extends Throwable> Optional<T> find(Throwable e, Class<T> type) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (type.isInstance(c)) {
                return Optional.of(type.cast(c));
            }
        }
        return Optional.empty();
    }
}
