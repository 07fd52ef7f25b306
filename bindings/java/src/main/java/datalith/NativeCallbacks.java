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

    /** A context for a listener (a global reference); free with
     *  listenCtxFree after unlisten. */
    static native long listenCtxNew(ListenFn fn);

    static native void listenCtxFree(long ctx);

    /** datalith_listen with the context; key and result as CBOR (key null:
     *  a fresh key). */
    static native byte[] listen(long conn, byte[] key, long ctx);

    /** datalith_unlisten; the key as CBOR. */
    static native void unlisten(long conn, byte[] key);
}
