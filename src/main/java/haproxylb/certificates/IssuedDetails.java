package haproxylb.certificates;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 */
public record IssuedDetails(String ca, Optional<String> profile, Optional<String> replaced,
                            Optional<String> replacesDropped, Optional<String> profileNote) {

    public static IssuedDetails of(AcmeIssuer.OrderOutcome outcome) {
        return new IssuedDetails(outcome.ca(), outcome.profile(), outcome.replaced(), outcome.replacesDropped(),
                outcome.profileNote());
    }

    /** One line for the status about the last order, or empty when there is nothing unusual to say. */
    public Optional<String> note() {
        if (replacesDropped.isPresent()) {
            return Optional.of("renewal ordered without ARI 'replaces' because the CA refused it ("
                    + replacesDropped.get() + ")" + profileNote.map(n -> "; " + n).orElse(""));
        }
        return profileNote;
    }

    void writeTo(ObjectNode entry) {
        if (!ca.isEmpty()) {
            entry.put("ca", ca);
        }
        profile.ifPresent(p -> entry.put("profile", p));
        replaced.ifPresent(r -> entry.put("replaces", r));
        replacesDropped.ifPresent(r -> entry.put("replacesDropped", r));
        profileNote.ifPresent(r -> entry.put("profileNote", r));
    }

    static IssuedDetails readFrom(JsonNode entry) {
        return new IssuedDetails(entry.path("ca").asText(""), text(entry, "profile"), text(entry, "replaces"),
                text(entry, "replacesDropped"), text(entry, "profileNote"));
    }

    private static Optional<String> text(JsonNode entry, String field) {
        JsonNode v = entry.get(field);
        return v == null || v.isNull() || v.asText().isEmpty() ? Optional.empty() : Optional.of(v.asText());
    }
}
