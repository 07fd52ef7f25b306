package datalith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Database.filter: the predicate upcall, its lifetime and its errors. */
class FilterTest {
    static final Object EAVT_ALL = Datalith.edn("{:index :aevt :components [:n]}");

    static int count(Database db) {
        return ((List<?>) db.datoms(EAVT_ALL)).size();
    }

    @Test
    void predicatesSeeDatomsAndCompose() {
        Map<Object, Object> cfg = Datalith.memoryConfig();
        Datalith.createDatabase(cfg);
        try (Connection c = Datalith.connect(cfg)) {
            c.transact(Datalith.edn("[{:db/ident :n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]"));
            c.transact(Datalith.edn("[{:db/id 10 :n 1} {:db/id 11 :n 2} {:db/id 12 :n 3}]"));
            try (Database db = c.db();
                 Database odd = db.filter(d -> ((Long) ((List<?>) ((Tagged) d).getValue()).get(2)) % 2 == 1
                         || !Keyword.of(":n").equals(((List<?>) ((Tagged) d).getValue()).get(1)));
                 Database notTen = odd.filter(d -> !Long.valueOf(10).equals(((List<?>) ((Tagged) d).getValue()).get(0)))) {
                assertEquals(3, count(db));
                assertEquals(2, count(odd));    // 1 and 3
                assertEquals(1, count(notTen)); // 3
                assertTrue(notTen.isFiltered());
                DatalithException x = assertThrows(DatalithException.class,
                        () -> odd.with(Datalith.edn("[{:db/id 13 :n 5}]")));
                assertTrue(x.getMessage().contains("Filtered"), x.getMessage());
            }
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }

    @Test
    void derivedViewsKeepThePredicateAfterTheFilteredViewIsGone() throws Exception {
        Map<Object, Object> cfg = Datalith.memoryConfig();
        Datalith.createDatabase(cfg);
        try (Connection c = Datalith.connect(cfg)) {
            c.transact(Datalith.edn("[{:db/ident :n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]"));
            c.transact(Datalith.edn("[{:db/id 10 :n 1} {:db/id 11 :n 2}]"));
            Database hist;
            try (Database db = c.db()) {
                Database f = db.filter(d -> !Long.valueOf(11).equals(((List<?>) ((Tagged) d).getValue()).get(0)));
                hist = f.history();
                f.close();
            }
            for (int i = 0; i < 5; i++) {
                System.gc();
                List<Object> garbage = new ArrayList<>();
                for (int k = 0; k < 1000; k++) garbage.add(new byte[1024]);
            }
            try (Database h = hist) {
                assertEquals(1, count(h));
            }
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }

    @Test
    void aThrowingPredicateRejectsAndIsRecorded() {
        Map<Object, Object> cfg = Datalith.memoryConfig();
        Datalith.createDatabase(cfg);
        AtomicReference<Object> seen = new AtomicReference<>();
        try (Connection c = Datalith.connect(cfg)) {
            c.transact(Datalith.edn("[{:db/ident :n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]"));
            c.transact(Datalith.edn("[{:db/id 10 :n 1}]"));
            try (Database db = c.db(); Database f = db.filter(d -> {
                seen.set(d);
                throw new IllegalStateException("boom");
            })) {
                assertEquals(0, count(f));
                assertNotNull(seen.get());
                // still usable afterwards, from Java and from the engine
                assertEquals(1, count(db));
                assertEquals(0, count(f));
            }
            assertThrows(NullPointerException.class, () -> {
                try (Database db = c.db()) {
                    db.filter(null);
                }
            });
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }
}
