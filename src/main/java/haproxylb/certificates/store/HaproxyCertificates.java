package haproxylb.certificates.store;

import haproxylb.haproxy.ReloadWindow;
import haproxylb.haproxy.RuntimeApi;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the running haproxy about a certificate file that changed in its crt directory: through the runtime API
 * ({@code new/set/commit ssl cert}, {@code add/del ssl crt-list}), so that new and renewed certificates are served at
 * once without a reload. The file on disk is the truth for the next reload; when the runtime API fails (haproxy not
 * running, socket missing, a refusal), a rate-limited reload is requested instead, which reads the directory again.
 * Each change waits outside a reload's window ({@link ReloadWindow}): made during a reload, it could reach the old
 * worker only, after the new one had read the directory.
 */
public final class HaproxyCertificates {
    private static final Logger LOG = LoggerFactory.getLogger(HaproxyCertificates.class);

    /** How haproxy got the change. */
    public enum Via { RUNTIME_API, RELOAD }

    private final RuntimeApi runtime;
    private final String crtList;
    private final ReloadWindow reloads;
    private final Runnable requestReload;

    /**
     * @param crtList       the crt-list haproxy knows the directory's certificates by: with {@code ssl crt <dir>}, the
     *                      directory path exactly as written in the config
     * @param reloads       the reload stage's window, which runtime changes keep out of
     * @param requestReload asks for a (rate-limited) reload
     */
    public HaproxyCertificates(RuntimeApi runtime, String crtList, ReloadWindow reloads, Runnable requestReload) {
        this.runtime = Objects.requireNonNull(runtime, "runtime");
        this.crtList = Objects.requireNonNull(crtList, "crtList");
        this.reloads = Objects.requireNonNull(reloads, "reloads");
        this.requestReload = Objects.requireNonNull(requestReload, "requestReload");
    }

    /** {@code file} (in the crt directory, already written) now holds {@code bundle}: serve it. */
    public Via install(Path file, CertificateBundle bundle) {
        return change("take certificate " + file + ", asking for a reload instead, which reads it from disk",
                () -> runtime.installCertificate(crtList, file.toString(), bundle.toHaproxyPem()));
    }

    /** {@code file} left the crt directory: stop serving it. */
    public Via remove(Path file) {
        return change("drop certificate " + file + ", asking for a reload instead",
                () -> runtime.removeCertificate(crtList, file.toString()));
    }

    private interface SocketCall {
        void run() throws IOException;
    }

    /** Runs {@code call} outside a reload's window; if the runtime API fails, the next reload reads the directory. */
    private Via change(String fallback, SocketCall call) {
        try {
            reloads.outside(() -> {
                call.run();
                return null;
            });
            return Via.RUNTIME_API;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            requestReload.run();
            return Via.RELOAD;
        } catch (IOException | RuntimeException e) {
            LOG.warn("haproxy's runtime API could not {} ({})", fallback, e.getMessage());
            requestReload.run();
            return Via.RELOAD;
        }
    }
}
