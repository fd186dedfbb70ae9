package haproxylb.monitoring;

import java.util.Map;

/**
 * The daemon's own state and operations over JMX, as {@code haproxylb:type=Daemon} (next to Camel's
 * {@code org.apache.camel:*} MBeans of every route). An MXBean, so jconsole and any JMX client read it with plain
 * types only: maps arrive as tables of key and value.
 */
public interface HaproxyLbMXBean {
    /** Fragments haproxy runs now. */
    int getLiveFragments();

    /** Every fragment the status knows, with its state: pending, assembled, live, rejected, removed. */
    Map<String, String> getFragmentStates();

    int getRejectedFragmentCount();

    /** Names of the fragments in {@code <state>/rejected/} with a {@code NAME.error}. */
    String[] getRejectedFragmentNames();

    /** Rejected fragment → its error (the text of {@code rejected/NAME.error}). */
    Map<String, String> getRejectedFragments();

    /** Changes accepted at intake, waiting for assembly. */
    int getPendingChanges();

    boolean isReloadPending();

    /** When the rate limit lets the pending reload run (ISO-8601), or null. */
    String getNextReloadAt();

    /** When the last reload was attempted (ISO-8601), or null. */
    String getLastReloadTime();

    /** "ok: ..." or "failed: ..." with haproxy's or the command's message, or null before the first reload. */
    String getLastReloadOutcome();

    long getReloadsPerformed();

    long getReloadFailures();

    /** Reload requests folded into a pending one by the rate limit (lb.reload.min-interval). */
    long getReloadsCoalesced();

    long getReloadMinIntervalMillis();

    /** Newest validated config generation. */
    long getConfigGeneration();

    /** Generation haproxy runs; lower than {@link #getConfigGeneration()} while a reload is owed. */
    long getLiveGeneration();

    long getLastAssemblyMillis();

    int getLastAssemblyValidations();

    boolean isHaproxyUp();

    String getHaproxyStatus();

    /** Domain → certificate expiry (ISO-8601), for the domains whose expiry is known. */
    Map<String, String> getCertificateExpiry();

    /** Domain → certificate state as the certificate stage reports it (covered, issuing, backing-off, ...). */
    Map<String, String> getCertificateStates();

    /** Domain → the type of its last ACME error (rateLimited, paused, ...), for the domains backing off. */
    Map<String, String> getCertificateLastErrors();

    /**
     * "CA: limit" → "used of max" and when the oldest counted event leaves the window: per limit of each CA's ledger,
     * its fullest budget.
     */
    Map<String, String> getAcmeQuota();

    /** This node's name in the cluster (lb.cluster.node-name); null on a single node. */
    String getClusterNode();

    /** The member that runs the certificate checks and orders; null on a single node or while there is none. */
    String getClusterLeader();

    /** Member → the config generation it runs (each node counts its own); empty on a single node. */
    Map<String, Long> getClusterMemberLiveGenerations();

    /** This node has exactly what the cluster holds (always true on a single node). */
    boolean isClusterInSync();

    /** Why ZooKeeper could not be used, or null while it answers (and on a single node). */
    String getClusterProblem();

    /**
     * Asks for a reload of haproxy with the config on disk even though nothing changed. Force bypasses nothing
     * but the wait for a change: the rate limit (lb.reload.min-interval) still applies, the reload-trailing route
     * claims the request as soon as it allows, and in supervise mode a haproxy that is not running is started by
     * the watchdog instead.
     */
    String forceReload();

    /** Queues a coverage check of every live domain's certificate now, instead of at the next scheduled check. */
    String recheckCertificates();

    /**
     * Moves {@code rejected/NAME.cfg} and {@code NAME.map} back into the inbox (atomically, each), where intake
     * reads them like a new drop: use it once what made them fail is fixed elsewhere (a backend another fragment
     * now defines, a changed base template).
     */
    String retryRejectedFragment(String name);

    /**
     * {@code haproxy-config check}: what the daemon would decide about NAME.cfg and NAME.map at these paths (on the
     * daemon's machine, readable by its user), with the live fragments, without sending them: "would be accepted"
     * or "would be rejected" with the error naming the file and line.
     */
    String checkFragment(String name, String cfgFile, String mapFile);

    /** {@code haproxy-config diff}: config lines and domains that would change, and whether it takes a reload. */
    String diffFragment(String name, String cfgFile, String mapFile);

    /** {@code haproxy-config history}: the kept versions (when each went live, its id) and rejected attempts. */
    String fragmentHistory(String name);

    /**
     * {@code haproxy-config rollback} without the wait: drops the previous version (or the version with this id;
     * empty for the previous) into the inbox, where it goes through validation and the rate-limited reload like
     * any change; follow it in FragmentStates.
     */
    String rollbackFragment(String name, String id);
}
