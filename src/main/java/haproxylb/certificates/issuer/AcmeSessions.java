package haproxylb.certificates.issuer;

import java.io.IOException;
import java.time.Duration;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.exception.AcmeException;

/**
 * The acme4j session (the CA's directory) and account login of one CA, made on first use and kept; dropped when a
 * failure suggests the CA restarted or forgot the account, so the next order looks them up afresh.
 */
final class AcmeSessions {
    private static final Duration MAX_NETWORK_TIMEOUT = Duration.ofSeconds(10);

    private final AcmeSettings settings;
    private final AcmeAccountStore accounts;
    private final TrustingProvider provider;
    private Session session;
    private Login login;

    AcmeSessions(AcmeSettings settings, AcmeAccountStore accounts, TrustingProvider provider) {
        this.settings = settings;
        this.accounts = accounts;
        this.provider = provider;
    }

    synchronized boolean loggedIn() {
        return login != null;
    }

    synchronized void forgetLogin() {
        login = null;
    }

    synchronized Session session() {
        if (session == null) {
            Session s = new Session(settings.directoryUri(), provider);
            NetworkSettings ns = s.networkSettings();
            ns.setTimeout(settings.timeout().compareTo(MAX_NETWORK_TIMEOUT) < 0 ? settings.timeout() : MAX_NETWORK_TIMEOUT);
            session = s;
        }
        return session;
    }

    synchronized Login login() throws AcmeException, IOException {
        if (login == null) {
            login = accounts.login(session(), settings);
        }
        return login;
    }

    /** After a failure that may mean the CA restarted or forgot us, look the account up afresh next time. */
    void resetOn(IssuanceException e) {
        if (e.kind() != IssuanceException.Kind.AUTHORIZATION_FAILED) {
            synchronized (this) {
                login = null;
                if (e.kind() == IssuanceException.Kind.CA_UNREACHABLE) {
                    session = null;
                }
            }
        }
    }
}
