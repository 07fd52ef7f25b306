/*
** dln.h -- the hand-written core of the Node-API addon, shared with the
** generated per-operation glue (ops_gen.c).
**
** A call of an operation goes through one dln_op descriptor:
**
**     JS args --parse--> dln_call record --exec--> rc, outputs --result--> JS
**                                        (calling thread, or the libuv
**                                         threadpool for ...Async variants)
**     cleanup() frees whatever the record still owns, on every path.
**
** Handles cross to JS as externals wrapping a dln_box:
**
**     +------------------+      ptr   the engine handle, NULL once released
**     | ptr kind busy    |      kind  index into dln_kinds (its release fn)
**     | dead             |      busy  pending async calls using it
**     +------------------+      dead  the external was garbage-collected
**
** The box is released (ptr) when the JS side releases it explicitly, or when
** the external is finalized -- but never while busy: a pending call defers
** the release to its completion, which also frees an orphaned (dead) box.
** All box bookkeeping happens on the JS thread, so it needs no locks.
*/
#ifndef DLN_H
#define DLN_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#include "datalith.h"
#include "kinds_gen.h"

typedef struct dln_kind {
    const char *name;
    void (*release)(void *p);
} dln_kind;

typedef struct dln_box {
    void *ptr;
    int kind;
    int busy;
    int release_pending;
    int dead;
} dln_box;

typedef struct dln_buf {
    char *p;
    size_t n;
} dln_buf;

typedef struct dln_call {
    int rc;                 /* the op's status (0 for infallible ops) */
    char *err_msg;          /* copy of the engine's message when rc < 0 */
    long err_line, err_column, err_offset;
    dln_box **holds;        /* boxes this call uses (busy while async) */
    size_t nholds, capholds;
    int async;
    napi_async_work work;
    napi_deferred deferred;
    const struct dln_op *op;
} dln_call;

typedef struct dln_op {
    const char *name;
    size_t size;
    size_t argc;
    int (*parse)(napi_env env, napi_value *argv, dln_call *c);
    void (*exec)(dln_call *c);
    napi_value (*result)(napi_env env, dln_call *c);
    void (*cleanup)(dln_call *c);
} dln_op;

typedef struct dln_entry {
    const char *name;
    napi_callback fn;
} dln_entry;

extern const dln_kind dln_kinds[DLN_NKINDS];
extern const dln_entry dln_entries[];

napi_value dln_run(napi_env env, napi_callback_info info, const dln_op *op, int async);

/* Argument readers: 0, or -1 with a JS exception pending. */
int dln_arg_bool(napi_env env, napi_value v, const char *name, int *out);
int dln_arg_format(napi_env env, napi_value v, const char *name, int *out);
int dln_arg_int(napi_env env, napi_value v, const char *name, int64_t *out);
int dln_arg_cstring(napi_env env, napi_value v, const char *name, char **out);
int dln_arg_bytes(napi_env env, napi_value v, const char *name, dln_buf *out);
int dln_arg_handle(napi_env env, napi_value v, int kind, const char *name, dln_call *c,
                   void **out);
int dln_arg_take_handle(napi_env env, napi_value v, int kind, const char *name, dln_call *c,
                        void **out);
int dln_arg_handles(napi_env env, napi_value v, int kind, const char *name, dln_call *c,
                    void ***out, size_t *count);
void dln_buf_free(dln_buf *b);

/* Result makers; NULL with a JS exception pending on failure.  The string
** and bytes makers take ownership of *p (freed, *p set to NULL). */
napi_value dln_ret_undefined(napi_env env);
napi_value dln_ret_bool(napi_env env, int v);
napi_value dln_ret_int(napi_env env, int64_t v);
napi_value dln_ret_cstring(napi_env env, const char *s);
napi_value dln_ret_string(napi_env env, char **p, size_t n);
napi_value dln_ret_bytes(napi_env env, char **p, size_t n);
napi_value dln_ret_handle(napi_env env, int kind, void *ptr);

#endif /* DLN_H */
