package haproxylb.certificates.store;

import haproxylb.certificates.issuer.OrderOutcome;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the daemon remembers about how it obtained a certificate (kept in {@code issued.json} beside the fingerprint),
 * for the status: which CA issued it, with which profile, and whether the order named the certificate it replaced
 * (ARI's {@code replaces}) or why not.
 *
 * @param ca              the CA's short name
 * @param profile         the profile it was ordered with
 * @param replaced        the ARI id of the certificate it replaced, when the CA accepted {@code replaces}
 * @param replacesDropped why {@code replaces} was left out (the CA refused it), if it was
 * @param profileNote     why the requested profile was not sent, if it was not
 * @param passedOver      why the CAs tried before {@code ca} did not issue it (down, rate limited, paused the names)
 */
public record IssuedDetails(String ca, Optional<String> profile, Optional<String> replaced,
                            Optional<String> replacesDropped, Optional<String> profileNote,
                            Optional<String> passedOver) {

    public static IssuedDetails of(OrderOutcome outcome) {
        return of(outcome, Optional.empty());
    }

    /** @param passedOver why the CAs tried first did not issue, when the certificate came from a later one */
    public static IssuedDetails of(OrderOutcome outcome, Optional<String> passedOver) {
        return new IssuedDetails(outcome.ca(), outcome.profile(), outcome.replaced(), outcome.replacesDropped(),
                outcome.profileNote(), passedOver);
    }

    /** One line for the status about the last order, or empty when there is nothing unusual to say. */
    public Optional<String> note() {
        List<String> parts = new ArrayList<>();
        passedOver.ifPresent(p -> parts.add("issued by " + ca + " because " + p));
        replacesDropped.ifPresent(r -> parts.add("renewal ordered without ARI 'replaces' because the CA refused it ("
                + r + ")"));
        profileNote.ifPresent(parts::add);
        return parts.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", parts));
    }

    void writeTo(ObjectNode entry) {
        if (!ca.isEmpty()) {
            entry.put("ca", ca);
        }
        profile.ifPresent(p -> entry.put("profile", p));
        replaced.ifPresent(r -> entry.put("replaces", r));
        replacesDropped.ifPresent(r -> entry.put("replacesDropped", r));
        profileNote.ifPresent(r -> entry.put("profileNote", r));
        passedOver.ifPresent(r -> entry.put("passedOver", r));
    }

    static IssuedDetails readFrom(JsonNode entry) {
        return new IssuedDetails(entry.path("ca").asText(""), text(entry, "profile"), text(entry, "replaces"),
                text(entry, "replacesDropped"), text(entry, "profileNote"), text(entry, "passedOver"));
    }

    private static Optional<String> text(JsonNode entry, String field) {
        JsonNode v = entry.get(field);
        return v == null || v.isNull() || v.asText().isEmpty() ? Optional.empty() : Optional.of(v.asText());
    }
}
