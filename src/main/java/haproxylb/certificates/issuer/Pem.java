package haproxylb.certificates.issuer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;

/** PEM text for what the CA returns: encoding DER blocks, and parsing certificate chains. */
final class Pem {
    private Pem() {}

    static String pem(String label, byte[] der) {
        String b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + label + "-----\n" + b64 + "\n-----END " + label + "-----\n";
    }

    static List<X509Certificate> parseCertificates(byte[] pem) throws CertificateException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        try (InputStream in = new ByteArrayInputStream(pem)) {
            Collection<? extends Certificate> certs = cf.generateCertificates(in);
            for (Certificate c : certs) {
                out.add((X509Certificate) c);
            }
        } catch (IOException e) {
            throw new CertificateException(e);
        }
        return out;
    }
}
