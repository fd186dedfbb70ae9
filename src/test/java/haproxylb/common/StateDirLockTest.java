package haproxylb.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One daemon per state directory, within this JVM (tests restart daemons) as between processes (SecondDaemonTest). */
class StateDirLockTest {
    @TempDir
    Path state;

    @Test
    void a_second_daemon_on_the_same_state_is_refused_with_the_holders_pid_until_the_first_lets_go() throws Exception {
        try (StateDirLock first = StateDirLock.acquire(state)) {
            StateDirLock.Held held = assertThrows(StateDirLock.Held.class, () -> StateDirLock.acquire(state));
            assertTrue(held.getMessage().contains("another haproxy-lb daemon (pid " + ProcessHandle.current().pid()
                    + ") is running on the state directory " + state), held.getMessage());
            assertTrue(held.getMessage().contains("systemctl stop haproxy-lb"), held.getMessage());
        }
        StateDirLock.acquire(state).close(); // released: taken again
    }

    @Test
    void another_state_directory_is_another_lock() throws Exception {
        Path other = Files.createDirectory(state.resolve("other"));
        try (StateDirLock a = StateDirLock.acquire(state); StateDirLock b = StateDirLock.acquire(other)) {
            assertEquals(Long.toString(ProcessHandle.current().pid()),
                    Files.readString(other.resolve(StateDirLock.PID_FILE)).strip());
        }
    }

    @Test
    void haproxy_config_can_tell_whether_a_daemon_runs_from_proc_locks() throws Exception {
        assertEquals(StateDirLock.Presence.NOT_RUNNING, StateDirLock.probe(state));
        try (StateDirLock held = StateDirLock.acquire(state)) {
            assertEquals(StateDirLock.Presence.RUNNING, StateDirLock.probe(state));
        }
        assertEquals(StateDirLock.Presence.NOT_RUNNING, StateDirLock.probe(state), "the probe let go");
        assertEquals(StateDirLock.Presence.UNKNOWN, StateDirLock.probe(state.resolve("missing")));
    }

    @Test
    void only_a_held_flock_on_that_device_and_inode_counts() {
        assertTrue(StateDirLock.heldOn("1: FLOCK  ADVISORY  WRITE 4242 fd:00:1234567 0 EOF", "fd:00", "1234567"));
        assertFalse(StateDirLock.heldOn("1: -> FLOCK  ADVISORY  WRITE 4243 fd:00:1234567 0 EOF", "fd:00", "1234567"),
                "a waiter");
        assertFalse(StateDirLock.heldOn("2: POSIX  ADVISORY  WRITE 4242 fd:00:1234567 0 EOF", "fd:00", "1234567"));
        assertFalse(StateDirLock.heldOn("3: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF", "fd:00", "1234567"));
        assertFalse(StateDirLock.heldOn("4: FLOCK  ADVISORY  WRITE 4242 fd:00:12345678 0 EOF", "fd:00", "1234567"));
    }
}
