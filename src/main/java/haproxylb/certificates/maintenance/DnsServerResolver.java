package haproxylb.certificates.maintenance;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Objects;
import javax.naming.Context;
import javax.naming.NameNotFoundException;
import javax.naming.NamingEnumeration;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.directory.Attributes;
import javax.naming.directory.DirContext;
import javax.naming.directory.InitialDirContext;

/**
 * Resolves names by asking one DNS server directly (the JDK's JNDI DNS provider), instead of the host's resolver
 * configuration. The CA validates from the public internet, so asking a public resolver is closer to what the CA will
 * see than a local resolver with split-horizon or {@code /etc/hosts} answers; tests point it at the same mock DNS
 * server the test CA uses, so the daemon and the CA agree on every name.
 *
 * <p>A and AAAA are asked separately (the JNDI provider turns a multi-type request into an ANY query, which many
 * servers refuse); when a name has neither, its CNAME is followed, at most {@value #MAX_CNAMES} deep.
 */
public final class DnsServerResolver implements ReachabilityCheck.Resolver {
    static final int MAX_CNAMES = 8;

    private final String server;
    private final Duration timeout;

    /** @param server {@code host:port} or {@code host} (port 53) of the DNS server to ask */
    public DnsServerResolver(String server, Duration timeout) {
        this.server = Objects.requireNonNull(server, "server").strip();
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (this.server.isEmpty() || this.server.contains("/")) {
            throw new IllegalArgumentException("DNS server '" + server + "' must be host or host:port");
        }
    }

    public String server() {
        return server;
    }

    @Override
    public List<InetAddress> resolve(String host) throws UnknownHostException {
        DirContext ctx = null;
        try {
            ctx = new InitialDirContext(environment());
            String name = host;
            for (int depth = 0; depth <= MAX_CNAMES; depth++) {
                List<InetAddress> addresses = new ArrayList<>();
                for (String type : List.of("A", "AAAA")) {
                    for (String value : values(ctx, name, type)) {
                        addresses.add(InetAddress.getByAddress(host, InetAddress.getByName(value).getAddress()));
                    }
                }
                if (!addresses.isEmpty()) {
                    return addresses;
                }
                List<String> cname = values(ctx, name, "CNAME");
                if (cname.isEmpty()) {
                    break;
                }
                name = cname.get(0).endsWith(".") ? cname.get(0).substring(0, cname.get(0).length() - 1) : cname.get(0);
            }
            throw new UnknownHostException(host + " has no A or AAAA record at DNS server " + server);
        } catch (NameNotFoundException e) {
            throw new UnknownHostException(host + " does not exist (NXDOMAIN from DNS server " + server + ")");
        } catch (NamingException e) {
            throw new UnknownHostException(host + " could not be resolved at DNS server " + server + ": "
                    + e.getExplanation());
        } finally {
            if (ctx != null) {
                try {
                    ctx.close();
                } catch (NamingException ignored) {
                    // nothing held open
                }
            }
        }
    }

    private static List<String> values(DirContext ctx, String name, String type) throws NamingException {
        Attributes attributes = ctx.getAttributes(name + ".", new String[] {type});
        Attribute a = attributes.get(type);
        List<String> values = new ArrayList<>();
        if (a != null) {
            NamingEnumeration<?> all = a.getAll();
            while (all.hasMore()) {
                values.add(String.valueOf(all.next()).strip());
            }
        }
        return values;
    }

    private Hashtable<String, String> environment() {
        Hashtable<String, String> env = new Hashtable<>();
        env.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.dns.DnsContextFactory");
        env.put(Context.PROVIDER_URL, "dns://" + server);
        // The provider waits 'initial' ms, then doubles it for each retry: 3 tries within about 7 x initial.
        long initial = Math.max(100, timeout.toMillis() / 7);
        env.put("com.sun.jndi.dns.timeout.initial", Long.toString(initial));
        env.put("com.sun.jndi.dns.timeout.retries", "3");
        return env;
    }
}
