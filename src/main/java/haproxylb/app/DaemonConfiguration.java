package haproxylb.app;

import haproxylb.assembly.AssemblyService;
import haproxylb.assembly.TemplateValues;
import haproxylb.assembly.CandidateRules;
import haproxylb.assembly.ConfigAssembler;
import haproxylb.assembly.ConfigTemplate;
import haproxylb.certificates.store.FallbackCertificate;
import haproxylb.common.AtomicFiles;
import haproxylb.common.Settings;
import haproxylb.common.StateDirLock;
import haproxylb.common.StateFileSystem;
import haproxylb.common.StateLayout;
import haproxylb.haproxy.HaproxyCheck;
import haproxylb.haproxy.OldWorkerSampler;
import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.MasterCli;
import haproxylb.common.InboxDeleteStrategy;
import haproxylb.haproxy.RuntimeApi;
import haproxylb.haproxy.RuntimeMapUpdater;
import haproxylb.haproxy.MapUpdater;
import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.haproxy.ReloadGate;
import haproxylb.haproxy.Reloader;
import haproxylb.intake.CompleteFileReadLock;
import haproxylb.intake.FragmentHistory;
import haproxylb.intake.FragmentIntake;
import haproxylb.intake.FragmentReader;
import haproxylb.intake.FragmentStore;
import haproxylb.intake.InboxBacklog;
import haproxylb.intake.InboxEvents;
import haproxylb.status.StatusBoard;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.Stream;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the fragment pipeline's beans with plain constructors and binds them under the names the YAML routes use.
 */
public final class DaemonConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(DaemonConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings s = new Settings(key -> context.getPropertiesComponent().resolveProperty(key));
        StateLayout layout = StateLayout.of(s);
        // Taken before anything touches the state. The launcher only looked (StateDirLock.probe) before haproxy's early
        // start: two daemons started within the same moment both pass that, and the second stops here.
        StateDirLock stateLock = StateDirLock.acquire(layout.root());
        try {
            // Added before every other service, so stopped after them all (haproxy stopped, status written): a
            // daemon started again in this JVM, as tests do, takes it anew.
            context.addService(new ServiceSupport() {
                @Override
                protected void doStop() {
                    stateLock.close();
                }
            }, true, true);
            StateFileSystem.problem(layout.root()).ifPresent(problem -> LOG.warn("{}", problem));
            configure(context, s, layout);
        } catch (Exception | Error e) {
            stateLock.close();
            throw e;
        }
    }

    private void configure(CamelContext context, Settings s, StateLayout layout) throws Exception {
        Clock clock = clock(context);
        Path state = layout.root();
        // Least privilege (README, "Threat model"): the daemon's group reads the state, writes the inboxes.
        AtomicFiles.directory(state, AtomicFiles.STATE_DIR);
        AtomicFiles.directory(layout.inbox(), AtomicFiles.INBOX_DIR);
        AtomicFiles.directory(layout.certInbox(), AtomicFiles.INBOX_DIR);
        AtomicFiles.directory(layout.run(), AtomicFiles.STATE_DIR);
        removeStrayTempFiles(layout, List.of(s.path("lb.haproxy.config").getParent(),
                s.path("lb.haproxy.map").getParent(), s.path("lb.haproxy.cert-dir")));

        StatusBoard status = new StatusBoard(layout.statusFile(), clock);
        FragmentReader reader = FragmentReader.from(s);
        FragmentStore store = new FragmentStore(layout, reader, new FragmentHistory(layout.history(),
                historyLength(s), clock));
        // status.json is where the reload stage's facts survive a restart; from here on the gate owns them.
        ReloadGate reloadGate = new ReloadGate(clock, s.millis("lb.reload.min-interval"),
                status.restore(store.stored()));

        Path liveConfig = s.path("lb.haproxy.config");
        Path certDir = s.path("lb.haproxy.cert-dir");
        ConfigAssembler assembler = new ConfigAssembler(ConfigTemplate.load(s.path("lb.haproxy.template")),
                TemplateValues.of(s, certDir));
        HaproxyCheck check = new HaproxyCheck(s.string("lb.haproxy.binary"), s.number("lb.haproxy.check-timeout"));
        Path liveMap = s.path("lb.haproxy.map");
        RuntimeApi runtimeApi = new RuntimeApi(new HaproxySocket(s.path("lb.haproxy.stats-socket"), Duration.ofSeconds(5)));
        InboxBacklog backlog = new InboxBacklog((int) s.number("lb.intake.max-per-poll"),
                s.millis("lb.assembly.storm-hold"), layout.inbox());
        AssemblyService assembly = new AssemblyService(store, assembler, new CandidateRules(TemplateValues.BASE_BACKENDS,
                reader.policy().fragmentsShareBackends()), check,
                liveConfig, liveMap, layout.candidate(), status, reloadGate,
                s.flag("lb.haproxy.runtime-map-updates") ? new RuntimeMapUpdater(runtimeApi, liveMap.toString())
                        : MapUpdater.NONE, backlog);

        HaproxySupervisor supervisor = s.superviseMode() ? supervisor(context, s, liveConfig) : null;
        String masterSocket = supervisor != null ? supervisor.masterSocket().toString()
                : s.string("lb.haproxy.master-socket", "");
        MasterCli master = masterSocket.isBlank() ? null
                : new MasterCli(new HaproxySocket(Path.of(masterSocket), Duration.ofSeconds(5)));
        Reloader reloader = new Reloader(reloadGate, status,
                s.words("lb.reload.command"), supervisor, master);
        Daemon daemon = new Daemon(certDir, FallbackCertificate::ensure, assembly, reloader, supervisor);

        Registry registry = context.getRegistry();
        registry.bind("settings", s);
        registry.bind("statusBoard", status);
        registry.bind("fragmentStore", store);
        CompleteFileReadLock inboxLock = bindInbox(context, "inboxDelete", layout.inbox(), s, clock);
        registry.bind("fragmentIntake", new FragmentIntake(store, status, clock, layout.claimed(), layout.inbox(),
                inboxLock::isCompletePlainFile));
        bindInbox(context, "certInboxDelete", layout.certInbox(), s, clock);
        registry.bind("assembly", assembly);
        registry.bind("inboxBacklog", backlog);
        // Graceful shut-down waits for the assembly route's exchange: it must not sit out a pause or a storm.
        OnStopping.run(context, () -> {
            backlog.stop();
            assembly.stop();
        });
        registry.bind("reloader", reloader);
        // Not bound as "daemon": Camel would start a registry Service a second time. The watchdog calls it.
        registry.bind("haproxyWatchdog", new HaproxyWatchdog(daemon));
        registry.bind("oldWorkerSampler", master == null ? OldWorkerSampler.NONE : new OldWorkerSampler(master, status));
        if (supervisor != null) {
            registry.bind("haproxySupervisor", supervisor);
        }
        context.addService(daemon, true, true);
        registry.bind("runtimeApi", runtimeApi);
        Core core = new Core(s, clock, state, certDir, liveConfig, liveMap, status, store, assembly,
                reloader, supervisor, layout, backlog);
        registry.bind("core", core);
        ClusterWiring.configure(context, core);
        CertificateWiring.configure(context, core);
        MonitoringWiring.configure(context, core);
        StatusPageWiring.configure(context, core);
    }

    /**
     * The "clock" bean: every time-dependent piece of state (the reload rate limit, status times, the read lock's
     * settle time) reads it, so a test can bind its own before the context starts instead of waiting in real time.
     */
    private static Clock clock(CamelContext context) {
        Clock bound = context.getRegistry().lookupByNameAndType("clock", Clock.class);
        if (bound != null) {
            return bound;
        }
        Clock system = Clock.systemUTC();
        context.getRegistry().bind("clock", system);
        return system;
    }

    /** The haproxy started before Camel (HaproxyLb.main) when it runs this config, else a new supervisor. */
    private static HaproxySupervisor supervisor(CamelContext context, Settings s, Path liveConfig) throws IOException {
        HaproxySupervisor early = context.getRegistry().lookupByNameAndType(HaproxyLb.EARLY_HAPROXY,
                HaproxySupervisor.class);
        return early != null && early.config().equals(liveConfig.toAbsolutePath()) ? early : HaproxySupervisor.forSettings(s);
    }

    /** An inbox consumer's process strategy (routes/*.camel.yaml) around its read lock, closed with the context. */
    private static CompleteFileReadLock bindInbox(CamelContext context, String processStrategy, Path inbox, Settings s,
                                                  Clock clock) throws Exception {
        Files.createDirectories(inbox);
        CompleteFileReadLock readLock = new CompleteFileReadLock(InboxEvents.watch(inbox), s.number("lb.intake.settle"),
                clock);
        context.getRegistry().bind(processStrategy, new InboxDeleteStrategy(readLock));
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                readLock.close();
            }
        }, true, true);
        return readLock;
    }

    /** lb.fragments.history; optional, so a settings file from before it keeps working. */
    public static int historyLength(Settings s) {
        String v = s.string("lb.fragments.history", Integer.toString(FragmentHistory.DEFAULT_KEEP));
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("setting lb.fragments.history = '" + v + "' is not a whole number");
        }
    }

    /**
     * A crash (SIGKILL, power loss) can interrupt an atomic write and leave its temp file behind (status.json's in the
     * state directory, haproxy.cfg's beside it: CrashSafetyTest). Cleaned at start-up, before anything writes, in every
     * directory the daemon alone writes: the state directory's tree except the inboxes, which belong to operators'
     * tools that may be writing right now, and the directories of haproxy's config, map and certificates.
     */
    static void removeStrayTempFiles(StateLayout layout, List<Path> haproxyDirs) throws IOException {
        List<Path> dirs = new ArrayList<>(haproxyDirs);
        try (Stream<Path> tree = Files.walk(layout.root(), 4)) {
            tree.filter(Files::isDirectory).filter(d -> !layout.isInbox(d)).forEach(dirs::add);
        }
        for (Path dir : new LinkedHashSet<>(dirs)) {
            AtomicFiles.removeStrayTempFiles(dir);
        }
    }

}
