package haproxylb.support;

import java.util.random.RandomGenerator;

/** Random generators that always pick one end of a range, so a test knows which point of a window was chosen. */
public final class FixedRandom {
    private FixedRandom() {}

    /** The lowest value every time: picks the start of a window. */
    public static final class AlwaysMin implements RandomGenerator {
        @Override
        public long nextLong() {
            return 0;
        }

        @Override
        public long nextLong(long bound) {
            return 0;
        }

        @Override
        public double nextDouble() {
            return 0;
        }
    }

    /** The highest value every time: picks the end of a window. */
    public static final class AlwaysMax implements RandomGenerator {
        @Override
        public long nextLong() {
            return Long.MAX_VALUE;
        }

        @Override
        public long nextLong(long bound) {
            return bound - 1;
        }

        @Override
        public double nextDouble() {
            return Math.nextDown(1.0);
        }
    }
}
