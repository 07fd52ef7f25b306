package datalith;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Hand-written helpers the generated {@link Datalith} class inherits, after
 * Datahike's Java API ({@code Util.kwd/map/vec/ednFromString},
 * {@code memoryConfig}): {@code Datalith.kw(":a")}, {@code Datalith.edn("[1 2]")}.
 */
public class DatalithHelpers {
    DatalithHelpers() {}

    /** Format codes for {@link Datalith#valueConvert}. */
    public static final int EDN = 0, JSON = 1, CBOR = 2;

    /** A keyword: kw(":db/ident"), kw("db/ident"). */
    public static Keyword kw(String text) { return Keyword.of(text); }

    /** A symbol. */
    public static Symbol sym(String text) { return Symbol.of(text); }

    /** A vector of the arguments. */
    public static List<Object> vec(Object... items) { return new ArrayList<>(Arrays.asList(items)); }

    /** A set of the arguments. */
    public static Set<Object> set(Object... items) { return new LinkedHashSet<>(Arrays.asList(items)); }

    /**
     * A map from alternating keys and values; a String key starting with ':'
     * becomes a keyword (map(":name", "Alice") is {:name "Alice"}).
     */
    public static Map<Object, Object> map(Object... kvs) {
        if (kvs.length % 2 != 0) throw new IllegalArgumentException("map needs key/value pairs");
        Map<Object, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kvs.length; i += 2) {
            Object k = kvs[i];
            if (k instanceof String && ((String) k).startsWith(":") && ((String) k).length() > 1)
                k = Keyword.of((String) k);
            m.put(k, kvs[i + 1]);
        }
        return m;
    }

    /** Read EDN text into Java values (the engine's reader). */
    public static Object edn(String text) {
        byte[] in = text.getBytes(StandardCharsets.UTF_8);
        return Cbor.decode(DatalithNative.valueConvert(in, EDN, CBOR));
    }

    /** Print a Java value as canonical EDN text (the engine's printer). */
    public static String toEdn(Object value) {
        return new String(DatalithNative.valueConvert(Cbor.encode(value), CBOR, EDN),
                StandardCharsets.UTF_8);
    }

    /** {@link Database#filter}, Datahike's {@code filter(db, pred)}. */
    public static Database filter(Database db, java.util.function.Predicate<Object> pred) {
        Support.requireNonNull(db, "db");
        return db.filter(pred);
    }

    /** {:store {:backend :memory :id id}}: an in-memory database config. */
    public static Map<Object, Object> memoryConfig(String id) {
        return map(":store", map(":backend", kw(":memory"), ":id", id));
    }

    /** A fresh in-memory database config with a random id. */
    public static Map<Object, Object> memoryConfig() {
        return memoryConfig(UUID.randomUUID().toString());
    }

    /** {:store {:backend :file :path path}}: a database in a directory. */
    public static Map<Object, Object> fileConfig(String path) {
        return map(":store", map(":backend", kw(":file"), ":path", path));
    }
}
