package haproxylb.cli;

import haproxylb.common.AtomicFiles;
import haproxylb.common.SettingsFile;
import haproxylb.assembly.TemplateValues;
import haproxylb.common.Settings;
import haproxylb.assembly.CandidateRules;
import haproxylb.intake.FragmentPolicy;
import haproxylb.assembly.CandidateValidator;
import haproxylb.assembly.ConfigAssembler;
import haproxylb.assembly.ConfigTemplate;
import haproxylb.certificates.store.FallbackCertificate;
import haproxylb.haproxy.HaproxyCheck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The daemon's validation rebuilt from the same settings (template, its placeholders, rules, haproxy binary), for
 * {@code haproxy-config check} and {@code diff} where no daemon may run (a CI job with a copy of the live fragments).
 * Candidate files go to a temp directory that {@link #close()} deletes: nothing is written under the state directory.
 * haproxy -c loads the certificates the template names; when the daemon's cert directory cannot be read whole (no
 * state directory here, or keys only the daemon's user may read) a throw-away self-signed one stands in for it, which
 * changes nothing in what is checked about a fragment.
 */
final class DaemonValidation implements AutoCloseable {
    private final Path workDir;
    private final Path certDir;
    private final CandidateValidator validator;
    private final boolean runtimeMapUpdates;
    private final String mapPath;

    /**
     * @param runsHaproxy whether haproxy -c will run (check); diff only compares rendered configs, where any cert
     *                    directory path does, so it needs no stand-in certificate
     * @param policy      the fragment policy of the same settings (whether fragments may share backends)
     */
    DaemonValidation(SettingsFile cli, boolean runsHaproxy, FragmentPolicy policy) throws IOException {
        Settings s = new Settings(cli::get);
        this.workDir = Files.createTempDirectory("haproxy-config-check-");
        try {
            Path daemonCerts = s.path("lb.haproxy.cert-dir");
            this.certDir = !runsHaproxy || readable(daemonCerts) ? daemonCerts
                    : fallbackCertDir(workDir.resolve("certs"));
            ConfigAssembler assembler = new ConfigAssembler(ConfigTemplate.load(s.path("lb.haproxy.template")),
                    TemplateValues.of(s, certDir));
            HaproxyCheck haproxy = new HaproxyCheck(s.string("lb.haproxy.binary", "haproxy"),
                    Long.parseLong(s.string("lb.haproxy.check-timeout", "60")));
            this.validator = new CandidateValidator(new CandidateRules(TemplateValues.BASE_BACKENDS,
                    policy.fragmentsShareBackends()), assembler,
                    haproxy, workDir.resolve("candidate"));
            this.runtimeMapUpdates = Boolean.parseBoolean(s.string("lb.haproxy.runtime-map-updates", "true"));
            this.mapPath = s.path("lb.haproxy.map").toString();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    CandidateValidator validator() {
        return validator;
    }

    boolean runtimeMapUpdates() {
        return runtimeMapUpdates;
    }

    /** The live map's path, as the daemon renders it into haproxy.cfg. */
    String mapPath() {
        return mapPath;
    }

    Path certDir() {
        return certDir;
    }

    private static boolean readable(Path certDir) {
        if (!Files.isReadable(FallbackCertificate.path(certDir))) {
            return false;
        }
        try (Stream<Path> files = Files.list(certDir)) {
            return files.allMatch(Files::isReadable);
        } catch (IOException e) {
            return false;
        }
    }

    private static Path fallbackCertDir(Path dir) throws IOException {
        Files.createDirectories(dir);
        FallbackCertificate.ensure(dir);
        return dir;
    }

    @Override
    public void close() {
        try {
            AtomicFiles.deleteTree(workDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the check's temp directory " + workDir, e);
        }
    }
}
