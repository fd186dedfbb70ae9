package haproxylb.support;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/** Runs code with System.err captured, where slf4j-simple writes log lines, to check what an operator would read. */
public final class StderrCapture {
    private StderrCapture() {}

    public record Result<T>(T value, String stderr) {}

    public static synchronized <T> Result<T> capture(Supplier<T> code) {
        PrintStream original = System.err;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            T value = code.get();
            return new Result<>(value, buffer.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(original);
        }
    }
}
