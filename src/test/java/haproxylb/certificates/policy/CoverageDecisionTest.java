package haproxylb.certificates.policy;

import haproxylb.certificates.store.CertificateBundle;
import haproxylb.certificates.store.CertificateProblem;
import haproxylb.certificates.store.FallbackCertificate;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.support.FixedRandom;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.certificates.policy.CoverageDecision.Covered;
import haproxylb.certificates.policy.CoverageDecision.Inputs;
import haproxylb.certificates.policy.CoverageDecision.Kind;
import haproxylb.certificates.policy.CoverageDecision.NeedsIssue;
import haproxylb.certificates.policy.CoverageDecision.NeedsRenewal;
import haproxylb.certificates.policy.CoverageDecision.Skipped;
import haproxylb.support.MutableClock;
import haproxylb.support.TestCertificates.Authority;
import haproxylb.support.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CoverageDecisionTest {
    private static final String ACCOUNT = "acct-1";
    private static final Instant START = Instant.parse("2025-06-01T00:00:00Z");
    private static final Authority CA = TestCertificates.rootCa("Decision Root", TestCertificates.ecKey(),
            START.minus(Duration.ofDays(30)), START.plus(Duration.ofDays(3650)));
    private static final CertificateGroup WEB = new CertificateGroup("web", List.of("a.example.com", "b.example.com"));

    private final MutableClock clock = new MutableClock(START.plus(Duration.ofDays(10)));
    private final Backoff backoff = new Backoff(clock, new FixedRandom.AlwaysMin());
    private final RateLimitLedger ledger = new RateLimitLedger(clock);
    private final List<InstalledCertificate> installed = new ArrayList<>();
    @TempDir
    Path dir;

    private InstalledCertificate install(String name, boolean issuedHere, Instant from, Duration lifetime,
                                         String... names) throws CertificateProblem {
        CertificateBundle b = CertificateBundle.read(name, CA.leaf(names).validity(from, lifetime).issue().pem());
        InstalledCertificate c = new InstalledCertificate(name, Path.of(name + ".pem"), b, issuedHere);
        installed.add(c);
        return c;
    }

    private CoverageDecision decide(CertificateGroup group) {
        return CoverageDecision.decide(group, Inputs.of(installed, backoff, ledger, ACCOUNT, clock));
    }

    @Test
    void covered_when_a_valid_certificate_covers_every_name() throws Exception {
        InstalledCertificate c = install("web", true, START, Duration.ofDays(90), "a.example.com", "b.example.com");

        Covered d = assertInstanceOf(Covered.class, decide(WEB));

        assertEquals(Kind.COVERED, d.kind());
        assertEquals(c.notAfter(), d.until());
        assertEquals(Optional.of(START.plus(Duration.ofDays(60))), d.renewAt());
        assertTrue(d.describe().startsWith("covered until "), d.describe());
    }

    @Test
    void covered_by_several_certificates_until_the_first_of_them_expires() throws Exception {
        install("a", true, START, Duration.ofDays(90), "a.example.com");
        InstalledCertificate b = install("b", false, START, Duration.ofDays(80), "b.example.com");

        Covered d = assertInstanceOf(Covered.class, decide(WEB));

        assertEquals(b.notAfter(), d.until());
    }

    @Test
    void needs_a_certificate_when_a_name_has_none() throws Exception {
        install("web", true, START, Duration.ofDays(90), "a.example.com");

        NeedsIssue d = assertInstanceOf(NeedsIssue.class, decide(WEB));

        assertEquals(List.of("a.example.com", "b.example.com"), d.names());
        assertEquals(Map.of(), d.excluded());
    }

    @Test
    void an_expired_certificate_or_the_fallback_does_not_cover() throws Exception {
        install("old", true, START.minus(Duration.ofDays(95)), Duration.ofDays(90), "a.example.com", "b.example.com");
        FallbackCertificate.ensure(dir, clock);
        CertificateBundle fallback = CertificateBundle.read("fallback.pem", Files.readString(FallbackCertificate.path(dir)));
        installed.add(new InstalledCertificate("fallback", Path.of("fallback.pem"), fallback, false));

        assertEquals(Kind.NEEDS_ISSUE, decide(WEB).kind());
        assertEquals(Kind.NEEDS_ISSUE,
                decide(new CertificateGroup("x", List.of("haproxy-lb fallback"))).kind());
    }

    @Test
    void needs_renewal_when_a_certificate_issued_here_has_less_than_a_third_of_its_life_left() throws Exception {
        InstalledCertificate c = install("web", true, START, Duration.ofDays(90), "a.example.com", "b.example.com");
        clock.set(START.plus(Duration.ofDays(60)).minusSeconds(1));
        assertEquals(Kind.COVERED, decide(WEB).kind());

        clock.advance(Duration.ofSeconds(1));
        NeedsRenewal d = assertInstanceOf(NeedsRenewal.class, decide(WEB));

        assertEquals(START.plus(Duration.ofDays(60)), d.since());
        assertEquals(List.of("a.example.com", "b.example.com"), d.names());
        assertEquals(c, d.replacing());
    }

    @Test
    void an_operator_certificate_is_not_renewed_but_replaced_once_it_expires() throws Exception {
        install("operator", false, START, Duration.ofDays(30), "a.example.com", "b.example.com");
        clock.set(START.plus(Duration.ofDays(29)));
        assertEquals(Kind.COVERED, decide(WEB).kind());

        clock.set(START.plus(Duration.ofDays(30)));
        assertEquals(Kind.NEEDS_ISSUE, decide(WEB).kind());
    }

    @Test
    void an_earlier_ari_window_brings_the_renewal_forward() throws Exception {
        install("web", true, START, Duration.ofDays(90), "a.example.com", "b.example.com");
        clock.set(START.plus(Duration.ofDays(30)));
        assertEquals(Kind.COVERED, decide(WEB).kind());

        Inputs in = Inputs.of(installed, backoff, ledger, ACCOUNT, clock).withWindows(c -> c.renewalWindow()
                .withAri(START.plus(Duration.ofDays(20)), START.plus(Duration.ofDays(21)), new SplittableRandom(1)));
        NeedsRenewal d = assertInstanceOf(NeedsRenewal.class, CoverageDecision.decide(WEB, in));

        assertTrue(d.since().isBefore(START.plus(Duration.ofDays(22))), d.since().toString());
    }

    @Test
    void skipped_while_the_group_is_backing_off_with_the_time_of_the_next_attempt() throws Exception {
        backoff.recordFailure("web", "CA unreachable");

        Skipped d = assertInstanceOf(Skipped.class, decide(WEB));

        assertTrue(d.reason().contains("backing off after 1 failure (last: CA unreachable)"), d.reason());
        assertEquals(Optional.of(clock.instant().plus(Duration.ofMinutes(1))), d.retryAt());
        clock.advance(Duration.ofMinutes(1));
        assertEquals(Kind.NEEDS_ISSUE, decide(WEB).kind());
    }

    @Test
    void a_domain_backing_off_is_left_out_and_the_others_are_ordered() throws Exception {
        backoff.recordFailure("b.example.com", "HTTP-01: 404");

        NeedsIssue d = assertInstanceOf(NeedsIssue.class, decide(WEB));

        assertEquals(List.of("a.example.com"), d.names());
        assertTrue(d.excluded().get("b.example.com").contains("HTTP-01: 404"), d.excluded().toString());
    }

    @Test
    void skipped_when_the_ledger_refuses_with_the_time_the_limit_frees_up() throws Exception {
        for (int i = 0; i < 5; i++) {
            ledger.recordFailedAuthorization("a.example.com");
        }

        Skipped d = assertInstanceOf(Skipped.class, decide(WEB));

        assertTrue(d.reason().startsWith("rate limit: failed authorizations per hostname"), d.reason());
        assertEquals(Optional.of(clock.instant().plus(Duration.ofHours(1))), d.retryAt());
    }

    @Test
    void a_renewal_of_the_same_names_is_not_held_back_by_the_registered_domain_limit() throws Exception {
        install("web", true, START, Duration.ofDays(90), "a.example.com", "b.example.com");
        clock.set(START.plus(Duration.ofDays(61)));
        for (int i = 0; i < 50; i++) {
            ledger.recordIssued(List.of("h" + i + ".example.com"));
        }

        assertEquals(Kind.NEEDS_RENEWAL, decide(WEB).kind());
        assertEquals(Kind.SKIPPED, decide(new CertificateGroup("new", List.of("new.example.com"))).kind());
    }

    @Test
    void a_wildcard_without_a_certificate_is_skipped_because_http01_cannot_validate_it() throws Exception {
        CertificateGroup wildcard = new CertificateGroup("_wildcard.example.com", List.of("*.example.com"));

        Skipped d = assertInstanceOf(Skipped.class, decide(wildcard));
        assertTrue(d.reason().contains("wildcard"), d.reason());
        assertTrue(d.reason().contains("HTTP-01"), d.reason());

        install("operator-wild", false, START, Duration.ofDays(90), "*.example.com");
        assertEquals(Kind.COVERED, decide(wildcard).kind());
    }

    @Test
    void with_a_dns01_provider_a_wildcard_is_ordered() throws Exception {
        CertificateGroup wildcard = new CertificateGroup("be_shop", List.of("*.example.com", "example.com"));
        Inputs in = Inputs.of(installed, backoff, ledger, ACCOUNT, clock).withDnsValidation(true);
        NeedsIssue d = assertInstanceOf(NeedsIssue.class, CoverageDecision.decide(wildcard, in));
        assertEquals(List.of("*.example.com", "example.com"), d.names());
    }

    @Test
    void a_domain_that_does_not_point_here_is_left_out_of_the_order() throws Exception {
        Inputs in = Inputs.of(installed, backoff, ledger, ACCOUNT, clock).withReachability(d ->
                d.equals("b.example.com") ? Optional.of("resolves to 203.0.113.9, not to this balancer") : Optional.empty());

        NeedsIssue d = assertInstanceOf(NeedsIssue.class, CoverageDecision.decide(WEB, in));

        assertEquals(List.of("a.example.com"), d.names());
        assertEquals(Map.of("b.example.com", "resolves to 203.0.113.9, not to this balancer"), d.excluded());
        assertTrue(d.describe().contains("left out: b.example.com: resolves to 203.0.113.9"), d.describe());
    }

    @Test
    void skipped_when_no_name_points_here() {
        Inputs in = Inputs.of(installed, backoff, ledger, ACCOUNT, clock)
                .withReachability(d -> Optional.of("does not resolve"));

        Skipped d = assertInstanceOf(Skipped.class, CoverageDecision.decide(WEB, in));

        assertEquals("a.example.com: does not resolve; b.example.com: does not resolve", d.reason());
        assertEquals(Optional.empty(), d.retryAt());
    }

    @Test
    void never_orders_again_for_names_that_are_covered_when_the_missing_one_cannot_be_validated() throws Exception {
        install("web", true, START, Duration.ofDays(90), "a.example.com");
        Inputs in = Inputs.of(installed, backoff, ledger, ACCOUNT, clock).withReachability(d ->
                d.equals("b.example.com") ? Optional.of("does not resolve") : Optional.empty());

        Skipped d = assertInstanceOf(Skipped.class, CoverageDecision.decide(WEB, in));

        assertEquals("b.example.com: does not resolve", d.reason());
    }

    @Test
    void a_due_renewal_goes_ahead_for_the_names_that_still_point_here() throws Exception {
        install("web", true, START, Duration.ofDays(90), "a.example.com", "b.example.com");
        clock.set(START.plus(Duration.ofDays(70)));
        Inputs in = Inputs.of(installed, backoff, ledger, ACCOUNT, clock).withReachability(d ->
                d.equals("b.example.com") ? Optional.of("does not resolve") : Optional.empty());

        NeedsRenewal d = assertInstanceOf(NeedsRenewal.class, CoverageDecision.decide(WEB, in));

        assertEquals(List.of("a.example.com"), d.names());
        assertEquals(Map.of("b.example.com", "does not resolve"), d.excluded());
    }

    @Test
    void decides_every_group_in_order() throws Exception {
        install("web", true, START, Duration.ofDays(90), "a.example.com", "b.example.com");
        List<CertificateGroup> groups = CertificateGroup.group(Map.of(
                "a.example.com", "web", "b.example.com", "web", "c.example.com", "other"), false);

        Inputs in = Inputs.of(installed, backoff, ledger, ACCOUNT, clock);
        List<CoverageDecision> decisions = groups.stream().map(g -> CoverageDecision.decide(g, in)).toList();

        assertEquals(List.of("other", "web"), decisions.stream().map(d -> d.group().name()).toList());
        assertEquals(List.of(Kind.NEEDS_ISSUE, Kind.COVERED), decisions.stream().map(CoverageDecision::kind).toList());
    }
}
