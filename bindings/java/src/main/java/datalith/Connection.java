package datalith;

import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * A connection to one database (one branch of one store).  Thread-safe;
 * close() (or {@link Datalith#release}) releases it, a Cleaner releases a
 * forgotten one.  Operations: {@code conn.db()}, {@code conn.transact(tx)}
 * and every other op taking a connection (see {@link ConnectionApi}), plus
 * {@link #listen} / {@link #unlisten} (hand-bound: they take a callback).
 */
public final class Connection extends ConnectionApi {
    /** Connections with listeners stay reachable (the Cleaner must not
     *  release one under its listeners) until unlisten or close. */
    private static final Set<Connection> LISTENING = ConcurrentHashMap.newKeySet();

    private static final class Entry {
        final byte[] key; // the engine's CBOR of the key
        final long ctx;

        Entry(byte[] key, long ctx) {
            this.key = key;
            this.ctx = ctx;
        }
    }

    private final Map<Object, Entry> listeners = new ConcurrentHashMap<>();

    Connection(long ptr) {
        super(ptr, DatalithNative::release, "connection");
    }

    /** {@link #listen(Consumer, Object)} with a fresh key. */
    public Object listen(Consumer<Map<Object, Object>> callback) {
        return listen(callback, null);
    }

    /**
     * Call {@code callback} with the transaction report ({@code :db-before
     * :db-after :tx-data :tempids :tx-meta}, keys as {@link Keyword}s) after
     * every commit of this database: this connection's transactions and,
     * once the engine's watcher thread notices them, commits by other
     * connections and processes (memory stores: this process only).  For
     * commits made elsewhere :tempids and :tx-meta hold only
     * :db/current-tx and :db/txInstant.
     *
     * <p>The callback runs on the engine's watcher thread (attached to the
     * VM as a daemon for the call), one report at a time, in commit order;
     * it may call anything, including transact and unlisten.  An exception
     * it throws goes to the thread's uncaught-exception handler and does
     * not stop later reports.
     *
     * @param key the listener's key (e.g. a {@link Keyword}), or null for a
     *            fresh one
     * @return the key, for {@link #unlisten}
     */
    public Object listen(Consumer<Map<Object, Object>> callback, Object key) {
        Objects.requireNonNull(callback, "callback");
        byte[] kb = key == null ? null : Cbor.encode(key);
        long ctx = NativeCallbacks.listenCtxNew(new ListenFn(callback));
        byte[] got;
        try (Lease lease = new Lease()) {
            got = NativeCallbacks.listen(lease.add(this, "listen"), kb, ctx);
        } catch (RuntimeException | Error e) {
            NativeCallbacks.listenCtxFree(ctx);
            throw e;
        }
        Object k = Cbor.decode(got);
        listeners.put(k, new Entry(got, ctx));
        LISTENING.add(this);
        return k;
    }

    /**
     * Remove the listener {@code key}: when this returns its callback is not
     * running (unless this is called from inside it) and is not called
     * again.  A DatalithException (ENOTFOUND) if there is no such listener.
     */
    public void unlisten(Object key) {
        Entry e = listeners.remove(key);
        if (e == null)
            throw new DatalithException(DatalithException.ENOTFOUND,
                    "unlisten: no listener with key " + key);
        try (Lease lease = new Lease()) {
            NativeCallbacks.unlisten(lease.add(this, "unlisten"), e.key);
        } finally {
            NativeCallbacks.listenCtxFree(e.ctx);
            if (listeners.isEmpty()) LISTENING.remove(this);
        }
    }

    @Override
    void beforeClose() {
        for (Object k : listeners.keySet().toArray()) {
            try {
                unlisten(k);
            } catch (DatalithException ignored) {
                // already closed or removed meanwhile
            }
        }
        LISTENING.remove(this);
    }
}
