package datalith;

/**
 * A connection to one database (one branch of one store).  Thread-safe;
 * close() (or {@link Datalith#release}) releases it, a Cleaner releases a
 * forgotten one.  Operations: {@code conn.db()}, {@code conn.transact(tx)}
 * and every other op taking a connection (see {@link ConnectionApi}).
 */
public final class Connection extends ConnectionApi {
    Connection(long ptr) {
        super(ptr, DatalithNative::release, "connection");
    }
}
