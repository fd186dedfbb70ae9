package haproxylb.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A deliberately small HTTP/1.1 client for talking to haproxy on loopback as a browser for {@code host} would:
 * SNI and Host header set to the domain while connecting to 127.0.0.1 (the JDK HttpClient refuses a custom Host).
 * Trusts any certificate and returns the one served, so tests can assert on it.
 */
public final class EdgeClient {
    public record Response(int status, Map<String, String> headers, String body, List<X509Certificate> peerChain) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private EdgeClient() {}

    public static Response https(int port, String host, String path) throws IOException {
        return request(port, host, path, true);
    }

    public static Response http(int port, String host, String path) throws IOException {
        return request(port, host, path, false);
    }

    /** Status code, or -1 when the connection failed: for polling until a condition holds. */
    public static int statusOrMinusOne(int port, String host, String path, boolean tls) {
        try {
            return request(port, host, path, tls).status();
        } catch (IOException e) {
            return -1;
        }
    }

    public static Response request(int port, String host, String path, boolean tls) throws IOException {
        return request("127.0.0.1", port, host, path, tls);
    }

    /** The same, to a listener on another loopback address (cluster nodes: 127.0.0.2, 127.0.0.3, ...). */
    public static Response request(String address, int port, String host, String path, boolean tls)
            throws IOException {
        Socket plain = new Socket();
        plain.connect(new InetSocketAddress(address, port), 5000);
        plain.setSoTimeout(10_000);
        Socket socket = plain;
        List<X509Certificate> chain = List.of();
        if (tls) {
            SSLSocket ssl = (SSLSocket) trustAll().getSocketFactory().createSocket(plain, "127.0.0.1", port, true);
            SSLParameters params = ssl.getSSLParameters();
            // as a browser does, SNI carries the name without a port or the trailing dot of a fully qualified name
            params.setServerNames(List.of(new SNIHostName(host.split(":")[0].replaceFirst("\\.$", ""))));
            ssl.setSSLParameters(params);
            ssl.startHandshake();
            Certificate[] certs = ssl.getSession().getPeerCertificates();
            chain = java.util.Arrays.stream(certs).map(c -> (X509Certificate) c).toList();
            socket = ssl;
        }
        try (Socket open = socket) {
            OutputStream out = open.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\nUser-Agent: haproxy-lb-test"
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return parse(open.getInputStream(), chain);
        }
    }

    private static Response parse(InputStream in, List<X509Certificate> chain) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        in.transferTo(all);
        String text = all.toString(StandardCharsets.UTF_8);
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
            throw new IOException("incomplete HTTP response: " + text);
        }
        String[] head = text.substring(0, end).split("\r\n");
        int status = Integer.parseInt(head[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < head.length; i++) {
            int colon = head[i].indexOf(':');
            headers.put(head[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), head[i].substring(colon + 1).trim());
        }
        String body = text.substring(end + 4);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = unchunk(body);
        }
        return new Response(status, headers, body, chain);
    }

    private static String unchunk(String body) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (i < body.length()) {
            int eol = body.indexOf("\r\n", i);
            int size = Integer.parseInt(body.substring(i, eol).split(";")[0].trim(), 16);
            if (size == 0) {
                break;
            }
            sb.append(body, eol + 2, eol + 2 + size);
            i = eol + 2 + size + 2;
        }
        return sb.toString();
    }

    private static SSLContext trustAll() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] c, String a) {}

                @Override
                public void checkServerTrusted(X509Certificate[] c, String a) {}

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, new SecureRandom());
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
