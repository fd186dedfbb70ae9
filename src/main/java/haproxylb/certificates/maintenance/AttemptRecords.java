package haproxylb.certificates.maintenance;

import haproxylb.certificates.policy.Backoff;
import haproxylb.certificates.policy.CaGate;
import haproxylb.certificates.policy.CertificateAuthority;
import haproxylb.certificates.policy.CertificateGroup;
import haproxylb.certificates.policy.RateLimitLedger;
import haproxylb.storage.Storage;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The record of past attempts the coverage check decides on: the backoff and every CA's rate-limit ledger, kept in
 * the state storage (the state directory, or in a cluster the storage all nodes share), so a restart or a new leader
 * is no way around them.
 */
final class AttemptRecords {
    private static final Logger LOG = LoggerFactory.getLogger(AttemptRecords.class);

    private final Storage state;
    private final String backoffKey;
    private final String ledgerKey;
    private final Backoff backoff;
    private final RateLimitLedger ledger;
    /** Every CA in the order they are tried; the first one's ledger is {@link #ledger}, the others keep their own. */
    private final List<CertificateAuthority> cas;
    /** False after a failed save: this node's backoff and ledger are then newer than the stored ones. */
    private boolean saved = true;

    AttemptRecords(Storage state, String backoffKey, String ledgerKey, Backoff backoff, RateLimitLedger ledger,
                   List<CertificateAuthority> cas) {
        this.state = state;
        this.backoffKey = backoffKey;
        this.ledgerKey = ledgerKey;
        this.backoff = backoff;
        this.ledger = ledger;
        this.cas = cas;
    }

    void save() {
        try {
            backoff.save(state, backoffKey);
            ledger.save(state, ledgerKey);
            for (CertificateAuthority ca : fallbacks()) {
                ca.saveLedger(state);
            }
            saved = true;
        } catch (IOException e) {
            saved = false;
            LOG.error("could not save the certificate backoff or rate-limit ledger ({}): {}", state.where(backoffKey),
                    e.getMessage());
        }
    }

    /**
     * Starts each check from the stored backoff and ledgers: in a cluster another node may have been the certificate
     * leader since this one last checked, and its orders and failures count here too. Skipped while a save has failed
     * (this node's memory is then the newest); an unreadable storage keeps the memory as it is.
     */
    void reload() {
        if (!saved) {
            return;
        }
        try {
            backoff.reload(state, backoffKey);
            ledger.reload(state, ledgerKey);
            for (CertificateAuthority ca : fallbacks()) {
                ca.reloadLedger(state);
            }
        } catch (IOException e) {
            LOG.warn("certificate check: the stored backoff and rate-limit ledger could not be read ({}); deciding on "
                    + "this node's copy", e.getMessage());
        }
    }

    /**
     * Drops the backoff of domains and groups that left the map once their wait is over, so backoff.json does not
     * grow forever; while a wait runs it is kept, so removing and re-adding a name is no way around it.
     */
    void forgetWaitedOut(List<CertificateGroup> groups) {
        Set<String> current = new HashSet<>();
        current.add(CaGate.KEY);
        cas.forEach(ca -> current.add(ca.gate().key()));
        groups.forEach(g -> {
            current.add(g.name());
            current.addAll(g.domains());
        });
        boolean changed = false;
        for (String key : backoff.keys()) {
            if (!current.contains(key) && backoff.mayAttempt(key)) {
                backoff.recordSuccess(key);
                changed = true;
            }
        }
        if (changed) {
            save();
        }
    }

    private List<CertificateAuthority> fallbacks() {
        return cas.subList(Math.min(1, cas.size()), cas.size());
    }
}
