/*
** remote.c — the writer-server client: the :writer {:backend
** :datahike-server} backend and the :remote-peer handles (see remote.h).
**
** Every call has the same shape: decode the caller's value arguments (in
** the caller's format) into a per-call arena, build the EDN vector of the
** positional arguments, POST it to <url>/<op>, read the EDN answer into the
** arena, and encode the result in the caller's format (or keep it as a
** snapshot descriptor in a new remote handle).
*/
#define _POSIX_C_SOURCE 200809L
#include "remote.h"

#include "api/api_util.h"
#include "db/config.h"
#include "remote/http.h"
#include "remote/remote_internal.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "value/value.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- settings ---- */

/* Where and how to reach the server (remote_internal.h). */
typedef dl_remote remote;

static int want_pos_int(const edn_value *m, const char *key, const char *what,
                        int64_t max, int64_t *out) {
    const edn_value *v = edn_map_getk(m, key);
    if (!v || v->type == EDN_NIL) return 0;
    if (v->type != EDN_INT || v->u.i <= 0 || v->u.i > max)
        return dl_err_set(DATALITH_EINVAL,
                          "Invalid Datahike configuration. %s :%s must be a "
                          "positive integer (at most %lld)", what, key,
                          (long long)max);
    *out = v->u.i;
    return 0;
}

static int remote_settings(const edn_value *m, const char *what, remote *r) {
    const edn_value *b, *u, *t;
    int64_t x;
    int rc;
    memset(r, 0, sizeof *r);
    r->opts = (dl_http_opts)DL_HTTP_OPTS_INIT;
    if (m->type != EDN_MAP)
        return dl_err_set(DATALITH_EINVAL,
                          "Invalid Datahike configuration. %s must be a map",
                          what);
    b = edn_map_getk(m, "backend");
    if (b && b->type != EDN_NIL &&
        !(b->type == EDN_KEYWORD && strcmp(b->u.sym->full, "datahike-server") == 0))
        return dl_err_set(DATALITH_EUNSUPPORTED,
                          "%s: only :backend :datahike-server is supported",
                          what);
    u = edn_map_getk(m, "url");
    if (!u || u->type != EDN_STRING)
        return dl_err_set(DATALITH_EINVAL,
                          "Invalid Datahike configuration. %s :url must be a "
                          "string such as \"http://localhost:4444\"", what);
    if ((rc = dl_http_parse_url(u->u.s, u->n, &r->url)) != 0)
        return dl_err_prefix("%s :url: ", what);
    t = edn_map_getk(m, "token");
    if (t && t->type == EDN_STRING) r->token = t->u.s;
    else if (t && t->type != EDN_NIL)
        return dl_err_set(DATALITH_EINVAL, "Invalid Datahike configuration. "
                          "%s :token must be a string", what);
    if ((rc = want_pos_int(m, "connect-timeout-ms", what, 3600000, &x)) != 0)
        return rc;
    if (x) r->opts.connect_timeout_ms = (int)x;
    x = 0;
    if ((rc = want_pos_int(m, "timeout-ms", what, 86400000, &x)) != 0) return rc;
    if (x) r->opts.read_timeout_ms = (int)x;
    x = 0;
    if ((rc = want_pos_int(m, "max-response-bytes", what, INT64_MAX, &x)) != 0)
        return rc;
    if (x) r->opts.max_response = (size_t)x;
    snprintf(r->label, sizeof r->label, "writer server %.*s",
             (int)(u->n > DL_HTTP_HOST_MAX + 40 ? DL_HTTP_HOST_MAX + 40 : u->n),
             u->u.s);
    return 0;
}

static int is_kw(const edn_value *v, const char *name) {
    return v && v->type == EDN_KEYWORD && strcmp(v->u.sym->full, name) == 0;
}

/* The :remote-peer map of a config value, or NULL. */
static const edn_value *peer_map(const edn_value *cfg) {
    const edn_value *p;
    if (cfg->type != EDN_MAP) return NULL;
    p = edn_map_getk(cfg, "remote-peer");
    return p && p->type != EDN_NIL ? p : NULL;
}

/* The :writer map of a config value when it names a server, or NULL. */
static const edn_value *writer_map(const edn_value *cfg) {
    const edn_value *w;
    if (cfg->type != EDN_MAP) return NULL;
    w = edn_map_getk(cfg, "writer");
    if (!w || w->type != EDN_MAP) return NULL;
    return is_kw(edn_map_getk(w, "backend"), "datahike-server") ? w : NULL;
}

static int check_writer_store(const edn_value *cfg) {
    const edn_value *s = edn_map_getk(cfg, "store"), *b = NULL;
    if (s && s->type == EDN_MAP) b = edn_map_getk(s, "backend");
    if (!s || s->type == EDN_NIL || is_kw(b, "memory") || is_kw(b, "mem"))
        return dl_err_set(DATALITH_EINVAL,
                          "Invalid Datahike configuration. :writer {:backend "
                          ":datahike-server} needs a store the server can "
                          "share (e.g. :file or :pg); a :memory store lives "
                          "only in this process");
    return 0;
}

/* Decode `config` and find its mode; *settings filled for remote modes. */
static int route_of(dl_arena *a, const char *config, size_t config_len,
                    int fmt, edn_value *cfg, remote *settings) {
    const edn_value *m;
    int rc;
    if (dl_api_read(a, config, config_len, fmt, "config", cfg) != 0) {
        dl_err_clear();
        return DL_ROUTE_LOCAL;
    }
    if ((m = peer_map(cfg)) != NULL) {
        rc = remote_settings(m, ":remote-peer", settings);
        return rc ? rc : DL_ROUTE_PEER;
    }
    if ((m = writer_map(cfg)) != NULL) {
        rc = remote_settings(m, ":writer", settings);
        if (!rc) rc = check_writer_store(cfg);
        return rc ? rc : DL_ROUTE_WRITER;
    }
    return DL_ROUTE_LOCAL;
}

int dl_remote_route(const char *config, size_t config_len, int fmt) {
    dl_arena a;
    edn_value cfg;
    remote r;
    dl_arena_init(&a, 0);
    int rc = route_of(&a, config, config_len, fmt, &cfg, &r);
    dl_arena_free(&a);
    return rc;
}

int dl_remote_conn_writer(const dl_conn *c) {
    const dl_config *cfg = c ? dl_conn_config(c) : NULL;
    return cfg && cfg->writer.backend &&
           strcmp(cfg->writer.backend->full, "datahike-server") == 0;
}

int dl_remote_connected(dl_conn *c, int route) {
    if (route != DL_ROUTE_WRITER || dl_remote_conn_writer(c)) return 0;
    dl_conn_release(c);
    return dl_err_set(DATALITH_ECONFLICT,
                      "this process already holds a connection to the store "
                      "without :writer {:backend :datahike-server}; release "
                      "it before connecting through the writer server "
                      "(connections are shared per store and branch)");
}

/* ---- one call ---- */

static int code_of(const edn_value *code) {
    const char *n;
    if (!code || (code->type != EDN_KEYWORD && code->type != EDN_STRING))
        return 0;
    n = code->type == EDN_KEYWORD ? code->u.sym->full : code->u.s;
    if (strncasecmp(n, "DATALITH_", 9) == 0) n += 9;
    for (int c = DATALITH_ENOMEM; c >= DATALITH_EINTERNAL; c--)
        if (strcasecmp(datalith_status_name(c) + 9, n) == 0) return c;
    return 0;
}

/* Turn a non-200 answer into the error it stands for. */
static int answer_error(const remote *r, const char *op,
                        const dl_http_response *resp) {
    dl_arena a;
    edn_value v;
    const edn_value *msg = NULL, *xd = NULL;
    char text[DL_ERR_MSG_MAX];
    int code = 0;
    dl_arena_init(&a, 0);
    if (resp->body_len &&
        edn_read(&a, resp->body, resp->body_len, NULL, &v) == 0 &&
        v.type == EDN_MAP) {
        msg = edn_map_getk(&v, "msg");
        xd = edn_map_getk(&v, "ex-data");
        if (xd && xd->type == EDN_MAP) code = code_of(edn_map_getk(xd, "code"));
    }
    dl_err_clear();
    if (msg && msg->type == EDN_STRING)
        snprintf(text, sizeof text, "%.*s", (int)msg->n, msg->u.s);
    else
        snprintf(text, sizeof text, "%.*s",
                 (int)(resp->body_len > 200 ? 200 : resp->body_len),
                 resp->body ? resp->body : "");
    dl_arena_free(&a);
    switch (resp->status) {
    case 500:
        /* An engine error: the same code and message as a local call. */
        if (code) return dl_err_set(code, "%s", text);
        return dl_err_set(DATALITH_EIO, "%s: /%s failed: %s", r->label, op,
                          text);
    case 400:
        return dl_err_set(code ? code : DATALITH_EINVAL,
                          "%s rejected the request to /%s: %s", r->label, op,
                          text);
    case 401:
        return dl_err_set(DATALITH_EINVAL,
                          "%s refused the token (401 %s): check :token",
                          r->label, text);
    case 403:
        return dl_err_set(DATALITH_EINVAL,
                          "%s does not serve this store (403 %s): add it to "
                          "the server's :stores", r->label, text);
    case 404:
    case 405:
        return dl_err_set(DATALITH_EUNSUPPORTED,
                          "%s does not offer /%s (HTTP %d)", r->label, op,
                          resp->status);
    case 413:
        return dl_err_set(DATALITH_ELIMIT,
                          "%s: the request to /%s is larger than the server's "
                          "body limit (413)", r->label, op);
    default:
        return dl_err_set(code ? code : DATALITH_EIO,
                          "%s: unexpected HTTP status %d from /%s: %s",
                          r->label, resp->status, op, text);
    }
}

/* POST args (an EDN vector) to /op and read the answer into *out. */
static int remote_call(const remote *r, const char *op, const edn_value *args,
                       dl_arena *a, edn_value *out) {
    dl_buf body = DL_BUF_INIT;
    dl_http_response resp;
    char path[64];
    int rc;
    snprintf(path, sizeof path, "/%s", op);
    if ((rc = edn_write(&body, args)) != 0) {
        dl_buf_free(&body);
        return rc;
    }
    dl_http_request req = {"POST", path, r->token, "application/edn",
                           body.data, body.len};
    rc = dl_http_do(&r->url, &req, &r->opts, &resp);
    dl_buf_free(&body);
    if (rc) return dl_err_prefix("%s: ", r->label);
    if (resp.status != 200) {
        rc = answer_error(r, op, &resp);
        dl_http_response_free(&resp);
        return rc;
    }
    rc = edn_read(a, resp.body, resp.body_len, NULL, out);
    dl_http_response_free(&resp);
    if (rc)
        return dl_err_set(DATALITH_EIO, "%s: unreadable answer from /%s: %s",
                          r->label, op, dl_err_last()->message);
    return 0;
}

/* ---- descriptors and reports ---- */

static int tag_is(const edn_value *v, const char *tag) {
    return v->type == EDN_TAGGED && strcmp(v->u.tagged.tag->full, tag) == 0;
}

/* A copy of map m without `key` (m itself when it has none). */
static int map_without(dl_arena *a, const edn_value *m, const char *key,
                       edn_value *out) {
    edn_value *kv;
    size_t n = 0;
    if (!edn_map_getk(m, key)) {
        *out = *m;
        return 0;
    }
    kv = dl_arena_alloc(a, (size_t)m->n * 2 * sizeof *kv + 1);
    if (!kv) return dl_err_last()->code;
    for (uint32_t i = 0; i < m->n; i++) {
        if (is_kw(&m->u.items[2 * i], key)) continue;
        kv[n++] = m->u.items[2 * i];
        kv[n++] = m->u.items[2 * i + 1];
    }
    return edn_map(a, kv, n / 2, out);
}

/* #datahike/DB {… :config …} -> #datahike/DB {…}: a report from the
** server then reads exactly like a local one. */
static int strip_db_config(dl_arena *a, const edn_value *v, edn_value *out) {
    edn_value m;
    int rc;
    if (!tag_is(v, "datahike/DB") || v->u.tagged.val->type != EDN_MAP) {
        *out = *v;
        return 0;
    }
    if ((rc = map_without(a, v->u.tagged.val, "config", &m)) != 0) return rc;
    return edn_tagged(a, v->u.tagged.tag, &m, out);
}

static int local_report(dl_arena *a, const edn_value *rep, edn_value *out) {
    edn_value *kv;
    int rc = 0;
    if (rep->type != EDN_MAP) {
        *out = *rep;
        return 0;
    }
    kv = dl_arena_alloc(a, (size_t)rep->n * 2 * sizeof *kv + 1);
    if (!kv) return dl_err_last()->code;
    for (uint32_t i = 0; i < rep->n && !rc; i++) {
        kv[2 * i] = rep->u.items[2 * i];
        rc = strip_db_config(a, &rep->u.items[2 * i + 1], &kv[2 * i + 1]);
    }
    return rc ? rc : edn_map(a, kv, rep->n, out);
}

/* Give every #datahike/DB inside a descriptor the connection's config when
** the server left it out, so the descriptor alone names the database. */
static int with_config(dl_arena *a, const edn_value *v, const edn_value *cfg,
                       edn_value *out) {
    const edn_value *m;
    edn_value *kv, inner;
    int rc;
    *out = *v;
    if (v->type != EDN_TAGGED || v->u.tagged.val->type != EDN_MAP) return 0;
    m = v->u.tagged.val;
    kv = dl_arena_alloc(a, ((size_t)m->n + 1) * 2 * sizeof *kv);
    if (!kv) return dl_err_last()->code;
    memcpy(kv, m->u.items, (size_t)m->n * 2 * sizeof *kv);
    if (tag_is(v, "datahike/DB")) {
        if (edn_map_getk(m, "config")) return 0;
        kv[2 * m->n] = edn_keyword_str("config");
        kv[2 * m->n + 1] = *cfg;
        rc = edn_map(a, kv, m->n + 1, &inner);
    } else {
        for (uint32_t i = 0; i < m->n; i++)
            if (is_kw(&kv[2 * i], "origin"))
                if ((rc = with_config(a, &kv[2 * i + 1], cfg, &kv[2 * i + 1])) != 0)
                    return rc;
        rc = edn_map(a, kv, m->n, &inner);
    }
    return rc ? rc : edn_tagged(a, v->u.tagged.tag, &inner, out);
}

/* ---- lifecycle, both modes ---- */

/* Decode the config, require a remote mode, call op with [config]. */
static int config_call(const char *op, const char *config, size_t config_len,
                       int fmt, dl_arena *a, edn_value *res, edn_value *given) {
    edn_value cfg, args;
    remote r;
    int rc = route_of(a, config, config_len, fmt, &cfg, &r);
    if (given) *given = cfg;
    if (rc < 0) return rc;
    if (rc == DL_ROUTE_LOCAL)
        return dl_err_set(DATALITH_EINTERNAL, "remote %s on a local config", op);
    if ((rc = edn_vector(a, &cfg, 1, &args)) != 0) return rc;
    return remote_call(&r, op, &args, a, res);
}

int dl_remote_create_database(const char *config, size_t config_len, int fmt,
                              char **out, size_t *out_len) {
    static const char *const keep[] = {"writer", "remote-peer"};
    dl_arena a;
    edn_value res, given;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    rc = config_call("create-database", config, config_len, fmt, &a, &res, &given);
    /* The server drops the client-side keys from the completed config it
    ** answers with; put the caller's back, as a local create keeps them. */
    for (int i = 0; i < 2 && !rc && res.type == EDN_MAP; i++) {
        const edn_value *v = edn_map_getk(&given, keep[i]);
        if (v && !edn_map_getk(&res, keep[i])) {
            edn_value *kv = dl_arena_alloc(&a, ((size_t)res.n + 1) * 2 * sizeof *kv);
            if (!kv) {
                rc = dl_err_last()->code;
                break;
            }
            memcpy(kv, res.u.items, (size_t)res.n * 2 * sizeof *kv);
            kv[2 * res.n] = edn_keyword_str(keep[i]);
            kv[2 * res.n + 1] = *v;
            rc = edn_map(&a, kv, res.n + 1, &res);
        }
    }
    if (!rc) rc = dl_api_write(&res, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

int dl_remote_delete_database(const char *config, size_t config_len, int fmt) {
    dl_arena a;
    edn_value res;
    int rc;
    dl_err_clear();
    dl_arena_init(&a, 0);
    rc = config_call("delete-database", config, config_len, fmt, &a, &res, NULL);
    dl_arena_free(&a);
    return rc;
}

int dl_remote_database_exists(const char *config, size_t config_len, int fmt,
                              int *out) {
    dl_arena a;
    edn_value res;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    rc = config_call("database-exists", config, config_len, fmt, &a, &res, NULL);
    if (!rc && res.type != EDN_BOOL)
        rc = dl_err_set(DATALITH_EIO, "writer server: /database-exists "
                        "answered %s, not a boolean", edn_type_name(res.type));
    if (!rc) *out = res.u.b ? 1 : 0;
    dl_arena_free(&a);
    return rc;
}

/* ---- writer backend ---- */

/* Send [config tx] to /<op> (transact, load-entities) and return the
** report in `fmt`.  Transaction arguments are checked here first, so a
** malformed one fails as it would locally without a round trip. */
static int transact_call(const remote *r, const char *op, const edn_value *cfg,
                         const char *tx, size_t tx_len, int fmt, dl_arena *a,
                         char **out, size_t *out_len) {
    edn_value in, items[2], args, res, rep;
    const edn_value *tx_data, *tx_meta;
    int is_tx = strcmp(op, "transact") == 0;
    int rc = dl_api_read(a, tx, tx_len, fmt, is_tx ? "tx-data" : op, &in);
    if (!rc && is_tx) rc = dl_api_tx_args(&in, &tx_data, &tx_meta);
    if (rc) return rc;
    items[0] = *cfg;
    items[1] = in;
    if ((rc = edn_vector(a, items, 2, &args)) != 0) return rc;
    if ((rc = remote_call(r, op, &args, a, &res)) != 0) return rc;
    if ((rc = local_report(a, &res, &rep)) != 0) return rc;
    return dl_api_write(&rep, fmt, out, out_len);
}

static int writer_write(const char *op, dl_conn *c, const char *tx,
                        size_t tx_len, int fmt, char **out, size_t *out_len) {
    dl_arena a;
    edn_value cfg;
    remote r;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    rc = dl_config_to_edn(&a, dl_conn_config(c), &cfg);
    if (!rc) rc = remote_settings(&dl_conn_config(c)->writer.map, ":writer", &r);
    if (!rc) rc = transact_call(&r, op, &cfg, tx, tx_len, fmt, &a, out, out_len);
    dl_arena_free(&a);
    if (!rc) {
        /* Acknowledged: move the connection to the new head now, so a
        ** db() on any thread sees the write.  The transaction stands even
        ** if this local read fails; the next db() retries it. */
        dl_db *db = NULL;
        if (dl_conn_db(c, &db) == 0) dl_db_release(db);
        dl_err_clear();
    }
    return rc;
}

int dl_remote_transact(dl_conn *c, const char *tx, size_t tx_len, int fmt,
                       char **out, size_t *out_len) {
    return writer_write("transact", c, tx, tx_len, fmt, out, out_len);
}

/* ---- remote peer handles ---- */

typedef struct rconn {
    atomic_int refs;
    dl_arena arena;   /* owns config and the settings' strings */
    edn_value config; /* the map as the caller gave it */
    remote r;
    struct dl_rlisten *listen; /* rlisten.c */
} rconn;

typedef struct rdb {
    rconn *conn;      /* retained */
    dl_arena arena;
    edn_value desc;   /* #datahike/DB {…} or a view tag around one */
} rdb;

#define RCONN(h) ((rconn *)(void *)((uintptr_t)(void *)(h) & ~(uintptr_t)1))
#define RDB(h) ((rdb *)(void *)((uintptr_t)(void *)(h) & ~(uintptr_t)1))
#define TAG(p) ((void *)((uintptr_t)(void *)(p) | 1u))

static void rconn_release(rconn *c) {
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
        dl_arena_free(&c->arena);
        free(c);
    }
}

int dl_rpeer_connect(const char *config, size_t config_len, int fmt,
                     datalith_conn **out) {
    rconn *c;
    edn_value cfg, args, res;
    dl_arena tmp;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    c = calloc(1, sizeof *c);
    if (!c) return dl_err_nomem();
    atomic_init(&c->refs, 1);
    dl_arena_init(&c->arena, 0);
    rc = route_of(&c->arena, config, config_len, fmt, &cfg, &c->r);
    if (rc >= 0 && rc != DL_ROUTE_PEER)
        rc = dl_err_set(DATALITH_EINTERNAL, "remote connect on a local config");
    if (rc < 0) goto fail;
    c->config = cfg;
    /* Connecting checks that the database exists, as a local connect does,
    ** and that the server answers. */
    dl_arena_init(&tmp, 0);
    rc = edn_vector(&tmp, &c->config, 1, &args);
    if (!rc) rc = remote_call(&c->r, "database-exists", &args, &tmp, &res);
    if (!rc && !(res.type == EDN_BOOL && res.u.b))
        rc = dl_err_set(DATALITH_ENOTFOUND, "Database does not exist.");
    dl_arena_free(&tmp);
    if (rc) goto fail;
    *out = TAG(c);
    return 0;
fail:
    rconn_release(c);
    return rc;
}

void dl_rpeer_conn_release(datalith_conn *conn) {
    if (!DL_REMOTE_HANDLE(conn)) return;
    /* the handle's listeners end with it (snapshots may keep the rest) */
    dl_rlisten_close(&RCONN(conn)->listen);
    rconn_release(RCONN(conn));
}

/* A new remote snapshot handle for descriptor v of connection c. */
static int new_rdb(rconn *c, const edn_value *v, datalith_db **out) {
    rdb *d;
    edn_value tmp;
    int rc;
    if (v->type != EDN_TAGGED)
        return dl_err_set(DATALITH_EIO, "%s answered %s where a snapshot "
                          "descriptor (#datahike/DB {…}) was expected",
                          c->r.label, edn_type_name(v->type));
    d = calloc(1, sizeof *d);
    if (!d) return dl_err_nomem();
    dl_arena_init(&d->arena, 0);
    rc = with_config(&d->arena, v, &c->config, &tmp);
    if (!rc) rc = edn_clone(&d->arena, &tmp, &d->desc);
    if (rc) {
        dl_arena_free(&d->arena);
        free(d);
        return rc;
    }
    atomic_fetch_add(&c->refs, 1);
    d->conn = c;
    *out = TAG(d);
    return 0;
}

int dl_rpeer_conn_db(datalith_conn *conn, datalith_db **out) {
    rconn *c = RCONN(conn);
    dl_arena a;
    edn_value args, res;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL argument");
    dl_arena_init(&a, 0);
    rc = edn_vector(&a, &c->config, 1, &args);
    if (!rc) rc = remote_call(&c->r, "db", &args, &a, &res);
    if (!rc) rc = new_rdb(c, &res, out);
    dl_arena_free(&a);
    return rc;
}

static int rpeer_write(const char *op, datalith_conn *conn, const char *tx,
                       size_t tx_len, int fmt, char **out, size_t *out_len) {
    rconn *c = RCONN(conn);
    dl_arena a;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    rc = transact_call(&c->r, op, &c->config, tx, tx_len, fmt, &a, out, out_len);
    dl_arena_free(&a);
    return rc;
}

int dl_rpeer_transact(datalith_conn *conn, const char *tx, size_t tx_len,
                      int fmt, char **out, size_t *out_len) {
    return rpeer_write("transact", conn, tx, tx_len, fmt, out, out_len);
}

int dl_remote_load_entities(datalith_conn *conn, const char *entities,
                            size_t entities_len, int fmt, char **out,
                            size_t *out_len) {
    if (DL_REMOTE_HANDLE(conn))
        return rpeer_write("load-entities", conn, entities, entities_len, fmt,
                           out, out_len);
    return writer_write("load-entities", (dl_conn *)(void *)conn, entities,
                        entities_len, fmt, out, out_len);
}

void dl_rpeer_db_release(datalith_db *db) {
    rdb *d;
    if (!DL_REMOTE_HANDLE(db)) return;
    d = RDB(db);
    rconn_release(d->conn);
    dl_arena_free(&d->arena);
    free(d);
}

/* [desc v1 … vn] with each vi decoded from the caller's format. */
static int db_args(dl_arena *a, rdb *d, size_t n, const char *const *vals,
                   const size_t *lens, int fmt, edn_value *args) {
    edn_value *items = dl_arena_alloc(a, (n + 1) * sizeof *items);
    int rc;
    if (!items) return dl_err_last()->code;
    items[0] = d->desc;
    for (size_t i = 0; i < n; i++)
        if ((rc = dl_api_read(a, vals[i], lens[i], fmt, "argument",
                              &items[i + 1])) != 0)
            return rc;
    return edn_vector(a, items, n + 1, args);
}

int dl_rpeer_forward(const char *op, datalith_db *db, size_t n,
                     const char *const *vals, const size_t *lens, int fmt,
                     char **out, size_t *out_len) {
    rdb *d = RDB(db);
    dl_arena a;
    edn_value args, res;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    rc = db_args(&a, d, n, vals, lens, fmt, &args);
    if (!rc) rc = remote_call(&d->conn->r, op, &args, &a, &res);
    if (!rc) rc = dl_api_write(&res, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

int dl_rpeer_view(const char *op, datalith_db *db, const char *val,
                  size_t val_len, int fmt, datalith_db **out) {
    rdb *d = RDB(db);
    dl_arena a;
    edn_value args, res;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL argument");
    dl_arena_init(&a, 0);
    rc = db_args(&a, d, val ? 1 : 0, &val, &val_len, fmt, &args);
    if (!rc) rc = remote_call(&d->conn->r, op, &args, &a, &res);
    if (!rc) rc = new_rdb(d->conn, &res, out);
    dl_arena_free(&a);
    return rc;
}

int dl_rpeer_with(datalith_db *db, const char *tx, size_t tx_len, int fmt,
                  char **out, size_t *out_len) {
    rdb *d = RDB(db);
    dl_arena a;
    edn_value items[2], args, res, rep;
    const edn_value *tx_data, *tx_meta;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, tx, tx_len, fmt, "tx-data", &items[1]);
    if (!rc) rc = dl_api_tx_args(&items[1], &tx_data, &tx_meta);
    items[0] = d->desc;
    if (!rc) rc = edn_vector(&a, items, 2, &args);
    if (!rc) rc = remote_call(&d->conn->r, "with", &args, &a, &res);
    if (!rc) rc = local_report(&a, &res, &rep);
    if (!rc) rc = dl_api_write(&rep, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

int dl_rpeer_dbs_remote(datalith_db *const *dbs, size_t n) {
    size_t k = 0;
    for (size_t i = 0; dbs && i < n; i++)
        if (DL_REMOTE_HANDLE(dbs[i])) k++;
    if (k && k != n)
        return dl_err_set(DATALITH_EINVAL,
                          "a query cannot mix :remote-peer snapshots with "
                          "local ones");
    return k ? 1 : 0;
}

/* Body: [query db1 … dbn input1 … inputk], as Datahike's (q query & args):
** the server tells the snapshots from the other inputs by their tags and
** binds both in order, exactly as the local call binds dbs and inputs. */
int dl_rpeer_query(const char *op, const char *query, size_t query_len,
                   datalith_db *const *dbs, size_t dbs_count,
                   const char *inputs, size_t inputs_len, int fmt, char **out,
                   size_t *out_len) {
    dl_arena a;
    edn_value qv, iv = edn_nil(), args, res, *items;
    size_t n = 0, ni = 0;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    if (!dbs || dbs_count == 0)
        return dl_err_set(DATALITH_EINTERNAL, "remote query without a snapshot");
    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, query, query_len, fmt, "query", &qv);
    if (!rc && inputs && inputs_len)
        rc = dl_api_read(&a, inputs, inputs_len, fmt, "inputs", &iv);
    if (!rc && iv.type != EDN_NIL) {
        if (!edn_is_seq(&iv))
            rc = dl_err_set(DATALITH_EINVAL, "inputs: expected a vector of "
                            "the remaining :in inputs");
        else
            ni = iv.n;
    }
    items = rc ? NULL : dl_arena_alloc(&a, (1 + dbs_count + ni) * sizeof *items);
    if (!rc && !items) rc = dl_err_last()->code;
    if (!rc) {
        items[n++] = qv;
        for (size_t i = 0; i < dbs_count; i++) items[n++] = RDB(dbs[i])->desc;
        for (size_t i = 0; i < ni; i++) items[n++] = iv.u.items[i];
        rc = edn_vector(&a, items, n, &args);
    }
    if (!rc) rc = remote_call(&RDB(dbs[0])->conn->r, op, &args, &a, &res);
    if (!rc && strcmp(op, "explain") == 0 && res.type == EDN_STRING) {
        /* explain returns plain text, not a value in fmt */
        if (!(*out = malloc((size_t)res.n + 1))) rc = dl_err_nomem();
        else {
            memcpy(*out, res.u.s, res.n);
            (*out)[res.n] = '\0';
            if (out_len) *out_len = res.n;
        }
    } else if (!rc) {
        rc = dl_api_write(&res, fmt, out, out_len);
    }
    dl_arena_free(&a);
    return rc;
}

int dl_rpeer_unsupported(const char *op) {
    return dl_err_set(DATALITH_EUNSUPPORTED,
                      "%s is not supported over :remote-peer", op);
}

/* ---- for rlisten.c (remote_internal.h) ---- */

int dl_remote_peer_settings(const edn_value *cfg, dl_remote *out) {
    const edn_value *m = peer_map(cfg);
    if (!m) return dl_err_set(DATALITH_EINTERNAL, "no :remote-peer in the config");
    return remote_settings(m, ":remote-peer", out);
}

int dl_remote_call(const dl_remote *r, const char *op, const edn_value *args,
                   dl_arena *a, edn_value *out) {
    return remote_call(r, op, args, a, out);
}

int dl_remote_local_report(dl_arena *a, const edn_value *rep, edn_value *out) {
    return local_report(a, rep, out);
}

const edn_value *dl_rpeer_conn_config(datalith_conn *conn) {
    return &RCONN(conn)->config;
}

struct dl_rlisten **dl_rpeer_listen_slot(datalith_conn *conn) {
    return &RCONN(conn)->listen;
}
