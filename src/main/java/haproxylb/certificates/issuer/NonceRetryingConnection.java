package haproxylb.certificates.issuer;

import java.net.URL;
import java.security.KeyPair;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.connector.DefaultConnection;
import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.toolbox.JSONBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * acme4j's connection with more patience for refused anti-replay nonces. acme4j 4.0 sends a signed request up to 10
 * times while the CA answers {@code badNonce}, each time with the fresh nonce that answer carries; a CA that refuses
 * many good nonces (Pebble's {@code PEBBLE_WFE_NONCEREJECT}, a CA whose nodes do not share nonces) can still refuse all
 * 10, once in a thousand requests at a 50 % refusal rate. A refused nonce means the CA did nothing with the request,
 * so sending it again creates nothing twice: this connection does, {@link #ROUNDS} rounds of acme4j's 10 in all, so
 * that one unlucky request does not fail the whole order. Only then does the {@code badNonce} reach the issuer.
 */
final class NonceRetryingConnection extends DefaultConnection {
    private static final Logger LOG = LoggerFactory.getLogger(NonceRetryingConnection.class);
    /** Rounds of acme4j's own 10 tries: at a 50 % refusal rate one request in 2^40 still fails. */
    static final int ROUNDS = 4;
    /** acme4j 4.0's DefaultConnection.MAX_ATTEMPTS: the tries of one round. */
    static final int TRIES_PER_ROUND = 10;

    NonceRetryingConnection(HttpConnector httpConnector) {
        super(httpConnector);
    }

    /** Every signed request of acme4j (POST, POST-as-GET, certificate download) goes through here. */
    @Override
    protected int sendSignedRequest(URL url, JSONBuilder claims, Session session, KeyPair keypair, URL accountLocation,
                                    String accept) throws AcmeException {
        for (int round = 1; ; round++) {
            try {
                return super.sendSignedRequest(url, claims, session, keypair, accountLocation, accept);
            } catch (AcmeServerException e) {
                if (!AcmeErrors.badNonce(e) || round == ROUNDS) {
                    throw e;
                }
                LOG.info("the CA refused the nonce of {} {} times in a row; sending it again with a fresh one "
                        + "(round {} of {})", url, round * TRIES_PER_ROUND, round + 1, ROUNDS);
                // the refusal is read; acme4j sends nothing on a connection whose last answer is still open
                close();
            }
        }
    }
}
