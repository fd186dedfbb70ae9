package haproxylb.certificates;

import java.security.Security;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/** Registers the BouncyCastle JCA provider once (acme4j needs it for EC keys, PEM key conversion may use it). */
final class BouncyCastle {
    private BouncyCastle() {}

    static synchronized void ensureRegistered() {
        if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
            Security.addProvider(new BouncyCastleProvider());
        }
    }
}
