/*
** pod.c — `datalith-pod`, Datalith as a Babashka pod.
**
** The client (bb, or any pods loader) starts this program and exchanges
** bencoded dictionaries over stdin/stdout (bencode.h):
**
**   client                                 pod
**   {"op" "describe"}                 ──▶
**                                     ◀──  {"format" "edn" "namespaces" [{"name" "datalith.pod"
**                                           "vars" [{"name" "transact" "meta" "{:doc ...}"} ...
**                                                   {"name" "with-db" "code" "(defmacro ...)"}]}]
**                                           "ops" {"shutdown" {}}}
**   {"op" "invoke" "id" "7"
**    "var" "datalith.pod/transact"
**    "args" "[\"conn:1\" [{:name \"A\"}]]"} ──▶
**                                     ◀──  {"id" "7" "value" "{:tempids ...}" "status" ["done"]}
**                                     or   {"id" "7" "ex-message" "..." "ex-data" "{:code :etx ...}"
**                                           "status" ["done" "error"]}
**   {"op" "shutdown"}                 ──▶  (releases every handle, exits 0)
**
** The vars and their calls are generated from spec/api.edn (vars_gen.c).
** Connections and snapshots never leave the pod: the client holds string
** ids "conn:<n>" and "db:<n>" naming entries of a table here; ids are never
** reused, so a released id stays invalid.  The spec's :release ops
** (release, release-db) drop the entry and the handle.  For an op taking
** :handles/db (q), the arguments after the fixed ones that are db ids are
** the databases, and the rest are gathered into the inputs vector.
**
** Malformed bencode cannot be resynchronised, so it ends the pod with a
** message on stderr and exit status 1; every other bad request (unknown op
** or var, args that are not an EDN vector, wrong arity, unknown handle) gets
** an error reply and the pod goes on.
*/
#include "datalith.h"
#include "bencode.h"
#include "vars_gen.h"

#include "../../core/util/arena.h"
#include "../../core/util/buf.h"
#include "../../core/util/error.h"
#include "../../core/value/value.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ handles */

typedef struct pod_handle {
    datalith_conn *conn;  /* exactly one of conn and db is set while live */
    datalith_db *db;
} pod_handle;

static pod_handle *table;
static size_t table_len, table_cap;

/* Register a handle; its id is its index + 1.  On OOM the handle is
** released and 0 returned. */
static size_t handle_add(datalith_conn *conn, datalith_db *db) {
    if (table_len == table_cap) {
        size_t nc = table_cap ? table_cap * 2 : 64;
        pod_handle *p = realloc(table, nc * sizeof *p);
        if (!p) {
            datalith_conn_release(conn);
            datalith_db_release(db);
            return 0;
        }
        table = p, table_cap = nc;
    }
    table[table_len].conn = conn;
    table[table_len].db = db;
    return ++table_len;
}

/* The slot an id string names, or NULL (not an id, unknown or released). */
static pod_handle *handle_find(const edn_value *v, int want_conn) {
    const char *prefix = want_conn ? "conn:" : "db:";
    size_t pl = strlen(prefix);
    if (v->type != EDN_STRING || v->n <= pl || v->n > pl + 19 || memcmp(v->u.s, prefix, pl))
        return NULL;
    size_t id = 0;
    for (size_t i = pl; i < v->n; i++) {
        if (v->u.s[i] < '0' || v->u.s[i] > '9') return NULL;
        id = id * 10 + (size_t)(v->u.s[i] - '0');
    }
    if (id == 0 || id > table_len) return NULL;
    pod_handle *h = &table[id - 1];
    if (want_conn ? !h->conn : !h->db) return NULL;
    return h;
}

static void release_all(void) {
    for (size_t i = 0; i < table_len; i++) {
        datalith_db_release(table[i].db);
        datalith_conn_release(table[i].conn);
    }
    free(table);
    table = NULL;
    table_len = table_cap = 0;
}

/* ------------------------------------------------------------ replies */

/* Listener threads write reports too: one message at a time. */
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static int write_reply(bc_out *o) {
    if (o->oom) {
        fputs("datalith-pod: out of memory encoding a reply\n", stderr);
        free(o->data);
        return -1;
    }
    pthread_mutex_lock(&out_mu);
    size_t w = fwrite(o->data, 1, o->len, stdout);
    int bad = w != o->len || fflush(stdout);
    pthread_mutex_unlock(&out_mu);
    free(o->data);
    return bad ? -1 : 0;
}

static void put_id(bc_out *o, const bc_value *id) {
    if (id && id->type == 's') {
        bc_put_str(o, "id");
        bc_put_bytes(o, id->s, id->n);
    }
}

static int reply_value(const bc_value *id, const char *edn, size_t n) {
    bc_out o = {0};
    bc_begin_dict(&o);
    put_id(&o, id);
    bc_put_str(&o, "status");
    bc_begin_list(&o);
    bc_put_str(&o, "done");
    bc_end(&o);
    bc_put_str(&o, "value");
    bc_put_bytes(&o, edn, n);
    bc_end(&o);
    return write_reply(&o);
}

/* An EDN string literal for text, appended to b. */
static void edn_quote(dl_buf *b, const char *s, size_t n) {
    dl_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            dl_buf_putc(b, '\\');
            dl_buf_putc(b, (char)c);
        } else if (c == '\n') {
            dl_buf_puts(b, "\\n");
        } else if (c == '\t') {
            dl_buf_puts(b, "\\t");
        } else if (c == '\r') {
            dl_buf_puts(b, "\\r");
        } else if (c < 0x20) {
            dl_buf_printf(b, "\\u%04x", c);
        } else {
            dl_buf_putc(b, (char)c);
        }
    }
    dl_buf_putc(b, '"');
}

/* The status's keyword name: DATALITH_EPARSE -> eparse. */
static void status_kw(dl_buf *b, int code) {
    const char *s = datalith_status_name(code);
    const char *p = s && !strncmp(s, "DATALITH_", 9) ? s + 9 : "einternal";
    dl_buf_putc(b, ':');
    for (; *p; p++) dl_buf_putc(b, (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
}

/* An error reply: ex-message, and ex-data {:code :e.. :status n [:line :column]
** [:var "..."]}. */
static int reply_error(const bc_value *id, int code, const char *message, long line,
                       long column, const char *var) {
    dl_buf d = DL_BUF_INIT;
    dl_buf_puts(&d, "{:code ");
    status_kw(&d, code);
    dl_buf_printf(&d, " :status %d", code);
    if (line > 0) dl_buf_printf(&d, " :line %ld :column %ld", line, column);
    if (var) {
        dl_buf_puts(&d, " :var ");
        edn_quote(&d, var, strlen(var));
    }
    dl_buf_putc(&d, '}');
    bc_out o = {0};
    bc_begin_dict(&o); /* keys in bencode's sorted order */
    bc_put_str(&o, "ex-data");
    bc_put_bytes(&o, d.data ? d.data : "{}", d.data ? d.len : 2);
    bc_put_str(&o, "ex-message");
    bc_put_str(&o, message && *message ? message : datalith_status_name(code));
    put_id(&o, id);
    bc_put_str(&o, "status");
    bc_begin_list(&o);
    bc_put_str(&o, "done");
    bc_put_str(&o, "error");
    bc_end(&o);
    bc_end(&o);
    dl_buf_free(&d);
    return write_reply(&o);
}

static int reply_engine_error(const bc_value *id, int rc, const char *var) {
    const datalith_error *e = datalith_error_last();
    return reply_error(id, rc, e->message, e->code == rc ? e->line : 0,
                       e->code == rc ? e->column : 0, var);
}

/* ------------------------------------------------------------ listeners
**
** listen is asynchronous in the pod protocol (babashka/pods README,
** "Async"): the client-side `listen` (code below) invokes `listen*` with
** handlers, and the pod answers that invoke id once per commit with a
** message {"id" id "value" "<report>"} without "done", from the engine's
** watcher thread; `unlisten` (or releasing the connection, or shutdown)
** ends it with {"id" id "status" ["done"]}.  A watcher error is sent as
** {"id" id "err" "..."} (the client prints it). */

typedef struct pod_listener {
    struct pod_listener *next;
    char *id;               /* the listen* invoke id */
    size_t idn;
    datalith_conn *conn;
    char *key;              /* canonical EDN of the key */
} pod_listener;

static pod_listener *listeners; /* main thread only */

static void listener_cb(void *ctx, int status, const char *report, size_t len) {
    pod_listener *l = ctx;
    bc_out o = {0};
    bc_begin_dict(&o);
    if (status) {
        const datalith_error *e = datalith_error_last();
        char text[512];
        snprintf(text, sizeof text, "datalith listener: %s\n",
                 e && e->message ? e->message : datalith_status_name(status));
        bc_put_str(&o, "err");
        bc_put_str(&o, text);
    }
    bc_put_str(&o, "id");
    bc_put_bytes(&o, l->id, l->idn);
    if (!status) {
        bc_put_str(&o, "value");
        bc_put_bytes(&o, report, len);
    }
    bc_end(&o);
    write_reply(&o); /* a broken stdout ends the main loop anyway */
}

/* Remove listener *pp from the engine and the list, and end its invoke. */
static int listener_drop(pod_listener **pp) {
    pod_listener *l = *pp;
    bc_out o = {0};
    *pp = l->next;
    datalith_unlisten(l->conn, l->key, strlen(l->key), DATALITH_FORMAT_EDN);
    bc_begin_dict(&o);
    bc_put_str(&o, "id");
    bc_put_bytes(&o, l->id, l->idn);
    bc_put_str(&o, "status");
    bc_begin_list(&o);
    bc_put_str(&o, "done");
    bc_end(&o);
    bc_end(&o);
    free(l->id);
    free(l->key);
    free(l);
    return write_reply(&o);
}

/* Drop every listener of conn (NULL: all). */
static int listeners_drop_conn(datalith_conn *conn) {
    int rc = 0;
    for (pod_listener **pp = &listeners; *pp;) {
        if (!conn || (*pp)->conn == conn) rc |= listener_drop(pp);
        else pp = &(*pp)->next;
    }
    return rc;
}

/* listen* [conn key]: start delivering; no reply until unlisten. */
static int op_listen(const bc_value *id, const char *var, const edn_value *args) {
    char text[200];
    if (!id || id->type != 's')
        return reply_error(id, DATALITH_EINVAL, "listen*: the invoke needs an id", 0, 0, var);
    if (args->n != 2) {
        snprintf(text, sizeof text, "%s: wrong number of args (%u); expected 2: [conn key]", var,
                 (unsigned)args->n);
        return reply_error(id, DATALITH_EINVAL, text, 0, 0, var);
    }
    pod_handle *h = handle_find(&args->u.items[0], 1);
    if (!h) {
        snprintf(text, sizeof text, "%s: argument conn must be a live connection id (\"conn:<n>\")",
                 var);
        return reply_error(id, DATALITH_EINVAL, text, 0, 0, var);
    }
    dl_buf k = DL_BUF_INIT;
    pod_listener *l = calloc(1, sizeof *l);
    if (!l || edn_write(&k, &args->u.items[1]) || !(l->id = malloc(id->n + 1))) {
        free(l);
        dl_buf_free(&k);
        return reply_error(id, DATALITH_ENOMEM, "out of memory", 0, 0, var);
    }
    memcpy(l->id, id->s, id->n);
    l->idn = id->n;
    l->conn = h->conn;
    char *out = NULL;
    size_t on = 0;
    int rc = datalith_listen(h->conn, k.data, k.len, DATALITH_FORMAT_EDN, listener_cb, l, &out,
                             &on);
    dl_buf_free(&k);
    if (rc) {
        free(l->id);
        free(l);
        return reply_engine_error(id, rc, var);
    }
    l->key = out; /* NUL-terminated canonical EDN */
    l->next = listeners;
    listeners = l;
    return 0;
}

/* unlisten [conn key] -> nil */
static int op_unlisten(const bc_value *id, const char *var, const edn_value *args) {
    char text[200];
    if (args->n != 2) {
        snprintf(text, sizeof text, "%s: wrong number of args (%u); expected 2: [conn key]", var,
                 (unsigned)args->n);
        return reply_error(id, DATALITH_EINVAL, text, 0, 0, var);
    }
    pod_handle *h = handle_find(&args->u.items[0], 1);
    if (!h) {
        snprintf(text, sizeof text, "%s: argument conn must be a live connection id (\"conn:<n>\")",
                 var);
        return reply_error(id, DATALITH_EINVAL, text, 0, 0, var);
    }
    dl_buf k = DL_BUF_INIT;
    if (edn_write(&k, &args->u.items[1]))
        return reply_error(id, DATALITH_ENOMEM, "out of memory", 0, 0, var);
    for (pod_listener **pp = &listeners; *pp; pp = &(*pp)->next) {
        if ((*pp)->conn == h->conn && k.data && !strcmp((*pp)->key, k.data)) {
            dl_buf_free(&k);
            if (listener_drop(pp)) return -1;
            return reply_value(id, "nil", 3);
        }
    }
    snprintf(text, sizeof text, "unlisten: no listener with key %.120s", k.data ? k.data : "");
    dl_buf_free(&k);
    return reply_error(id, DATALITH_ENOTFOUND, text, 0, 0, var);
}

static const char listen_meta[] =
    "{:doc \"Call back with the transaction report of every commit of the database (this pod's "
    "transactions and other processes'), on the pod's reader thread; returns the key.\" "
    ":arglists ([conn callback] [conn key callback])}";
static const char listen_star_meta[] =
    "{:doc \"The asynchronous half of listen: answers once per commit until unlisten.\" "
    ":arglists ([conn key])}";
static const char unlisten_meta[] =
    "{:doc \"Remove the listener key of conn.\" :arglists ([conn key])}";
static const char listen_code[] =
    "(defn listen\n"
    "  \"(listen conn callback) / (listen conn key callback): call back with each\n"
    "  transaction report; returns the key for unlisten.\"\n"
    "  ([conn callback] (listen conn (keyword \"datalith.listener\" (str (random-uuid))) callback))\n"
    "  ([conn key callback]\n"
    "   (babashka.pods/invoke \"datalith.pod\" 'datalith.pod/listen* [conn key]\n"
    "     {:handlers {:success callback\n"
    "                 :error (fn [{:keys [ex-message]}]\n"
    "                          (binding [*out* *err*] (println \"datalith listen:\" ex-message)))}})\n"
    "   key))\n";

/* ------------------------------------------------------------ describe */

static int op_describe(const bc_value *id) {
    bc_out o = {0};
    bc_begin_dict(&o);
    bc_put_str(&o, "format");
    bc_put_str(&o, "edn");
    put_id(&o, id);
    bc_put_str(&o, "namespaces");
    bc_begin_list(&o);
    bc_begin_dict(&o);
    bc_put_str(&o, "name");
    bc_put_str(&o, POD_NAMESPACE);
    bc_put_str(&o, "vars");
    bc_begin_list(&o);
    for (size_t i = 0; i < pod_op_count; i++) {
        bc_begin_dict(&o);
        bc_put_str(&o, "meta");
        bc_put_str(&o, pod_var_meta[i]);
        bc_put_str(&o, "name");
        bc_put_str(&o, pod_ops[i].name);
        bc_end(&o);
    }
    bc_begin_dict(&o);
    bc_put_str(&o, "code");
    bc_put_str(&o, pod_client_code);
    bc_put_str(&o, "name");
    bc_put_str(&o, "with-db");
    bc_end(&o);
    bc_begin_dict(&o);
    bc_put_str(&o, "meta");
    bc_put_str(&o, listen_star_meta);
    bc_put_str(&o, "name");
    bc_put_str(&o, "listen*");
    bc_end(&o);
    bc_begin_dict(&o);
    bc_put_str(&o, "meta");
    bc_put_str(&o, unlisten_meta);
    bc_put_str(&o, "name");
    bc_put_str(&o, "unlisten");
    bc_end(&o);
    bc_begin_dict(&o);
    bc_put_str(&o, "code");
    bc_put_str(&o, listen_code);
    bc_put_str(&o, "meta");
    bc_put_str(&o, listen_meta);
    bc_put_str(&o, "name");
    bc_put_str(&o, "listen");
    bc_end(&o);
    bc_end(&o);
    bc_end(&o);
    bc_end(&o);
    bc_put_str(&o, "ops");
    bc_begin_dict(&o);
    bc_put_str(&o, "shutdown");
    bc_begin_dict(&o);
    bc_end(&o);
    bc_end(&o);
    /* The client reads values with these tag readers: a datom becomes its
    ** vector [e a v tx added], a snapshot in a transaction report its map
    ** {:commit-id :max-eid :max-tx} (the shape Datahike's pod returns). */
    bc_put_str(&o, "readers");
    bc_begin_dict(&o);
    bc_put_str(&o, "datahike/DB");
    bc_put_str(&o, "clojure.core/identity");
    bc_put_str(&o, "datahike/Datom");
    bc_put_str(&o, "clojure.core/identity");
    bc_end(&o);
    bc_end(&o);
    return write_reply(&o);
}

/* ------------------------------------------------------------ invoke */

#define MAX_ARGS 16

typedef struct call_state {
    dl_arena arena;
    dl_buf text[MAX_ARGS];     /* printed EDN per value argument */
    datalith_db *dbs[256];
} call_state;

static int print_edn(dl_buf *b, const edn_value *v) {
    return edn_write(b, v);
}

/* Fill args[k] from an EDN argument; returns 0 or writes an error reply and
** returns 1. */
static int bind_arg(const bc_value *id, const char *var, const pod_argdef *d, const edn_value *v,
                    dl_buf *text, pod_arg *a) {
    char msg[256];
    switch (d->kind) {
    case POD_K_HANDLE_CONN:
    case POD_K_HANDLE_DB: {
        int conn = d->kind == POD_K_HANDLE_CONN;
        pod_handle *h = handle_find(v, conn);
        if (!h) {
            dl_buf shown = DL_BUF_INIT;
            print_edn(&shown, v);
            snprintf(msg, sizeof msg, "%s: argument %s must be a live %s id (\"%s<n>\"), got %.80s",
                     var, d->name, conn ? "connection" : "db", conn ? "conn:" : "db:",
                     shown.data ? shown.data : "?");
            dl_buf_free(&shown);
            reply_error(id, DATALITH_EINVAL, msg, 0, 0, var);
            return 1;
        }
        if (conn) a->conn = h->conn; else a->db = h->db;
        return 0;
    }
    case POD_K_VALUE:
        if (print_edn(text, v)) {
            reply_engine_error(id, DATALITH_ENOMEM, var);
            return 1;
        }
        a->s = text->data ? text->data : "";
        a->n = text->len;
        return 0;
    case POD_K_FORMAT: {
        const char *name = v->type == EDN_KEYWORD ? v->u.sym->full
                           : v->type == EDN_STRING ? v->u.s : "";
        if (!strcmp(name, "edn")) a->i = DATALITH_FORMAT_EDN;
        else if (!strcmp(name, "json")) a->i = DATALITH_FORMAT_JSON;
        else if (!strcmp(name, "cbor")) a->i = DATALITH_FORMAT_CBOR;
        else {
            snprintf(msg, sizeof msg, "%s: argument %s must be :edn, :json or :cbor", var,
                     d->name);
            reply_error(id, DATALITH_EINVAL, msg, 0, 0, var);
            return 1;
        }
        return 0;
    }
    case POD_K_BOOL:
    case POD_K_INT:
        if (d->kind == POD_K_BOOL && v->type == EDN_BOOL) {
            a->i = v->u.b;
            return 0;
        }
        if (v->type != EDN_INT) {
            snprintf(msg, sizeof msg, "%s: argument %s must be %s", var, d->name,
                     d->kind == POD_K_BOOL ? "true or false" : "an integer");
            reply_error(id, DATALITH_ETYPE, msg, 0, 0, var);
            return 1;
        }
        a->i = v->u.i;
        return 0;
    default: /* cstring, string, bytes */
        if (v->type != EDN_STRING) {
            snprintf(msg, sizeof msg, "%s: argument %s must be a string", var, d->name);
            reply_error(id, DATALITH_ETYPE, msg, 0, 0, var);
            return 1;
        }
        a->s = v->u.s;
        a->n = v->n;
        return 0;
    }
}

static int send_result(const bc_value *id, const pod_op *op, const char *var, pod_ret *r) {
    dl_buf b = DL_BUF_INIT;
    int rc = 0;
    switch (op->ret) {
    case POD_K_VALUE:
        rc = reply_value(id, r->s, r->n);
        datalith_free(r->s);
        return rc;
    case POD_K_STRING:
    case POD_K_BYTES:
        edn_quote(&b, r->s, r->n);
        datalith_free(r->s);
        break;
    case POD_K_CSTRING:
        edn_quote(&b, r->cs ? r->cs : "", r->cs ? strlen(r->cs) : 0);
        break;
    case POD_K_BOOL:
        dl_buf_puts(&b, r->i ? "true" : "false");
        break;
    case POD_K_INT:
        dl_buf_printf(&b, "%lld", (long long)r->i);
        break;
    case POD_K_HANDLE_CONN:
    case POD_K_HANDLE_DB: {
        int conn = op->ret == POD_K_HANDLE_CONN;
        size_t hid = handle_add(conn ? r->conn : NULL, conn ? NULL : r->db);
        if (!hid) return reply_error(id, DATALITH_ENOMEM, "out of memory", 0, 0, var);
        dl_buf_printf(&b, "\"%s%zu\"", conn ? "conn:" : "db:", hid);
        break;
    }
    default:
        dl_buf_puts(&b, "nil");
        break;
    }
    if (!b.data) return reply_error(id, DATALITH_ENOMEM, "out of memory", 0, 0, var);
    rc = reply_value(id, b.data, b.len);
    dl_buf_free(&b);
    return rc;
}

static int op_invoke(const bc_value *msg, const bc_value *id) {
    const char *var = bc_str(bc_get(msg, "var"));
    const bc_value *argsv = bc_get(msg, "args");
    char text[320];
    if (!var) return reply_error(id, DATALITH_EINVAL, "invoke: missing \"var\"", 0, 0, NULL);
    size_t nl = strlen(POD_NAMESPACE);
    const char *name = !strncmp(var, POD_NAMESPACE, nl) && var[nl] == '/' ? var + nl + 1 : NULL;
    const pod_op *op = NULL;
    for (size_t i = 0; name && i < pod_op_count; i++)
        if (!strcmp(pod_ops[i].name, name)) op = &pod_ops[i];
    int hand = name && (!strcmp(name, "listen*") || !strcmp(name, "unlisten"));
    if (!op && !hand) {
        snprintf(text, sizeof text, "invoke: unknown var %.200s (the pod's namespace is %s)", var,
                 POD_NAMESPACE);
        return reply_error(id, DATALITH_EINVAL, text, 0, 0, var);
    }
    const char *args_text = argsv && argsv->type == 's' ? argsv->s : "[]";
    size_t args_len = argsv && argsv->type == 's' ? argsv->n : 2;

    call_state *st = calloc(1, sizeof *st);
    if (!st) return reply_error(id, DATALITH_ENOMEM, "out of memory", 0, 0, var);
    dl_arena_init(&st->arena, (size_t)256 << 20);
    int rc = 0;
    edn_value args;
    if (edn_read(&st->arena, args_text, args_len, NULL, &args)) {
        snprintf(text, sizeof text, "%s: args: %s", var, datalith_error_last()->message);
        const datalith_error *e = datalith_error_last();
        rc = reply_error(id, e->code, text, e->line, e->column, var);
        goto done;
    }
    if (!edn_is_seq(&args)) {
        snprintf(text, sizeof text, "%s: args must be an EDN vector", var);
        rc = reply_error(id, DATALITH_EINVAL, text, 0, 0, var);
        goto done;
    }
    if (!op) { /* hand-written vars */
        rc = !strcmp(name, "listen*") ? op_listen(id, var, &args) : op_unlisten(id, var, &args);
        goto done;
    }
    pod_arg a[MAX_ARGS];
    memset(a, 0, sizeof a);
    size_t given = args.n, next = 0;
    int dbs_at = -1;
    for (int k = 0; k < op->nargs; k++)
        if (op->args[k].kind == POD_K_HANDLES_DB) dbs_at = k;
    /* Datahike's map form (q {:query Q :args [db ...]}) is spread into
    ** (q Q db ...). */
    const edn_value *mq = given == 1 && dbs_at == 1 ? edn_map_getk(&args.u.items[0], "query")
                                                    : NULL;
    if (mq) {
        const edn_value *margs = edn_map_getk(&args.u.items[0], "args");
        size_t na = margs && edn_is_seq(margs) ? margs->n : 0;
        edn_value *spread = dl_arena_alloc(&st->arena, (na + 1) * sizeof *spread);
        if (!spread) {
            rc = reply_error(id, DATALITH_ENOMEM, "out of memory", 0, 0, var);
            goto done;
        }
        spread[0] = *mq;
        for (size_t i = 0; i < na; i++) spread[i + 1] = margs->u.items[i];
        args.u.items = spread;
        args.n = (uint32_t)(na + 1);
        given = na + 1;
    }
    /* Arity: exactly nargs, or, with :handles/db, fixed args + >= 1 db. */
    int arity_ok = dbs_at < 0 ? given == (size_t)op->nargs : given >= (size_t)dbs_at + 1;
    if (!arity_ok || op->nargs > MAX_ARGS) {
        snprintf(text, sizeof text, "%s: wrong number of args (%zu); expected %s%d: %s", var,
                 given, dbs_at < 0 ? "" : "at least ", dbs_at < 0 ? op->nargs : dbs_at + 1,
                 pod_var_meta[op - pod_ops]);
        rc = reply_error(id, DATALITH_EINVAL, text, 0, 0, var);
        goto done;
    }
    for (int k = 0; k < op->nargs; k++) {
        const pod_argdef *d = &op->args[k];
        if (d->kind == POD_K_HANDLES_DB) {
            size_t nd = 0;
            while (next < given && nd < 256) {
                pod_handle *h = handle_find(&args.u.items[next], 0);
                if (!h) break;
                st->dbs[nd++] = h->db;
                next++;
            }
            if (!nd) {
                snprintf(text, sizeof text, "%s: argument %s must be one or more db ids", var,
                         d->name);
                rc = reply_error(id, DATALITH_EINVAL, text, 0, 0, var);
                goto done;
            }
            a[k].dbs = st->dbs;
            a[k].ndbs = nd;
            continue;
        }
        if (k > 0 && op->args[k - 1].kind == POD_K_HANDLES_DB && d->kind == POD_K_VALUE &&
            k == op->nargs - 1) {
            /* The remaining args are the inputs vector. */
            edn_value v;
            if (edn_vector(&st->arena, args.u.items + next, given - next, &v) ||
                print_edn(&st->text[k], &v)) {
                rc = reply_engine_error(id, DATALITH_ENOMEM, var);
                goto done;
            }
            a[k].s = st->text[k].data;
            a[k].n = st->text[k].len;
            next = given;
            continue;
        }
        if (bind_arg(id, var, d, &args.u.items[next++], &st->text[k], &a[k])) goto done;
    }
    /* A :release op takes the handle out of the table before releasing it. */
    pod_handle *taken = NULL;
    if (!strcmp(op->op, POD_RELEASE_CONN) || !strcmp(op->op, POD_RELEASE_DB))
        taken = handle_find(&args.u.items[0], !strcmp(op->op, POD_RELEASE_CONN));
    if (taken && taken->conn && listeners_drop_conn(taken->conn)) {
        rc = -1;
        goto done;
    }
    pod_ret r;
    memset(&r, 0, sizeof r);
    int crc = op->call(a, DATALITH_FORMAT_EDN, &r);
    if (taken) taken->conn = NULL, taken->db = NULL;
    rc = crc ? reply_engine_error(id, crc, var) : send_result(id, op, var, &r);
done:
    for (int k = 0; k < MAX_ARGS; k++) dl_buf_free(&st->text[k]);
    dl_arena_free(&st->arena);
    free(st);
    return rc;
}

/* ------------------------------------------------------------ main loop */

static int next_stdin(void *ctx) {
    (void)ctx;
    return getchar();
}

int main(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
        printf("datalith-pod %s\n", datalith_version());
        return 0;
    }
    if (argc > 1) {
        printf("usage: datalith-pod\n\n"
               "A Babashka pod: speaks bencode on stdin/stdout (describe, invoke, shutdown).\n"
               "Load it from a bb script with (pods/load-pod \"datalith-pod\"); its namespace\n"
               "is %s.\n", POD_NAMESPACE);
        return !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ? 0 : 2;
    }
    bc_reader rd = {next_stdin, NULL, 0, {0}};
    int status = 0;
    for (;;) {
        bc_value msg;
        int rc = bc_read(&rd, &msg);
        if (rc == BC_EOF) break;
        if (rc == BC_ENOMEM) {
            fputs("datalith-pod: out of memory reading a message\n", stderr);
            status = 1;
            break;
        }
        if (rc) {
            fprintf(stderr, "datalith-pod: malformed bencode %s; stopping\n", rd.error);
            status = 1;
            break;
        }
        const bc_value *id = bc_get(&msg, "id");
        const char *op = bc_str(bc_get(&msg, "op"));
        int wrc = 0, stop = 0;
        if (msg.type != 'd') {
            wrc = reply_error(NULL, DATALITH_EINVAL, "a message must be a bencode dictionary", 0,
                              0, NULL);
        } else if (!op) {
            wrc = reply_error(id, DATALITH_EINVAL, "a message needs an \"op\" string", 0, 0,
                              NULL);
        } else if (!strcmp(op, "describe")) {
            wrc = op_describe(id);
        } else if (!strcmp(op, "invoke")) {
            wrc = op_invoke(&msg, id);
        } else if (!strcmp(op, "shutdown")) {
            stop = 1;
        } else {
            char text[160];
            snprintf(text, sizeof text, "unknown op \"%.80s\" (describe, invoke, shutdown)", op);
            wrc = reply_error(id, DATALITH_EINVAL, text, 0, 0, NULL);
        }
        bc_free(&msg);
        if (wrc) {
            fputs("datalith-pod: cannot write to standard output; stopping\n", stderr);
            status = 1;
            break;
        }
        if (stop) break;
    }
    listeners_drop_conn(NULL);
    release_all();
    return status;
}
