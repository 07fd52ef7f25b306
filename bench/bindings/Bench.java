// Bench.java DATADIR — the bindings suite through the Java binding (JNI),
// run by ./run as a single-file program against the compiled classes:
//
//   java -cp CLASSES -Ddatalith.library.path=LIBDIR bench/bindings/Bench.java DATADIR
//
// Shapes, sizes and timing as bench_c.c (BENCH_WARMUP_S, BENCH_SAMPLES,
// BENCH_SAMPLE_S, BENCH_ONLY); one TSV line per shape: engine shape
// median_ms min_ms size.  The warm-up is at least 2 s here (WORKLOAD asks
// for at least 1 s) so that the JIT has compiled the CBOR codec; no JMH (the
// loop is the same as the other runners').
import datalith.Connection;
import datalith.Database;
import datalith.Datalith;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

public class Bench {
    static double env(String k, double dflt) {
        String v = System.getenv(k);
        return v == null || v.isEmpty() ? dflt : Double.parseDouble(v);
    }

    static final String ONLY = System.getenv("BENCH_ONLY") == null ? "" : System.getenv("BENCH_ONLY");

    static double now() { return System.nanoTime() / 1e6; }

    static void run(String shape, LongSupplier op) {
        if (!ONLY.isEmpty() && !shape.contains(ONLY)) return;
        // At least 2 s of warm-up: HotSpot compiles the codec in tiers, and
        // with less the first samples still run interpreted code.
        double warm = Math.max(2.0, env("BENCH_WARMUP_S", 1.0)) * 1e3, sample = env("BENCH_SAMPLE_S", 0.5) * 1e3;
        int n = Math.max(1, (int) env("BENCH_SAMPLES", 5));
        double t0 = now();
        long size = op.getAsLong();
        while (now() - t0 < warm) op.getAsLong();
        double[] s = new double[n];
        for (int k = 0; k < n; k++) {
            long reps = 0;
            double a = now(), b;
            do {
                op.getAsLong();
                reps++;
            } while ((b = now()) - a < sample);
            s[k] = (b - a) / reps;
        }
        Arrays.sort(s);
        System.out.printf("java\t%s\t%.4f\t%.4f\t%d\t%n", shape, s[n / 2], s[0], size);
        System.out.flush();
    }

    static long countMaps(Object v) {
        if (v instanceof Map) {
            long n = 1;
            for (Object x : ((Map<?, ?>) v).values()) n += countMaps(x);
            return n;
        }
        if (v instanceof Collection) {
            long n = 0;
            for (Object x : (Collection<?>) v) n += countMaps(x);
            return n;
        }
        return 0;
    }

    static long rows(Object r) { return ((Collection<?>) r).size(); }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Object schema = Datalith.edn(Files.readString(dir.resolve("schema.edn")));
        Connection people = fresh("bb-people", schema), tree = fresh("bb-tree", schema),
                scratch = fresh("bb-scratch", schema);
        people.transact(Datalith.edn(Files.readString(dir.resolve("people.edn"))));
        people.transact(Datalith.edn(Files.readString(dir.resolve("follows.edn"))));
        tree.transact(Datalith.edn(Files.readString(dir.resolve("tree.edn"))));
        Database pdb = people.db(), tdb = tree.db();

        run("db+q-tiny", () -> {
            try (Database db = people.db()) {
                Datalith.q("[:find ?a . :where [1000 :age ?a]]", db);
            }
            return 1;
        });
        Object selSmall = Datalith.edn("[:name :age]");
        run("pull-small", () -> countMaps(pdb.pull(selSmall, 1000L)));
        Object tx1 = Datalith.edn("[{:name \"Tx\" :age 1}]");
        run("transact-1", () -> {
            scratch.transact(tx1);
            return 1;
        });
        List<Object> ints = new ArrayList<>();
        for (long i = 0; i < 10000; i++) ints.add(i);
        run("in-10k", () -> ((Number) Datalith.q("[:find (count ?x) . :in $ [?x ...]]", pdb, ints)).longValue());
        run("q1", () -> rows(Datalith.q("[:find ?e :where [?e :name \"Ivan\"]]", pdb)));
        run("q2", () -> rows(Datalith.q("[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]", pdb)));
        run("q5", () -> rows(Datalith.q(
                "[:find ?e1 ?l ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e1 :age ?a] [?e1 :last-name ?l]]", pdb)));
        Object selTree = Datalith.edn("[:name {:follows ...}]");
        run("pull-one", () -> countMaps(tdb.pull(selTree, 200000L)));
        run("rows-10k", () -> rows(Datalith.q(
                "[:find ?e ?n ?a :where [?e :name ?n] [?e :age ?a] [(< ?e 11000)]]", pdb)));
        pdb.close();
        tdb.close();
        people.close();
        tree.close();
        scratch.close();
    }

    static Connection fresh(String id, Object schema) {
        Map<Object, Object> cfg = Datalith.map(":store", Datalith.map(":backend", Datalith.kw(":memory"), ":id", id),
                ":keep-history?", false);
        Datalith.createDatabase(cfg);
        Connection c = Datalith.connect(cfg);
        c.transact(schema);
        return c;
    }
}
