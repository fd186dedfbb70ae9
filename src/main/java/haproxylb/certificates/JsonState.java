package haproxylb.certificates;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import haproxylb.common.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;

/**
 * Small JSON state files (backoff, rate-limit ledger, issued certificates): written atomically, and read so that a
 * missing file means "no state yet" and a corrupt one means "start empty and say so", never a failed start.
 */
final class JsonState {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonState() {}

    static void save(Path file, JsonNode state) throws IOException {
        AtomicFiles.write(file, MAPPER.writeValueAsBytes(state));
    }

    /** The file's JSON object; empty when the file is missing or unreadable (the latter logged as a warning). */
    static Optional<JsonNode> load(Path file, Logger log, String what) {
        try {
            JsonNode node = MAPPER.readTree(Files.readAllBytes(file));
            if (node == null || !node.isObject()) {
                log.warn("{} file {} is not a JSON object; starting with an empty {} (the file is replaced on the next save)",
                        what, file, what);
                return Optional.empty();
            }
            return Optional.of(node);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (JsonProcessingException e) {
            log.warn("{} file {} is corrupt ({}); starting with an empty {} (the file is replaced on the next save)",
                    what, file, e.getOriginalMessage(), what);
            return Optional.empty();
        } catch (IOException e) {
            log.warn("{} file {} cannot be read ({}); starting with an empty {}", what, file, e.getMessage(), what);
            return Optional.empty();
        }
    }
}
