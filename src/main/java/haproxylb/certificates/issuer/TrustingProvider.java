package haproxylb.certificates.issuer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.shredzone.acme4j.connector.Connection;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

/**
 * The generic provider (any https directory URL), with an HTTP client whose TLS trust is the JVM's default
 * anchors plus the extra CA file from the settings, and connections that retry refused nonces longer than acme4j
 * alone and report a connection lost mid-answer as the network failure it is ({@link CaConnection}).
 */
final class TrustingProvider extends GenericAcmeProvider {
    private final SSLContext sslContext;

    TrustingProvider(AcmeSettings settings) {
        this.sslContext = settings.extraTrustedCaPem().map(TrustingProvider::sslContextTrusting).orElse(null);
    }

    @Override
    public Connection connect(URI serverUri, NetworkSettings networkSettings, HttpClient httpClient) {
        return new CaConnection(createHttpConnector(networkSettings, httpClient));
    }

    @Override
    public HttpClient createHttpClient(NetworkSettings networkSettings) {
        HttpClient.Builder b = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(networkSettings.getTimeout())
                .proxy(networkSettings.getProxySelector());
        if (networkSettings.getAuthenticator() != null) {
            b.authenticator(networkSettings.getAuthenticator());
        }
        if (sslContext != null) {
            b.sslContext(sslContext);
        }
        return b.build();
    }

    static SSLContext sslContextTrusting(java.nio.file.Path caPem) {
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            TrustManagerFactory jdk = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            jdk.init((KeyStore) null);
            int i = 0;
            for (TrustManager tm : jdk.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    for (X509Certificate c : x.getAcceptedIssuers()) {
                        ks.setCertificateEntry("jdk-" + i++, c);
                    }
                }
            }
            List<X509Certificate> extra = Pem.parseCertificates(Files.readAllBytes(caPem));
            if (extra.isEmpty()) {
                throw new IllegalArgumentException("extra trusted CA file " + caPem + " holds no certificate");
            }
            int j = 0;
            for (X509Certificate c : extra) {
                ks.setCertificateEntry("extra-" + j++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use extra trusted CA file " + caPem + ": " + e.getMessage(), e);
        }
    }
}
