package datalith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Connections and snapshots: close, double close, use after close, threads. */
class HandlesTest {
    static final Object SCHEMA = Datalith.edn(
            "[{:db/ident :n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]");

    static Map<Object, Object> freshDb() {
        Map<Object, Object> cfg = Datalith.memoryConfig();
        Datalith.createDatabase(cfg);
        return cfg;
    }

    @Test
    void closeTwiceAndUseAfterClose() {
        Map<Object, Object> cfg = freshDb();
        try {
            Connection c = Datalith.connect(cfg);
            c.transact(SCHEMA);
            Database db = c.db();
            assertFalse(db.isClosed());
            db.close();
            db.close();
            assertTrue(db.isClosed());
            DatalithException x = assertThrows(DatalithException.class, db::schema);
            assertEquals(DatalithException.EINVAL, x.getCode());
            assertTrue(x.getMessage().contains("closed"), x.getMessage());
            Datalith.release(c);
            Datalith.release(c);
            c.close();
            assertTrue(c.isClosed());
            x = assertThrows(DatalithException.class, () -> c.transact(SCHEMA));
            assertTrue(x.getMessage().contains("connection is closed"), x.getMessage());
            assertThrows(DatalithException.class, c::db);
            Datalith.releaseDb(db);
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }

    @Test
    void snapshotsOutliveTheirConnectionAndStayImmutable() {
        Map<Object, Object> cfg = freshDb();
        try {
            Database before;
            try (Connection c = Datalith.connect(cfg)) {
                c.transact(SCHEMA);
                before = c.db();
                c.transact(Datalith.edn("[{:db/id 100 :n 1}]"));
                try (Database after = c.db()) {
                    assertEquals(1, ((List<?>) after.datoms(Datalith.edn("{:index :eavt :components [100]}"))).size());
                }
            }
            try (Database b = before) {
                assertEquals(0, ((List<?>) b.datoms(Datalith.edn("{:index :eavt :components [100]}"))).size());
            }
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }

    @Test
    void threadsShareOneConnection() throws Exception {
        Map<Object, Object> cfg = freshDb();
        int threads = 6, per = 25;
        try (Connection c = Datalith.connect(cfg)) {
            c.transact(SCHEMA);
            List<Thread> ts = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch go = new CountDownLatch(1);
            for (int t = 0; t < threads; t++) {
                int base = 1000 * (t + 1);
                Thread th = new Thread(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < per; i++) {
                            c.transact(Datalith.vec(Datalith.map(":db/id", (long) (base + i), ":n", (long) i)));
                            try (Database db = c.db()) {
                                db.datoms(Datalith.map(":index", Datalith.kw(":eavt"),
                                        ":components", Datalith.vec((long) (base + i))));
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                ts.add(th);
                th.start();
            }
            go.countDown();
            for (Thread th : ts) th.join();
            if (failure.get() != null) throw new AssertionError(failure.get());
            try (Database db = c.db()) {
                Object d = db.datoms(Datalith.map(":index", Datalith.kw(":aevt"),
                        ":components", Datalith.vec(Datalith.kw(":n"))));
                assertEquals(threads * per, ((List<?>) d).size());
            }
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }

    @Test
    void closingWhileOtherThreadsUseTheHandle() throws Exception {
        Map<Object, Object> cfg = freshDb();
        try {
            Connection c = Datalith.connect(cfg);
            c.transact(SCHEMA);
            AtomicInteger ok = new AtomicInteger(), closed = new AtomicInteger();
            AtomicReference<Throwable> other = new AtomicReference<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread th = new Thread(() -> {
                    for (int i = 0; i < 200; i++) {
                        try (Database db = c.db()) {
                            db.schema();
                            ok.incrementAndGet();
                        } catch (DatalithException e) {
                            if (e.getCode() == DatalithException.EINVAL && e.getMessage().contains("closed"))
                                closed.incrementAndGet();
                            else
                                other.compareAndSet(null, e);
                        } catch (Throwable e) {
                            other.compareAndSet(null, e);
                        }
                    }
                });
                ts.add(th);
                th.start();
            }
            c.close();
            for (Thread th : ts) th.join();
            if (other.get() != null) throw new AssertionError(other.get());
            assertEquals(800, ok.get() + closed.get());
            assertTrue(c.isClosed());
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }

    @Test
    void forgottenHandlesAreReleasedByTheCleaner() throws Exception {
        Map<Object, Object> cfg = freshDb();
        try {
            for (int i = 0; i < 200; i++) {
                Connection c = Datalith.connect(cfg);
                c.db();
            }
            System.gc();
            // Nothing to assert about timing; the database must still work and
            // deleting it below must not trip over released handles.
            try (Connection c = Datalith.connect(cfg)) {
                c.transact(SCHEMA);
            }
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }
}
