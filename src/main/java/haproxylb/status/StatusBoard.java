package haproxylb.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import haproxylb.common.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the daemon's outcome of every change and publishes it as status.json (atomically), which is how
 * {@code haproxy-config apply} learns whether its fragment went live or why it was rejected.
 */
public final class StatusBoard {
    private static final Logger LOG = LoggerFactory.getLogger(StatusBoard.class);
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path file;
    private final Clock clock;
    private final Map<String, FragmentStatus> fragments = new TreeMap<>();
    private final Map<String, Object> certificates = new TreeMap<>();
    private long configGeneration;
    private long liveGeneration;
    private boolean reloadPending;
    private Instant nextReloadAt;
    private long reloads;
    private long reloadsCoalesced;
    private ReloadStatus lastReload;
    /** Loaded from an earlier run's status.json, and no assembly seen since (see {@link #assembled}). */
    private boolean restored;

    public StatusBoard(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
        load();
    }

    public static Status read(Path file) throws IOException {
        return JSON.readValue(file.toFile(), Status.class);
    }

    private void load() {
        if (!Files.exists(file)) {
            return;
        }
        try {
            Status s = read(file);
            restored = true;
            if (s.fragments() != null) {
                fragments.putAll(s.fragments());
            }
            configGeneration = s.configGeneration();
            liveGeneration = s.liveGeneration();
            reloads = s.reloads();
            lastReload = s.lastReload();
        } catch (IOException e) {
            LOG.warn("Could not read {} ({}); starting with an empty status", file, e.getMessage());
        }
    }

    /**
     * Recorded, but published with the assembly that follows within lb.assembly.batch ms: rewriting status.json for
     * every drop made a storm of N drops cost O(N²) writes.
     */
    public synchronized void pending(String name, String id) {
        fragments.put(name, new FragmentStatus("pending", id, configGeneration, null, clock.instant().toString()));
    }

    public synchronized void rejected(String name, String id, String error) {
        put(name, "rejected", id, configGeneration, error);
    }

    public synchronized long nextGeneration() {
        return configGeneration + 1;
    }

    /**
     * A config generation was written. {@code accepted}: fragments whose new version is in it; {@code live}: every
     * fragment in it (those without a status yet, after a restart for instance, are recorded too).
     */
    public synchronized void assembled(long generation, Map<String, String> accepted, Map<String, String> live,
                                       Iterable<String> removed) {
        configGeneration = generation;
        // One publish for the whole batch: status.json holds every fragment, so publishing per fragment made a
        // storm of n drops rewrite (and fsync) it O(n) times per assembly (StormTest).
        accepted.forEach((name, id) -> set(name, generation <= liveGeneration ? "live" : "assembled", id,
                generation, null));
        live.forEach((name, id) -> {
            if (!fragments.containsKey(name)) {
                set(name, generation <= liveGeneration ? "live" : "assembled", id, generation, null);
            }
        });
        if (restored) {
            // The first assembly after a restart, before the intake runs: every pending change on disk was part of
            // it. A "pending" left in status.json is one the last run was killed between carrying out (promoting a
            // version into the config, or removing it) and recording (CrashSafetyTest). Whether haproxy loaded it
            // is unknown, so it waits for the next reload or start like any assembled change.
            for (var e : Map.copyOf(fragments).entrySet()) {
                FragmentStatus f = e.getValue();
                if (!f.state().equals("pending")) {
                    continue;
                }
                boolean promoted = f.id() != null && f.id().equals(live.get(e.getKey()));
                // PendingChange.removal ids start with "remove-"
                boolean gone = f.id() != null && f.id().startsWith("remove-") && !live.containsKey(e.getKey());
                if (promoted || gone) {
                    configGeneration = Math.max(configGeneration, liveGeneration + 1);
                    set(e.getKey(), promoted ? "assembled" : "removed", promoted ? f.id() : null, configGeneration,
                            null);
                }
            }
            restored = false;
        }
        for (String name : removed) {
            set(name, "removed", null, generation, null);
        }
        // A removal that left the config as it was (the fragment was never live: rejected, or removed before its
        // assembly) needs no reload, so no reload would ever clear it (CrashSafetyTest).
        fragments.values().removeIf(f -> f.state().equals("removed") && f.generation() <= liveGeneration);
        publish();
    }

    public synchronized void reloadPlanned(boolean pending, Instant nextAt) {
        this.reloadPending = pending;
        this.nextReloadAt = nextAt;
        publish();
    }

    public synchronized void reloadCoalesced() {
        reloadsCoalesced++;
    }

    public synchronized void reloaded(long generation, boolean ok, String message) {
        lastReload = new ReloadStatus(clock.instant().toString(), ok, generation, message);
        if (ok) {
            reloads++;
            liveGeneration = Math.max(liveGeneration, generation);
            fragments.replaceAll((name, f) -> f.state().equals("assembled") && f.generation() <= liveGeneration
                    ? new FragmentStatus("live", f.id(), f.generation(), null, f.updatedAt()) : f);
            fragments.values().removeIf(f -> f.state().equals("removed") && f.generation() <= liveGeneration);
        }
        publish();
    }

    /** A map-only change reached the running haproxy through its runtime API: live without a reload. */
    public synchronized void liveWithoutReload(long generation) {
        liveGeneration = Math.max(liveGeneration, generation);
        fragments.replaceAll((name, f) -> f.state().equals("assembled") && f.generation() <= liveGeneration
                ? new FragmentStatus("live", f.id(), f.generation(), null, f.updatedAt()) : f);
        fragments.values().removeIf(f -> f.state().equals("removed") && f.generation() <= liveGeneration);
        publish();
    }

    public synchronized void certificate(String domain, Object state) {
        certificates.put(domain, state);
        publish();
    }

    public synchronized long liveGeneration() {
        return liveGeneration;
    }

    public synchronized long configGeneration() {
        return configGeneration;
    }

    public synchronized Status snapshot() {
        return new Status(clock.instant().toString(), configGeneration, liveGeneration, reloadPending,
                nextReloadAt == null ? null : nextReloadAt.toString(), reloads, reloadsCoalesced, lastReload,
                new TreeMap<>(fragments), new TreeMap<>(certificates));
    }

    private void put(String name, String state, String id, long generation, String error) {
        set(name, state, id, generation, error);
        publish();
    }

    private void set(String name, String state, String id, long generation, String error) {
        fragments.put(name, new FragmentStatus(state, id, generation, error, clock.instant().toString()));
    }

    private void publish() {
        try {
            AtomicFiles.write(file, JSON.writeValueAsBytes(snapshot()));
        } catch (IOException e) {
            LOG.error("Could not write {}: {}", file, e.getMessage());
        }
    }
}
