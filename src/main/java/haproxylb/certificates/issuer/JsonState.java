package haproxylb.certificates.issuer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import haproxylb.common.AtomicFiles;
import haproxylb.common.Json;
import haproxylb.storage.Storage;
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
public final class JsonState {
    private JsonState() {}

    public static void save(Path file, JsonNode state) throws IOException {
        AtomicFiles.write(file, Json.INDENTED.writeValueAsBytes(state));
    }

    public static void save(Storage storage, String key, JsonNode state) throws IOException {
        storage.store(key, Json.INDENTED.writeValueAsBytes(state));
    }

    /**
     * The stored JSON object; empty when there is none or it is corrupt (the latter logged as a warning naming where
     * it is). Throws when the storage cannot be read (an unreachable ZooKeeper), so the caller keeps what it has.
     */
    public static Optional<JsonNode> load(Storage storage, String key, Logger log, String what) throws IOException {
        Optional<byte[]> bytes = storage.load(key);
        return bytes.isEmpty() ? Optional.empty() : parse(bytes.get(), storage.where(key), log, what);
    }

    /** The file's JSON object; empty when the file is missing or unreadable (the latter logged as a warning). */
    public static Optional<JsonNode> load(Path file, Logger log, String what) {
        try {
            return parse(Files.readAllBytes(file), file.toString(), log, what);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            log.warn("{} file {} cannot be read ({}); starting with an empty {}", what, file, e.getMessage(), what);
            return Optional.empty();
        }
    }

    private static Optional<JsonNode> parse(byte[] bytes, String where, Logger log, String what) {
        try {
            JsonNode node = Json.MAPPER.readTree(bytes);
            if (node == null || !node.isObject()) {
                log.warn("{} file {} is not a JSON object; starting with an empty {} (the file is replaced on the next save)",
                        what, where, what);
                return Optional.empty();
            }
            return Optional.of(node);
        } catch (JsonProcessingException e) {
            log.warn("{} file {} is corrupt ({}); starting with an empty {} (the file is replaced on the next save)",
                    what, where, e.getOriginalMessage(), what);
            return Optional.empty();
        } catch (IOException e) {
            log.warn("{} file {} cannot be read ({}); starting with an empty {}", what, where, e.getMessage(), what);
            return Optional.empty();
        }
    }
}
