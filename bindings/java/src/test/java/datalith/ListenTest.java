package datalith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Connection.listen / unlisten: reports of this connection's transactions,
 * of commits by another JVM on the same file store, unlisten, callbacks
 * that throw or call back into the engine, and close with an active
 * listener.  Expected reports follow reference/datahike-semantics.md
 * section 4: tx-data holds the asserted datoms, implied retractions (added
 * false) and the :db/txInstant datom.  Waits have a generous deadline only
 * so a broken watcher fails instead of hanging.
 */
class ListenTest {
    static final long DEADLINE_MS = 60_000;
    static final String SCHEMA = "[{:db/ident :name :db/valueType :db.type/string"
            + " :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}"
            + " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]";

    /** A listener collecting reports. */
    static final class Recorder implements Consumer<Map<Object, Object>> {
        final List<Map<Object, Object>> reports = new ArrayList<>();
        final List<Thread> threads = new ArrayList<>();
        Consumer<Map<Object, Object>> action;

        @Override
        public void accept(Map<Object, Object> r) {
            if (action != null) action.accept(r);
            synchronized (this) {
                threads.add(Thread.currentThread());
                reports.add(r);
                notifyAll();
            }
        }

        synchronized int await(int n) throws InterruptedException {
            long end = System.currentTimeMillis() + DEADLINE_MS;
            while (reports.size() < n && System.currentTimeMillis() < end) wait(100);
            return reports.size();
        }

        synchronized Map<Object, Object> get(int i) {
            return reports.get(i);
        }

        synchronized int size() {
            return reports.size();
        }
    }

    static Object kw(String s) {
        return Keyword.of(s);
    }

    /** Datoms of the report's :tx-data with attribute attr, value v (null:
     *  any) and the added flag. */
    static int count(Map<Object, Object> report, String attr, Object v, boolean added) {
        int n = 0;
        for (Object d : (List<?>) report.get(kw(":tx-data"))) {
            List<?> x = (List<?>) ((Tagged) d).getValue();
            if (x.get(1).equals(kw(attr)) && x.get(4).equals(added) && (v == null || v.equals(x.get(2))))
                n++;
        }
        return n;
    }

    static Map<Object, Object> fileConfig(Path dir) {
        Map<Object, Object> cfg = Datalith.fileConfig(dir.resolve("db").toString());
        cfg.put(kw(":initial-tx"), Datalith.edn(SCHEMA));
        return cfg;
    }

    @Test
    void ownTransactionsAreDeliveredAndUnlistenStops(@TempDir Path dir) throws Exception {
        Map<Object, Object> cfg = fileConfig(dir);
        Datalith.createDatabase(cfg);
        try (Connection c = Datalith.connect(cfg)) {
            Recorder a = new Recorder(), b = new Recorder();
            Object ka = c.listen(a, kw(":first"));
            assertEquals(kw(":first"), ka);
            DatalithException taken = assertThrows(DatalithException.class, () -> c.listen(b, kw(":first")));
            assertEquals(DatalithException.EEXISTS, taken.getCode());
            Object kb = c.listen(b);
            assertTrue(kb instanceof Keyword);
            Object rep = c.transact(Datalith.edn("[{:db/id \"a\" :name \"Alice\" :age 30}]"));
            assertEquals(1, a.await(1));
            Map<Object, Object> got = a.get(0);
            assertEquals(1, count(got, ":name", "Alice", true));
            assertEquals(1, count(got, ":age", 30L, true));
            assertEquals(1, count(got, ":db/txInstant", null, true));
            assertEquals(((Map<?, ?>) rep).get(kw(":tempids")), got.get(kw(":tempids")));
            assertFalse(a.threads.contains(Thread.currentThread()));
            c.transact(Datalith.edn("[{:name \"Alice\" :age 31}]"));
            assertEquals(2, a.await(2));
            assertEquals(1, count(a.get(1), ":age", 30L, false));
            assertEquals(1, count(a.get(1), ":age", 31L, true));
            c.unlisten(ka);
            DatalithException none = assertThrows(DatalithException.class, () -> c.unlisten(ka));
            assertEquals(DatalithException.ENOTFOUND, none.getCode());
            c.transact(Datalith.edn("[{:name \"Bea\"}]"));
            assertEquals(3, b.await(3)); // b is called after a would have been
            assertEquals(2, a.size());
        }
    }

    /** The second process of {@link #aCommitByAnotherProcessIsDelivered}. */
    public static final class Writer {
        public static void main(String[] args) {
            Map<Object, Object> cfg = Datalith.fileConfig(args[0]);
            try (Connection c = Datalith.connect(cfg)) {
                c.transact(Datalith.edn("[{:name \"Bob\" :age 40}]"));
            }
        }
    }

    @Test
    void aCommitByAnotherProcessIsDelivered(@TempDir Path dir) throws Exception {
        Map<Object, Object> cfg = fileConfig(dir);
        Datalith.createDatabase(cfg);
        try (Connection c = Datalith.connect(cfg)) {
            Recorder r = new Recorder();
            c.listen(r);
            String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
            List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path")));
            String lib = System.getProperty("datalith.library.path");
            if (lib != null) cmd.add("-Ddatalith.library.path=" + lib);
            cmd.add(Writer.class.getName());
            cmd.add(dir.resolve("db").toString());
            Process p = new ProcessBuilder(cmd).inheritIO().start();
            assertTrue(p.waitFor(DEADLINE_MS, TimeUnit.MILLISECONDS));
            assertEquals(0, p.exitValue());
            assertEquals(1, r.await(1));
            Map<Object, Object> got = r.get(0);
            assertEquals(1, count(got, ":name", "Bob", true));
            assertEquals(1, count(got, ":age", 40L, true));
            assertEquals(List.of(kw(":db/current-tx")),
                    new ArrayList<>(((Map<?, ?>) got.get(kw(":tempids"))).keySet()));
        }
    }

    @Test
    void callbacksMayThrowAndCallBackIn(@TempDir Path dir) throws Exception {
        Map<Object, Object> cfg = fileConfig(dir);
        Datalith.createDatabase(cfg);
        List<Throwable> uncaught = new ArrayList<>();
        try (Connection c = Datalith.connect(cfg)) {
            c.listen(r -> {
                Thread.currentThread().setUncaughtExceptionHandler((t, e) -> {
                    synchronized (uncaught) {
                        uncaught.add(e);
                    }
                });
                throw new IllegalStateException("listener failed on purpose");
            });
            Recorder r = new Recorder();
            List<Object> seen = new ArrayList<>();
            r.action = rep -> {
                try (Database db = c.db()) {
                    seen.add(Datalith.q(Datalith.edn("[:find (count ?e) . :where [?e :name]]"), db));
                }
                if (seen.size() == 1) c.transact(Datalith.edn("[{:name \"inner\"}]"));
            };
            c.listen(r);
            c.transact(Datalith.edn("[{:name \"outer\"}]"));
            assertEquals(2, r.await(2));
            assertEquals(1, count(r.get(1), ":name", "inner", true));
            assertNotEquals(0, seen.size());
            // a listener removing itself from inside its callback
            Recorder self = new Recorder();
            Object[] key = new Object[1];
            self.action = rep -> c.unlisten(key[0]);
            key[0] = c.listen(self);
            Recorder probe = new Recorder(); // called after self: proves self was skipped
            c.listen(probe);
            c.transact(Datalith.edn("[{:name \"once\"}]"));
            c.transact(Datalith.edn("[{:name \"twice\"}]"));
            assertEquals(2, probe.await(2));
            assertEquals(4, r.size()); // outer, inner, once, twice
            assertEquals(1, self.size());
        }
        synchronized (uncaught) {
            assertFalse(uncaught.isEmpty());
            assertEquals("listener failed on purpose", uncaught.get(0).getMessage());
        }
    }

    @Test
    void closeWithAnActiveListener(@TempDir Path dir) throws Exception {
        Map<Object, Object> cfg = fileConfig(dir);
        Datalith.createDatabase(cfg);
        Recorder r = new Recorder();
        Connection c = Datalith.connect(cfg);
        c.listen(r);
        c.transact(Datalith.edn("[{:name \"before\"}]"));
        assertEquals(1, r.await(1));
        c.close();
        assertTrue(c.isClosed());
        assertThrows(DatalithException.class, () -> c.listen(r));
        try (Connection c2 = Datalith.connect(cfg)) {
            Recorder r2 = new Recorder();
            c2.listen(r2);
            c2.transact(Datalith.edn("[{:name \"after\"}]"));
            assertEquals(1, r2.await(1));
            assertEquals(1, r.size());
        }
    }

    @Test
    void memoryStoresDeliverThisProcesssTransactions() throws Exception {
        Map<Object, Object> cfg = Datalith.memoryConfig();
        cfg.put(kw(":initial-tx"), Datalith.edn(SCHEMA));
        Datalith.createDatabase(cfg);
        try (Connection c = Datalith.connect(cfg)) {
            Recorder r = new Recorder();
            c.listen(r);
            c.transact(Datalith.edn("[{:db/id \"m\" :name \"mem\"}]"));
            assertEquals(1, r.await(1));
            assertEquals(1, count(r.get(0), ":name", "mem", true));
            assertTrue(((Map<?, ?>) r.get(0).get(kw(":tempids"))).containsKey("m"));
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }
}
