package datalith;

import java.lang.ref.Cleaner;

/**
 * The native context of one filter view: a malloc'd struct holding a JNI
 * global reference to the {@link FilterFn}.
 *
 * <pre>
 *   Database (view) ──keepAlive──► FilterCtx ──ptr──► struct { vm, globalref } ──► FilterFn
 *   derived views (as-of, history ...) share the same keepAlive
 * </pre>
 *
 * The global reference points at the FilterFn, not at this object, so this
 * object becomes unreachable once every Database that uses the view is;
 * its Cleaner then frees the struct.  The engine only calls the predicate
 * during an operation on a leased (so reachable) Database.
 */
final class FilterCtx {
    private static final Cleaner CLEANER = Cleaner.create();

    private final long ptr;
    @SuppressWarnings("unused")
    private final Object parent; // the filters this view nests in

    FilterCtx(FilterFn fn, Object parent) {
        this.ptr = NativeCallbacks.filterCtxNew(fn);
        this.parent = parent;
        long p = ptr;
        CLEANER.register(this, () -> NativeCallbacks.filterCtxFree(p));
    }

    long ptr() {
        return ptr;
    }
}
