package haproxylb.certificates.policy;

import haproxylb.certificates.issuer.RenewalInfoWindow;
import haproxylb.certificates.store.CertificateBundle;
import haproxylb.certificates.store.CertificateProblem;
import haproxylb.certificates.store.InstalledCertificate;
import haproxylb.support.FixedRandom;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import haproxylb.support.MutableClock;
import haproxylb.support.TestCertificates;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RenewalScheduleTest {
    private static final Instant ISSUED = Instant.parse("2025-01-01T00:00:00Z");
    private static final TestCertificates.Authority CA = TestCertificates.rootCa("Schedule Root", TestCertificates.ecKey(),
            ISSUED.minus(Duration.ofDays(1)), ISSUED.plus(Duration.ofDays(3650)));

    private final MutableClock clock = new MutableClock(ISSUED.plus(Duration.ofDays(10)));
    private final RenewalSchedule schedule = new RenewalSchedule(clock, new FixedRandom.AlwaysMin());
    private final List<InstalledCertificate> asked = new ArrayList<>();
    private Optional<RenewalInfoWindow> answer = Optional.empty();

    private Optional<RenewalInfoWindow> ari(InstalledCertificate c) {
        asked.add(c);
        return answer;
    }

    private static InstalledCertificate cert(String name, boolean issuedHere) throws CertificateProblem {
        CertificateBundle b = CertificateBundle.read(name, CA.leaf(name + ".example.com")
                .validity(ISSUED, Duration.ofDays(90)).issue().pem());
        return new InstalledCertificate(name, Path.of(name + ".pem"), b, issuedHere);
    }

    private static RenewalInfoWindow window(Instant start, Instant end, Instant retryAfter) {
        return new RenewalInfoWindow(start, end, Optional.ofNullable(retryAfter), Optional.empty());
    }

    @Test
    void without_ari_the_one_third_rule_decides() throws Exception {
        InstalledCertificate c = cert("plain", true);
        schedule.refresh(List.of(c), this::ari);
        assertEquals(1, asked.size());
        assertEquals(ISSUED.plus(Duration.ofDays(60)), schedule.window(c).renewAt());
    }

    @Test
    void an_earlier_ari_window_from_the_ca_moves_renewal_forward() throws Exception {
        InstalledCertificate c = cert("early", true);
        answer = Optional.of(window(ISSUED.plus(Duration.ofDays(20)), ISSUED.plus(Duration.ofDays(22)), null));
        schedule.refresh(List.of(c), this::ari);
        assertEquals(ISSUED.plus(Duration.ofDays(20)), schedule.window(c).renewAt());
        assertTrue(schedule.window(c).fromAri());
    }

    @Test
    void the_ca_is_asked_again_after_its_retry_after_and_not_before() throws Exception {
        InstalledCertificate c = cert("retry", true);
        answer = Optional.of(window(ISSUED.plus(Duration.ofDays(61)), ISSUED.plus(Duration.ofDays(62)),
                clock.instant().plus(Duration.ofHours(2))));
        schedule.refresh(List.of(c), this::ari);
        clock.advance(Duration.ofMinutes(119));
        schedule.refresh(List.of(c), this::ari);
        assertEquals(1, asked.size(), "not before Retry-After");
        clock.advance(Duration.ofMinutes(1));
        schedule.refresh(List.of(c), this::ari);
        assertEquals(2, asked.size());
    }

    @Test
    void a_retry_after_is_kept_between_one_minute_and_one_day_and_six_hours_without_one() throws Exception {
        InstalledCertificate c = cert("clamp", true);
        answer = Optional.of(window(ISSUED.plus(Duration.ofDays(61)), ISSUED.plus(Duration.ofDays(62)), clock.instant()));
        schedule.refresh(List.of(c), this::ari);
        schedule.refresh(List.of(c), this::ari);
        assertEquals(1, asked.size(), "a Retry-After of now is stretched to a minute");
        clock.advance(RenewalSchedule.MIN_ASK_INTERVAL);
        answer = Optional.of(window(ISSUED.plus(Duration.ofDays(61)), ISSUED.plus(Duration.ofDays(62)),
                clock.instant().plus(Duration.ofDays(30))));
        schedule.refresh(List.of(c), this::ari);
        assertEquals(2, asked.size());
        clock.advance(RenewalSchedule.MAX_ASK_INTERVAL);
        answer = Optional.empty();
        schedule.refresh(List.of(c), this::ari);
        assertEquals(3, asked.size(), "a month-long Retry-After is cut to a day");
        clock.advance(RenewalSchedule.DEFAULT_ASK_INTERVAL.minusSeconds(1));
        schedule.refresh(List.of(c), this::ari);
        assertEquals(3, asked.size(), "no ARI: asked again after six hours");
        clock.advance(Duration.ofSeconds(1));
        schedule.refresh(List.of(c), this::ari);
        assertEquals(4, asked.size());
    }

    @Test
    void the_same_suggestion_keeps_the_renewal_time_chosen_in_it() throws Exception {
        InstalledCertificate c = cert("stable", true);
        Instant start = ISSUED.plus(Duration.ofDays(20));
        answer = Optional.of(window(start, start.plus(Duration.ofDays(2)), null));
        RenewalSchedule random = new RenewalSchedule(clock, new java.util.SplittableRandom(7));
        random.refresh(List.of(c), this::ari);
        Instant chosen = random.window(c).renewAt();
        clock.advance(RenewalSchedule.DEFAULT_ASK_INTERVAL);
        random.refresh(List.of(c), this::ari);
        assertEquals(chosen, random.window(c).renewAt());
        assertTrue(!chosen.isBefore(start) && !chosen.isAfter(start.plus(Duration.ofDays(2))), chosen.toString());
    }

    @Test
    void operator_certificates_and_certificates_already_due_are_not_asked_about() throws Exception {
        InstalledCertificate operator = cert("operator", false);
        InstalledCertificate due = cert("due", true);
        clock.set(ISSUED.plus(Duration.ofDays(61)));
        schedule.refresh(List.of(operator, due), this::ari);
        assertTrue(asked.isEmpty());
        assertEquals(operator.renewalWindow().renewAt(), schedule.window(operator).renewAt());
    }

    @Test
    void certificates_that_left_the_directory_are_forgotten() throws Exception {
        InstalledCertificate c = cert("gone", true);
        answer = Optional.of(window(ISSUED.plus(Duration.ofDays(20)), ISSUED.plus(Duration.ofDays(20)), null));
        schedule.refresh(List.of(c), this::ari);
        schedule.refresh(List.of(), this::ari);
        assertEquals(ISSUED.plus(Duration.ofDays(60)), schedule.window(c).renewAt(), "back to the one-third rule");
    }
}
