package haproxylb.certificates.issuer;

import haproxylb.common.Causes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.connector.DefaultConnection;
import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeNetworkException;
import org.shredzone.acme4j.exception.AcmeProtocolException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.toolbox.JSON;
import org.shredzone.acme4j.toolbox.JSONBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * acme4j's connection to a CA, with two corrections, so that what reaches the issuer says whose failure it was:
 * <ul>
 * <li><b>More patience for refused anti-replay nonces.</b> acme4j 4.0 sends a signed request up to 10 times while the
 * CA answers {@code badNonce}, each time with the fresh nonce that answer carries; a CA that refuses many good nonces
 * (Pebble's {@code PEBBLE_WFE_NONCEREJECT}, a CA whose nodes do not share nonces) can still refuse all 10, once in a
 * thousand requests at a 50 % refusal rate. A refused nonce means the CA did nothing with the request, so sending it
 * again creates nothing twice: this connection does, {@link #ROUNDS} rounds of acme4j's 10 in all, so that one unlucky
 * request does not fail the whole order. Only then does the {@code badNonce} reach the issuer.</li>
 * <li><b>A connection lost while reading an answer is a network failure.</b> acme4j reads a JSON body through
 * {@code BufferedReader.lines()}, which wraps the {@code IOException} of a connection closed mid-body in an unchecked
 * {@code UncheckedIOException}, and a certificate chain cut short surfaces as an {@code AcmeProtocolException}; neither
 * is the {@link AcmeNetworkException} acme4j throws when the same connection is lost a moment earlier. Seen when the CA
 * stops mid-order (about 1 in 150 stops of Pebble): the order was then taken for a local fault of one certificate, the
 * CA's gate stayed open, and the next certificate's order went to the stopped CA as well.</li>
 * </ul>
 */
final class CaConnection extends DefaultConnection {
    private static final Logger LOG = LoggerFactory.getLogger(CaConnection.class);
    /** Rounds of acme4j's own 10 tries: at a 50 % refusal rate one request in 2^40 still fails. */
    static final int ROUNDS = 4;
    /** acme4j 4.0's DefaultConnection.MAX_ATTEMPTS: the tries of one round. */
    static final int TRIES_PER_ROUND = 10;

    CaConnection(HttpConnector httpConnector) {
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
            } catch (RuntimeException e) {
                throw networkFailureOr(e);
            }
        }
    }

    /** Also read by acme4j itself for every error answer (the problem document). */
    @Override
    public JSON readJsonResponse() throws AcmeException {
        try {
            return super.readJsonResponse();
        } catch (RuntimeException e) {
            throw networkFailureOr(e);
        }
    }

    @Override
    public List<X509Certificate> readCertificates() throws AcmeException {
        try {
            return super.readCertificates();
        } catch (RuntimeException e) {
            throw networkFailureOr(e);
        }
    }

    /**
     * {@code e} as the network failure it is when an I/O error of reading the answer caused it; otherwise {@code e}
     * itself is thrown from here (a CA's answer that is complete but makes no sense stays acme4j's
     * {@link AcmeProtocolException}).
     */
    static AcmeNetworkException networkFailureOr(RuntimeException e) {
        return new AcmeNetworkException(Causes.find(e, IOException.class).orElseThrow(() -> e));
    }
}
