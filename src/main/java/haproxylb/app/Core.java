package haproxylb.app;

import haproxylb.common.Settings;
import haproxylb.common.StateLayout;
import haproxylb.assembly.AssemblyService;
import haproxylb.haproxy.HaproxySupervisor;
import haproxylb.haproxy.Reloader;
import haproxylb.intake.FragmentStore;
import haproxylb.intake.InboxBacklog;
import haproxylb.status.StatusBoard;

import java.nio.file.Path;
import java.time.Clock;

/** The fragment pipeline's shared pieces, handed to the wiring of the other concerns (certificates, monitoring). */
public record Core(Settings settings, Clock clock, Path stateDir, Path certDir, Path liveConfig, Path liveMap,
                   StatusBoard status, FragmentStore fragments, AssemblyService assembly, Reloader reloader,
                   HaproxySupervisor supervisor, StateLayout layout, InboxBacklog backlog) {}
