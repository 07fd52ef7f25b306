package datalith;

import java.util.Objects;

/** An EDN symbol ({@code name} or {@code ns/name}); a value type. */
public final class Symbol {
    private final String full;

    private Symbol(String full) { this.full = full; }

    public static Symbol of(String text) {
        Objects.requireNonNull(text, "symbol text");
        if (text.isEmpty()) throw new IllegalArgumentException("empty symbol");
        return new Symbol(text);
    }

    public String getNamespace() {
        int s = full.indexOf('/');
        return s > 0 && s < full.length() - 1 ? full.substring(0, s) : null;
    }

    public String getName() {
        String ns = getNamespace();
        return ns == null ? full : full.substring(ns.length() + 1);
    }

    @Override
    public boolean equals(Object o) { return o instanceof Symbol && ((Symbol) o).full.equals(full); }

    @Override
    public int hashCode() { return full.hashCode() * 31 + 7; }

    @Override
    public String toString() { return full; }
}
