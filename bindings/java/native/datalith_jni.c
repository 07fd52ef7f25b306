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
