package datalith;

/**
 * An immutable snapshot of a database (or a view: as-of, since, history).
 * Thread-safe; close() (or {@link Datalith#releaseDb}) releases it, a
 * Cleaner releases a forgotten one.  Operations: {@code db.datoms(args)},
 * {@code db.schema()} ... (see {@link DatabaseApi}).
 */
public final class Database extends DatabaseApi {
    Database(long ptr) {
        super(ptr, DatalithNative::releaseDb, "database");
    }
}
