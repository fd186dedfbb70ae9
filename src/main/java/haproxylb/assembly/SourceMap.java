package haproxylb.assembly;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Remembers which fragment file and line each line of an assembled haproxy.cfg came from. */
public final class SourceMap {
    /** Lines [firstLine, firstLine + count) of the output come from {@code file} starting at its line 1. */
    public record Segment(int firstLine, int count, String fragment, String file) {}

    public record Origin(String fragment, String file, int line) {
        @Override
        public String toString() {
            return file + " line " + line;
        }
    }

    private final List<Segment> segments = new ArrayList<>();

    void add(Segment s) {
        segments.add(s);
    }

    /** The origin of output line {@code line} (1-based); empty for lines of the base template. */
    public Optional<Origin> origin(int line) {
        for (Segment s : segments) {
            if (line >= s.firstLine() && line < s.firstLine() + s.count()) {
                return Optional.of(new Origin(s.fragment(), s.file(), line - s.firstLine() + 1));
            }
        }
        return Optional.empty();
    }
}
