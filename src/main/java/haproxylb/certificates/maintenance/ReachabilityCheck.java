package haproxylb.certificates.maintenance;

import haproxylb.certificates.issuer.ChallengeResponder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * "Do no harm to the CA": before a domain is ordered, check that (a) it resolves to this balancer only, and
 * (b) a probe token registered on the {@link ChallengeResponder} can be fetched through haproxy's HTTP port with
 * the domain as Host header, i.e. the CA's HTTP-01 request would reach us. A failing domain is reported and
 * re-checked later instead of costing a failed validation at the CA.
 */
public final class ReachabilityCheck {
    private static final int MAX_RESPONSE = 64 * 1024;

    /** Name resolution, pluggable for tests. */
    @FunctionalInterface
    public interface Resolver {
        List<InetAddress> resolve(String host) throws UnknownHostException;
    }

    /** The JVM's resolver ({@link InetAddress#getAllByName}). */
    public static final Resolver SYSTEM_RESOLVER = host -> List.of(InetAddress.getAllByName(host));

    private final Set<InetAddress> balancerAddresses;
    private final boolean loopbackIsHere;
    private final InetSocketAddress haproxyHttp;
    private final ChallengeResponder responder;
    private final Resolver resolver;
    private final Duration timeout;
    /** The port the CA connects to for HTTP-01 (80), when names are judged by probing their addresses; 0: off. */
    private int probePort;
    /** How each name passed, for the status: by the configured addresses, or by the probe of its own addresses. */
    private final Map<String, String> judgements = new ConcurrentHashMap<>();

    /**
     * @param balancerAddresses the public addresses of this balancer (what the domains' A/AAAA records must be)
     * @param loopbackIsHere    count loopback addresses as "this balancer" (local tests only)
     * @param haproxyHttp       where haproxy's HTTP (port 80) frontend can be reached from this host
     * @param responder         the daemon's challenge responder (probe tokens are registered there)
     * @param resolver          name resolution; {@link #SYSTEM_RESOLVER} in production
     * @param timeout           connect and read timeout of the probe request
     */
    public ReachabilityCheck(Collection<InetAddress> balancerAddresses, boolean loopbackIsHere, InetSocketAddress haproxyHttp,
                             ChallengeResponder responder, Resolver resolver, Duration timeout) {
        this.balancerAddresses = Set.copyOf(Objects.requireNonNull(balancerAddresses, "balancerAddresses"));
        this.loopbackIsHere = loopbackIsHere;
        this.haproxyHttp = Objects.requireNonNull(haproxyHttp, "haproxyHttp");
        this.responder = Objects.requireNonNull(responder, "responder");
        this.resolver = resolver == null ? SYSTEM_RESOLVER : resolver;
        this.timeout = timeout == null ? Duration.ofSeconds(5) : timeout;
    }

    /** Production defaults: the system resolver, loopback not counted, 5 s timeout. */
    public ReachabilityCheck(Collection<InetAddress> balancerAddresses, InetSocketAddress haproxyHttp, ChallengeResponder responder) {
        this(balancerAddresses, false, haproxyHttp, responder, SYSTEM_RESOLVER, Duration.ofSeconds(5));
    }

    /** Parses address literals (no DNS lookups), for settings such as {@code acme.balancer-addresses=203.0.113.7,2001:db8::7}. */
    public static Set<InetAddress> parseAddresses(Collection<String> literals) {
        Set<InetAddress> out = new LinkedHashSet<>();
        for (String s : literals) {
            String t = s == null ? "" : s.trim();
            if (t.isEmpty()) {
                continue;
            }
            if (!t.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}|\\[?[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(%\\w+)?]?")) {
                throw new IllegalArgumentException("balancer address '" + t + "' is not an IP address");
            }
            try {
                out.add(InetAddress.getByName(t.replace("[", "").replace("]", "")));
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("balancer address '" + t + "' is not an IP address", e);
            }
        }
        return out;
    }

    /**
     * Judges names without {@code lb.acme.balancer-addresses}: a name is here when a one-time token, registered on
     * the responder, comes back from every address the name resolves to, fetched at {@code port} with the name as
     * Host, exactly as the CA's HTTP-01 request would. Behind NAT or DNS round-robin this needs no list of addresses.
     * Used only while no balancer address is configured and loopback is not counted (the setting overrides).
     */
    public ReachabilityCheck judgingByProbe(int port) {
        this.probePort = port;
        return this;
    }

    /** True when names are judged by probing the addresses they resolve to. */
    public boolean judgesByProbe() {
        return probePort > 0 && balancerAddresses.isEmpty() && !loopbackIsHere;
    }

    /** How {@code domain} was last found to be here (for the status), if it was. */
    public Optional<String> judgement(String domain) {
        return Optional.ofNullable(judgements.get(domain));
    }

    /** Empty when {@code domain} may be ordered; otherwise why not (for logs and the status view). */
    public Optional<String> check(String domain) {
        judgements.remove(domain);
        if (judgesByProbe()) {
            return checkAddressesByProbe(domain);
        }
        Optional<String> dns = checkResolution(domain);
        if (dns.isPresent()) {
            return dns;
        }
        Optional<String> probe = checkProbe(domain);
        if (probe.isEmpty()) {
            judgements.put(domain, "resolves to this balancer's addresses (lb.acme.balancer-addresses"
                    + (loopbackIsHere ? " or loopback" : "") + ") and the probe through haproxy came back");
        }
        return probe;
    }

    /** The probe of every address {@code domain} resolves to (see {@link #judgingByProbe}). */
    Optional<String> checkAddressesByProbe(String domain) {
        List<InetAddress> addresses;
        try {
            addresses = resolver.resolve(domain);
        } catch (UnknownHostException e) {
            return Optional.of(domain + " does not resolve");
        } catch (RuntimeException e) {
            return Optional.of(domain + " could not be resolved: " + e);
        }
        if (addresses == null || addresses.isEmpty()) {
            return Optional.of(domain + " does not resolve to any address");
        }
        String token = responder.registerProbe();
        try {
            String expected = responder.answer(token).orElseThrow();
            String path = ChallengeResponder.PATH_PREFIX + token;
            for (InetAddress a : addresses) {
                InetSocketAddress target = new InetSocketAddress(a, probePort);
                String at = a.getHostAddress() + ":" + probePort;
                try {
                    Response r = get(target, domain, path);
                    if (r.status() != 200 || !expected.equals(r.body().trim())) {
                        return Optional.of(domain + " resolves to " + a.getHostAddress() + ", where the probe token "
                                + "did not come back (HTTP " + r.status() + " from " + at + "): that address is not "
                                + "this balancer, or port " + probePort + " is not routed to it");
                    }
                } catch (IOException e) {
                    return Optional.of(domain + " resolves to " + a.getHostAddress() + ", where the probe failed ("
                            + at + ": " + e.getMessage() + ")");
                }
            }
            judgements.put(domain, "probe token came back from every address it resolves to ("
                    + addresses.stream().map(InetAddress::getHostAddress).collect(Collectors.joining(", "))
                    + ", port " + probePort + "); no lb.acme.balancer-addresses set, so judged by probe");
            return Optional.empty();
        } finally {
            responder.remove(token);
        }
    }

    /** (a) every address the domain resolves to is one of this balancer's. */
    public Optional<String> checkResolution(String domain) {
        List<InetAddress> addresses;
        try {
            addresses = resolver.resolve(domain);
        } catch (UnknownHostException e) {
            return Optional.of(domain + " does not resolve" + (e.getMessage() == null || e.getMessage().contains(domain)
                    ? "" : ": " + e.getMessage()));
        } catch (RuntimeException e) {
            return Optional.of(domain + " could not be resolved: " + e);
        }
        if (addresses == null || addresses.isEmpty()) {
            return Optional.of(domain + " does not resolve to any address");
        }
        List<InetAddress> foreign = new ArrayList<>();
        for (InetAddress a : addresses) {
            if (!isHere(a)) {
                foreign.add(a);
            }
        }
        if (foreign.isEmpty()) {
            return Optional.empty();
        }
        String all = addresses.stream().map(InetAddress::getHostAddress).collect(Collectors.joining(", "));
        String ours = balancerAddresses.isEmpty() ? "none configured"
                : balancerAddresses.stream().map(InetAddress::getHostAddress).sorted().collect(Collectors.joining(", "));
        return Optional.of(domain + " resolves to " + all + ", not (only) to this balancer (" + ours
                + (loopbackIsHere ? ", loopback" : "") + ")");
    }

    /** (b) a probe token is served through haproxy's HTTP port for {@code Host: domain}. */
    public Optional<String> checkProbe(String domain) {
        String token = responder.registerProbe();
        try {
            String expected = responder.answer(token).orElseThrow();
            String path = ChallengeResponder.PATH_PREFIX + token;
            Response r;
            try {
                r = get(domain, path);
            } catch (SocketTimeoutException e) {
                return Optional.of("probe for " + domain + " through " + where() + " timed out after " + timeout.toMillis() + " ms");
            } catch (IOException e) {
                return Optional.of("probe for " + domain + " through " + where() + " failed: " + e.getMessage());
            }
            if (r.status() != 200) {
                return Optional.of("probe for " + domain + " through " + where() + " answered HTTP " + r.status()
                        + " instead of the challenge responder's token");
            }
            if (!expected.equals(r.body().trim())) {
                return Optional.of("probe for " + domain + " through " + where()
                        + " answered 200 but not with the probe token: is port 80 routed to another server?");
            }
            return Optional.empty();
        } finally {
            responder.remove(token);
        }
    }

    private boolean isHere(InetAddress a) {
        if (balancerAddresses.contains(a)) {
            return true;
        }
        return loopbackIsHere && a.isLoopbackAddress();
    }

    private String where() {
        return haproxyHttp.getHostString() + ":" + haproxyHttp.getPort();
    }

    record Response(int status, String body) {}

    /** A minimal HTTP/1.1 GET over a plain socket: the JDK HttpClient does not allow setting the Host header. */
    private Response get(String host, String path) throws IOException {
        return get(haproxyHttp, host, path);
    }

    private Response get(InetSocketAddress target, String host, String path) throws IOException {
        int ms = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
        try (Socket socket = new Socket()) {
            socket.connect(target, ms);
            socket.setSoTimeout(ms);
            String request = "GET " + path + " HTTP/1.1\r\n"
                    + "Host: " + host + "\r\n"
                    + "User-Agent: haproxy-lb-reachability-check\r\n"
                    + "Accept: */*\r\n"
                    + "Connection: close\r\n\r\n";
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return parse(readAll(socket.getInputStream()));
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] b = new byte[4096];
        int n;
        while ((n = in.read(b)) >= 0) {
            buf.write(b, 0, n);
            if (buf.size() > MAX_RESPONSE) {
                break;
            }
        }
        return buf.toByteArray();
    }

    static Response parse(byte[] raw) throws IOException {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int headerEnd = text.indexOf("\r\n\r\n");
        if (headerEnd < 0) {
            throw new IOException("incomplete HTTP response (" + raw.length + " bytes)");
        }
        String[] lines = text.substring(0, headerEnd).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/")) {
            throw new IOException("not an HTTP response: " + lines[0]);
        }
        int status;
        try {
            status = Integer.parseInt(statusLine[1]);
        } catch (NumberFormatException e) {
            throw new IOException("not an HTTP response: " + lines[0]);
        }
        boolean chunked = false;
        int contentLength = -1;
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = lines[i].substring(colon + 1).trim();
            if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).contains("chunked")) {
                chunked = true;
            } else if (name.equals("content-length")) {
                try {
                    contentLength = Integer.parseInt(value);
                } catch (NumberFormatException ignored) {
                    contentLength = -1;
                }
            }
        }
        String body = text.substring(headerEnd + 4);
        if (chunked) {
            body = dechunk(body);
        } else if (contentLength >= 0 && contentLength < body.length()) {
            body = body.substring(0, contentLength);
        }
        return new Response(status, body);
    }

    private static String dechunk(String s) throws IOException {
        StringBuilder out = new StringBuilder();
        int pos = 0;
        while (true) {
            int eol = s.indexOf("\r\n", pos);
            if (eol < 0) {
                throw new IOException("truncated chunked HTTP body");
            }
            String sizeText = s.substring(pos, eol);
            int semi = sizeText.indexOf(';');
            if (semi >= 0) {
                sizeText = sizeText.substring(0, semi);
            }
            int size;
            try {
                size = Integer.parseInt(sizeText.trim(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size '" + sizeText + "'");
            }
            if (size == 0) {
                return out.toString();
            }
            int start = eol + 2;
            if (start + size > s.length()) {
                throw new IOException("truncated chunked HTTP body");
            }
            out.append(s, start, start + size);
            pos = start + size + 2;
        }
    }
}
