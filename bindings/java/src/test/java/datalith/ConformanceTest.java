package datalith;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The shared tests/conformance corpus through the Java API, one dynamic test
 * per case (format: tests/conformance/README.md; semantics ported from
 * tests/conformance/runner.c).  The corpus EDN is read by the engine itself
 * (Datalith.edn: EDN -> CBOR -> Java values); results are compared as Java
 * values (sets as sets, vectors in order, maps by keys; a :transact or
 * :create-database result only on the expected keys, with :db/txInstant datoms
 * dropped from :tx-data unless expected).  An unknown :op fails its case.
 */
class ConformanceTest {
    static final Keyword OP = Keyword.of(":op"), EXPECT = Keyword.of(":expect"),
            ERROR = Keyword.of(":error"), CONFIG = Keyword.of(":config"), TX = Keyword.of(":tx"),
            ARGS = Keyword.of(":args"), STEPS = Keyword.of(":steps"), NAME = Keyword.of(":name"),
            CREATE = Keyword.of(":create?"), CASES = Keyword.of(":cases"),
            TX_DATA = Keyword.of(":tx-data"), TX_INSTANT = Keyword.of(":db/txInstant");

    static final AtomicInteger SEQ = new AtomicInteger();

    static Path root() {
        String r = System.getProperty("datalith.repo.root");
        return r != null ? Paths.get(r) : Paths.get("").toAbsolutePath();
    }

    @TestFactory
    Stream<DynamicNode> corpus() throws IOException {
        Path dir = root().resolve("tests/conformance");
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.toString().endsWith(".edn")).sorted().forEach(files::add);
        }
        assertFalse(files.isEmpty(), "no corpus files in " + dir);
        List<DynamicNode> out = new ArrayList<>();
        for (Path f : files) {
            Object suite = Datalith.edn(Files.readString(f));
            if (!(suite instanceof Map) || !(((Map<?, ?>) suite).get(CASES) instanceof List)) {
                out.add(DynamicTest.dynamicTest(f.getFileName().toString(),
                        () -> fail("not a map with :cases")));
                continue;
            }
            List<DynamicTest> cases = new ArrayList<>();
            for (Object c : (List<?>) ((Map<?, ?>) suite).get(CASES)) {
                Map<?, ?> cm = (Map<?, ?>) c;
                String name = String.valueOf(cm.get(NAME));
                cases.add(DynamicTest.dynamicTest(name, () -> runCase(cm)));
            }
            out.add(DynamicContainer.dynamicContainer(f.getFileName().toString(), cases));
        }
        return out.stream();
    }

    /** The runner itself can fail: wrong results, wrong errors, unknown ops. */
    @org.junit.jupiter.api.Test
    void runnerRejectsWrongOutcomes() {
        String schema = "{:op :transact :tx [{:db/ident :name :db/valueType :db.type/string"
                + " :db/cardinality :db.cardinality/one}]}";
        String[] bad = {
            "{:name \"wrong tempid\" :steps [" + schema
                + " {:op :transact :tx [{:db/id \"a\" :name \"A\"}] :expect {:tempids {\"a\" 3}}}]}",
            "{:name \"wrong datoms\" :steps [" + schema + " {:op :datoms :args {:index :eavt} :expect []}]}",
            "{:name \"error expected\" :steps [" + schema + " {:op :schema :error \"x\"}]}",
            "{:name \"wrong message\" :steps [{:op :transact :tx [{:age 3}] :error \"no such text\"}]}",
            "{:name \"unknown op\" :steps [{:op :no-such-op}]}",
        };
        for (String c : bad) {
            Map<?, ?> cm = (Map<?, ?>) Datalith.edn(c);
            org.junit.jupiter.api.Assertions.assertThrows(org.opentest4j.AssertionFailedError.class,
                    () -> runCase(cm), c);
        }
        runCase((Map<?, ?>) Datalith.edn("{:name \"ok\" :steps [" + schema
                + " {:op :transact :tx [{:db/id \"a\" :name \"A\"}]"
                + " :expect {:tempids {\"a\" 2 :db/current-tx 536870914}}}]}"));
    }

    /** The generic path binds step keys and handles by parameter name. */
    @org.junit.jupiter.api.Test
    void genericDispatchUsesTheGeneratedMethods() {
        Map<Object, Object> cfg = Datalith.memoryConfig();
        Datalith.createDatabase(cfg);
        try (Connection c = Datalith.connect(cfg)) {
            c.transact(Datalith.edn("[{:db/ident :name :db/valueType :db.type/string"
                    + " :db/cardinality :db.cardinality/one}]"));
            Object[] r = generic(c, "reverse-schema", Datalith.edn("{:op :reverse-schema}") instanceof Map
                    ? (Map<?, ?>) Datalith.edn("{:op :reverse-schema}") : null);
            try (Database db = c.db()) {
                org.junit.jupiter.api.Assertions.assertNotNull(r);
                org.junit.jupiter.api.Assertions.assertTrue(ednEquals(db.reverseSchema(), r[0]));
                Object[] d = generic(c, "datoms", (Map<?, ?>) Datalith.edn(
                        "{:op :datoms :args {:index :aevt :components [:db/ident]}}"));
                org.junit.jupiter.api.Assertions.assertTrue(ednEquals(db.datoms(Datalith.edn(
                        "{:index :aevt :components [:db/ident]}")), d[0]));
                org.junit.jupiter.api.Assertions.assertEquals(1, ((List<?>) d[0]).size());
            }
            org.junit.jupiter.api.Assertions.assertNull(generic(c, "no-such-op", Map.of()));
        } finally {
            Datalith.deleteDatabase(cfg);
        }
    }

    /** Deep merge of maps: `over` wins, nested maps merge. */
    @SuppressWarnings("unchecked")
    static Map<Object, Object> merge(Map<?, ?> base, Object over) {
        Map<Object, Object> m = new LinkedHashMap<>(base);
        if (over instanceof Map) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) over).entrySet()) {
                Object b = m.get(e.getKey());
                m.put(e.getKey(), b instanceof Map && e.getValue() instanceof Map
                        ? merge((Map<?, ?>) b, e.getValue()) : e.getValue());
            }
        }
        return m;
    }

    static void runCase(Map<?, ?> c) {
        Map<Object, Object> cfg = merge(Datalith.memoryConfig("java-conformance-" + SEQ.incrementAndGet()
                + "-" + ProcessHandle.current().pid()), c.get(CONFIG));
        boolean create = !Boolean.FALSE.equals(c.get(CREATE));
        Object steps = c.get(STEPS);
        if (!(steps instanceof List)) fail("case without :steps vector");
        Connection conn = null;
        try {
            if (create) {
                Datalith.createDatabase(cfg);
                conn = Datalith.connect(cfg);
            }
            int i = 0;
            for (Object s : (List<?>) steps) {
                i++;
                String why = runStep(conn, cfg, (Map<?, ?>) s);
                if (why != null) fail("step " + i + ": " + why);
            }
        } finally {
            if (conn != null) conn.close();
            if (create) Datalith.deleteDatabase(cfg);
        }
    }

    static String runStep(Connection conn, Map<Object, Object> caseCfg, Map<?, ?> step) {
        Object op = step.get(OP);
        if (!(op instanceof Keyword)) return "step without :op keyword";
        String name = ((Keyword) op).sym();
        Object got = null;
        boolean subset = false;
        DatalithException err = null;
        try {
            switch (name) {
                case "transact": {
                    if (!step.containsKey(TX)) return ":transact step without :tx";
                    got = conn.transact(step.get(TX));
                    subset = true;
                    break;
                }
                case "datoms": {
                    Object args = step.containsKey(ARGS) ? step.get(ARGS) : new LinkedHashMap<>();
                    try (Database db = conn.db()) {
                        got = db.datoms(args);
                    }
                    break;
                }
                case "schema":
                case "reverse-schema": {
                    try (Database db = conn.db()) {
                        got = name.equals("schema") ? db.schema() : db.reverseSchema();
                    }
                    break;
                }
                case "database-exists?":
                case "create-database":
                case "delete-database":
                case "connect": {
                    Map<Object, Object> cfg = merge(Datalith.memoryConfig("java-conformance-" + SEQ.get()
                            + "-" + ProcessHandle.current().pid()), step.get(CONFIG));
                    if (name.equals("database-exists?")) {
                        got = Datalith.databaseExists(cfg);
                    } else if (name.equals("create-database")) {
                        got = Datalith.createDatabase(cfg);
                        subset = true;
                    } else if (name.equals("delete-database")) {
                        Datalith.deleteDatabase(cfg);
                    } else {
                        Datalith.connect(cfg).close();
                    }
                    break;
                }
                default: {
                    Object[] r = generic(conn, name, step);
                    if (r == null) return "unknown op :" + name;
                    got = r[0];
                }
            }
        } catch (DatalithException e) {
            err = e;
        }
        Object error = step.get(ERROR);
        if (step.containsKey(ERROR)) {
            if (err == null) return "expected an error, the op succeeded";
            if (error instanceof String && !err.getEngineMessage().contains((String) error))
                return "error \"" + err.getEngineMessage() + "\" does not contain \"" + error + "\"";
            return null;
        }
        if (err != null) return "unexpected error: " + err.getMessage();
        if (!step.containsKey(EXPECT)) return null;
        Object want = step.get(EXPECT);
        if (subset && got instanceof Map && want instanceof Map) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) want).entrySet()) {
                Map<?, ?> g = (Map<?, ?>) got;
                if (!g.containsKey(e.getKey())) return "key " + e.getKey() + ": absent";
                Object gv = g.get(e.getKey());
                if (TX_DATA.equals(e.getKey())) gv = stripInstants(gv, e.getValue());
                if (!ednEquals(gv, e.getValue()))
                    return "key " + e.getKey() + ": got " + show(gv) + ", expected " + show(e.getValue());
            }
            return null;
        }
        if (!ednEquals(got, want)) return "got " + show(got) + ", expected " + show(want);
        return null;
    }

    /**
     * An op the corpus README names but this runner has no explicit case for:
     * the generated static Datalith method of the op's Java name, if it
     * returns a value; a Connection parameter gets the case's connection, a
     * Database (or List of Database) a fresh snapshot, every other parameter
     * the step's key of the same name (:time-point for timePoint).  Returns
     * null (the case fails as "unknown op") when there is no such method.
     */
    static Object[] generic(Connection conn, String op, Map<?, ?> step) {
        String base = op.replaceAll("[?!]$", "");
        StringBuilder jn = new StringBuilder();
        for (String part : base.split("-"))
            jn.append(jn.length() == 0 ? part : part.substring(0, 1).toUpperCase() + part.substring(1));
        for (java.lang.reflect.Method m : Datalith.class.getMethods()) {
            if (!m.getName().equals(jn.toString()) || m.isVarArgs()
                    || !java.lang.reflect.Modifier.isStatic(m.getModifiers())
                    || m.getReturnType() == void.class || Handle.class.isAssignableFrom(m.getReturnType()))
                continue;
            java.lang.reflect.Parameter[] ps = m.getParameters();
            Object[] args = new Object[ps.length];
            List<Database> dbs = new ArrayList<>();
            try {
                for (int i = 0; i < ps.length; i++) {
                    Class<?> t = ps[i].getType();
                    if (t == Connection.class) {
                        args[i] = conn;
                    } else if (t == Database.class) {
                        Database d = conn.db();
                        dbs.add(d);
                        args[i] = d;
                    } else if (t == List.class && ps[i].getName().equals("dbs")) {
                        Database d = conn.db();
                        dbs.add(d);
                        args[i] = List.of(d);
                    } else {
                        String key = ps[i].getName().replaceAll("([A-Z])", "-$1").toLowerCase();
                        args[i] = step.get(Keyword.of(key));
                    }
                }
                return new Object[] {m.invoke(null, args)};
            } catch (java.lang.reflect.InvocationTargetException e) {
                if (e.getCause() instanceof RuntimeException) throw (RuntimeException) e.getCause();
                throw new RuntimeException(e.getCause());
            } catch (IllegalAccessException e) {
                throw new RuntimeException(e);
            } finally {
                for (Database d : dbs) d.close();
            }
        }
        return null;
    }

    static boolean isInstantDatom(Object d) {
        return d instanceof Tagged && ((Tagged) d).getValue() instanceof List
                && ((List<?>) ((Tagged) d).getValue()).size() >= 2
                && TX_INSTANT.equals(((List<?>) ((Tagged) d).getValue()).get(1));
    }

    static Object stripInstants(Object got, Object want) {
        if (!(got instanceof List) || !(want instanceof List)) return got;
        for (Object w : (List<?>) want) if (isInstantDatom(w)) return got;
        List<Object> keep = new ArrayList<>();
        for (Object g : (List<?>) got) if (!isInstantDatom(g)) keep.add(g);
        return keep;
    }

    /** EDN equality on decoded values: Java equals, except byte[] by content. */
    static boolean ednEquals(Object a, Object b) {
        if (a instanceof byte[] && b instanceof byte[]) return java.util.Arrays.equals((byte[]) a, (byte[]) b);
        if (a instanceof List && b instanceof List) {
            List<?> x = (List<?>) a, y = (List<?>) b;
            if (x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!ednEquals(x.get(i), y.get(i))) return false;
            return true;
        }
        if (a instanceof Map && b instanceof Map) {
            Map<?, ?> x = (Map<?, ?>) a, y = (Map<?, ?>) b;
            if (x.size() != y.size()) return false;
            for (Map.Entry<?, ?> e : x.entrySet())
                if (!y.containsKey(e.getKey()) || !ednEquals(e.getValue(), y.get(e.getKey()))) return false;
            return true;
        }
        if (a instanceof Set && b instanceof Set) {
            Set<?> x = (Set<?>) a, y = (Set<?>) b;
            if (x.size() != y.size()) return false;
            Set<Object> unmatched = new HashSet<>(y);
            outer:
            for (Object e : x) {
                if (unmatched.remove(e)) continue;
                for (Object u : unmatched) if (ednEquals(e, u)) { unmatched.remove(u); continue outer; }
                return false;
            }
            return true;
        }
        if (a instanceof Tagged && b instanceof Tagged)
            return ((Tagged) a).getTag().equals(((Tagged) b).getTag())
                    && ednEquals(((Tagged) a).getValue(), ((Tagged) b).getValue());
        if (a instanceof java.math.BigDecimal && b instanceof java.math.BigDecimal)
            return ((java.math.BigDecimal) a).compareTo((java.math.BigDecimal) b) == 0;
        if (a instanceof java.math.BigInteger && b instanceof Long) return a.equals(java.math.BigInteger.valueOf((Long) b));
        if (a instanceof Long && b instanceof java.math.BigInteger) return b.equals(java.math.BigInteger.valueOf((Long) a));
        return Objects.equals(a, b);
    }

    static String show(Object v) {
        try {
            return Datalith.toEdn(v);
        } catch (RuntimeException e) {
            return String.valueOf(v);
        }
    }
}
