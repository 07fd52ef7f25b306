package datalith;

import java.util.ArrayList;
import java.util.Collection;

/**
 * An EDN list {@code (a b c)}.  Any other java.util.List is sent as a vector;
 * an EdnList equals a List with equal items, as EDN's list equals a vector.
 */
public final class EdnList extends ArrayList<Object> {
    private static final long serialVersionUID = 1L;

    public EdnList() { super(); }

    public EdnList(Collection<?> items) { super(items); }
}
