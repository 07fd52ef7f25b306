package datalith;

import java.util.Objects;
import java.util.function.Predicate;

/**
 * An immutable snapshot of a database (or a view: as-of, since, history,
 * filtered).  Thread-safe; close() (or {@link Datalith#releaseDb}) releases
 * it, a Cleaner releases a forgotten one.  Operations: {@code db.datoms(args)},
 * {@code db.schema()}, {@code db.asOf(t)} ... (see {@link DatabaseApi}) and
 * {@link #filter}.
 */
public final class Database extends DatabaseApi {
    /** What the engine view needs alive while it exists: the filter
     *  predicates of this view and of the views it derives from. */
    final Object keepAlive;

    Database(long ptr) {
        this(ptr, (Object) null);
    }

    /** A view derived from `from` (history, as-of, since, db-with ...):
     *  it keeps `from`'s filter predicates alive. */
    Database(long ptr, Database from) {
        this(ptr, from == null ? null : from.keepAlive);
    }

    private Database(long ptr, Object keepAlive) {
        super(ptr, DatalithNative::releaseDb, "database");
        this.keepAlive = keepAlive;
    }

    /**
     * A view keeping only the datoms {@code pred} accepts (Datahike's
     * {@code filter}); nested filters compose with AND and transactions on the
     * view are rejected.  {@code pred} receives each datom as a {@link Tagged}
     * {@code #datahike/Datom [e a v tx added]}; it runs on the thread reading
     * the view, possibly on several threads at once.  A predicate that throws
     * rejects the datom (the first such exception is kept, see
     * {@link FilterFn#failure()}).
     */
    public Database filter(Predicate<Object> pred) {
        Objects.requireNonNull(pred, "pred");
        FilterCtx ctx = new FilterCtx(new FilterFn(pred), keepAlive);
        try (Lease lease = new Lease()) {
            long p = NativeCallbacks.filter(lease.add(this, "db"), ctx.ptr());
            return new Database(p, (Object) ctx);
        }
    }
}
