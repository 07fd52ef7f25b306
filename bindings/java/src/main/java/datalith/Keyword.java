package datalith;

import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An EDN keyword ({@code :name} or {@code :ns/name}).  Interned: equal
 * keywords are the same object, so == works (equals() does too).
 * {@code Keyword.of(":db/ident")}, {@code Keyword.of("db/ident")} and
 * {@code Keyword.of("db", "ident")} are the same keyword.
 */
public final class Keyword implements Comparable<Keyword> {
    private static final ConcurrentHashMap<String, Keyword> TABLE = new ConcurrentHashMap<>();

    private final String ns, name, full;

    private Keyword(String ns, String name, String full) {
        this.ns = ns;
        this.name = name;
        this.full = full;
    }

    /** ":ns/name", "ns/name", ":name" or "name". */
    public static Keyword of(String text) {
        Objects.requireNonNull(text, "keyword text");
        String t = text.startsWith(":") ? text.substring(1) : text;
        Keyword k = TABLE.get(t);
        if (k != null) return k;
        if (t.isEmpty()) throw new IllegalArgumentException("empty keyword");
        int slash = t.indexOf('/');
        String ns = slash > 0 && slash < t.length() - 1 ? t.substring(0, slash) : null;
        String nm = ns == null ? t : t.substring(slash + 1);
        return TABLE.computeIfAbsent(t, x -> new Keyword(ns, nm, x));
    }

    public static Keyword of(String ns, String name) {
        return of(ns == null ? name : ns + "/" + name);
    }

    /** The namespace, or null. */
    public String getNamespace() { return ns; }
    public String getName() { return name; }

    /** "ns/name" without the colon. */
    public String sym() { return full; }

    @Override
    public String toString() { return ":" + full; }

    @Override
    public int compareTo(Keyword o) {
        if (ns == null || o.ns == null) {
            if (ns != o.ns) return ns == null ? -1 : 1;
        } else {
            int c = ns.compareTo(o.ns);
            if (c != 0) return c;
        }
        return name.compareTo(o.name);
    }
}
