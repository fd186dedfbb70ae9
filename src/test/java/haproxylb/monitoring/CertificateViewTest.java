package haproxylb.monitoring;

import haproxylb.common.Json;
import haproxylb.status.CertificateStatus;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CertificateViewTest {
    private static final Instant AT = Instant.parse("2027-01-01T00:00:00Z");

    /** The shape the certificate stage publishes (haproxylb.status.CertificateStatus), as a record of its own. */
    record Published(String state, String certificate, String expires, int backoffStep) {}

    @Test
    void reads_the_expiry_from_records_maps_strings_and_instants() {
        Map<String, Object> certificates = new LinkedHashMap<>();
        certificates.put("record.test", new Published("covered", "be_x", AT.toString(), 0));
        certificates.put("map.test", Map.of("notAfter", AT.toString(), "state", "renewing", "backoffStep", 2));
        certificates.put("string.test", AT.toString());
        certificates.put("instant.test", AT);
        certificates.put("epoch.test", Map.of("expires", AT.getEpochSecond()));
        certificates.put("unknown.test", Map.of("state", "not-covered"));
        Map<String, CertificateView.Domain> view = CertificateView.of(certificates);
        for (String d : new String[] {"record.test", "map.test", "string.test", "instant.test", "epoch.test"}) {
            assertEquals(Optional.of(AT), view.get(d).expires(), d);
        }
        assertEquals(Optional.empty(), view.get("unknown.test").expires());
        assertEquals("covered", view.get("record.test").state());
        assertEquals(2, view.get("map.test").backoffStep());
    }

    @Test
    void reads_the_certificate_the_cas_renewal_window_and_the_type_of_the_last_error() {
        Instant end = AT.plusSeconds(86400);
        Map<String, CertificateView.Domain> view = CertificateView.of(Map.of(
                "ari.test", Map.of("certificate", "be_ari", "ariWindow", AT + "/" + end),
                "failing.test", Map.of("backoffStep", 1, "lastErrorType", "rateLimited"),
                "garbled.test", Map.of("ariWindow", "soon/later")));
        assertEquals(Optional.of("be_ari"), view.get("ari.test").certificate());
        assertEquals(Optional.of(new CertificateView.Window(AT, end)), view.get("ari.test").ariWindow());
        assertEquals("", view.get("ari.test").lastErrorType());
        assertEquals("rateLimited", view.get("failing.test").lastErrorType());
        assertEquals(Optional.empty(), view.get("garbled.test").ariWindow());
    }

    @Test
    void reads_the_daemons_own_certificate_status_as_it_reads_its_json_fields() {
        CertificateStatus status = new CertificateStatus("renewing", "be_x", "issued", AT.toString(),
                AT.minusSeconds(3600).toString(), 2, null, "boom", null)
                .withOrigin("pebble", "shortlived", AT.minusSeconds(7200) + "/" + AT.minusSeconds(3600), null, null)
                .withLastErrorType("rateLimited");
        @SuppressWarnings("unchecked")
        Map<String, Object> asJson = Json.MAPPER.convertValue(status, Map.class);
        Map<String, CertificateView.Domain> view = CertificateView.of(Map.of("direct.test", status, "json.test", asJson));
        CertificateView.Domain direct = view.get("direct.test");
        CertificateView.Domain json = view.get("json.test");
        assertEquals(new CertificateView.Domain("direct.test", json.expires(), json.state(), json.backoffStep(),
                json.nextRenewal(), json.certificate(), json.ariWindow(), json.lastErrorType()), direct);
        assertEquals("rateLimited", direct.lastErrorType());
        assertEquals(2, direct.backoffStep());
        assertEquals(Optional.of(AT), direct.expires());
    }
}
