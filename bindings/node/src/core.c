/*
** core.c -- the hand-written runtime of the Node-API addon: argument
** readers, result makers, handle boxes and their finalizers, engine errors
** as JS Error objects, and running an operation synchronously or as a
** Promise on the libuv threadpool.  The per-operation glue is generated
** (ops_gen.c, from spec/api.edn); see dln.h for the call and box protocol.
**
** Errors thrown to JS: an Error whose .code is the status name
** ("DATALITH_EPARSE"), .message the engine's message, .status the negative
** code, and for parse errors .line/.column (1-based) and .offset.  Bad
** argument types from JS are TypeErrors with .code "DATALITH_EINVAL".
*/
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dln.h"

#define DLN_MAXARGS 16

/* One type tag per handle kind, so a foreign external or a handle of the
** wrong kind is refused instead of misread. */
static const napi_type_tag dln_tags[] = {
    {0x6461746c69746830ULL, 0x6e6f64656b696e30ULL},
    {0x6461746c69746830ULL, 0x6e6f64656b696e31ULL},
    {0x6461746c69746830ULL, 0x6e6f64656b696e32ULL},
    {0x6461746c69746830ULL, 0x6e6f64656b696e33ULL},
};

static void dln_throw_code(napi_env env, int type_error, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (type_error)
        napi_throw_type_error(env, code, msg);
    else
        napi_throw_error(env, code, msg);
}

#define dln_type_error(env, ...) dln_throw_code(env, 1, "DATALITH_EINVAL", __VA_ARGS__)

static void dln_set_num(napi_env env, napi_value obj, const char *key, double v)
{
    napi_value n;
    if (napi_create_double(env, v, &n) == napi_ok)
        napi_set_named_property(env, obj, key, n);
}

/* A JS Error for engine status `rc`; NULL if even that failed. */
static napi_value dln_engine_error(napi_env env, int rc, const char *msg, long line, long column,
                                   long offset)
{
    napi_value code, m, err;
    const char *name = datalith_status_name(rc);
    if (!msg || !*msg)
        msg = name;
    if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok
        || napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok
        || napi_create_error(env, code, m, &err) != napi_ok)
        return NULL;
    dln_set_num(env, err, "status", rc);
    if (line > 0) {
        dln_set_num(env, err, "line", (double)line);
        dln_set_num(env, err, "column", (double)column);
    }
    if (offset >= 0)
        dln_set_num(env, err, "offset", (double)offset);
    return err;
}

static char *dln_strdup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* Runs the op and, on failure, copies the calling thread's last error
** (the engine's error state is thread-local). */
static void dln_exec(dln_call *c)
{
    c->op->exec(c);
    if (c->rc < 0) {
        const datalith_error *e = datalith_error_last();
        int same = e->code == c->rc;
        c->err_msg = dln_strdup(same && e->message ? e->message : datalith_status_name(c->rc));
        c->err_line = same ? e->line : 0;
        c->err_column = same ? e->column : 0;
        c->err_offset = same ? e->offset : -1;
    }
}

static napi_value dln_call_error(napi_env env, dln_call *c)
{
    return dln_engine_error(env, c->rc, c->err_msg, c->err_line, c->err_column, c->err_offset);
}

/* ---- handle boxes ---- */

static void dln_box_settle(dln_box *b)
{
    if (b->busy > 0)
        return;
    if (b->release_pending && b->ptr) {
        dln_kinds[b->kind].release(b->ptr);
        b->ptr = NULL;
    }
    if (b->dead)
        free(b);
}

static void dln_box_finalize(napi_env env, void *data, void *hint)
{
    dln_box *b = data;
    (void)env;
    (void)hint;
    b->dead = 1;
    b->release_pending = 1;
    dln_box_settle(b);
}

static int dln_hold(napi_env env, dln_call *c, dln_box *b)
{
    if (c->nholds == c->capholds) {
        size_t cap = c->capholds ? c->capholds * 2 : 4;
        dln_box **h = realloc(c->holds, cap * sizeof *h);
        if (!h) {
            napi_throw_error(env, "DATALITH_ENOMEM", "out of memory");
            return -1;
        }
        c->holds = h;
        c->capholds = cap;
    }
    c->holds[c->nholds++] = b;
    b->busy++;
    return 0;
}

static void dln_call_free(dln_call *c)
{
    size_t i;
    for (i = 0; i < c->nholds; i++) {
        c->holds[i]->busy--;
        dln_box_settle(c->holds[i]);
    }
    c->op->cleanup(c);
    free(c->holds);
    free(c->err_msg);
    free(c);
}

/* The box behind `v` (an external, or an object whose _h is one). */
static int dln_box_of(napi_env env, napi_value v, int kind, const char *name, dln_box **out)
{
    napi_valuetype t;
    bool ok = false;
    void *data;
    if (napi_typeof(env, v, &t) != napi_ok)
        return -1;
    if (t == napi_object) {
        bool has = false;
        if (napi_has_named_property(env, v, "_h", &has) == napi_ok && has) {
            if (napi_get_named_property(env, v, "_h", &v) != napi_ok
                || napi_typeof(env, v, &t) != napi_ok)
                return -1;
        }
    }
    if (t != napi_external || napi_check_object_type_tag(env, v, &dln_tags[kind], &ok) != napi_ok
        || !ok) {
        dln_type_error(env, "%s: expected a datalith %s handle", name,
                       kind == DLN_KIND_CONN ? "Connection" : "Database");
        return -1;
    }
    if (napi_get_value_external(env, v, &data) != napi_ok)
        return -1;
    *out = data;
    return 0;
}

int dln_arg_handle(napi_env env, napi_value v, int kind, const char *name, dln_call *c,
                   void **out)
{
    dln_box *b;
    if (dln_box_of(env, v, kind, name, &b))
        return -1;
    if (!b->ptr || b->release_pending) {
        napi_throw_error(env, "DATALITH_EINVAL",
                         kind == DLN_KIND_CONN ? "the connection was released"
                                               : "the database snapshot was released");
        return -1;
    }
    if (dln_hold(env, c, b))
        return -1;
    *out = b->ptr;
    return 0;
}

/* An :owned-by-callee handle: the box gives its pointer up now; when a
** pending call still uses it, the release waits for that call (the op gets
** NULL, which release functions ignore).  Releasing twice is a no-op. */
int dln_arg_take_handle(napi_env env, napi_value v, int kind, const char *name, dln_call *c,
                        void **out)
{
    dln_box *b;
    (void)c;
    if (dln_box_of(env, v, kind, name, &b))
        return -1;
    if (b->busy > 0) {
        b->release_pending = 1;
        *out = NULL;
    } else {
        *out = b->ptr;
        b->ptr = NULL;
    }
    return 0;
}

int dln_arg_handles(napi_env env, napi_value v, int kind, const char *name, dln_call *c,
                    void ***out, size_t *count)
{
    bool is;
    uint32_t n, i;
    void **arr;
    if (napi_is_array(env, v, &is) != napi_ok || !is) {
        dln_type_error(env, "%s: expected an array of Database objects", name);
        return -1;
    }
    if (napi_get_array_length(env, v, &n) != napi_ok)
        return -1;
    arr = calloc(n ? n : 1, sizeof *arr);
    if (!arr) {
        napi_throw_error(env, "DATALITH_ENOMEM", "out of memory");
        return -1;
    }
    *out = arr; /* owned by the call record from here on */
    *count = n;
    for (i = 0; i < n; i++) {
        napi_value e;
        if (napi_get_element(env, v, i, &e) != napi_ok
            || dln_arg_handle(env, e, kind, name, c, &arr[i]))
            return -1;
    }
    return 0;
}

/* ---- scalar and byte arguments ---- */

int dln_arg_bool(napi_env env, napi_value v, const char *name, int *out)
{
    bool b;
    if (napi_get_value_bool(env, v, &b) != napi_ok) {
        dln_type_error(env, "%s: expected a boolean", name);
        return -1;
    }
    *out = b;
    return 0;
}

int dln_arg_int(napi_env env, napi_value v, const char *name, int64_t *out)
{
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t == napi_bigint) {
        bool lossless;
        if (napi_get_value_bigint_int64(env, v, out, &lossless) != napi_ok || !lossless) {
            dln_type_error(env, "%s: BigInt out of the 64-bit range", name);
            return -1;
        }
        return 0;
    }
    if (t == napi_number) {
        double d;
        napi_get_value_double(env, v, &d);
        if (d == (double)(int64_t)d && d >= -9007199254740991.0 && d <= 9007199254740991.0) {
            *out = (int64_t)d;
            return 0;
        }
    }
    dln_type_error(env, "%s: expected an integer (number or BigInt)", name);
    return -1;
}

int dln_arg_format(napi_env env, napi_value v, const char *name, int *out)
{
    int64_t i;
    if (dln_arg_int(env, v, name, &i))
        return -1;
    if (i < -1000 || i > 1000) {
        dln_type_error(env, "%s: not a format code", name);
        return -1;
    }
    *out = (int)i;
    return 0;
}

int dln_arg_cstring(napi_env env, napi_value v, const char *name, char **out)
{
    size_t n;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
        dln_type_error(env, "%s: expected a string", name);
        return -1;
    }
    *out = malloc(n + 1);
    if (!*out) {
        napi_throw_error(env, "DATALITH_ENOMEM", "out of memory");
        return -1;
    }
    napi_get_value_string_utf8(env, v, *out, n + 1, &n);
    return 0;
}

int dln_arg_bytes(napi_env env, napi_value v, const char *name, dln_buf *out)
{
    napi_valuetype t;
    bool is = false;
    napi_typeof(env, v, &t);
    if (t == napi_string) {
        size_t n;
        napi_get_value_string_utf8(env, v, NULL, 0, &n);
        out->p = malloc(n + 1);
        if (!out->p) {
            napi_throw_error(env, "DATALITH_ENOMEM", "out of memory");
            return -1;
        }
        napi_get_value_string_utf8(env, v, out->p, n + 1, &n);
        out->n = n;
        return 0;
    }
    if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
        napi_typedarray_type tt;
        size_t len, off;
        void *data;
        napi_value ab;
        napi_get_typedarray_info(env, v, &tt, &len, &data, &ab, &off);
        if (tt == napi_uint8_array || tt == napi_int8_array || tt == napi_uint8_clamped_array) {
            out->p = malloc(len ? len : 1);
            if (!out->p) {
                napi_throw_error(env, "DATALITH_ENOMEM", "out of memory");
                return -1;
            }
            if (len)
                memcpy(out->p, data, len);
            out->n = len;
            return 0;
        }
    }
    dln_type_error(env, "%s: expected a string or a Uint8Array", name);
    return -1;
}

void dln_buf_free(dln_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* ---- results ---- */

napi_value dln_ret_undefined(napi_env env)
{
    napi_value v;
    napi_get_undefined(env, &v);
    return v;
}

napi_value dln_ret_bool(napi_env env, int b)
{
    napi_value v;
    napi_get_boolean(env, b != 0, &v);
    return v;
}

napi_value dln_ret_int(napi_env env, int64_t i)
{
    napi_value v;
    if (i >= -9007199254740991LL && i <= 9007199254740991LL)
        napi_create_int64(env, i, &v);
    else
        napi_create_bigint_int64(env, i, &v);
    return v;
}

napi_value dln_ret_cstring(napi_env env, const char *s)
{
    napi_value v;
    if (napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v) != napi_ok)
        return NULL;
    return v;
}

napi_value dln_ret_string(napi_env env, char **p, size_t n)
{
    napi_value v;
    napi_status st = napi_create_string_utf8(env, *p ? *p : "", *p ? n : 0, &v);
    datalith_free(*p);
    *p = NULL;
    return st == napi_ok ? v : NULL;
}

napi_value dln_ret_bytes(napi_env env, char **p, size_t n)
{
    napi_value v;
    void *data;
    napi_status st = napi_create_buffer_copy(env, n, *p ? *p : "", &data, &v);
    datalith_free(*p);
    *p = NULL;
    return st == napi_ok ? v : NULL;
}

napi_value dln_ret_handle(napi_env env, int kind, void *ptr)
{
    napi_value v;
    dln_box *b = calloc(1, sizeof *b);
    if (!b) {
        dln_kinds[kind].release(ptr);
        napi_throw_error(env, "DATALITH_ENOMEM", "out of memory");
        return NULL;
    }
    b->ptr = ptr;
    b->kind = kind;
    if (napi_create_external(env, b, dln_box_finalize, NULL, &v) != napi_ok) {
        dln_kinds[kind].release(ptr);
        free(b);
        return NULL;
    }
    napi_type_tag_object(env, v, &dln_tags[kind]);
    return v;
}

/* ---- running an operation ---- */

static void dln_work_exec(napi_env env, void *data)
{
    (void)env;
    dln_exec(data);
}

static void dln_work_done(napi_env env, napi_status status, void *data)
{
    dln_call *c = data;
    napi_value v = NULL;
    if (status != napi_ok) {
        napi_value m, code;
        napi_create_string_utf8(env, "DATALITH_ECANCELED", NAPI_AUTO_LENGTH, &code);
        napi_create_string_utf8(env, "the operation was cancelled", NAPI_AUTO_LENGTH, &m);
        napi_create_error(env, code, m, &v);
        napi_reject_deferred(env, c->deferred, v);
    } else if (c->rc < 0) {
        v = dln_call_error(env, c);
        napi_reject_deferred(env, c->deferred, v ? v : dln_ret_undefined(env));
    } else {
        v = c->op->result(env, c);
        if (v) {
            napi_resolve_deferred(env, c->deferred, v);
        } else {
            napi_value e;
            napi_get_and_clear_last_exception(env, &e);
            napi_reject_deferred(env, c->deferred, e);
        }
    }
    napi_delete_async_work(env, c->work);
    dln_call_free(c);
}

napi_value dln_run(napi_env env, napi_callback_info info, const dln_op *op, int async)
{
    size_t argc = DLN_MAXARGS;
    napi_value argv[DLN_MAXARGS];
    napi_value r = NULL, promise, rname;
    dln_call *c;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
        return NULL;
    if (argc < op->argc) {
        dln_type_error(env, "%s: expected %zu argument(s), got %zu", op->name, op->argc, argc);
        return NULL;
    }
    c = calloc(1, op->size);
    if (!c) {
        napi_throw_error(env, "DATALITH_ENOMEM", "out of memory");
        return NULL;
    }
    c->op = op;
    c->async = async;
    if (op->parse(env, argv, c)) {
        dln_call_free(c);
        return NULL;
    }
    if (!async) {
        dln_exec(c);
        if (c->rc < 0) {
            napi_value e = dln_call_error(env, c);
            if (e)
                napi_throw(env, e);
        } else {
            r = op->result(env, c);
        }
        dln_call_free(c);
        return r;
    }
    if (napi_create_promise(env, &c->deferred, &promise) != napi_ok
        || napi_create_string_utf8(env, op->name, NAPI_AUTO_LENGTH, &rname) != napi_ok
        || napi_create_async_work(env, NULL, rname, dln_work_exec, dln_work_done, c, &c->work)
               != napi_ok) {
        dln_call_free(c);
        return NULL;
    }
    if (napi_queue_async_work(env, c->work) != napi_ok) {
        napi_delete_async_work(env, c->work);
        dln_call_free(c);
        return NULL;
    }
    return promise;
}

/* ---- filter: a JS predicate as a datalith_filter_fn ----
**
** The spec does not offer filter to generated host glue (it takes a
** callback), so it is bound here by hand.  The engine calls the predicate
** during scans of the view, on whatever thread runs the scan:
**
**   the JS thread (a ...Sync call)    -> call the JS function directly
**   a libuv worker (an async call)    -> hand the datom to the JS thread
**                                        through a thread-safe function and
**                                        wait for the answer
**
** The JS function receives the datom as CBOR bytes (lib/filter wrapper
** decodes it and catches exceptions) and returns true to keep the datom.
** The context lives as long as the process: views derived from a filtered
** view keep calling it and the engine does not say when the last one goes.
*/
typedef struct dln_filter {
    napi_env env;
    napi_ref fn;
    napi_threadsafe_function tsfn;
    pthread_t js_thread;
} dln_filter;

typedef struct dln_filter_req {
    const char *datom;
    size_t len;
    int keep;
    int done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} dln_filter_req;

static int dln_filter_call_js(napi_env env, dln_filter *f, const char *datom, size_t len)
{
    napi_handle_scope scope;
    napi_value fn, global, arg, res;
    void *data;
    bool keep = false;
    if (napi_open_handle_scope(env, &scope) != napi_ok)
        return 0;
    if (napi_get_reference_value(env, f->fn, &fn) == napi_ok
        && napi_get_global(env, &global) == napi_ok
        && napi_create_buffer_copy(env, len, len ? datom : "", &data, &arg) == napi_ok
        && napi_call_function(env, global, fn, 1, &arg, &res) == napi_ok) {
        napi_coerce_to_bool(env, res, &res);
        napi_get_value_bool(env, res, &keep);
    } else {
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
            napi_value e;
            napi_get_and_clear_last_exception(env, &e);
        }
    }
    napi_close_handle_scope(env, scope);
    return keep;
}

static void dln_filter_tsfn_call(napi_env env, napi_value js_cb, void *context, void *data)
{
    dln_filter *f = context;
    dln_filter_req *r = data;
    int keep = env ? dln_filter_call_js(env, f, r->datom, r->len) : 0;
    pthread_mutex_lock(&r->mu);
    r->keep = keep;
    r->done = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static int dln_filter_pred(void *ctx, const char *datom, size_t len)
{
    dln_filter *f = ctx;
    dln_filter_req r;
    if (pthread_equal(pthread_self(), f->js_thread))
        return dln_filter_call_js(f->env, f, datom, len);
    r.datom = datom;
    r.len = len;
    r.keep = 0;
    r.done = 0;
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    if (napi_call_threadsafe_function(f->tsfn, &r, napi_tsfn_blocking) == napi_ok) {
        pthread_mutex_lock(&r.mu);
        while (!r.done)
            pthread_cond_wait(&r.cv, &r.mu);
        pthread_mutex_unlock(&r.mu);
    }
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    return r.keep;
}

/* filterSync(db, fn(datomCbor) -> boolean) -> a new Database handle */
static napi_value dln_filter_sync(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2], name;
    napi_valuetype t;
    dln_box *b;
    dln_filter *f;
    datalith_db *out = NULL;
    int rc;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
        dln_type_error(env, "filter: expected (db, predicate function)");
        return NULL;
    }
    if (dln_box_of(env, argv[0], DLN_KIND_DB, "db", &b))
        return NULL;
    if (!b->ptr || b->release_pending) {
        napi_throw_error(env, "DATALITH_EINVAL", "the database snapshot was released");
        return NULL;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        napi_throw_error(env, "DATALITH_ENOMEM", "out of memory");
        return NULL;
    }
    f->env = env;
    f->js_thread = pthread_self();
    napi_create_string_utf8(env, "datalith.filter", NAPI_AUTO_LENGTH, &name);
    if (napi_create_reference(env, argv[1], 1, &f->fn) != napi_ok
        || napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, f,
                                           dln_filter_tsfn_call, &f->tsfn) != napi_ok) {
        free(f);
        return NULL;
    }
    napi_unref_threadsafe_function(env, f->tsfn); /* does not keep the process alive */
    rc = datalith_db_filter(b->ptr, dln_filter_pred, f, DATALITH_FORMAT_CBOR, &out);
    if (rc < 0) {
        const datalith_error *e = datalith_error_last();
        napi_value err = dln_engine_error(env, rc, e->code == rc ? e->message : NULL, 0, 0, -1);
        if (err)
            napi_throw(env, err);
        return NULL;
    }
    return dln_ret_handle(env, DLN_KIND_DB, out);
}

/* ---- listen: a JS function as a datalith_listen_fn ----
**
** Hand-bound like filter (the spec offers no generated glue for
** callbacks).  The engine calls the listener on the connection's watcher
** thread; the report (CBOR) is copied and queued to the JS thread through a
** thread-safe function, without waiting, so the watcher never blocks on JS:
**
**   watcher thread: dln_listen_cb ──copy──▶ tsfn queue ──▶ JS thread:
**                                   dln_listen_tsfn_call ──▶ fn(status, bytes, msg)
**
** unlistenSync first removes the engine's listener (after which the engine
** never calls dln_listen_cb with this context again), then marks the
** listener inactive (reports still queued are dropped) and releases the
** thread-safe function; its finalizer frees the context.  While a listener
** is active its thread-safe function keeps the event loop alive, like an
** open socket; unlisten (or releasing the connection) ends that. */
typedef struct dln_listener {
    napi_threadsafe_function tsfn;
    int active;        /* JS thread only */
    int refs;          /* the JS external and the tsfn; JS thread only */
} dln_listener;

typedef struct dln_report {
    int status;
    char *msg;         /* engine message when status != 0 */
    size_t len;
    char data[];
} dln_report;

static void dln_listen_cb(void *ctx, int status, const char *report, size_t len)
{
    dln_listener *l = ctx;
    dln_report *r = malloc(sizeof *r + (status ? 0 : len) + 1);
    if (!r)
        return;
    r->status = status;
    r->msg = NULL;
    r->len = status ? 0 : len;
    if (!status && len)
        memcpy(r->data, report, len);
    if (status) {
        const datalith_error *e = datalith_error_last();
        size_t n = e && e->message ? strlen(e->message) : 0;
        if (n && (r->msg = malloc(n + 1)) != NULL)
            memcpy(r->msg, e->message, n + 1);
    }
    if (napi_call_threadsafe_function(l->tsfn, r, napi_tsfn_nonblocking) != napi_ok) {
        free(r->msg);
        free(r);
    }
}

static void dln_listen_tsfn_call(napi_env env, napi_value js_cb, void *context, void *data)
{
    dln_listener *l = context;
    dln_report *r = data;
    if (env && l->active) {
        napi_handle_scope scope;
        napi_value args[3], global, res;
        void *p;
        if (napi_open_handle_scope(env, &scope) == napi_ok) {
            napi_create_int32(env, r->status, &args[0]);
            napi_create_buffer_copy(env, r->len, r->len ? r->data : "", &p, &args[1]);
            if (r->msg)
                napi_create_string_utf8(env, r->msg, NAPI_AUTO_LENGTH, &args[2]);
            else
                napi_get_undefined(env, &args[2]);
            napi_get_global(env, &global);
            if (napi_call_function(env, global, js_cb, 3, args, &res) != napi_ok) {
                bool pending = false;
                napi_is_exception_pending(env, &pending);
                if (pending) { /* the JS wrapper catches; this is a last resort */
                    napi_value e;
                    napi_get_and_clear_last_exception(env, &e);
                }
            }
            napi_close_handle_scope(env, scope);
        }
    }
    free(r->msg);
    free(r);
}

/* The tsfn's and the external's finalizer: the last one frees. */
static void dln_listen_finalize(napi_env env, void *data, void *hint)
{
    dln_listener *l = data;
    (void)env;
    (void)hint;
    if (--l->refs == 0)
        free(l);
}

static void dln_listener_close(dln_listener *l)
{
    if (!l->active)
        return;
    l->active = 0;
    napi_release_threadsafe_function(l->tsfn, napi_tsfn_release);
}

static napi_value dln_throw_last(napi_env env, int rc)
{
    const datalith_error *e = datalith_error_last();
    napi_value err = dln_engine_error(env, rc, e->code == rc ? e->message : NULL, 0, 0, -1);
    if (err)
        napi_throw(env, err);
    return NULL;
}

/* listenSync(conn, keyCbor | null, fn(status, reportCbor, msg)) -> [keyCbor, listener] */
static napi_value dln_listen_sync(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3], name, arr, kv, lv;
    napi_valuetype t;
    dln_box *b;
    dln_buf key = {NULL, 0};
    dln_listener *l;
    char *out = NULL;
    size_t out_len = 0;
    int rc;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 3 || napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function) {
        dln_type_error(env, "listen: expected (conn, key, callback function)");
        return NULL;
    }
    if (dln_box_of(env, argv[0], DLN_KIND_CONN, "conn", &b))
        return NULL;
    if (!b->ptr || b->release_pending) {
        napi_throw_error(env, "DATALITH_EINVAL", "the connection was released");
        return NULL;
    }
    if (napi_typeof(env, argv[1], &t) == napi_ok && t != napi_null && t != napi_undefined
        && dln_arg_bytes(env, argv[1], "key", &key))
        return NULL;
    l = calloc(1, sizeof *l);
    if (!l) {
        dln_buf_free(&key);
        napi_throw_error(env, "DATALITH_ENOMEM", "out of memory");
        return NULL;
    }
    napi_create_string_utf8(env, "datalith.listen", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, l, dln_listen_finalize,
                                        l, dln_listen_tsfn_call, &l->tsfn) != napi_ok) {
        free(l);
        dln_buf_free(&key);
        return NULL;
    }
    l->active = 1;
    l->refs = 1; /* the tsfn's */
    rc = datalith_listen(b->ptr, key.p, key.n, DATALITH_FORMAT_CBOR, dln_listen_cb, l, &out,
                         &out_len);
    dln_buf_free(&key);
    if (rc < 0) {
        dln_listener_close(l);
        return dln_throw_last(env, rc);
    }
    if (napi_create_array_with_length(env, 2, &arr) != napi_ok
        || napi_create_external(env, l, dln_listen_finalize, NULL, &lv) != napi_ok) {
        datalith_free(out);
        return NULL;
    }
    l->refs++; /* the external's */
    kv = dln_ret_bytes(env, &out, out_len);
    napi_set_element(env, arr, 0, kv);
    napi_set_element(env, arr, 1, lv);
    return arr;
}

/* unlistenSync(conn | null, keyCbor, listener): remove the engine's
** listener (unless the connection is gone), then stop the JS side. */
static napi_value dln_unlisten_sync(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3];
    napi_valuetype t;
    dln_box *b = NULL;
    dln_buf key = {NULL, 0};
    dln_listener *l = NULL;
    int rc = 0;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 3 || napi_typeof(env, argv[2], &t) != napi_ok || t != napi_external
        || napi_get_value_external(env, argv[2], (void **)&l) != napi_ok || !l) {
        dln_type_error(env, "unlisten: expected (conn, key, listener)");
        return NULL;
    }
    if (napi_typeof(env, argv[0], &t) == napi_ok && t != napi_null
        && dln_box_of(env, argv[0], DLN_KIND_CONN, "conn", &b))
        return NULL;
    if (dln_arg_bytes(env, argv[1], "key", &key))
        return NULL;
    if (b && b->ptr && !b->release_pending)
        rc = datalith_unlisten(b->ptr, key.p, key.n, DATALITH_FORMAT_CBOR);
    dln_buf_free(&key);
    if (rc < 0 && rc != DATALITH_ENOTFOUND)
        return dln_throw_last(env, rc);
    dln_listener_close(l);
    return dln_ret_undefined(env);
}

/* ---- module ---- */

static napi_value dln_status_name(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    int64_t code;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 1 || dln_arg_int(env, argv[0], "code", &code))
        return NULL;
    return dln_ret_cstring(env, datalith_status_name((int)code));
}

/* isLive(handle): false once the handle was released. */
static napi_value dln_is_live(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    dln_box *b;
    int kind;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 1)
        return dln_ret_bool(env, 0);
    for (kind = 0; kind < DLN_NKINDS; kind++) {
        bool ok = false;
        napi_valuetype t;
        napi_value v = argv[0];
        napi_typeof(env, v, &t);
        if (t == napi_object) {
            bool has = false;
            napi_has_named_property(env, v, "_h", &has);
            if (has)
                napi_get_named_property(env, v, "_h", &v);
            napi_typeof(env, v, &t);
        }
        if (t == napi_external && napi_check_object_type_tag(env, v, &dln_tags[kind], &ok) == napi_ok
            && ok) {
            napi_get_value_external(env, v, (void **)&b);
            return dln_ret_bool(env, b->ptr != NULL && !b->release_pending);
        }
    }
    return dln_ret_bool(env, 0);
}

static napi_value dln_init(napi_env env, napi_value exports)
{
    const dln_entry *e;
    napi_value fn;
    for (e = dln_entries; e->name; e++) {
        if (napi_create_function(env, e->name, NAPI_AUTO_LENGTH, e->fn, NULL, &fn) != napi_ok
            || napi_set_named_property(env, exports, e->name, fn) != napi_ok)
            return NULL;
    }
    napi_create_function(env, "statusName", NAPI_AUTO_LENGTH, dln_status_name, NULL, &fn);
    napi_set_named_property(env, exports, "statusName", fn);
    napi_create_function(env, "filterSync", NAPI_AUTO_LENGTH, dln_filter_sync, NULL, &fn);
    napi_set_named_property(env, exports, "filterSync", fn);
    napi_create_function(env, "listenSync", NAPI_AUTO_LENGTH, dln_listen_sync, NULL, &fn);
    napi_set_named_property(env, exports, "listenSync", fn);
    napi_create_function(env, "unlistenSync", NAPI_AUTO_LENGTH, dln_unlisten_sync, NULL, &fn);
    napi_set_named_property(env, exports, "unlistenSync", fn);
    napi_create_function(env, "isLive", NAPI_AUTO_LENGTH, dln_is_live, NULL, &fn);
    napi_set_named_property(env, exports, "isLive", fn);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, dln_init)
