package datalith;

import java.util.Objects;

/**
 * A tagged value the binding has no Java type for: {@code #tag value}, e.g.
 * a datom {@code #datahike/Datom [e a v tx added]} arrives as a Tagged with
 * tag "datahike/Datom" and a List value.
 */
public final class Tagged {
    private final String tag;
    private final Object value;

    public Tagged(String tag, Object value) {
        this.tag = Objects.requireNonNull(tag, "tag");
        this.value = value;
    }

    public String getTag() { return tag; }
    public Object getValue() { return value; }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tagged && ((Tagged) o).tag.equals(tag)
                && Objects.equals(((Tagged) o).value, value);
    }

    @Override
    public int hashCode() { return tag.hashCode() * 31 + Objects.hashCode(value); }

    @Override
    public String toString() { return "#" + tag + " " + value; }
}
