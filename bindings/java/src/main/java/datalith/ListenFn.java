package datalith;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Consumer;

/** The Java side of a transaction listener, called from the JNI glue
 *  (datalith_jni.c dj_listen_call) on the engine's watcher thread with each
 *  report as CBOR.  Never throws: an exception from the callback (or a
 *  watcher error, status != 0) goes to the thread's uncaught-exception
 *  handler (by default printed to System.err). */
final class ListenFn {
    private final Consumer<Map<Object, Object>> callback;

    ListenFn(Consumer<Map<Object, Object>> callback) {
        this.callback = callback;
    }

    @SuppressWarnings("unchecked")
    void report(int status, byte[] report, byte[] message) {
        try {
            if (status != 0)
                throw new DatalithException(status, "listener: "
                        + new String(message, StandardCharsets.UTF_8));
            callback.accept((Map<Object, Object>) Cbor.decode(report));
        } catch (Throwable t) {
            try {
                Thread th = Thread.currentThread();
                Thread.UncaughtExceptionHandler h = th.getUncaughtExceptionHandler();
                if (h != null) h.uncaughtException(th, t);
                else t.printStackTrace();
            } catch (Throwable ignored) {
                // never let reporting unwind into the engine
            }
        }
    }
}
