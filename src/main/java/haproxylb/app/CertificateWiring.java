package haproxylb.app;

import org.apache.camel.CamelContext;

/** Builds the certificate beans (coverage, issuance, installation) and binds them for routes/certificates.camel.yaml. */
final class CertificateWiring {
    private CertificateWiring() {}

    static void configure(CamelContext context, Core core) {
        // Filled in by the certificates issue.
    }
}
