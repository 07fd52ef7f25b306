// Quickstart: create an in-memory database, transact a schema and data,
// read datoms back, and see a database value stay unchanged.
//
//   mvn -q package -DskipTests
//   java -cp bindings/java/target/classes examples/java/Quickstart.java
//
// (or put target/datalith-0.1.0.jar on the class path: the native library is
// inside it and is loaded automatically.)
import datalith.Connection;
import datalith.Database;
import datalith.Datalith;
import datalith.DatalithException;
import java.util.List;
import java.util.Map;

public class Quickstart {
    public static void main(String[] args) {
        Map<Object, Object> cfg = Datalith.memoryConfig("quickstart");
        Datalith.createDatabase(cfg);
        try (Connection conn = Datalith.connect(cfg)) {
            conn.transact(Datalith.edn(
                    "[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}"
                    + " {:db/ident :age  :db/valueType :db.type/long   :db/cardinality :db.cardinality/one}]"));

            Database before = conn.db();
            Map<?, ?> report = (Map<?, ?>) conn.transact(List.of(
                    Datalith.map(":db/id", "alice", ":name", "Alice", ":age", 30L),
                    Datalith.map(":db/id", "bob", ":name", "Bob", ":age", 25L)));
            Map<?, ?> tempids = (Map<?, ?>) report.get(Datalith.kw(":tempids"));
            System.out.println("alice is entity " + tempids.get("alice"));

            try (Database db = conn.db(); before) {
                List<?> names = (List<?>) db.datoms(Datalith.map(
                        ":index", Datalith.kw(":aevt"), ":components", List.of(Datalith.kw(":name"))));
                System.out.println("names now:    " + Datalith.toEdn(names));
                System.out.println("query:        " + Datalith.toEdn(Datalith.q(
                        "[:find ?n ?a :where [?e :name ?n] [?e :age ?a]]", db)));
                System.out.println("names before: " + Datalith.toEdn(before.datoms(Datalith.map(
                        ":index", Datalith.kw(":aevt"), ":components", List.of(Datalith.kw(":name"))))));
            }

            try {
                conn.transact(Datalith.edn("[{:height 180}]"));
            } catch (DatalithException e) {
                System.out.println("rejected: " + e.getCodeName() + " " + e.getEngineMessage());
            }
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }
}
