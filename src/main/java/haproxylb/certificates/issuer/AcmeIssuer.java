package haproxylb.certificates.issuer;

import haproxylb.common.DomainName;
import java.io.IOException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.RenewalInfo;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.challenge.Dns01Challenge;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.connector.Resource;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeLazyLoadingException;
import org.shredzone.acme4j.exception.AcmeNotSupportedException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.exception.AcmeUnauthorizedException;
import org.shredzone.acme4j.util.KeyPairUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issues certificates with acme4j 4.0: one order per call, HTTP-01 answered by the daemon's
 * {@link ChallengeResponder}, short polling bounded by {@link AcmeSettings#errors.timeout()} that honours the CA's
 * Retry-After, a fresh domain key per certificate (ECDSA P-256 by default).
 *
 * <p>The CA's TLS listener is verified against the JVM's trust anchors plus, when configured,
 * {@link AcmeSettings#extraTrustedCaPem()}: a {@link GenericAcmeProvider} subclass hands acme4j an
 * {@link HttpClient} with its own {@link SSLContext}; no JVM-global property is set.
 *
 * <p>Not designed for concurrent {@link #issue} calls on one instance sharing domains; distinct calls are safe.
 */
public final class AcmeIssuer implements Issuer {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class);
    static final String ACCOUNT_DOES_NOT_EXIST = "urn:ietf:params:acme:error:accountDoesNotExist";
    /** RFC 9773 section 5: the certificate named in {@code replaces} was already replaced by another order. */
    static final String ALREADY_REPLACED = "urn:ietf:params:acme:error:alreadyReplaced";
    static final String MALFORMED = "urn:ietf:params:acme:error:malformed";

    private final AcmeSettings settings;
    private final AcmeAccountStore accounts;
    private final ChallengeResponder responder;
    private final DnsChallenges dns;
    private final AcmeSessions sessions;
    private final AcmeErrors errors;
    private final AcmePolling polling;
    /** The CA answered a renewalInfo request rateLimited with a Retry-After: no ARI question to it before then. */
    private volatile Instant renewalInfoNotBefore = Instant.MIN;

    public AcmeIssuer(AcmeSettings settings, AcmeAccountStore accounts, ChallengeResponder responder) {
        this(settings, accounts, responder, null);
    }

    /** @param dns DNS-01 for wildcards and the names it asks for; null: HTTP-01 only */
    public AcmeIssuer(AcmeSettings settings, AcmeAccountStore accounts, ChallengeResponder responder,
                      DnsChallenges dns) {
        this.dns = dns;
        this.settings = Objects.requireNonNull(settings, "settings");
        this.accounts = Objects.requireNonNull(accounts, "accounts");
        this.responder = Objects.requireNonNull(responder, "responder");
        this.sessions = new AcmeSessions(settings, accounts, new TrustingProvider(settings));
        this.errors = new AcmeErrors(settings);
        this.polling = new AcmePolling(settings.pollInterval(), errors);
        BouncyCastle.ensureRegistered();
    }

    @Override
    public String caName() {
        return settings.caName();
    }

    @Override
    public String accountId() {
        return settings.directoryUrl();
    }

    @Override
    public Optional<String> off() {
        return Optional.empty();
    }

    public AcmeSettings settings() {
        return settings;
    }

    /**
     * Orders one certificate for the request's names (the first becomes the subject; all are SANs), answers every
     * challenge (HTTP-01 through the responder, DNS-01 through the DNS provider) and downloads the chain; challenge
     * tokens are removed when done, whatever the outcome. With ARI's {@code replaces} and a profile when the request
     * has them and the CA offers them. A CA that refuses {@code replaces} ({@code alreadyReplaced}: another order already replaced
     * that certificate; {@code malformed}: it does not know it) gets the order once more without it, and the
     * outcome says why.
     */
    @Override
    public IssuedCertificate issue(OrderRequest request) throws IssuanceException {
        List<String> names = normalize(request.names(), dns != null);
        Instant started = Instant.now();
        Instant deadline = started.plus(settings.timeout());
        List<String> tokens = new ArrayList<>();
        List<DnsChallenges.TxtRecord> txtRecords = new ArrayList<>();
        try {
            OrderOutcome[] outcome = new OrderOutcome[1];
            Order order = createOrder(names, request, outcome);
            authorize(order, names, tokens, txtRecords, deadline);
            KeyPair domainKey = createDomainKey();
            polling.awaitAll(List.of(order), Set.of(Status.PENDING), deadline, "order for " + names + " to become ready");
            if (order.getStatus() != Status.READY && order.getStatus() != Status.VALID) {
                throw errors.orderFailed(order, names, "before finalization");
            }
            if (order.getStatus() == Status.READY) {
                order.execute(domainKey);
            }
            polling.awaitAll(List.of(order), Set.of(Status.READY, Status.PROCESSING), deadline, "certificate for " + names);
            if (order.getStatus() != Status.VALID) {
                throw errors.orderFailed(order, names, "after finalization");
            }
            List<X509Certificate> chain = order.getCertificate().getCertificateChain();
            IssuedCertificate issued = toIssued(names, chain, domainKey, outcome[0]);
            LOG.info("{}: issued certificate for {} (serial {}, valid until {}) in {} ms", settings.caName(), names,
                    chain.get(0).getSerialNumber().toString(16), issued.notAfter(),
                    Duration.between(started, Instant.now()).toMillis());
            return issued;
        } catch (IssuanceException e) {
            sessions.resetOn(e);
            throw e;
        } catch (AcmeLazyLoadingException e) {
            IssuanceException ie = errors.translate(e.getCause() instanceof AcmeException ae ? ae : new AcmeException(e.getMessage(), e), names);
            sessions.resetOn(ie);
            throw ie;
        } catch (AcmeException e) {
            IssuanceException ie = errors.translate(e, names);
            sessions.resetOn(ie);
            throw ie;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IssuanceException(IssuanceException.Kind.LOCAL, settings.caName() + ": issuance for " + names
                    + " was interrupted", names, null, null, e);
        } catch (IOException e) {
            throw new IssuanceException(IssuanceException.Kind.LOCAL, settings.caName() + ": local error while issuing for "
                    + names + ": " + e.getMessage(), names, null, null, e);
        } finally {
            tokens.forEach(responder::remove);
            if (dns != null) {
                txtRecords.forEach(dns::withdraw);
            }
        }
    }

    /**
     * The CA's suggested renewal window for {@code cert} (ARI), or empty when the CA does not offer ARI or cannot
     * be asked right now (the caller then falls back to its own lifetime rule). After a rateLimited answer with a
     * Retry-After, the CA is not asked again before then (RFC 9773 section 4.3: clients honour Retry-After).
     */
    @Override
    public Optional<RenewalInfoWindow> renewalInfo(X509Certificate cert) {
        if (Instant.now().isBefore(renewalInfoNotBefore)) {
            LOG.debug("{}: renewal information not asked before {} (the CA's Retry-After)", settings.caName(),
                    renewalInfoNotBefore);
            return Optional.empty();
        }
        try {
            Session s = sessions.session();
            if (s.resourceUrlOptional(Resource.RENEWAL_INFO).isEmpty()) {
                LOG.debug("{} does not offer ACME renewal information", settings.caName());
                return Optional.empty();
            }
            RenewalInfo info = sessions.login().bindRenewalInfo(cert);
            Optional<Instant> retryAfter = info.fetch();
            return Optional.of(new RenewalInfoWindow(info.getSuggestedWindowStart(), info.getSuggestedWindowEnd(),
                    retryAfter, info.getExplanation()));
        } catch (AcmeNotSupportedException e) {
            return Optional.empty();
        } catch (AcmeRateLimitedException e) {
            e.getRetryAfter().ifPresent(t -> renewalInfoNotBefore = t);
            LOG.warn("{}: renewal information rate limited{}: {}", settings.caName(),
                    e.getRetryAfter().map(t -> " until " + t).orElse(""), AcmeErrors.describe(e.getProblem()));
            return Optional.empty();
        } catch (AcmeException | IOException | RuntimeException e) {
            LOG.warn("{}: no renewal information for {}: {}", settings.caName(),
                    cert.getSubjectX500Principal().getName(), e.toString());
            sessions.forgetLogin();
            return Optional.empty();
        }
    }

    /** Whether the CA's directory lists a renewalInfo endpoint (ARI). */
    @Override
    public boolean supportsRenewalInfo() throws IssuanceException {
        try {
            return sessions.session().resourceUrlOptional(Resource.RENEWAL_INFO).isPresent();
        } catch (AcmeException e) {
            throw errors.translate(e, List.of());
        }
    }

    // ---------------------------------------------------------------- steps

    private Order createOrder(List<String> names, OrderRequest request, OrderOutcome[] outcome)
            throws AcmeException, IOException {
        boolean cached;
        Login l;
        synchronized (sessions) {
            cached = sessions.loggedIn();
            l = sessions.login();
        }
        try {
            return createOrder(l, names, request, outcome);
        } catch (AcmeServerException e) {
            // "unauthorized" with a pause is about the names, not the account: looking the account up again would
            // only send the refused order twice
            boolean accountGone = e instanceof AcmeUnauthorizedException && !IssuanceException.mentionsPause(AcmeErrors.describe(e.getProblem()))
                    || (e.getType() != null && ACCOUNT_DOES_NOT_EXIST.equals(e.getType().toString()));
            if (!cached || !accountGone || e instanceof AcmeRateLimitedException) {
                throw e;
            }
            LOG.info("{}: the cached account login was refused ({}): looking the account up again", settings.caName(),
                    e.getMessage());
            synchronized (sessions) {
                sessions.forgetLogin();
                l = sessions.login();
            }
            return createOrder(l, names, request, outcome);
        }
    }

    /** newOrder with {@code replaces} and the profile where the CA offers them; without {@code replaces} if refused. */
    private Order createOrder(Login l, List<String> names, OrderRequest request, OrderOutcome[] outcome)
            throws AcmeException {
        Session s = l.getSession();
        Optional<String> profile = request.profile();
        Optional<String> profileNote = Optional.empty();
        if (profile.isPresent() && !s.getMetadata().isProfileAllowed(profile.get())) {
            Set<String> offered = s.getMetadata().getProfiles();
            profileNote = Optional.of(settings.caName() + " does not offer profile '" + profile.get() + "' ("
                    + (offered.isEmpty() ? "it lists no profiles" : "it offers: " + String.join(", ", offered))
                    + "); ordered with the CA's default");
            LOG.warn("{}: {}", names, profileNote.get());
            profile = Optional.empty();
        }
        Optional<X509Certificate> replaces = s.resourceUrlOptional(Resource.RENEWAL_INFO).isPresent()
                ? request.replaces() : Optional.empty();
        Optional<String> replacedId = replaces.map(org.shredzone.acme4j.toolbox.AcmeUtils::getRenewalUniqueIdentifier);
        try {
            Order order = orderBuilder(l, names, replaces, profile).create();
            outcome[0] = new OrderOutcome(settings.caName(), replacedId, Optional.empty(), profile, profileNote);
            return order;
        } catch (AcmeServerException e) {
            String type = e.getType() == null ? "" : e.getType().toString();
            if (replaces.isEmpty() || !(ALREADY_REPLACED.equals(type) || MALFORMED.equals(type))) {
                throw e;
            }
            String why = type.substring(type.lastIndexOf(':') + 1) + ": " + AcmeErrors.describe(e.getProblem());
            LOG.warn("{}: the CA refused 'replaces' {} for {} ({}); ordering once more without it", settings.caName(),
                    replacedId.orElse("?"), names, why);
            Order order = orderBuilder(l, names, Optional.empty(), profile).create();
            outcome[0] = new OrderOutcome(settings.caName(), Optional.empty(), Optional.of(why), profile, profileNote);
            return order;
        }
    }

    private static org.shredzone.acme4j.OrderBuilder orderBuilder(Login l, List<String> names,
                                                                  Optional<X509Certificate> replaces,
                                                                  Optional<String> profile) {
        org.shredzone.acme4j.OrderBuilder b = l.newOrder().domains(names);
        replaces.ifPresent(b::replaces);
        profile.ifPresent(b::profile);
        return b;
    }

    private void authorize(Order order, List<String> names, List<String> tokens, List<DnsChallenges.TxtRecord> txtRecords,
                           Instant deadline) throws AcmeException, InterruptedException, IssuanceException {
        List<Authorization> waiting = new ArrayList<>();
        List<Challenge> dnsChallenges = new ArrayList<>();
        for (Authorization auth : order.getAuthorizations()) {
            Status status = auth.getStatus();
            String domain = auth.getIdentifier().getValue();
            if (status == Status.VALID) {
                LOG.debug("{}: authorization for {} is already valid", settings.caName(), domain);
                continue;
            }
            if (status != Status.PENDING) {
                throw new IssuanceException(IssuanceException.Kind.CA_REJECTED, settings.caName() + ": authorization for "
                        + domain + " is " + status + " before any challenge was answered", List.of(domain),
                        AcmeErrors.problemOf(auth).orElse(null), null, null);
            }
            if (dns != null && (auth.isWildcard() || dns.usesDns(domain))) {
                Dns01Challenge challenge = auth.findChallenge(Dns01Challenge.class).orElseThrow(() -> errors.noChallenge(
                        auth, domain, Dns01Challenge.TYPE));
                DnsChallenges.TxtRecord txt = new DnsChallenges.TxtRecord(challenge.getRRName(auth.getIdentifier()),
                        challenge.getDigest());
                try {
                    txtRecords.add(txt);
                    dns.publish(txt);
                } catch (IOException e) {
                    throw new IssuanceException(IssuanceException.Kind.DNS_PROVIDER, settings.caName() + ": DNS-01 for "
                            + (auth.isWildcard() ? "*." : "") + domain + ": cannot publish TXT " + txt.fqdn() + ": "
                            + e.getMessage(), List.of(domain), null, null, e);
                }
                if (challenge.getStatus() == Status.PENDING) {
                    dnsChallenges.add(challenge);
                }
                waiting.add(auth);
                continue;
            }
            Http01Challenge challenge = auth.findChallenge(Http01Challenge.class).orElseThrow(() -> new IssuanceException(
                    IssuanceException.Kind.CA_REJECTED, settings.caName() + " offers no http-01 challenge for " + domain
                    + " (offered: " + auth.getChallenges().stream().map(Challenge::getType).collect(Collectors.joining(", "))
                    + ")", List.of(domain), null, null, null));
            responder.put(challenge.getToken(), challenge.getAuthorization());
            tokens.add(challenge.getToken());
            if (challenge.getStatus() == Status.PENDING) {
                challenge.trigger();
            }
            waiting.add(auth);
        }
        if (!dnsChallenges.isEmpty()) {
            try {
                dns.awaitPropagation(txtRecords);
            } catch (IOException e) {
                throw new IssuanceException(IssuanceException.Kind.DNS_PROVIDER, settings.caName() + ": DNS-01 for " + names
                        + ": " + e.getMessage(), names, null, null, e);
            }
            for (Challenge c : dnsChallenges) {
                c.trigger();
            }
        }
        polling.awaitAll(waiting, Set.of(Status.PENDING, Status.PROCESSING), deadline, "validation of " + names);

        List<String> failed = new ArrayList<>();
        List<String> details = new ArrayList<>();
        String firstProblem = null;
        String firstProblemType = null;
        for (Authorization auth : waiting) {
            Status status = auth.getStatus();
            if (status == Status.VALID) {
                continue;
            }
            String domain = auth.getIdentifier().getValue();
            Optional<String> problem = AcmeErrors.problemOf(auth);
            failed.add(domain);
            details.add("authorization for " + domain + " is " + status + problem.map(p -> ": " + p).orElse(""));
            if (firstProblem == null) {
                firstProblem = problem.orElse(null);
                firstProblemType = AcmeErrors.problemTypeOf(auth).orElse(null);
            }
        }
        if (!failed.isEmpty()) {
            String message = settings.caName() + ": " + String.join("; ", details);
            LOG.warn(message);
            throw new IssuanceException(IssuanceException.Kind.AUTHORIZATION_FAILED, message, failed, firstProblem,
                    firstProblemType, null, null);
        }
    }

    private KeyPair createDomainKey() {
        AcmeSettings.KeyType type = settings.keyType();
        if (type.isRsa()) {
            return KeyPairUtils.createKeyPair(type.rsaBits());
        }
        BouncyCastle.ensureRegistered();
        return KeyPairUtils.createECKeyPair("secp256r1");
    }

    private IssuedCertificate toIssued(List<String> names, List<X509Certificate> chain, KeyPair key, OrderOutcome outcome)
            throws IssuanceException {
        if (chain == null || chain.isEmpty()) {
            throw new IssuanceException(IssuanceException.Kind.CA_REJECTED, settings.caName()
                    + ": the CA returned an empty certificate chain for " + names, names, null, null, null);
        }
        X509Certificate leaf = chain.get(0);
        if (!leaf.getPublicKey().equals(key.getPublic())) {
            throw new IssuanceException(IssuanceException.Kind.CA_REJECTED, settings.caName()
                    + ": the certificate returned for " + names + " does not match the key of the request", names, null, null, null);
        }
        StringBuilder pem = new StringBuilder();
        try {
            for (X509Certificate c : chain) {
                pem.append(Pem.pem("CERTIFICATE", c.getEncoded()));
            }
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
        String keyPem = Pem.pem("PRIVATE KEY", key.getPrivate().getEncoded());
        return new IssuedCertificate(names, pem.toString(), keyPem, leaf.getNotBefore().toInstant(),
                leaf.getNotAfter().toInstant(), outcome);
    }

    private static List<String> normalize(List<String> domains) {
        return normalize(domains, false);
    }

    private static List<String> normalize(List<String> domains, boolean wildcardsAllowed) {
        Objects.requireNonNull(domains, "domains");
        LinkedHashSet<String> set = new LinkedHashSet<>();
        for (String d : domains) {
            String n = d == null || d.strip().equals(".") ? "" : DomainName.of(d).value();
            String plain = wildcardsAllowed && n.startsWith("*.") ? n.substring(2) : n;
            if (plain.isEmpty() || plain.startsWith("*") || !plain.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")) {
                throw new IllegalArgumentException("cannot order a certificate for '" + d + "': "
                        + (wildcardsAllowed ? "not a DNS name" : "HTTP-01 needs plain DNS names (wildcards need DNS-01: "
                        + "set lb.acme.dns.provider)"));
            }
            set.add(n);
        }
        if (set.isEmpty() || set.size() > 100) {
            throw new IllegalArgumentException("a certificate needs 1 to 100 names, got " + set.size());
        }
        return List.copyOf(set);
    }

}
