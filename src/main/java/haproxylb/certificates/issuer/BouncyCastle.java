package haproxylb.certificates.issuer;

import java.security.Security;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Registers the BouncyCastle JCA provider, the one place that does (acme4j uses the "BC" provider by name for EC keys;
 * PEM key conversion may use it). Appended, so the JDK's providers stay first.
 */
public final class BouncyCastle {
    private BouncyCastle() {}

    public static synchronized void ensureRegistered() {
        if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
            Security.addProvider(new BouncyCastleProvider());
        }
    }
}
