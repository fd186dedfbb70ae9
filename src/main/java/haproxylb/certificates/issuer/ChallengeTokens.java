package haproxylb.certificates.issuer;

import java.io.IOException;
import java.util.Optional;

/**
 * HTTP-01 tokens beyond this node (issue 10): in a cluster the CA may connect to any balancer, so a token the leader
 * serves must be answered by every node. The {@link ChallengeResponder} publishes each ACME token here before the
 * challenge is triggered, withdraws it afterwards, and asks here for a token it does not hold itself. {@link #NONE} on
 * a single node.
 */
public interface ChallengeTokens {
    ChallengeTokens NONE = new ChallengeTokens() {
        @Override
        public void publish(String token, String keyAuthorization) {}

        @Override
        public void withdraw(String token) {}

        @Override
        public Optional<String> lookup(String token) {
            return Optional.empty();
        }
    };

    /** Makes the token answerable on every node; returns once it is. */
    void publish(String token, String keyAuthorization) throws IOException;

    void withdraw(String token);

    /** Another node's token; empty when unknown or when the shared store cannot be asked. */
    Optional<String> lookup(String token);
}
