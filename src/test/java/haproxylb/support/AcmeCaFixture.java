package haproxylb.support;

import haproxylb.certificates.issuer.ChallengeResponder;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A test class's ACME CA for issuer tests without a daemon (register it as a static extension): a ChallengeResponder
 * on loopback answering HTTP-01, a real Pebble validating through it, and the recording proxy in front of Pebble.
 * Started once before the class, closed after it (proxy, Pebble, responder); Pebble's logs are printed when a test
 * fails. For tests with a daemon, {@link DaemonFixture} has the same parts.
 */
public final class AcmeCaFixture implements BeforeAllCallback, AfterAllCallback, TestWatcher {
    private ChallengeResponder responder;
    private PebbleServer pebble;
    private AcmeRecordingProxy proxy;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        responder = new ChallengeResponder(new InetSocketAddress("127.0.0.1", 0));
        responder.start();
        pebble = PebbleServer.start(responder.port());
        proxy = AcmeRecordingProxy.start(pebble);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (proxy != null) {
            proxy.close();
        }
        if (pebble != null) {
            pebble.close();
        }
        if (responder != null) {
            responder.stop();
        }
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        PebbleServer.printLogsOnFailure(() -> pebble).testFailed(context, cause);
    }

    public ChallengeResponder responder() {
        return responder;
    }

    public PebbleServer pebble() {
        return pebble;
    }

    public AcmeRecordingProxy proxy() {
        return proxy;
    }
}
