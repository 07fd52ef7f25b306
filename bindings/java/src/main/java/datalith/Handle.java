package datalith;

import java.lang.ref.Cleaner;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;

/**
 * An engine handle (connection or snapshot) owned by a Java object.
 *
 * <pre>
 *   Handle ──► State { ptr, lock, release }  ◄── Cleaner (if never closed)
 *                 │
 *   calls: readLock, ptr != 0 ? use : throw;  close: writeLock, release(ptr), ptr = 0
 * </pre>
 *
 * Calls lease the pointer under the read lock, so any number of threads may
 * use one handle at once, and close() waits for the calls in flight and then
 * releases exactly once.  A call after close throws a DatalithException
 * (EINVAL, "... is closed"), never reaches the engine with a freed pointer.
 * A handle that becomes unreachable without close() is released by a Cleaner.
 */
public abstract class Handle implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private static final class State implements Runnable {
        final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        final LongConsumer release;
        long ptr;

        State(long ptr, LongConsumer release) {
            this.ptr = ptr;
            this.release = release;
        }

        @Override
        public void run() {
            lock.writeLock().lock();
            try {
                long p = ptr;
                ptr = 0;
                if (p != 0) release.accept(p);
            } finally {
                lock.writeLock().unlock();
            }
        }
    }

    private final State state;
    private final Cleaner.Cleanable cleanable;
    private final String kind;

    Handle(long ptr, LongConsumer release, String kind) {
        if (ptr == 0) throw new DatalithException(DatalithException.EINTERNAL, "null " + kind);
        this.state = new State(ptr, release);
        this.cleanable = CLEANER.register(this, state);
        this.kind = kind;
    }

    /** The pointer, read-locked until {@link #unlease()}; throws when closed. */
    final long lease(String what) {
        state.lock.readLock().lock();
        if (state.ptr == 0) {
            state.lock.readLock().unlock();
            throw new DatalithException(DatalithException.EINVAL,
                    what + ": the " + kind + " is closed");
        }
        return state.ptr;
    }

    final void unlease() {
        state.lock.readLock().unlock();
    }

    /** Whether close() (or release) has run. */
    public final boolean isClosed() {
        state.lock.readLock().lock();
        try {
            return state.ptr == 0;
        } finally {
            state.lock.readLock().unlock();
        }
    }

    /** Release the engine handle; later calls are no-ops. */
    @Override
    public final void close() {
        beforeClose();
        cleanable.clean();
    }

    /** What a subclass must undo while the handle is still usable (a
     *  Connection removes its listeners); runs on every close() call. */
    void beforeClose() {
    }
}
