package haproxylb.certificates.policy;

import haproxylb.certificates.issuer.IssuanceException;
import haproxylb.certificates.issuer.Issuer;
import haproxylb.storage.Storage;
import java.io.IOException;
import java.util.Objects;

/**
 * One ACME CA the daemon may order from, with what is its own: the issuer (its account, and EAB if it needs one),
 * its rate-limit ledger (stored under {@code ledgerKey}) and its gate (its backoff when it fails as a whole). The first
 * of the list ({@code lb.acme.directory-url}) is tried first for every order; the others ({@code lb.acme.fallback-cas})
 * only when those before them are unreachable, rate limit, or have paused the names.
 */
public final class CertificateAuthority {
    private final Issuer issuer;
    private final RateLimitLedger ledger;
    private final String ledgerKey;
    private final CaGate gate;

    public CertificateAuthority(Issuer issuer, RateLimitLedger ledger, String ledgerKey, CaGate gate) {
        this.issuer = Objects.requireNonNull(issuer, "issuer");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.ledgerKey = Storage.checkedKey(ledgerKey);
        this.gate = Objects.requireNonNull(gate, "gate");
    }

    public String name() {
        return issuer.caName();
    }

    /** One account per directory URL (AcmeAccountStore), so the URL identifies the account in the ledger. */
    public String accountId() {
        return issuer.accountId();
    }

    public Issuer issuer() {
        return issuer;
    }

    public RateLimitLedger ledger() {
        return ledger;
    }

    public CaGate gate() {
        return gate;
    }

    public void saveLedger(Storage state) throws IOException {
        ledger.save(state, ledgerKey);
    }

    public void reloadLedger(Storage state) throws IOException {
        ledger.reload(state, ledgerKey);
    }

    /** A GET of the CA's directory: creates nothing at the CA and counts against no limit. */
    public boolean answers() {
        try {
            issuer.supportsRenewalInfo();
            return true;
        } catch (IssuanceException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return name() + " (" + accountId() + ")";
    }
}
