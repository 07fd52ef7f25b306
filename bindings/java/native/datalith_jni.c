/*
** datalith_jni.c — the hand-written half of the Java binding's JNI glue:
** library load/unload hooks and the marshalling helpers of datalith_jni.h.
**
** Errors cross into Java as datalith.DatalithException, built by the static
** factory DatalithException.fromNative(int code, byte[] message, long line,
** long column, long offset).  The message travels as UTF-8 bytes (not
** NewStringUTF, whose "modified UTF-8" mangles characters beyond U+FFFF).
** The class and method ids are looked up once in JNI_OnLoad and kept as a
** global reference, so throwing works on any thread.
*/
#include "datalith_jni.h"

#ifdef DATALITH_JNI_HAVE_HEADER
#include "datalith_NativeCallbacks.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static jclass dj_exc_class;       /* datalith.DatalithException, global ref */
static jmethodID dj_exc_from;     /* its static fromNative(...) */

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
    JNIEnv *env;
    (void)reserved;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) return JNI_ERR;
    jclass c = (*env)->FindClass(env, "datalith/DatalithException");
    if (!c) return JNI_ERR;
    dj_exc_class = (*env)->NewGlobalRef(env, c);
    (*env)->DeleteLocalRef(env, c);
    if (!dj_exc_class) return JNI_ERR;
    dj_exc_from = (*env)->GetStaticMethodID(env, dj_exc_class, "fromNative",
                                            "(I[BJJJ)Ldatalith/DatalithException;");
    if (!dj_exc_from) return JNI_ERR;
    return JNI_VERSION_1_8;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *vm, void *reserved) {
    JNIEnv *env;
    (void)reserved;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK) return;
    if (dj_exc_class) (*env)->DeleteGlobalRef(env, dj_exc_class);
    dj_exc_class = NULL;
}

static void dj_throw_named(JNIEnv *env, const char *cls, const char *msg) {
    jclass c = (*env)->FindClass(env, cls);
    if (c) (*env)->ThrowNew(env, c, msg);
}

void dj_throw(JNIEnv *env, int rc) {
    const datalith_error *e = datalith_error_last();
    const char *m = e->message && e->code == rc && e->message[0]
                        ? e->message : datalith_status_name(rc);
    jlong line = 0, column = 0, offset = -1;
    if (e->code == rc) {
        line = e->line;
        column = e->column;
        offset = e->offset;
    }
    if ((*env)->ExceptionCheck(env)) return;
    jbyteArray msg = dj_out_bytes(env, m, strlen(m));
    if (!msg) return;
    jobject ex = (*env)->CallStaticObjectMethod(env, dj_exc_class, dj_exc_from, (jint)rc,
                                                msg, line, column, offset);
    (*env)->DeleteLocalRef(env, msg);
    if (ex && !(*env)->ExceptionCheck(env)) (*env)->Throw(env, (jthrowable)ex);
}

int dj_in_bytes(JNIEnv *env, jbyteArray a, int nul, char **p, size_t *n) {
    if (!a) {
        dj_throw_named(env, "java/lang/NullPointerException", "argument is null");
        return -1;
    }
    jsize len = (*env)->GetArrayLength(env, a);
    char *buf = malloc((size_t)len + (nul ? 1 : 0) + 1);
    if (!buf) {
        dj_throw_named(env, "java/lang/OutOfMemoryError", "datalith: out of memory");
        return -1;
    }
    (*env)->GetByteArrayRegion(env, a, 0, len, (jbyte *)buf);
    buf[len] = '\0';
    *p = buf;
    *n = (size_t)len;
    return 0;
}

int dj_in_handles(JNIEnv *env, jlongArray a, void ***p, size_t *n) {
    if (!a) {
        dj_throw_named(env, "java/lang/NullPointerException", "handle array is null");
        return -1;
    }
    jsize len = (*env)->GetArrayLength(env, a);
    jlong *tmp = malloc(((size_t)len + 1) * sizeof *tmp);
    void **out = malloc(((size_t)len + 1) * sizeof *out);
    if (!tmp || !out) {
        free(tmp);
        free(out);
        dj_throw_named(env, "java/lang/OutOfMemoryError", "datalith: out of memory");
        return -1;
    }
    (*env)->GetLongArrayRegion(env, a, 0, len, tmp);
    for (jsize i = 0; i < len; i++) {
        if (tmp[i] == 0) {
            free(tmp);
            free(out);
            return dj_check_handle(env, 0, "database in the list");
        }
        out[i] = (void *)(intptr_t)tmp[i];
    }
    free(tmp);
    *p = out;
    *n = (size_t)len;
    return 0;
}

int dj_check_handle(JNIEnv *env, jlong h, const char *what) {
    if (h != 0) return 0;
    char msg[128];
    snprintf(msg, sizeof msg, "%s is closed or null", what);
    jbyteArray m = dj_out_bytes(env, msg, strlen(msg));
    if (!m) return -1;
    jobject ex = (*env)->CallStaticObjectMethod(env, dj_exc_class, dj_exc_from,
                                                (jint)DATALITH_EINVAL, m, (jlong)0,
                                                (jlong)0, (jlong)-1);
    (*env)->DeleteLocalRef(env, m);
    if (ex && !(*env)->ExceptionCheck(env)) (*env)->Throw(env, (jthrowable)ex);
    return -1;
}

jbyteArray dj_out_bytes(JNIEnv *env, const char *p, size_t n) {
    if (n > (size_t)INT32_MAX) {
        dj_throw_named(env, "java/lang/OutOfMemoryError", "datalith: result larger than 2 GiB");
        return NULL;
    }
    jbyteArray a = (*env)->NewByteArray(env, (jsize)n);
    if (a && n) (*env)->SetByteArrayRegion(env, a, 0, (jsize)n, (const jbyte *)p);
    return a;
}

/* ---- filter predicates (datalith.NativeCallbacks) ------------------------
**
** A filter view calls its predicate on the thread that reads the view.  The
** context is a dj_filter holding a global reference to a datalith.FilterFn;
** FilterCtx.java owns it and frees it (filterCtxFree) once no Java view can
** use it.  The upcall never leaves an exception pending: FilterFn.test
** catches everything, and anything else (an OutOfMemoryError building the
** byte[]) is cleared and rejects the datom. */
typedef struct dj_filter {
    JavaVM *vm;
    jobject fn;        /* global ref to the FilterFn */
} dj_filter;

static jmethodID dj_filter_test;   /* FilterFn.test([B)Z */

static int dj_filter_call(void *ctx, const char *datom, size_t len) {
    dj_filter *f = ctx;
    JNIEnv *env = NULL;
    int attached = 0, keep = 0;
    jint st = (*f->vm)->GetEnv(f->vm, (void **)&env, JNI_VERSION_1_8);
    if (st == JNI_EDETACHED) {
        if ((*f->vm)->AttachCurrentThreadAsDaemon(f->vm, (void **)&env, NULL) != JNI_OK) return 0;
        attached = 1;
    } else if (st != JNI_OK) {
        return 0;
    }
    if (!(*env)->ExceptionCheck(env)) {
        jbyteArray a = dj_out_bytes(env, datom, len);
        if (a) {
            keep = (*env)->CallBooleanMethod(env, f->fn, dj_filter_test, a) == JNI_TRUE;
            (*env)->DeleteLocalRef(env, a);
        }
        if ((*env)->ExceptionCheck(env)) {
            (*env)->ExceptionClear(env);
            keep = 0;
        }
    }
    if (attached) (*f->vm)->DetachCurrentThread(f->vm);
    return keep;
}

JNIEXPORT jlong JNICALL Java_datalith_NativeCallbacks_filterCtxNew(JNIEnv *env, jclass cls,
                                                                   jobject fn) {
    (void)cls;
    if (!fn) {
        dj_throw_named(env, "java/lang/NullPointerException", "filter function is null");
        return 0;
    }
    if (!dj_filter_test) {
        jclass c = (*env)->GetObjectClass(env, fn);
        dj_filter_test = (*env)->GetMethodID(env, c, "test", "([B)Z");
        (*env)->DeleteLocalRef(env, c);
        if (!dj_filter_test) return 0;
    }
    dj_filter *f = calloc(1, sizeof *f);
    if (!f || (*env)->GetJavaVM(env, &f->vm) != JNI_OK ||
        !(f->fn = (*env)->NewGlobalRef(env, fn))) {
        free(f);
        dj_throw_named(env, "java/lang/OutOfMemoryError", "datalith: out of memory");
        return 0;
    }
    return (jlong)(intptr_t)f;
}

JNIEXPORT void JNICALL Java_datalith_NativeCallbacks_filterCtxFree(JNIEnv *env, jclass cls,
                                                                   jlong ctx) {
    dj_filter *f = (dj_filter *)(intptr_t)ctx;
    (void)cls;
    if (!f) return;
    (*env)->DeleteGlobalRef(env, f->fn);
    free(f);
}

JNIEXPORT jlong JNICALL Java_datalith_NativeCallbacks_filter(JNIEnv *env, jclass cls, jlong db,
                                                             jlong ctx) {
    datalith_db *out = NULL;
    (void)cls;
    if (dj_check_handle(env, db, "db") || dj_check_handle(env, ctx, "filter context")) return 0;
    int rc = datalith_db_filter((datalith_db *)(intptr_t)db, dj_filter_call,
                                (void *)(intptr_t)ctx, DATALITH_FORMAT_CBOR, &out);
    if (rc != DATALITH_OK) {
        dj_throw(env, rc);
        return 0;
    }
    return (jlong)(intptr_t)out;
}

/* ---- listeners (datalith.NativeCallbacks, Connection.listen) -------------
**
** The engine calls a listener on the connection's watcher thread, which is
** not a Java thread: each call attaches it to the VM (as a daemon, so a
** watcher never keeps the VM alive), calls ListenFn.report(status, report
** CBOR, message) and detaches it again.  ListenFn.report catches every
** Throwable, so no exception is left pending; anything else (an
** OutOfMemoryError making the byte[]) is cleared and the report dropped.
** The context (a global reference to the ListenFn) is freed by
** listenCtxFree after unlisten, when the engine no longer calls it. */
typedef struct dj_listen {
    JavaVM *vm;
    jobject fn;        /* global ref to the ListenFn */
} dj_listen;

static jmethodID dj_listen_report; /* ListenFn.report(I[B[B)V */

static void dj_listen_call(void *ctx, int status, const char *report, size_t len) {
    dj_listen *l = ctx;
    JavaVM *vm = l->vm; /* `l` may be freed by an unlisten inside the callback */
    JNIEnv *env = NULL;
    int attached = 0;
    jint st = (*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8);
    if (st == JNI_EDETACHED) {
        if ((*vm)->AttachCurrentThreadAsDaemon(vm, (void **)&env, NULL) != JNI_OK) return;
        attached = 1;
    } else if (st != JNI_OK) {
        return;
    }
    if (!(*env)->ExceptionCheck(env)) {
        const char *msg = "";
        if (status) {
            const datalith_error *e = datalith_error_last();
            if (e && e->message) msg = e->message;
        }
        jbyteArray r = status ? NULL : dj_out_bytes(env, report, len);
        jbyteArray m = dj_out_bytes(env, msg, strlen(msg));
        if ((status || r) && m)
            (*env)->CallVoidMethod(env, l->fn, dj_listen_report, (jint)status, r, m);
        if ((*env)->ExceptionCheck(env)) (*env)->ExceptionClear(env);
        if (r) (*env)->DeleteLocalRef(env, r);
        if (m) (*env)->DeleteLocalRef(env, m);
    }
    if (attached) (*vm)->DetachCurrentThread(vm);
}

JNIEXPORT jlong JNICALL Java_datalith_NativeCallbacks_listenCtxNew(JNIEnv *env, jclass cls,
                                                                   jobject fn) {
    (void)cls;
    if (!fn) {
        dj_throw_named(env, "java/lang/NullPointerException", "listener is null");
        return 0;
    }
    if (!dj_listen_report) {
        jclass c = (*env)->GetObjectClass(env, fn);
        dj_listen_report = (*env)->GetMethodID(env, c, "report", "(I[B[B)V");
        (*env)->DeleteLocalRef(env, c);
        if (!dj_listen_report) return 0;
    }
    dj_listen *l = calloc(1, sizeof *l);
    if (!l || (*env)->GetJavaVM(env, &l->vm) != JNI_OK ||
        !(l->fn = (*env)->NewGlobalRef(env, fn))) {
        free(l);
        dj_throw_named(env, "java/lang/OutOfMemoryError", "datalith: out of memory");
        return 0;
    }
    return (jlong)(intptr_t)l;
}

JNIEXPORT void JNICALL Java_datalith_NativeCallbacks_listenCtxFree(JNIEnv *env, jclass cls,
                                                                   jlong ctx) {
    dj_listen *l = (dj_listen *)(intptr_t)ctx;
    (void)cls;
    if (!l) return;
    (*env)->DeleteGlobalRef(env, l->fn);
    free(l);
}

/* datalith_listen; key is CBOR or null (a fresh key); returns the key (CBOR). */
JNIEXPORT jbyteArray JNICALL Java_datalith_NativeCallbacks_listen(JNIEnv *env, jclass cls,
                                                                  jlong conn, jbyteArray key,
                                                                  jlong ctx) {
    char *k = NULL, *out = NULL;
    size_t kn = 0, on = 0;
    (void)cls;
    if (dj_check_handle(env, conn, "conn") || dj_check_handle(env, ctx, "listener context"))
        return NULL;
    if (key && dj_in_bytes(env, key, 0, &k, &kn)) return NULL;
    int rc = datalith_listen((datalith_conn *)(intptr_t)conn, k, kn, DATALITH_FORMAT_CBOR,
                             dj_listen_call, (void *)(intptr_t)ctx, &out, &on);
    free(k);
    if (rc != DATALITH_OK) {
        dj_throw(env, rc);
        return NULL;
    }
    jbyteArray r = dj_out_bytes(env, out, on);
    datalith_free(out);
    return r;
}

JNIEXPORT void JNICALL Java_datalith_NativeCallbacks_unlisten(JNIEnv *env, jclass cls,
                                                              jlong conn, jbyteArray key) {
    char *k = NULL;
    size_t kn = 0;
    (void)cls;
    if (dj_check_handle(env, conn, "conn") || dj_in_bytes(env, key, 0, &k, &kn)) return;
    int rc = datalith_unlisten((datalith_conn *)(intptr_t)conn, k, kn, DATALITH_FORMAT_CBOR);
    free(k);
    if (rc != DATALITH_OK) dj_throw(env, rc);
}
