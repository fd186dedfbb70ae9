package haproxylb.certificates.store;

/**
 * A certificate file that cannot be installed. The message names the file, says what is wrong and what to do, and is
 * meant to be shown to the operator as it is (log line, {@code NAME.error} file, status).
 */
public class CertificateProblem extends Exception {
    private static final long serialVersionUID = 1L;

    private final String sourceName;

    public CertificateProblem(String sourceName, String problem) {
        super(sourceName + ": " + problem);
        this.sourceName = sourceName;
    }

    public CertificateProblem(String sourceName, String problem, Throwable cause) {
        super(sourceName + ": " + problem, cause);
        this.sourceName = sourceName;
    }

    /** The file (or other source) the problem is in, as given to {@link CertificateBundle#parse}. */
    public String sourceName() {
        return sourceName;
    }
}
