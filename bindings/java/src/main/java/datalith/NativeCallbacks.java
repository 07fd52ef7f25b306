package datalith;

/** Hand-written natives for the operations with callbacks, which the
 *  generator does not bind (datalith_jni.c). */
final class NativeCallbacks {
    private NativeCallbacks() {}

    static { NativeLoader.load(); }

    /** A context for `fn` (a global reference); free with filterCtxFree. */
    static native long filterCtxNew(FilterFn fn);

    static native void filterCtxFree(long ctx);

    /** datalith_db_filter with the context's predicate; datoms as CBOR. */
    static native long filter(long db, long ctx);
}
