package haproxylb.monitoring;

import haproxylb.common.Json;
import haproxylb.status.CertificateStatus;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Date;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Reads the certificate part of the status board (domain → the certificate code's status object) without
 * depending on that object's class: it is turned into its JSON fields, the same ones status.json shows, and read
 * by name. {@code expires} (or {@code notAfter}) is the expiry as an ISO-8601 instant; {@code state},
 * {@code backoffStep}, {@code certificate}, {@code ariWindow} ({@code start/end}) and {@code lastErrorType} are
 * optional.
 */
final class CertificateView {
    private static final ObjectMapper JSON = Json.MAPPER;
    private static final String[] EXPIRY_FIELDS = {"expires", "notAfter", "expiresAt", "not_after", "expiry"};

    /**
     * @param certificate   the file that serves the domain, if any
     * @param ariWindow     the CA's suggested renewal window for that certificate (ARI), if it offers one
     * @param lastErrorType the kind of the last ACME error while the domain backs off ("" when none)
     */
    record Domain(String domain, Optional<Instant> expires, String state, int backoffStep, Optional<Instant> nextRenewal,
                  Optional<String> certificate, Optional<Window> ariWindow, String lastErrorType) {}

    record Window(Instant start, Instant end) {}

    private CertificateView() {}

    static Map<String, Domain> of(Map<String, Object> certificates) {
        Map<String, Domain> domains = new TreeMap<>();
        if (certificates == null) {
            return domains;
        }
        certificates.forEach((domain, value) -> {
            if (value instanceof CertificateStatus status) {
                // What the daemon's own board holds, read directly: turning 10,000 of them into JSON fields took most
                // of an observation's time (bench/daemon-storm.sh). The same fields as the generic path below.
                domains.put(domain, new Domain(domain, instant(status.expires()), orEmpty(status.state()),
                        status.backoffStep(), instant(status.nextRenewal()), Optional.ofNullable(status.certificate()),
                        window(status.ariWindow()), orEmpty(status.lastErrorType())));
                return;
            }
            Map<String, Object> fields = fields(value);
            Optional<Instant> expires = value instanceof Instant i ? Optional.of(i)
                    : value instanceof CharSequence s ? instant(s.toString()) : Optional.empty();
            for (String name : EXPIRY_FIELDS) {
                if (expires.isEmpty() && fields.containsKey(name)) {
                    expires = instant(fields.get(name));
                }
            }
            Object state = fields.get("state");
            Object step = fields.get("backoffStep");
            Object certificate = fields.get("certificate");
            Object errorType = fields.get("lastErrorType");
            domains.put(domain, new Domain(domain, expires, state == null ? "" : state.toString(),
                    step instanceof Number n ? n.intValue() : 0, instant(fields.get("nextRenewal")),
                    Optional.ofNullable(certificate).map(Object::toString), window(fields.get("ariWindow")),
                    errorType == null ? "" : errorType.toString()));
        });
        return domains;
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> fields(Object value) {
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> fields = new TreeMap<>();
            map.forEach((k, v) -> fields.put(String.valueOf(k), v));
            return fields;
        }
        if (value == null || value instanceof CharSequence || value instanceof Number || value instanceof Instant) {
            return Map.of();
        }
        try {
            return JSON.convertValue(value, Map.class);
        } catch (IllegalArgumentException e) {
            return Map.of(); // a shape we cannot read: the domain is shown without an expiry
        }
    }

    /** "start/end" as the certificate status writes an ARI window. */
    private static Optional<Window> window(Object value) {
        if (!(value instanceof CharSequence s)) {
            return Optional.empty();
        }
        String[] parts = s.toString().split("/", 2);
        if (parts.length < 2) {
            return Optional.empty();
        }
        Optional<Instant> start = instant(parts[0]);
        Optional<Instant> end = instant(parts[1]);
        return start.isPresent() && end.isPresent() ? Optional.of(new Window(start.get(), end.get())) : Optional.empty();
    }

    private static Optional<Instant> instant(Object value) {
        if (value instanceof Instant i) {
            return Optional.of(i);
        }
        if (value instanceof Date d) {
            return Optional.of(d.toInstant());
        }
        if (value instanceof Number n) {
            long v = n.longValue();
            // Epoch seconds or milliseconds: 10^11 seconds is the year 5138, so larger values are milliseconds.
            return Optional.of(v > 100_000_000_000L ? Instant.ofEpochMilli(v) : Instant.ofEpochSecond(v));
        }
        if (value instanceof CharSequence s) {
            try {
                return Optional.of(Instant.parse(s.toString().strip()));
            } catch (DateTimeParseException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }
}
