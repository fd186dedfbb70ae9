package haproxylb.monitoring;

import haproxylb.cli.FragmentCheck;
import haproxylb.cli.FragmentDiff;
import haproxylb.cli.HistoryReport;
import haproxylb.cli.Rollback;
import haproxylb.cluster.ClusterView;
import haproxylb.common.AtomicFiles;
import haproxylb.intake.FragmentHistory;
import haproxylb.intake.FragmentName;
import haproxylb.intake.FragmentProblem;
import haproxylb.intake.FragmentStore;
import haproxylb.status.FragmentStatus;
import haproxylb.status.Status;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanOperationInfo;
import javax.management.MBeanParameterInfo;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import javax.management.StandardMBean;

import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link HaproxyLbMXBean}: reads the status board, the fragment store and the reload gate; acts through them. */
public final class HaproxyLbControl implements HaproxyLbMXBean {
    public static final ObjectName NAME = objectName("haproxylb:type=Daemon");
    /** The certificate stage's coverage route consumes this endpoint (routes/certificates.camel.yaml). */
    static final String CERTIFICATE_CHECK = "seda:certificates-check";
    private static final Logger LOG = LoggerFactory.getLogger(HaproxyLbControl.class);

    private final CamelContext context;
    private final Monitored daemon;
    private final StatusTally tally;
    private volatile ProducerTemplate producer;

    HaproxyLbControl(CamelContext context, Monitored daemon, StatusTally tally) {
        this.context = context;
        this.daemon = daemon;
        this.tally = tally;
    }

    private Status status() {
        return daemon.status().snapshot();
    }

    @Override
    public int getLiveFragments() {
        return (int) status().fragments().values().stream().filter(f -> "live".equals(f.state())).count();
    }

    @Override
    public Map<String, String> getFragmentStates() {
        Map<String, String> states = new TreeMap<>();
        status().fragments().forEach((name, f) -> states.put(name, f.state()));
        return states;
    }

    @Override
    public int getRejectedFragmentCount() {
        return getRejectedFragments().size();
    }

    @Override
    public String[] getRejectedFragmentNames() {
        return getRejectedFragments().keySet().toArray(String[]::new);
    }

    @Override
    public Map<String, String> getRejectedFragments() {
        try {
            return daemon.fragments().rejections();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + daemon.fragments().rejectedDir() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int getPendingChanges() {
        return daemon.pendingChanges().count();
    }

    @Override
    public boolean isReloadPending() {
        return daemon.reloader().gate().isPending();
    }

    @Override
    public String getNextReloadAt() {
        return daemon.reloader().gate().nextAllowed().map(Instant::toString).orElse(null);
    }

    @Override
    public String getLastReloadTime() {
        var r = status().lastReload();
        return r == null ? null : r.at();
    }

    @Override
    public String getLastReloadOutcome() {
        var r = status().lastReload();
        return r == null ? null : (r.ok() ? "ok: " : "failed: ") + r.message();
    }

    @Override
    public long getReloadsPerformed() {
        return status().reloads();
    }

    @Override
    public long getReloadFailures() {
        return tally.reloadFailures();
    }

    @Override
    public long getReloadsCoalesced() {
        return daemon.reloader().gate().coalesced();
    }

    @Override
    public long getReloadMinIntervalMillis() {
        return daemon.reloader().gate().minInterval().toMillis();
    }

    @Override
    public long getConfigGeneration() {
        return daemon.status().configGeneration();
    }

    @Override
    public long getLiveGeneration() {
        return daemon.status().liveGeneration();
    }

    @Override
    public long getLastAssemblyMillis() {
        var r = daemon.assembly().lastReport();
        return r == null ? -1 : r.millis();
    }

    @Override
    public int getLastAssemblyValidations() {
        var r = daemon.assembly().lastReport();
        return r == null ? 0 : r.validations();
    }

    @Override
    public boolean isHaproxyUp() {
        return daemon.haproxy().probe().up();
    }

    @Override
    public String getHaproxyStatus() {
        return daemon.haproxy().probe().message();
    }

    @Override
    public Map<String, String> getCertificateExpiry() {
        Map<String, String> expiry = new TreeMap<>();
        CertificateView.of(status().certificates()).forEach((domain, c) ->
                c.expires().ifPresent(at -> expiry.put(domain, at.toString())));
        return expiry;
    }

    @Override
    public Map<String, String> getCertificateStates() {
        Map<String, String> states = new TreeMap<>();
        CertificateView.of(status().certificates()).forEach((domain, c) -> states.put(domain, c.state()));
        return states;
    }

    /** The cluster as the heartbeat last wrote it ({@code <state>/cluster.json}); empty on a single node. */
    private Optional<ClusterView> cluster() {
        try {
            return ClusterView.read(daemon.layout().root());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + daemon.layout().root().resolve(ClusterView.FILE) + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public String getClusterNode() {
        return cluster().map(ClusterView::node).orElse(null);
    }

    @Override
    public String getClusterLeader() {
        return cluster().map(ClusterView::leader).orElse(null);
    }

    @Override
    public Map<String, Long> getClusterMemberLiveGenerations() {
        Map<String, Long> generations = new TreeMap<>();
        cluster().ifPresent(v -> v.members().forEach(m -> generations.put(m.node(), m.liveGeneration())));
        return generations;
    }

    @Override
    public boolean isClusterInSync() {
        return cluster().map(ClusterView::inSync).orElse(true);
    }

    @Override
    public String getClusterProblem() {
        return cluster().map(ClusterView::problem).orElse(null);
    }

    @Override
    public Map<String, String> getCertificateLastErrors() {
        Map<String, String> errors = new TreeMap<>();
        CertificateView.of(status().certificates()).forEach((domain, c) -> {
            if (c.backoffStep() > 0 && !c.lastErrorType().isEmpty()) {
                errors.put(domain, c.lastErrorType());
            }
        });
        return errors;
    }

    @Override
    public Map<String, String> getAcmeQuota() {
        Map<String, String> quota = new TreeMap<>();
        if (daemon.acme() != null) {
            daemon.acme().budgets().forEach(b -> quota.put(b.ca() + ": " + b.limit(), b.used() + " of " + b.max()
                    + b.freesOneAt().map(t -> ", one frees at " + t).orElse("")));
        }
        return quota;
    }

    @Override
    public String forceReload() {
        daemon.reloader().request();
        LOG.info("Reload of haproxy requested over JMX");
        if (daemon.supervisor() != null && !daemon.supervisor().isRunning()) {
            return "Reload requested, but haproxy is not running: the watchdog starts it with the config on disk,"
                    + " which counts as the reload.";
        }
        Optional<Instant> at = daemon.reloader().gate().nextAllowed();
        if (at.isEmpty() || !at.get().isAfter(daemon.clock().instant())) {
            return "Reload requested: the reload-trailing route runs it within lb.reload.tick ms; see"
                    + " LastReloadTime and LastReloadOutcome.";
        }
        return "Reload requested: the rate limit (lb.reload.min-interval = "
                + daemon.reloader().gate().minInterval().toMillis() + " ms) lets it run at " + at.get()
                + "; see LastReloadTime and LastReloadOutcome.";
    }

    @Override
    public String recheckCertificates() {
        // The check request route (direct:) drops a request while one is already queued; without it, the seda
        // queue the check route consumes is fed directly.
        Optional<Endpoint> entry = consumedEndpoint("direct://certificates-check")
                .or(() -> consumedEndpoint("seda://certificates-check"));
        if (entry.isEmpty()) {
            return "No certificate check to run: no route consumes " + CERTIFICATE_CHECK + " (it comes with"
                    + " routes/certificates.camel.yaml; is that file in the routes directory, lb.routes-dir?).";
        }
        try {
            producer().sendBodyAndHeader(entry.get(), null, "LbTrigger", "jmx");
        } catch (RuntimeException e) {
            return "The certificate check could not be queued (" + e.getMessage() + "); a check may be running"
                    + " already: try again when it is done.";
        }
        LOG.info("Certificate check requested over JMX");
        return "Certificate check queued (" + CERTIFICATE_CHECK + "); results show in CertificateStates and"
                + " CertificateExpiry, and in haproxy-config status.";
    }

    private Optional<Endpoint> consumedEndpoint(String uri) {
        return context.getRoutes().stream().map(Route::getEndpoint)
                .filter(e -> e.getEndpointUri().equals(uri) || e.getEndpointUri().startsWith(uri + "?"))
                .findFirst();
    }

    @Override
    public String retryRejectedFragment(String name) {
        if (!FragmentName.isValid(name)) {
            throw new IllegalArgumentException("'" + name + "' is not a fragment name: see RejectedFragmentNames");
        }
        Path rejected = daemon.fragments().rejectedDir();
        Path cfg = rejected.resolve(name + ".cfg");
        Path map = rejected.resolve(name + ".map");
        if (!Files.exists(cfg) || !Files.exists(map)) {
            throw new IllegalArgumentException("Nothing to retry for '" + name + "': " + rejected + " does not hold"
                    + " both " + name + ".cfg and " + name + ".map (a fragment refused at intake for its size or its"
                    + " name keeps no copy: send it again)");
        }
        Path inbox = daemon.inbox();
        if (Files.exists(inbox.resolve(name + ".cfg")) || Files.exists(inbox.resolve(name + ".map"))) {
            throw new IllegalStateException("The inbox already holds a newer " + name + ".cfg or " + name + ".map;"
                    + " it is being read now, so there is nothing to retry.");
        }
        try {
            // Each move is an atomic rename; intake pairs the two files whatever order it sees them in.
            AtomicFiles.move(map, inbox.resolve(name + ".map"));
            AtomicFiles.move(cfg, inbox.resolve(name + ".cfg"));
            Files.deleteIfExists(rejected.resolve(name + ".error"));
        } catch (IOException e) {
            throw new UncheckedIOException("Could not move " + name + " back into " + inbox + ": " + e.getMessage(), e);
        }
        FragmentStatus before = status().fragments().get(name);
        LOG.info("Fragment '{}': rejected version moved back into the inbox over JMX (retry)", name);
        return "Fragment '" + name + "' is back in the inbox and goes through intake and assembly again"
                + (before != null ? " (was: " + before.state() + ")" : "")
                + "; follow it in FragmentStates or with haproxy-config status.";
    }

    @Override
    public String checkFragment(String name, String cfgFile, String mapFile) {
        byte[][] files = readBoth(cfgFile, mapFile);
        FragmentStore store = daemon.fragments();
        Path work = tempDir();
        try {
            Optional<String> reason = FragmentCheck.verdict(store.reader(), name, files[0], files[1],
                    store.liveFragments(), daemon.assembly().validator().in(work));
            return reason.map(r -> "Fragment '" + name + "' would be rejected: " + r)
                    .orElse("fragment '" + name + "' would be accepted: it passes haproxy-lb's rules and haproxy -c"
                            + " with the live fragments (nothing was sent)");
        } finally {
            delete(work);
        }
    }

    @Override
    public String diffFragment(String name, String cfgFile, String mapFile) {
        byte[][] files = readBoth(cfgFile, mapFile);
        FragmentStore store = daemon.fragments();
        FragmentCheck.Read read = FragmentCheck.read(store.reader(), name, files[0], files[1]);
        if (read.problem().isPresent()) {
            return "Fragment '" + name + "' would be rejected: " + read.problem().get();
        }
        return FragmentDiff.describe(store.liveFragments(), read.fragment().orElseThrow(),
                daemon.assembly().validator().assembler(), daemon.assembly().liveMap().toString(),
                daemon.assembly().appliesMapChangesLive());
    }

    @Override
    public String fragmentHistory(String name) {
        checkName(name);
        FragmentHistory history = daemon.fragments().history();
        try {
            return HistoryReport.format(name, history.entries(name), history.keep(),
                    HistoryReport.liveId(daemon.fragments().liveDir(), name), status().fragments().get(name));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + history.dir() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String rollbackFragment(String name, String id) {
        checkName(name);
        try {
            Rollback.Handover h = Rollback.handOver(daemon.fragments().history(), daemon.layout(), name,
                    Optional.ofNullable(id).map(String::strip).filter(s -> !s.isEmpty()));
            String version = "version " + h.target().id() + " (live from " + h.target().at() + ")";
            if (h.alreadyLive()) {
                return "Fragment '" + name + "' runs " + version + " already: nothing to roll back.";
            }
            LOG.info("Fragment '{}': rollback to {} requested over JMX", name, version);
            return "Fragment '" + name + "': " + version + " is in the inbox as " + h.id() + "; it goes through"
                    + " validation and the rate-limited reload like any change: follow it in FragmentStates or with"
                    + " haproxy-config status.";
        } catch (FragmentProblem p) {
            throw new IllegalArgumentException(p.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("rollback of '" + name + "' failed: " + e.getMessage(), e);
        }
    }

    private static void checkName(String name) {
        if (!FragmentName.isValid(name)) {
            throw new IllegalArgumentException("'" + name + "' is not a fragment name: see FragmentStates");
        }
    }

    private static byte[][] readBoth(String cfgFile, String mapFile) {
        try {
            return new byte[][] {Files.readAllBytes(Path.of(cfgFile)), Files.readAllBytes(Path.of(mapFile))};
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot read " + e.getMessage() + " (give paths on the daemon's"
                    + " machine that its user can read)");
        }
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("haproxy-lb-check-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temp directory for the check: " + e.getMessage(), e);
        }
    }

    private static void delete(Path dir) {
        try {
            AtomicFiles.deleteTree(dir);
        } catch (IOException e) {
            LOG.warn("could not delete the check's temp directory {}: {}", dir, e.getMessage());
        }
    }

    private ProducerTemplate producer() {
        if (producer == null) {
            synchronized (this) {
                if (producer == null) {
                    producer = context.createProducerTemplate();
                }
            }
        }
        return producer;
    }

    void close() {
        ProducerTemplate p = producer;
        producer = null;
        if (p != null) {
            try {
                p.close();
            } catch (IOException e) {
                LOG.debug("closing the JMX producer template: {}", e.getMessage());
            }
        }
    }

    /** The MBean to register: the MXBean with descriptions and parameter names jconsole shows. */
    StandardMBean mbean() {
        return new StandardMBean(this, HaproxyLbMXBean.class, true) {
            @Override
            protected String getDescription(MBeanInfo info) {
                return "haproxy-lb: fragments, reloads and certificates of this daemon";
            }

            @Override
            protected String getDescription(MBeanAttributeInfo info) {
                return ATTRIBUTES.getOrDefault(info.getName(), info.getName());
            }

            @Override
            protected String getDescription(MBeanOperationInfo info) {
                return OPERATIONS.getOrDefault(info.getName(), info.getName());
            }

            @Override
            protected String getParameterName(MBeanOperationInfo op, MBeanParameterInfo param, int sequence) {
                String[] names = PARAMETERS.get(op.getName());
                return names != null && sequence < names.length ? names[sequence] : param.getName();
            }

            @Override
            protected String getDescription(MBeanOperationInfo op, MBeanParameterInfo param, int sequence) {
                if (op.getName().equals("retryRejectedFragment")) {
                    return "the fragment's name, as in RejectedFragmentNames";
                }
                String[] names = PARAMETERS.get(op.getName());
                return names == null || sequence >= names.length ? param.getDescription()
                        : PARAMETER_DESCRIPTIONS.getOrDefault(names[sequence], names[sequence]);
            }

            @Override
            protected int getImpact(MBeanOperationInfo info) {
                return MBeanOperationInfo.ACTION;
            }
        };
    }

    private static final Map<String, String> ATTRIBUTES = Map.ofEntries(
            Map.entry("LiveFragments", "fragments haproxy runs now"),
            Map.entry("FragmentStates", "every known fragment and its state (pending, assembled, live, rejected, removed)"),
            Map.entry("RejectedFragmentCount", "fragments in rejected/ with an error"),
            Map.entry("RejectedFragmentNames", "names of the rejected fragments"),
            Map.entry("RejectedFragments", "rejected fragment and why (rejected/NAME.error)"),
            Map.entry("PendingChanges", "changes accepted at intake, waiting for assembly"),
            Map.entry("ReloadPending", "a reload waits for the rate limit"),
            Map.entry("NextReloadAt", "when the rate limit lets the pending reload run"),
            Map.entry("LastReloadTime", "when the last reload was attempted"),
            Map.entry("LastReloadOutcome", "ok or failed, with the message"),
            Map.entry("ReloadsPerformed", "reloads haproxy confirmed, and starts of a supervised haproxy"),
            Map.entry("ReloadFailures", "failed reloads since the daemon started"),
            Map.entry("ReloadsCoalesced", "reload requests folded into a pending one by the rate limit"),
            Map.entry("ReloadMinIntervalMillis", "the rate limit: at most one reload per this many ms"),
            Map.entry("ConfigGeneration", "newest validated config generation"),
            Map.entry("LiveGeneration", "config generation haproxy runs"),
            Map.entry("LastAssemblyMillis", "duration of the last assembly, every haproxy -c included"),
            Map.entry("LastAssemblyValidations", "haproxy -c runs of the last assembly"),
            Map.entry("HaproxyUp", "haproxy runs and answers on its stats socket"),
            Map.entry("HaproxyStatus", "what the haproxy probe found"),
            Map.entry("CertificateExpiry", "domain and the expiry of its certificate"),
            Map.entry("CertificateStates", "domain and its certificate state"),
            Map.entry("CertificateLastErrors", "domain backing off and the type of its last ACME error"),
            Map.entry("AcmeQuota", "per CA and rate limit, the fullest budget: used of max, when one frees"),
            Map.entry("ClusterNode", "this node's name in the cluster; empty on a single node"),
            Map.entry("ClusterLeader", "the member that checks and orders certificates"),
            Map.entry("ClusterMemberLiveGenerations", "each member and the config generation it runs"),
            Map.entry("ClusterInSync", "this node has exactly what the cluster holds"),
            Map.entry("ClusterProblem", "why ZooKeeper could not be used; empty while it answers"));

    private static final Map<String, String> OPERATIONS = Map.of(
            "forceReload", "reload haproxy with the config on disk; the rate limit still applies",
            "recheckCertificates", "run the certificate coverage check now",
            "retryRejectedFragment", "move a rejected fragment back into the inbox to go through intake again",
            "checkFragment", "would the daemon accept these files? its rules and haproxy -c, nothing is sent",
            "diffFragment", "config lines and domains these files would change, and whether that takes a reload",
            "fragmentHistory", "kept versions of a fragment (when each went live, its id) and rejected attempts",
            "rollbackFragment", "put the previous (or the given) version of a fragment back through the inbox");

    private static final Map<String, String[]> PARAMETERS = Map.of(
            "retryRejectedFragment", new String[] {"name"},
            "checkFragment", new String[] {"name", "cfgFile", "mapFile"},
            "diffFragment", new String[] {"name", "cfgFile", "mapFile"},
            "fragmentHistory", new String[] {"name"},
            "rollbackFragment", new String[] {"name", "id"});

    private static final Map<String, String> PARAMETER_DESCRIPTIONS = Map.of(
            "name", "the fragment's name",
            "cfgFile", "path of NAME.cfg on the daemon's machine",
            "mapFile", "path of NAME.map on the daemon's machine",
            "id", "a version id from fragmentHistory; empty for the version before the live one");

    private static ObjectName objectName(String name) {
        try {
            return new ObjectName(name);
        } catch (MalformedObjectNameException e) {
            throw new IllegalStateException(e);
        }
    }
}
