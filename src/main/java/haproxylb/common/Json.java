package haproxylb.common;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The one Jackson mapper for the JSON files the daemon keeps (status.json, pending/, history/, certificate state) and
 * the status page. An ObjectMapper is thread-safe once configured, and costly to build, so it is built once.
 */
public final class Json {
    /**
     * Reads files written by a newer version (a field added) as well, since a downgrade must not lose the state
     * directory; writes any bean, an empty one as {}.
     */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    /** For files people read as well as programs (status.json). */
    public static final ObjectWriter INDENTED = MAPPER.writerWithDefaultPrettyPrinter();

    private Json() {}
}
