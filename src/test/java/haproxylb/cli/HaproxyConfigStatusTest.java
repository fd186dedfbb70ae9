package haproxylb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.intake.FragmentReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code haproxy-config status} prints about certificates, from a status.json as the daemon writes it. */
class HaproxyConfigStatusTest {
    @TempDir
    Path state;

    @Test
    void status_shows_per_domain_state_expiry_next_renewal_backoff_and_why() throws Exception {
        Files.writeString(state.resolve("status.json"), """
                {
                  "updatedAt" : "2025-06-01T00:00:00Z", "configGeneration" : 3, "liveGeneration" : 3,
                  "reloadPending" : false, "reloads" : 2, "reloadsCoalesced" : 0, "fragments" : { },
                  "certificates" : {
                    "shop.example.com" : { "state" : "covered", "certificate" : "be_shop", "source" : "issued",
                      "expires" : "2025-08-30T00:00:00Z", "nextRenewal" : "2025-07-31T00:00:00Z", "backoffStep" : 0 },
                    "new.example.com" : { "state" : "backing-off", "backoffStep" : 2,
                      "nextAttempt" : "2025-06-01T00:02:00Z", "lastError" : "pebble: cannot reach the CA",
                      "reason" : "the CA failed 2 times in a row" },
                    "old.example.com" : null
                  }
                }
                """);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = new HaproxyConfig(state, new FragmentReader(false, 1 << 20), new PrintStream(out, true),
                new PrintStream(new ByteArrayOutputStream(), true)).dispatch(List.of("status"));
        String text = out.toString();
        assertEquals(0, exit);
        assertTrue(text.contains("DOMAIN\tCERTIFICATE STATE\tEXPIRES\tNEXT RENEWAL\tBACKOFF STEP\n"), text);
        assertTrue(text.contains("shop.example.com\tcovered (be_shop, issued)\t2025-08-30T00:00:00Z\t"
                + "2025-07-31T00:00:00Z\t-\n"), text);
        assertTrue(text.contains("new.example.com\tbacking-off\t-\t-\t2 (next attempt 2025-06-01T00:02:00Z)\n"
                + "    why: the CA failed 2 times in a row\n    last error: pebble: cannot reach the CA\n"), text);
        assertFalse(text.contains("old.example.com"), "domains that left the map are not listed");
    }

    @Test
    void status_shows_the_issuing_ca_the_cas_renewal_window_and_why_the_quota_and_the_type_of_the_last_error()
            throws Exception {
        Files.writeString(state.resolve("status.json"), """
                {
                  "updatedAt" : "2025-06-01T00:00:00Z", "configGeneration" : 3, "liveGeneration" : 3,
                  "reloadPending" : false, "reloads" : 2, "reloadsCoalesced" : 0, "fragments" : { },
                  "certificates" : {
                    "shop.example.com" : { "state" : "covered", "certificate" : "be_shop", "source" : "issued",
                      "expires" : "2025-08-30T00:00:00Z", "nextRenewal" : "2025-06-20T00:00:00Z", "backoffStep" : 0,
                      "issuer" : "second", "profile" : "shortlived",
                      "ariWindow" : "2025-06-19T00:00:00Z/2025-06-21T00:00:00Z",
                      "ariExplanation" : "https://ca.example/incident-42",
                      "note" : "issued by second because first rate limits them (rateLimited)",
                      "quota" : [ "second: new orders per account (https://ca/dir): 3 of 300 per 3 hours" ] },
                    "new.example.com" : { "state" : "backing-off", "backoffStep" : 1,
                      "nextAttempt" : "2025-06-01T02:00:00Z", "lastError" : "first: rate limited for [new.example.com]",
                      "lastErrorType" : "rateLimited", "reason" : "retried after the backoff" }
                  }
                }
                """);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new HaproxyConfig(state, new FragmentReader(false, 1 << 20), new PrintStream(out, true),
                new PrintStream(new ByteArrayOutputStream(), true)).dispatch(List.of("status"));
        String text = out.toString();
        assertTrue(text.contains("    issued by: second (profile shortlived)\n"
                + "    CA's renewal window (ARI): 2025-06-19T00:00:00Z/2025-06-21T00:00:00Z "
                + "(why: https://ca.example/incident-42)\n"
                + "    note: issued by second because first rate limits them (rateLimited)\n"
                + "    quota: second: new orders per account (https://ca/dir): 3 of 300 per 3 hours\n"), text);
        assertTrue(text.contains("    last error: [rateLimited] first: rate limited for [new.example.com]\n"), text);
    }
}
