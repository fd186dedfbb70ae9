package haproxylb.certificates.status;

import haproxylb.certificates.policy.Backoff;
import haproxylb.certificates.policy.CaGate;
import haproxylb.certificates.policy.CertificateGroup;
import haproxylb.certificates.policy.CoverageDecision;
import haproxylb.certificates.policy.RateLimitLedger;
import haproxylb.certificates.store.CertificateBundle;
import haproxylb.certificates.store.CertificateProblem;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.support.FixedRandom;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import haproxylb.status.CertificateStatus;
import haproxylb.support.MutableClock;
import haproxylb.support.TestCertificates;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CoverageStatusTest {
    private static final Instant START = Instant.parse("2025-06-01T00:00:00Z");
    private static final TestCertificates.Authority CA = TestCertificates.rootCa("Status Root", TestCertificates.ecKey(),
            START.minus(Duration.ofDays(30)), START.plus(Duration.ofDays(3650)));
    private static final CertificateGroup WEB = new CertificateGroup("be_web", List.of("a.example.com", "b.example.com"));

    private final MutableClock clock = new MutableClock(START.plus(Duration.ofDays(10)));
    private final Backoff backoff = new Backoff(clock, new FixedRandom.AlwaysMin());
    private final RateLimitLedger ledger = new RateLimitLedger(clock);
    private final List<InstalledCertificate> installed = new ArrayList<>();
    private final Map<String, Optional<String>> problems = new HashMap<>();

    private InstalledCertificate install(String name, boolean issuedHere, String... names) throws CertificateProblem {
        CertificateBundle b = CertificateBundle.read(name, CA.leaf(names).validity(START, Duration.ofDays(90)).issue().pem());
        InstalledCertificate c = new InstalledCertificate(name, Path.of(name + ".pem"), b, issuedHere);
        installed.add(c);
        return c;
    }

    private Map<String, CertificateStatus> statuses() {
        CoverageDecision.Inputs in = CoverageDecision.Inputs.of(installed, backoff, ledger, "acct", clock)
                .withReachability(d -> problems.computeIfAbsent(d, x -> Optional.empty()));
        return CoverageStatus.of(CoverageDecision.decide(WEB, in), in, problems);
    }

    @Test
    void a_covered_group_shows_its_certificate_expiry_and_next_renewal() throws Exception {
        InstalledCertificate c = install("be_web", true, "a.example.com", "b.example.com");
        CertificateStatus a = statuses().get("a.example.com");
        assertEquals(new CertificateStatus("covered", "be_web", "issued", c.notAfter().toString(),
                START.plus(Duration.ofDays(60)).toString(), 0, null, null, null), a);
    }

    @Test
    void an_operator_certificate_has_no_next_renewal() throws Exception {
        install("mine", false, "a.example.com", "b.example.com");
        CertificateStatus a = statuses().get("a.example.com");
        assertEquals("covered", a.state());
        assertEquals("operator", a.source());
        assertNull(a.nextRenewal());
    }

    @Test
    void uncovered_names_are_issuing_and_a_name_pointing_elsewhere_is_skipped_with_the_reason() {
        problems.put("b.example.com", Optional.of("b.example.com resolves to 192.0.2.1, not (only) to this balancer"));
        Map<String, CertificateStatus> s = statuses();
        assertEquals("issuing", s.get("a.example.com").state());
        assertEquals("skipped", s.get("b.example.com").state());
        assertEquals("b.example.com resolves to 192.0.2.1, not (only) to this balancer", s.get("b.example.com").reason());
    }

    @Test
    void a_name_backing_off_shows_its_step_next_attempt_and_last_error() {
        backoff.recordFailure("b.example.com", "authorization invalid: 404");
        Map<String, CertificateStatus> s = statuses();
        CertificateStatus b = s.get("b.example.com");
        assertEquals("backing-off", b.state());
        assertEquals(1, b.backoffStep());
        assertEquals(clock.instant().plus(Duration.ofMinutes(1)).toString(), b.nextAttempt());
        assertEquals("authorization invalid: 404", b.lastError());
        assertEquals("issuing", s.get("a.example.com").state(), "one broken name does not hold back the others");
    }

    @Test
    void a_rate_limited_group_waits_for_the_cas_retry_after_and_says_what_kind_of_error_it_was() {
        Instant retryAfter = clock.instant().plus(Duration.ofHours(2));
        backoff.recordFailure("be_web", "pebble: rate limited", "rateLimited", Optional.of(retryAfter));
        CertificateStatus a = statuses().get("a.example.com");
        assertEquals("backing-off", a.state());
        assertEquals(retryAfter.toString(), a.nextAttempt());
        assertEquals("rateLimited", a.lastErrorType());
        assertEquals("rateLimited", CoverageStatus.with(a, "pending", "why").lastErrorType(), "kept across a change");
    }

    @Test
    void a_group_backing_off_shows_it_for_every_uncovered_name_until_the_wait_is_over() {
        backoff.recordFailure("be_web", "order refused");
        Map<String, CertificateStatus> s = statuses();
        assertEquals("backing-off", s.get("a.example.com").state());
        assertEquals("order refused", s.get("a.example.com").lastError());
        clock.advance(Duration.ofMinutes(1));
        CertificateStatus after = statuses().get("a.example.com");
        assertEquals("issuing", after.state());
        assertEquals(1, after.backoffStep(), "the step counts failures since the last success");
        assertNull(after.nextAttempt());
    }

    @Test
    void a_certificate_issued_here_inside_its_window_is_renewing() throws Exception {
        install("be_web", true, "a.example.com", "b.example.com");
        clock.set(START.plus(Duration.ofDays(61)));
        assertEquals("renewing", statuses().get("b.example.com").state());
    }

    @Test
    void planned_states_are_replaced_by_what_happened() {
        Map<String, CertificateStatus> s = statuses();
        CaGate gate = new CaGate(backoff);
        gate.failed("cannot reach the CA", true, "unreachable", Optional.empty());
        CoverageStatus.replacePlanned(s, st -> CoverageStatus.waitingForCa(st, gate));
        CertificateStatus a = s.get("a.example.com");
        assertEquals("unreachable", a.lastErrorType());
        assertEquals("backing-off", a.state());
        assertEquals(1, a.backoffStep());
        assertEquals("cannot reach the CA", a.lastError());
        assertEquals(gate.reason(), a.reason());
    }
}
