/*
** datalith_jni.h — helpers shared by the JNI glue of the Java binding.
**
** datalith_jni_gen.c (generated from spec/api.edn) holds one JNIEXPORT
** function per operation; it marshals with these helpers, which live in
** datalith_jni.c.  Every helper that fails has already thrown a Java
** exception and returns non-zero; the caller then only cleans up and returns.
*/
#ifndef DATALITH_JNI_H
#define DATALITH_JNI_H

#include <jni.h>
#include <stddef.h>

#include "datalith.h"

/* Throw datalith.DatalithException for status `rc` with the calling thread's
** last engine error (message, and line/column/offset for parse errors). */
void dj_throw(JNIEnv *env, int rc);

/* Copy a byte[] into fresh malloc'd memory (*p, *n); with `nul` a NUL is
** appended (not counted).  A null array throws NullPointerException. */
int dj_in_bytes(JNIEnv *env, jbyteArray a, int nul, char **p, size_t *n);

/* Copy a long[] of handles into a fresh pointer array; a null array or a
** zero element throws. */
int dj_in_handles(JNIEnv *env, jlongArray a, void ***p, size_t *n);

/* Throw DatalithException(EINVAL) when `h` is 0 (a closed or null handle). */
int dj_check_handle(JNIEnv *env, jlong h, const char *what);

/* A new byte[] holding p[0..n), or NULL with an exception pending. */
jbyteArray dj_out_bytes(JNIEnv *env, const char *p, size_t n);

#endif
