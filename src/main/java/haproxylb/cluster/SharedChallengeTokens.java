package haproxylb.cluster;

import haproxylb.certificates.issuer.ChallengeTokens;
import haproxylb.storage.Storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP-01 tokens in ZooKeeper ({@code challenges/TOKEN}, under the cluster's ACLs): published by the node that
 * ordered before it triggers the challenge, read by any node the CA reaches. A node asks ZooKeeper only for a token it
 * does not hold, which happens once or twice per validation: a read is cheaper than keeping a watch on every node.
 */
public final class SharedChallengeTokens implements ChallengeTokens {
    private static final Logger LOG = LoggerFactory.getLogger(SharedChallengeTokens.class);
    private static final String FOLDER = "challenges/";

    private final Storage shared;

    public SharedChallengeTokens(Storage shared) {
        this.shared = shared;
    }

    @Override
    public void publish(String token, String keyAuthorization) throws IOException {
        shared.store(FOLDER + token, keyAuthorization.getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    public void withdraw(String token) {
        try {
            shared.delete(FOLDER + token);
        } catch (IOException | RuntimeException e) {
            // A leftover token answers nothing the CA still asks for; it goes with the next withdrawal that works.
            LOG.warn("Could not withdraw HTTP-01 token {} from the cluster: {}", token, e.getMessage());
        }
    }

    @Override
    public Optional<String> lookup(String token) {
        try {
            return shared.load(FOLDER + token).map(b -> new String(b, StandardCharsets.US_ASCII));
        } catch (IOException | RuntimeException e) {
            LOG.warn("Could not ask the cluster for HTTP-01 token {}: {}", token, e.getMessage());
            return Optional.empty();
        }
    }
}
