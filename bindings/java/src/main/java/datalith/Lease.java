package datalith;

import java.util.ArrayList;
import java.util.List;

/** The handles one call uses, leased (read-locked) until close(). */
final class Lease implements AutoCloseable {
    private final List<Handle> held = new ArrayList<>(2);

    long add(Handle h, String what) {
        if (h == null) throw new NullPointerException(what + " is null");
        long p = h.lease(what);
        held.add(h);
        return p;
    }

    long[] addAll(List<? extends Handle> hs, String what) {
        if (hs == null) throw new NullPointerException(what + " is null");
        long[] out = new long[hs.size()];
        for (int i = 0; i < out.length; i++) out[i] = add(hs.get(i), what + "[" + i + "]");
        return out;
    }

    @Override
    public void close() {
        for (int i = held.size() - 1; i >= 0; i--) held.get(i).unlease();
        held.clear();
    }
}
