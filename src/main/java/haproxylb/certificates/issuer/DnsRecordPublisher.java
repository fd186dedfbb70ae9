package haproxylb.certificates.issuer;

import java.io.IOException;

/** Puts a DNS-01 TXT record into the zone of a name and takes it out again (a DNS provider). */
public interface DnsRecordPublisher {
    /** Adds {@code value} as a TXT record of {@code fqdn} (other TXT records of that name stay). */
    void add(String fqdn, String value) throws IOException;

    /** Removes exactly that TXT record; removing one that is not there is no error. */
    void remove(String fqdn, String value) throws IOException;

    /** One line for logs: which provider, which server. */
    String describe();
}
