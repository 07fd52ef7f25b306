package datalith;

import java.util.function.Predicate;

/** The Java side of a filter predicate, called from the JNI glue
 *  (datalith_jni.c dj_filter_call) with each datom as CBOR. */
public final class FilterFn {
    private final Predicate<Object> pred;
    private volatile Throwable failure;

    FilterFn(Predicate<Object> pred) {
        this.pred = pred;
    }

    /** Called by the glue; never throws. */
    boolean test(byte[] datom) {
        try {
            return pred.test(Cbor.decode(datom));
        } catch (Throwable t) {
            if (failure == null) failure = t;
            return false;
        }
    }

    /** The first exception the predicate threw, or null. */
    public Throwable failure() {
        return failure;
    }
}
