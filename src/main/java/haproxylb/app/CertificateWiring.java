package haproxylb.app;

import haproxylb.common.Settings;
import haproxylb.certificates.issuer.AcmeAccountStore;
import haproxylb.certificates.issuer.AcmeIssuer;
import haproxylb.certificates.issuer.AcmeSettings;
import haproxylb.certificates.policy.Backoff;
import haproxylb.certificates.store.CertificateBundle;
import haproxylb.certificates.store.CertificateInstaller;
import haproxylb.certificates.maintenance.CertificateMaintenance;
import haproxylb.certificates.store.CertificateProblem;
import haproxylb.certificates.store.CertificateStore;
import haproxylb.certificates.issuer.ChallengeResponder;
import haproxylb.certificates.issuer.ChallengeTokens;
import haproxylb.certificates.policy.CoverageDecision;
import haproxylb.certificates.issuer.DisabledIssuer;
import haproxylb.certificates.issuer.Issuer;
import haproxylb.certificates.issuer.DnsChallenges;
import haproxylb.certificates.issuer.DnsRecordPublisher;
import haproxylb.certificates.maintenance.DnsServerResolver;
import haproxylb.certificates.issuer.ExecPublisher;
import haproxylb.certificates.issuer.Rfc2136Publisher;
import haproxylb.certificates.store.HaproxyCertificates;
import haproxylb.certificates.maintenance.LiveDomains;
import haproxylb.certificates.policy.ProfileChoice;
import haproxylb.certificates.policy.RateLimitLedger;
import haproxylb.certificates.maintenance.ReachabilityCheck;
import haproxylb.cluster.SharedCertificates;
import haproxylb.common.AtomicFiles;
import haproxylb.common.DomainName;
import haproxylb.haproxy.HaproxySocket;
import haproxylb.haproxy.RuntimeApi;
import haproxylb.storage.LocalStorage;
import haproxylb.storage.Storage;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Locale;
import java.util.random.RandomGenerator;

import org.apache.camel.CamelContext;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the certificate beans (coverage check, installer, challenge responder) and binds them for
 * routes/certificates.camel.yaml. State under the state directory: {@code cert-inbox/} (what the installer takes),
 * {@code rejected-certs/}, {@code certificates/} (issued.json, certificate-index.txt, archive/, backoff.json, rate-limits.json) and
 * {@code acme/} (the ACME account key and location, one per directory URL).
 *
 * <p>With {@code lb.acme.directory-url} empty, ACME is off: nothing is ordered and no challenge responder runs, but
 * the inbox still installs operator certificates and the check still reports coverage in the status.
 */
final class CertificateWiring {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateWiring.class);
    /** Timeout of one runtime API command on haproxy's stats socket. */
    private static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(5);
    /** Timeout of the reachability probe and of one DNS question. */
    private static final Duration REACHABILITY_TIMEOUT = Duration.ofSeconds(5);
    /** Keys under the state directory (files of the same names), or in a cluster's shared storage. */
    static final String BACKOFF_KEY = "certificates/backoff.json";
    static final String LEDGER_KEY = "certificates/rate-limits.json";
    static final String ACCOUNTS_FOLDER = "acme";

    private CertificateWiring() {}

    static void configure(CamelContext context, Core core) throws Exception {
        Settings s = core.settings();
        Path state = core.stateDir();
        Path inbox = core.layout().certInbox();
        Path certState = core.layout().certificates();
        AtomicFiles.directory(inbox, AtomicFiles.INBOX_DIR);
        AtomicFiles.createDirectories(certState);

        CertificateStore store = new CertificateStore(core.certDir(), certState.resolve("archive"), core.clock());
        // In a cluster (ClusterWiring binds it first) a certificate the leader obtained counts as obtained on every
        // node, so whichever node leads next renews it instead of taking it for an operator's.
        SharedCertificates clusterCertificates = context.getRegistry().lookupByNameAndType("sharedCertificates",
                SharedCertificates.class);
        if (clusterCertificates != null) {
            clusterCertificates.trackIssued(new SharedCertificates.IssuedRecord() {
                @Override
                public boolean issuedHere(String bundle) throws IOException {
                    return store.isArchivable(stem(bundle));
                }

                @Override
                public void recordIssued(String bundle, byte[] pem) throws IOException {
                    try {
                        store.recordIssued(CertificateBundle.parse(bundle, new String(pem, StandardCharsets.US_ASCII),
                                core.clock()));
                    } catch (CertificateProblem e) {
                        throw new IOException("certificate " + bundle + " from the cluster: " + e.getMessage(), e);
                    }
                }
            });
        }
        RuntimeApi runtime = new RuntimeApi(new HaproxySocket(s.path("lb.haproxy.stats-socket"), SOCKET_TIMEOUT));
        // With 'ssl crt <dir>' haproxy names the directory's crt-list by the path exactly as the config writes it.
        HaproxyCertificates haproxy = new HaproxyCertificates(runtime, core.certDir().toString(),
                core.reloader().window(), core.reloader()::request);
        CertificateInstaller installer = new CertificateInstaller(store, haproxy, inbox, core.layout().rejectedCerts(),
                core.clock());

        RandomGenerator random = RandomGenerator.getDefault();
        // The ACME account, backoff and ledgers: in the state directory, or in a cluster (ClusterWiring binds it
        // first) where every node reads them, so a new certificate leader goes on where the previous one stopped.
        Storage shared = context.getRegistry().lookupByNameAndType("certificateState", Storage.class);
        Storage stateStorage = shared != null ? shared : new LocalStorage(state);
        Backoff backoff = Backoff.load(stateStorage, BACKOFF_KEY, core.clock(), random);
        RateLimitLedger ledger = RateLimitLedger.load(stateStorage, LEDGER_KEY, core.clock(), limits(s));

        String directory = s.string("lb.acme.directory-url", "");
        Issuer issuer = new DisabledIssuer();
        List<CertificateMaintenance.FallbackCa> fallbacks = List.of();
        DnsChallenges dns = null;
        java.util.function.Function<String, java.util.Optional<String>> judgements = domain -> java.util.Optional.empty();
        CoverageDecision.Reachability reachability = CoverageDecision.Reachability.assumeAll();
        if (directory.isBlank()) {
            LOG.info("ACME is off (lb.acme.directory-url is empty): haproxy-lb issues no certificates; certificates "
                    + "dropped into {} are installed", inbox);
        } else {
            AcmeSettings acme = AcmeSettings.of(directory, s.string("lb.acme.email", ""), s.flag("lb.acme.agree-terms"),
                    s.string("lb.acme.key-type", ""), s.string("lb.acme.trust-ca", ""), s.millis("lb.acme.poll"),
                    s.millis("lb.acme.timeout"));
            ChallengeResponder responder = new ChallengeResponder(hostPort("lb.acme.responder",
                    s.string("lb.acme.responder")));
            // In a cluster (ClusterWiring binds it first) every node answers the tokens any node placed.
            ChallengeTokens sharedTokens = context.getRegistry().lookupByNameAndType("challengeTokens",
                    ChallengeTokens.class);
            responder.shareWith(sharedTokens != null ? sharedTokens : ChallengeTokens.NONE);
            AcmeAccountStore accounts = new AcmeAccountStore(stateStorage, ACCOUNTS_FOLDER);
            dns = dnsChallenges(s, certState);
            AcmeIssuer acmeIssuer = new AcmeIssuer(acme, accounts, responder, dns);
            issuer = acmeIssuer;
            String resolver = s.string("lb.acme.dns-resolver", "");
            ReachabilityCheck check = new ReachabilityCheck(
                    ReachabilityCheck.parseAddresses(Arrays.asList(s.string("lb.acme.balancer-addresses", "")
                            .split("[,\\s]+"))),
                    s.flag("lb.acme.loopback-is-here"), probeAddress(s.string("lb.edge.http-bind")), responder,
                    resolver.isBlank() ? ReachabilityCheck.SYSTEM_RESOLVER
                            : new DnsServerResolver(resolver, REACHABILITY_TIMEOUT),
                    REACHABILITY_TIMEOUT).judgingByProbe((int) s.number("lb.acme.probe-port"));
            judgements = check::judgement;
            DnsChallenges dnsForCheck = dns;
            // A name validated over DNS-01 need not point here: the CA never connects to it.
            reachability = dnsForCheck == null ? check::check
                    : domain -> dnsForCheck.usesDns(domain) ? java.util.Optional.empty() : check.check(domain);
            context.addService(new ResponderService(responder), true, true);
            if (s.string("lb.acme.balancer-addresses", "").isBlank() && !s.flag("lb.acme.loopback-is-here")) {
                LOG.info("lb.acme.balancer-addresses is empty: a name is ordered once a one-time token fetched from every "
                        + "address it resolves to (port {}, lb.acme.probe-port) comes back from this balancer",
                        s.number("lb.acme.probe-port"));
            }
            if (!acme.agreeToTerms() && accounts.stored(acme.directoryUrl()).isEmpty()) {
                LOG.warn("no ACME account at {} yet, and lb.acme.agree-terms is false: no certificate can be ordered "
                        + "until you read the CA's terms of service and set lb.acme.agree-terms = true", acme.caName());
            }
            LOG.info("certificates: issued by {} ({}), {} key, one per {}; domains must resolve to {}{}{}",
                    acme.caName(), acme.directoryUrl(), acme.keyType(), perDomain(s) ? "domain" : "backend",
                    s.string("lb.acme.balancer-addresses", "").isBlank() ? "(no balancer address set)"
                            : s.string("lb.acme.balancer-addresses", ""),
                    s.flag("lb.acme.loopback-is-here") ? " or loopback" : "",
                    resolver.isBlank() ? "" : " (asking DNS server " + resolver + ")");
            fallbacks = fallbackCas(s, acmeIssuer.settings(), new AcmeAccountStore(stateStorage, ACCOUNTS_FOLDER),
                    responder, dns, stateStorage, core);
        }

        CertificateMaintenance maintenance = new CertificateMaintenance(
                new CertificateMaintenance.Locations(liveDomains(core), inbox, stateStorage, BACKOFF_KEY, LEDGER_KEY),
                store, issuer, reachability, backoff, ledger, haproxy, core.status(), core.clock(), perDomain(s),
                ProfileChoice.parse(s.string("lb.acme.profile", ""), s.string("lb.acme.profile-by-domain", "")))
                .withFallbacks(fallbacks)
                .withDnsValidation(dns != null)
                .withJudgements(judgements);
        context.getRegistry().bind("certificateMaintenance", maintenance);
        context.getRegistry().bind("certificateInstaller", installer);
        // Graceful shut-down waits for a running check: let it stop after the current order instead of after all.
        OnStopping.run(context, maintenance::stop);
    }

    /**
     * DNS-01 from {@code lb.acme.dns.*}, or null when no provider is set (wildcards are then reported, not ordered).
     * Records an earlier run left behind (crash between publishing and removing) are removed here.
     */
    /**
     * The domains the assembly made live, as the intake parsed them (FragmentStore's live set), once an assembly has
     * written backend.map: the check parses no map of its own.
     */
    private static LiveDomains liveDomains(Core core) {
        return () -> Files.exists(core.liveMap()) ? Optional.of(core.fragments().liveSet().domains()) : Optional.empty();
    }

    static DnsChallenges dnsChallenges(Settings s, Path certState) {
        String provider = s.string("lb.acme.dns.provider", "").strip();
        if (provider.isEmpty()) {
            return null;
        }
        List<InetSocketAddress> checkAt = new java.util.ArrayList<>();
        for (String server : s.string("lb.acme.dns.check-servers", "").strip().split("[,\\s]+")) {
            if (!server.isEmpty()) {
                checkAt.add(dnsServer("lb.acme.dns.check-servers", server));
            }
        }
        DnsRecordPublisher publisher = switch (provider) {
            case "rfc2136" -> {
                InetSocketAddress server = dnsServer("lb.acme.dns.rfc2136.server",
                        s.string("lb.acme.dns.rfc2136.server", ""));
                String key = s.string("lb.acme.dns.rfc2136.tsig-key", "");
                String secret = s.string("lb.acme.dns.rfc2136.tsig-secret", "");
                if (key.isBlank() || secret.isBlank()) {
                    throw new IllegalArgumentException("lb.acme.dns.provider = rfc2136 needs lb.acme.dns.rfc2136.tsig-key "
                            + "and lb.acme.dns.rfc2136.tsig-secret (the TSIG key the DNS server accepts updates with)");
                }
                if (checkAt.isEmpty()) {
                    checkAt.add(server);
                }
                yield new Rfc2136Publisher(server, s.string("lb.acme.dns.rfc2136.tsig-algorithm", "hmac-sha256"),
                        key.strip(), secret.strip(), REACHABILITY_TIMEOUT);
            }
            case "exec" -> new ExecPublisher(s.string("lb.acme.dns.exec.command", ""), Duration.ofMinutes(2));
            default -> throw new IllegalArgumentException("setting lb.acme.dns.provider = '" + provider
                    + "' must be rfc2136, exec or empty (no DNS-01)");
        };
        List<String> domains = List.of(s.string("lb.acme.dns.domains", "").strip().split("[,\\s]+"));
        DnsChallenges dns = new DnsChallenges(publisher, checkAt, domain -> domains.contains(domain)
                || DomainName.of(domain).wildcardAbove().map(w -> domains.contains(w.value())).orElse(false),
                certState.resolve("dns-challenges.json"), s.millis("lb.acme.dns.propagation-timeout"));
        int removed = dns.cleanUp();
        LOG.info("certificates: DNS-01 for wildcards{} through {}{}", domains.stream().anyMatch(d -> !d.isEmpty())
                ? " and " + String.join(", ", domains) : "", dns.describe(),
                removed > 0 ? "; removed " + removed + " challenge record(s) left by an earlier run" : "");
        return dns;
    }

    /** {@code host[:port]}, port 53 when not given. */
    static InetSocketAddress dnsServer(String key, String value) {
        String v = value.strip();
        if (v.isEmpty()) {
            throw new IllegalArgumentException("setting " + key + " is empty: give the DNS server as host[:port]");
        }
        return v.matches(".*:\\d+") ? hostPort(key, v) : new InetSocketAddress(v, 53);
    }

    static RateLimitLedger.Limits limits(Settings s) {
        return limits("lb.acme.limits", s.string("lb.acme.limits", "letsencrypt"));
    }

    static RateLimitLedger.Limits limits(String key, String value) {
        String limits = value.strip().toLowerCase(Locale.ROOT);
        return switch (limits) {
            case "letsencrypt" -> RateLimitLedger.Limits.LETS_ENCRYPT;
            case "unlimited" -> RateLimitLedger.Limits.unlimited();
            default -> throw new IllegalArgumentException("setting " + key + " = '" + limits
                    + "' must be 'letsencrypt' or 'unlimited' (private CAs without rate limits)");
        };
    }

    /**
     * The CAs of {@code lb.acme.fallback-cas} (names, in order), each from {@code lb.acme.ca.NAME.*}: its
     * directory-url (required), eab-kid and eab-hmac (External Account Binding, both or neither), limits and trust-ca
     * (default: the first CA's); contact, terms, key type and timing are the first CA's.
     */
    static List<CertificateMaintenance.FallbackCa> fallbackCas(Settings s, AcmeSettings first, AcmeAccountStore accounts,
                                                               ChallengeResponder responder, DnsChallenges dns,
                                                               Storage stateStorage, Core core) {
        List<CertificateMaintenance.FallbackCa> result = new java.util.ArrayList<>();
        for (String name : s.string("lb.acme.fallback-cas", "").strip().split("[,\\s]+")) {
            if (name.isEmpty()) {
                continue;
            }
            if (!name.matches("[a-z0-9][a-z0-9-]{0,30}")) {
                throw new IllegalArgumentException("setting lb.acme.fallback-cas: '" + name + "' is not a CA name "
                        + "(lower-case letters, digits, '-')");
            }
            String prefix = "lb.acme.ca." + name + ".";
            String directory = s.string(prefix + "directory-url", "");
            if (directory.isBlank()) {
                throw new IllegalArgumentException("setting " + prefix + "directory-url is missing: fallback CA '"
                        + name + "' (lb.acme.fallback-cas) needs its ACME directory");
            }
            String kid = s.string(prefix + "eab-kid", "");
            String hmac = s.string(prefix + "eab-hmac", "");
            if (kid.isBlank() != hmac.isBlank()) {
                throw new IllegalArgumentException("settings " + prefix + "eab-kid and " + prefix + "eab-hmac go "
                        + "together: set both (the CA's External Account Binding) or neither");
            }
            AcmeSettings settings = AcmeSettings.of(directory, first.email().orElse(""), first.agreeToTerms(),
                    first.keyType().settingName(), s.string(prefix + "trust-ca", first.extraTrustedCaPem()
                            .map(Path::toString).orElse("")), first.pollInterval(), first.timeout())
                    .asNamed(name, kid.isBlank() ? java.util.Optional.empty()
                            : java.util.Optional.of(new AcmeSettings.ExternalAccountBinding(kid, hmac)));
            String ledgerKey = "certificates/rate-limits-" + name + ".json";
            RateLimitLedger ledger = RateLimitLedger.load(stateStorage, ledgerKey, core.clock(),
                    limits(prefix + "limits", s.string(prefix + "limits", s.string("lb.acme.limits", "letsencrypt"))));
            result.add(new CertificateMaintenance.FallbackCa(new AcmeIssuer(settings, accounts, responder, dns), ledger,
                    ledgerKey));
            LOG.info("certificates: fallback CA {} ({}){}, tried in order after the first", name,
                    settings.directoryUrl(), kid.isBlank() ? "" : " with External Account Binding " + kid);
        }
        return result;
    }

    private static String stem(String bundleFile) {
        return bundleFile.endsWith(".pem") ? bundleFile.substring(0, bundleFile.length() - 4) : bundleFile;
    }

    static boolean perDomain(Settings s) {
        String per = s.string("lb.certs.per", "backend");
        return switch (per) {
            case "backend" -> false;
            case "domain" -> true;
            default -> throw new IllegalArgumentException("setting lb.certs.per = '" + per
                    + "' must be 'backend' (one certificate per backend) or 'domain'");
        };
    }

    /**
     * Where the reachability probe reaches haproxy's HTTP frontend from this host: the first address of
     * {@code lb.edge.http-bind}, a wildcard bind ({@code :80}, {@code *:80}, {@code 0.0.0.0:80}, {@code [::]:80})
     * through loopback.
     */
    static InetSocketAddress probeAddress(String httpBind) {
        String first = httpBind.split(",")[0].strip().replaceFirst("^(ipv4|ipv6)@", "");
        InetSocketAddress bind = hostPort("lb.edge.http-bind", first);
        String host = bind.getHostString();
        if (List.of("*", "0.0.0.0", "").contains(host)) {
            return new InetSocketAddress("127.0.0.1", bind.getPort());
        }
        if (host.equals("::") || host.equals("0:0:0:0:0:0:0:0")) {
            return new InetSocketAddress("::1", bind.getPort());
        }
        return bind;
    }

    /** {@code host:port} or {@code [v6]:port}, without a DNS lookup of the host. */
    static InetSocketAddress hostPort(String key, String value) {
        String v = value.strip();
        int colon = v.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("setting " + key + " = '" + value + "' must be host:port");
        }
        String host = v.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(v.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("setting " + key + " = '" + value + "' must be host:port", e);
        }
        if (host.isEmpty() || host.equals("*")) {
            return InetSocketAddress.createUnresolved("*", port);
        }
        return new InetSocketAddress(host, port);
    }

    /** The challenge responder as a Camel service: listening before the routes start, closed on shut-down. */
    private static final class ResponderService extends ServiceSupport {
        private final ChallengeResponder responder;

        ResponderService(ChallengeResponder responder) {
            this.responder = responder;
        }

        @Override
        protected void doStart() throws Exception {
            responder.start();
        }

        @Override
        protected void doStop() {
            responder.stop();
        }
    }
}
