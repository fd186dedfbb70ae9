package haproxylb.certificates.issuer;

import haproxylb.common.DomainName;
import java.io.IOException;
import java.security.KeyPair;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.OrderBuilder;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.connector.Resource;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeLazyLoadingException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.exception.AcmeUnauthorizedException;
import org.shredzone.acme4j.toolbox.AcmeUtils;
import org.shredzone.acme4j.util.KeyPairUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One certificate order at one CA, start to end: create the order (with ARI's {@code replaces} and a profile when
 * the CA offers them), have its authorizations answered ({@link AcmeAuthorizations}), finalize with a fresh domain
 * key, download the chain. Every failure leaves as an {@link IssuanceException}, and a failure that may mean the CA
 * restarted or forgot the account drops the cached login ({@link AcmeSessions#resetOn}).
 */
final class AcmeOrdering {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeOrdering.class);
    private static final String ACCOUNT_DOES_NOT_EXIST = "urn:ietf:params:acme:error:accountDoesNotExist";
    /** RFC 9773 section 5: the certificate named in {@code replaces} was already replaced by another order. */
    private static final String ALREADY_REPLACED = "urn:ietf:params:acme:error:alreadyReplaced";
    private static final String MALFORMED = "urn:ietf:params:acme:error:malformed";

    private final AcmeSettings settings;
    private final AcmeSessions sessions;
    private final AcmeErrors errors;
    private final AcmePolling polling;
    private final AcmeAuthorizations authorizations;

    AcmeOrdering(AcmeSettings settings, AcmeSessions sessions, AcmeErrors errors, AcmePolling polling,
                 AcmeAuthorizations authorizations) {
        this.settings = settings;
        this.sessions = sessions;
        this.errors = errors;
        this.polling = polling;
        this.authorizations = authorizations;
    }

    /** See {@link AcmeIssuer#issue}. */
    IssuedCertificate issue(OrderRequest request) throws IssuanceException {
        List<String> names = normalize(request.names(), authorizations.dnsChallenges());
        Instant started = Instant.now();
        Instant deadline = started.plus(settings.timeout());
        AcmeAuthorizations.Published published = new AcmeAuthorizations.Published();
        try {
            OrderOutcome[] outcome = new OrderOutcome[1];
            Order order = createOrder(names, request, outcome);
            authorizations.authorize(order, names, published, deadline);
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
            authorizations.withdraw(published);
        }
    }

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
        Optional<String> replacedId = replaces.map(AcmeUtils::getRenewalUniqueIdentifier);
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

    private static OrderBuilder orderBuilder(Login l, List<String> names, Optional<X509Certificate> replaces,
                                             Optional<String> profile) {
        OrderBuilder b = l.newOrder().domains(names);
        replaces.ifPresent(b::replaces);
        profile.ifPresent(b::profile);
        return b;
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
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
        String keyPem = Pem.pem("PRIVATE KEY", key.getPrivate().getEncoded());
        return new IssuedCertificate(names, pem.toString(), keyPem, leaf.getNotBefore().toInstant(),
                leaf.getNotAfter().toInstant(), outcome);
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
