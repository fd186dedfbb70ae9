package haproxylb.storage;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What every {@link Storage} must do; each implementation's test runs these against the real thing. */
abstract class StorageContract {

    /** A fresh, empty storage. */
    abstract Storage storage() throws Exception;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void a_stored_value_loads_back_and_a_second_store_replaces_it() throws Exception {
        Storage s = storage();
        assertTrue(s.load("fragments/app.cfg").isEmpty());
        s.store("fragments/app.cfg", b("backend be_a\n"));
        assertArrayEquals(b("backend be_a\n"), s.load("fragments/app.cfg").orElseThrow());
        s.store("fragments/app.cfg", b("backend be_b\n"));
        assertArrayEquals(b("backend be_b\n"), s.load("fragments/app.cfg").orElseThrow());
    }

    @Test
    void delete_removes_the_value_and_deleting_nothing_is_no_error() throws Exception {
        Storage s = storage();
        s.store("rejected/app.error", b("why"));
        s.delete("rejected/app.error");
        assertTrue(s.load("rejected/app.error").isEmpty());
        s.delete("rejected/app.error");
        s.delete("nothing/here/at-all");
    }

    @Test
    void list_gives_the_sorted_names_directly_under_a_folder_key() throws Exception {
        Storage s = storage();
        assertEquals(List.of(), s.list("fragments"));
        s.store("fragments/b.cfg", b("2"));
        s.store("fragments/a.cfg", b("1"));
        s.store("fragments/a.map", b(""));
        s.store("other/c.cfg", b("3"));
        assertEquals(List.of("a.cfg", "a.map", "b.cfg"), s.list("fragments"));
    }

    @Test
    void an_empty_value_is_a_value() throws Exception {
        Storage s = storage();
        s.store("x/empty", new byte[0]);
        assertEquals(0, s.load("x/empty").orElseThrow().length);
    }

    @Test
    void keys_that_could_leave_the_root_are_refused() throws Exception {
        Storage s = storage();
        for (String bad : new String[] {"../etc/passwd", "/abs", "a//b", "a/./b", "a/", ""}) {
            assertThrows(IllegalArgumentException.class, () -> s.store(bad, b("x")), bad);
            assertThrows(IllegalArgumentException.class, () -> s.load(bad), bad);
        }
    }

    @Test
    void a_lock_has_one_holder_at_a_time() throws Exception {
        Storage s = storage();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        int threads = 4;
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            new Thread(() -> {
                try {
                    for (int i = 0; i < 5; i++) {
                        try (Storage.Lock held = s.lock("locks-test/seed")) {
                            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                            Thread.sleep(2); // a window in which a second holder would show
                            inside.decrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    most.set(-1000);
                } finally {
                    done.countDown();
                }
            }).start();
        }
        assertTrue(done.await(30, TimeUnit.SECONDS));
        assertEquals(1, most.get(), "holders at once (negative: a lock call failed)");
        try (Storage.Lock again = s.lock("locks-test/seed")) {
            assertFalse(again == null);
        }
    }
}
