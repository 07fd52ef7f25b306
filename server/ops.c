/*
** ops.c — the routes: one function per operation, each taking the decoded
** argument vector and producing the result value (or an error result with
** its HTTP status).
**
** Arguments arrive as values.  Three kinds get special treatment:
**   config      a database config map: its store must be listed in the
**               server config (else 403); :writer and :remote-peer are
**               dropped before the engine sees it
**   snapshot    #datahike/DB {:config … :commit-id …} — the exact commit,
**               or the newest without :commit-id — and the views
**               #datahike/AsOfDB / SinceDB {:origin … :time-point t},
**               #datahike/HistoricalDB {:origin …}
**   the rest    passed to the engine as they are
** Snapshots handed back (/db, /as-of, /since, /history, transaction
** reports) are the same tags, pinned to a commit id, with :config, so a
** client can pass them to a later request.
**
** Errors: a bad argument shape is 400 naming the argument; an engine
** failure is 500 with the engine's message and {:code :<status>}.
*/
#define _GNU_SOURCE
#include "server.h"

#include "api/api_util.h"
#include "db/config.h"
#include "db/tx.h"
#include "pull/pull.h"
#include "query/query.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-request state: the arena, the result, and the snapshots to release. */
typedef struct ctx {
    dl_arena *a;
    srv_result *res;
    const char *op;
    datalith_db **held;
    size_t n_held, cap_held;
} ctx;

static edn_value kw(const char *full) { return edn_keyword_str(full); }

void srv_error(dl_arena *a, srv_result *res, int status, const char *code,
               const char *fmt, ...) {
    char msg[DL_ERR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    edn_value exkv[2], kv[4], ex;
    res->status = status;
    kv[0] = kw("msg");
    if (edn_string(a, msg, strlen(msg), &kv[1])) kv[1] = edn_nil();
    exkv[0] = kw("code");
    exkv[1] = kw(code);
    kv[2] = kw("ex-data");
    if (edn_map(a, exkv, 1, &ex)) ex = edn_nil();
    kv[3] = ex;
    if (edn_map(a, kv, 2, &res->value)) res->value = edn_nil();
}

/* The engine's last error as a 500. */
static int engine_error(ctx *c) {
    const datalith_error *e = dl_err_last();
    const char *name = datalith_status_name(e->code ? e->code : DATALITH_EINTERNAL);
    if (strncmp(name, "DATALITH_", 9) == 0) name += 9;
    srv_error(c->a, c->res, 500, name, "%s",
              e->message && e->message[0] ? e->message : "engine error");
    return -1;
}

static int bad_arg(ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int bad_arg(ctx *c, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_error(c->a, c->res, 400, "EINVAL", "/%s: %s", c->op, msg);
    return -1;
}

static int nomem(ctx *c) {
    dl_err_nomem();
    return engine_error(c);
}

static int hold(ctx *c, datalith_db *db) {
    if (c->n_held == c->cap_held) {
        size_t n = c->cap_held ? 2 * c->cap_held : 4;
        void *p = realloc(c->held, n * sizeof *c->held);
        if (!p) {
            datalith_db_release(db);
            return nomem(c);
        }
        c->held = p;
        c->cap_held = n;
    }
    c->held[c->n_held++] = db;
    return 0;
}

static int want_n(ctx *c, const edn_value *args, uint32_t lo, uint32_t hi,
                  const char *usage) {
    if (args->n < lo || args->n > hi)
        return bad_arg(c, "takes %s, got %u argument%s", usage, args->n,
                       args->n == 1 ? "" : "s");
    return 0;
}

/* EDN text of v into b (for the facade entry points). */
static int enc(ctx *c, const edn_value *v, dl_buf *b) {
    if (edn_write(b, v)) return engine_error(c);
    return 0;
}

/* Read the EDN text a facade entry point returned and free it. */
static int dec(ctx *c, char *text, size_t len, edn_value *out) {
    int rc = edn_read(c->a, text, len, NULL, out);
    datalith_free(text);
    return rc ? engine_error(c) : 0;
}

static bool is_tag(const edn_value *v, const char *tag) {
    return v->type == EDN_TAGGED && strcmp(v->u.tagged.tag->full, tag) == 0;
}

/* ---- configs ---- */

/* Check a config argument: shape, engine validity, the store list.
** *eng is the config the engine sees. */
static int arg_config(ctx *c, const edn_value *v, int argno, edn_value *eng) {
    dl_config cfg;
    if (v->type != EDN_MAP && v->type != EDN_STRING)
        return bad_arg(c, "argument %d must be a database config map such as "
                          "{:store {:backend :file :path \"/data/db\"}}", argno);
    if (srv_engine_config(c->a, v, eng)) return engine_error(c);
    if (dl_config_parse(c->a, eng, &cfg)) return engine_error(c);
    char *id = srv_store_ident(&cfg.store);
    if (!id) return engine_error(c);
    if (!srv_store_allowed(id)) {
        srv_error(c->a, c->res, 403, "EFORBIDDEN",
                  "Store %s is not served here: it is not listed in the "
                  "server's :stores", id);
        free(id);
        return -1;
    }
    free(id);
    return 0;
}

static int arg_conn(ctx *c, const edn_value *v, int argno, srv_db **d) {
    edn_value eng;
    if (arg_config(c, v, argno, &eng)) return -1;
    if (srv_db_get(&eng, d)) return engine_error(c);
    return 0;
}

/* ---- snapshots ---- */

/* #datahike/DB {:config … :commit-id … :max-eid … :max-tx …} */
static int db_tag(ctx *c, const edn_value *config, const dl_db *db, edn_value *out) {
    static const uint8_t zero[16];
    edn_value kv[8], m;
    size_t n = 0;
    if (config) {
        kv[n++] = kw("config");
        kv[n++] = *config;
    }
    kv[n++] = kw("max-eid");
    kv[n++] = edn_int((int64_t)db->max_eid);
    kv[n++] = kw("max-tx");
    kv[n++] = edn_int((int64_t)db->max_tx);
    if (memcmp(db->commit_id, zero, 16) != 0) {
        kv[n++] = kw("commit-id");
        kv[n++] = edn_uuid(db->commit_id);
    }
    const edn_sym *tag = edn_intern_full("datahike/DB", 11);
    if (!tag || edn_map(c->a, kv, n / 2, &m) || edn_tagged(c->a, tag, &m, out))
        return engine_error(c);
    return 0;
}

static int view_tag(ctx *c, const char *tagname, const edn_value *origin,
                    const edn_value *tp, edn_value *out) {
    edn_value kv[4], m;
    size_t n = 0;
    kv[n++] = kw("origin");
    kv[n++] = *origin;
    if (tp) {
        kv[n++] = kw("time-point");
        kv[n++] = *tp;
    }
    const edn_sym *tag = edn_intern_full(tagname, strlen(tagname));
    if (!tag || edn_map(c->a, kv, n / 2, &m) || edn_tagged(c->a, tag, &m, out))
        return engine_error(c);
    return 0;
}

/* A view of `origin` (as-of, since) at time point tp. */
static int make_view(ctx *c, int kind, datalith_db *origin, const edn_value *tp,
                     datalith_db **out) {
    dl_buf b = DL_BUF_INIT;
    int rc;
    if (enc(c, tp, &b)) return -1;
    rc = kind == 'a' ? datalith_as_of(origin, b.data, b.len, DATALITH_FORMAT_EDN, out)
                     : datalith_since(origin, b.data, b.len, DATALITH_FORMAT_EDN, out);
    dl_buf_free(&b);
    if (rc) return engine_error(c);
    return hold(c, *out);
}

/* Resolve a snapshot argument; *pinned is the tag naming exactly it. */
static int arg_db(ctx *c, const edn_value *v, int argno, datalith_db **out,
                  edn_value *pinned, int depth) {
    if (depth > 16) return bad_arg(c, "argument %d: views nested too deeply", argno);
    if (is_tag(v, "datahike/DB")) {
        const edn_value *m = v->u.tagged.val;
        const edn_value *cfgv = m->type == EDN_MAP ? edn_map_getk(m, "config") : NULL;
        const edn_value *id = m->type == EDN_MAP ? edn_map_getk(m, "commit-id") : NULL;
        srv_db *d = NULL;
        dl_db *db = NULL;
        if (!cfgv)
            return bad_arg(c, "argument %d: #datahike/DB needs :config (the "
                              "database's config map)", argno);
        if (id && id->type != EDN_UUID && id->type != EDN_NIL)
            return bad_arg(c, "argument %d: #datahike/DB :commit-id must be a #uuid",
                           argno);
        if (arg_conn(c, cfgv, argno, &d)) return -1;
        int rc = id && id->type == EDN_UUID ? srv_db_at(d, id->u.uuid, &db)
                                            : srv_db_current(d, &db);
        srv_db_unref(d);
        if (rc) return engine_error(c);
        *out = (datalith_db *)(void *)db;
        if (hold(c, *out)) return -1;
        return db_tag(c, cfgv, db, pinned);
    }
    int asof = is_tag(v, "datahike/AsOfDB"), since = is_tag(v, "datahike/SinceDB");
    int hist = is_tag(v, "datahike/HistoricalDB");
    if (asof || since || hist) {
        const char *tn = v->u.tagged.tag->full;
        const edn_value *m = v->u.tagged.val;
        const edn_value *o = m->type == EDN_MAP ? edn_map_getk(m, "origin") : NULL;
        const edn_value *tp = m->type == EDN_MAP ? edn_map_getk(m, "time-point") : NULL;
        datalith_db *origin;
        edn_value opinned;
        if (!o) return bad_arg(c, "argument %d: #%s needs :origin", argno, tn);
        if (!hist && !tp) return bad_arg(c, "argument %d: #%s needs :time-point", argno, tn);
        if (arg_db(c, o, argno, &origin, &opinned, depth + 1)) return -1;
        if (hist) {
            if (datalith_history(origin, out)) return engine_error(c);
            if (hold(c, *out)) return -1;
        } else if (make_view(c, asof ? 'a' : 's', origin, tp, out)) {
            return -1;
        }
        return view_tag(c, tn, &opinned, hist ? NULL : tp, pinned);
    }
    return bad_arg(c, "argument %d must be a database: #datahike/DB {:config … "
                      "[:commit-id #uuid …]} or an AsOfDB, SinceDB or HistoricalDB "
                      "view of one", argno);
}

static bool is_db_arg(const edn_value *v) {
    return is_tag(v, "datahike/DB") || is_tag(v, "datahike/AsOfDB") ||
           is_tag(v, "datahike/SinceDB") || is_tag(v, "datahike/HistoricalDB");
}

/* ---- lifecycle ---- */

static int op_database_exists(ctx *c, const edn_value *args) {
    edn_value eng;
    dl_buf b = DL_BUF_INIT;
    int ex = 0, rc;
    if (want_n(c, args, 1, 1, "[config]")) return -1;
    if (arg_config(c, &args->u.items[0], 1, &eng) || enc(c, &eng, &b)) {
        dl_buf_free(&b);
        return -1;
    }
    rc = datalith_database_exists(b.data, b.len, DATALITH_FORMAT_EDN, &ex);
    dl_buf_free(&b);
    if (rc) return engine_error(c);
    c->res->value = edn_bool(ex != 0);
    return 0;
}

static int op_create_database(ctx *c, const edn_value *args) {
    edn_value eng;
    dl_buf b = DL_BUF_INIT;
    char *out = NULL;
    size_t len = 0;
    int rc;
    if (want_n(c, args, 1, 1, "[config]")) return -1;
    if (arg_config(c, &args->u.items[0], 1, &eng) || enc(c, &eng, &b)) {
        dl_buf_free(&b);
        return -1;
    }
    rc = datalith_create_database(b.data, b.len, DATALITH_FORMAT_EDN, &out, &len);
    dl_buf_free(&b);
    if (rc) return engine_error(c);
    return dec(c, out, len, &c->res->value);
}

static int op_delete_database(ctx *c, const edn_value *args) {
    edn_value eng;
    dl_buf b = DL_BUF_INIT;
    int rc;
    if (want_n(c, args, 1, 1, "[config]")) return -1;
    if (arg_config(c, &args->u.items[0], 1, &eng) || enc(c, &eng, &b)) {
        dl_buf_free(&b);
        return -1;
    }
    srv_db_forget(&eng);
    rc = datalith_delete_database(b.data, b.len, DATALITH_FORMAT_EDN);
    dl_buf_free(&b);
    if (rc) engine_error(c);
    /* an entry a concurrent request opened meanwhile holds a released
    ** connection now: drop it too, so the next request starts afresh */
    srv_db_forget(&eng);
    if (rc) return -1;
    c->res->value = edn_nil();
    return 0;
}

/* ---- connection ---- */

static int op_db(ctx *c, const edn_value *args) {
    srv_db *d;
    dl_db *db;
    if (want_n(c, args, 1, 1, "[config]")) return -1;
    if (arg_conn(c, &args->u.items[0], 1, &d)) return -1;
    int rc = srv_db_current(d, &db);
    srv_db_unref(d);
    if (rc) return engine_error(c);
    rc = db_tag(c, &args->u.items[0], db, &c->res->value);
    dl_db_release(db);
    return rc;
}

/* {:commit-id #uuid … :max-tx n :max-eid n} of db */
static int head_value(ctx *c, const dl_db *db, edn_value *out) {
    edn_value kv[6];
    kv[0] = kw("commit-id");
    kv[1] = edn_uuid(db->commit_id);
    kv[2] = kw("max-tx");
    kv[3] = edn_int((int64_t)db->max_tx);
    kv[4] = kw("max-eid");
    kv[5] = edn_int((int64_t)db->max_eid);
    if (edn_map(c->a, kv, 3, out)) return engine_error(c);
    return 0;
}

#define SRV_MAX_REPORTS 256 /* reports in one /await-commit answer */

static int report_with_config(ctx *c, const edn_value *config, edn_value *rep);

/* [config known-commit-id timeout-ms] or [… reports?]: with reports? true
** the answer also carries :reports [<tx report> …] of the commits after
** known-commit-id (oldest first, at most SRV_MAX_REPORTS, then :more
** true), shaped like /transact's. */
static int op_await_commit(ctx *c, const edn_value *args) {
    srv_db *d;
    dl_db *db;
    if (want_n(c, args, 3, 4, "[config known-commit-id timeout-ms reports?]")) return -1;
    const edn_value *known = &args->u.items[1], *to = &args->u.items[2];
    const edn_value *wr = args->n > 3 ? &args->u.items[3] : NULL;
    if (known->type != EDN_UUID && known->type != EDN_NIL)
        return bad_arg(c, "argument 2 must be a commit id (#uuid) or nil");
    if (to->type != EDN_INT || to->u.i < 0)
        return bad_arg(c, "argument 3 must be a timeout in milliseconds (>= 0)");
    if (wr && wr->type != EDN_BOOL && wr->type != EDN_NIL)
        return bad_arg(c, "argument 4 must be true or false (whether to return "
                          ":reports)");
    int want = wr && wr->type == EDN_BOOL && wr->u.b;
    long ms = to->u.i > g_cfg.await_max_ms ? g_cfg.await_max_ms : (long)to->u.i;
    if (arg_conn(c, &args->u.items[0], 1, &d)) return -1;
    int rc = srv_db_await(d, known->type == EDN_UUID ? known->u.uuid : NULL, ms, &db);
    if (rc) {
        srv_db_unref(d);
        return engine_error(c);
    }
    rc = head_value(c, db, &c->res->value);
    if (!rc && want) {
        edn_value reps = edn_nil(), *kv;
        int more = 0;
        const edn_value *h = &c->res->value;
        /* nil or the head itself: nothing happened after it */
        if (known->type != EDN_UUID || memcmp(db->commit_id, known->u.uuid, 16) == 0)
            rc = edn_vector(c->a, NULL, 0, &reps) ? engine_error(c) : 0;
        else
            rc = srv_db_reports(d, known->u.uuid, db, SRV_MAX_REPORTS, c->a, &reps,
                                &more) ? engine_error(c) : 0;
        for (uint32_t i = 0; !rc && i < reps.n; i++)
            rc = report_with_config(c, &args->u.items[0],
                                    (edn_value *)&reps.u.items[i]);
        if (!rc && !(kv = dl_arena_alloc(c->a, sizeof *kv * 2 * (h->n + 2))))
            rc = nomem(c);
        if (!rc) {
            uint32_t n = h->n;
            memcpy(kv, h->u.items, sizeof *kv * 2 * n);
            kv[2 * n] = kw("reports");
            kv[2 * n + 1] = reps;
            n++;
            if (more) {
                kv[2 * n] = kw("more");
                kv[2 * n + 1] = edn_bool(1);
                n++;
            }
            if (edn_map(c->a, kv, n, &c->res->value)) rc = engine_error(c);
        }
    }
    dl_db_release(db);
    srv_db_unref(d);
    return rc;
}

/* ---- writes ---- */

/* The report's :db-before / :db-after with :config added (committed ones
** only: an uncommitted value cannot be named by a later request). */
static int report_with_config(ctx *c, const edn_value *config, edn_value *rep) {
    edn_value *kv = dl_arena_alloc(c->a, sizeof *kv * 2 * rep->n);
    if (!kv) return nomem(c);
    memcpy(kv, rep->u.items, sizeof *kv * 2 * rep->n);
    for (uint32_t i = 0; i < rep->n; i++) {
        edn_value *k = &kv[2 * i], *v = &kv[2 * i + 1];
        if (k->type != EDN_KEYWORD || !is_tag(v, "datahike/DB")) continue;
        if (strcmp(k->u.sym->full, "db-before") && strcmp(k->u.sym->full, "db-after"))
            continue;
        const edn_value *m = v->u.tagged.val;
        if (!edn_map_getk(m, "commit-id")) continue;
        edn_value *mkv = dl_arena_alloc(c->a, sizeof *mkv * 2 * (m->n + 1));
        edn_value nm;
        if (!mkv) return nomem(c);
        memcpy(mkv, m->u.items, sizeof *mkv * 2 * m->n);
        mkv[2 * m->n] = kw("config");
        mkv[2 * m->n + 1] = *config;
        if (edn_map(c->a, mkv, m->n + 1, &nm) ||
            edn_tagged(c->a, v->u.tagged.tag, &nm, v))
            return engine_error(c);
    }
    if (edn_map(c->a, kv, rep->n, rep)) return engine_error(c);
    return 0;
}

static int op_transact(ctx *c, const edn_value *args) {
    srv_db *d;
    dl_db *before = NULL;
    dl_tx_report rep;
    const edn_value *tx_data, *tx_meta;
    edn_value report;
    if (want_n(c, args, 2, 2, "[config tx-data]")) return -1;
    const edn_value *tx = &args->u.items[1];
    if (tx->type != EDN_VECTOR && tx->type != EDN_LIST && tx->type != EDN_MAP)
        return bad_arg(c, "argument 2 must be tx-data (a vector) or "
                          "{:tx-data [...] :tx-meta {...}}");
    if (dl_api_tx_args(tx, &tx_data, &tx_meta)) return engine_error(c);
    if (arg_conn(c, &args->u.items[0], 1, &d)) return -1;
    int rc = srv_db_transact(d, tx_data, tx_meta, c->a, &before, &rep);
    srv_db_unref(d);
    if (!rc) rc = dl_api_report_value(c->a, before, &rep, &report);
    if (rc) rc = engine_error(c);
    if (!rc) rc = report_with_config(c, &args->u.items[0], &report);
    if (!rc) c->res->value = report;
    dl_tx_report_release(&rep);
    dl_db_release(before);
    return rc;
}

typedef struct load_ctx {
    dl_buf *in;
    char *out;
    size_t len;
} load_ctx;

static int load_fn(dl_conn *conn, void *p) {
    load_ctx *l = p;
    return datalith_load_entities((datalith_conn *)(void *)conn, l->in->data, l->in->len,
                                  DATALITH_FORMAT_EDN, &l->out, &l->len);
}

static int op_load_entities(ctx *c, const edn_value *args) {
    srv_db *d;
    dl_buf b = DL_BUF_INIT;
    edn_value report;
    if (want_n(c, args, 2, 2, "[config entities]")) return -1;
    if (!edn_is_seq(&args->u.items[1]))
        return bad_arg(c, "argument 2 must be a vector of [e a v tx added] records");
    if (enc(c, &args->u.items[1], &b)) return -1;
    if (arg_conn(c, &args->u.items[0], 1, &d)) {
        dl_buf_free(&b);
        return -1;
    }
    load_ctx l = {&b, NULL, 0};
    int rc = srv_db_write(d, load_fn, &l);
    srv_db_unref(d);
    dl_buf_free(&b);
    if (rc) return engine_error(c);
    if (dec(c, l.out, l.len, &report)) return -1;
    if (report.type == EDN_MAP && report_with_config(c, &args->u.items[0], &report))
        return -1;
    c->res->value = report;
    return 0;
}

static int op_with(ctx *c, const edn_value *args) {
    datalith_db *db;
    edn_value pinned, report;
    dl_buf b = DL_BUF_INIT;
    char *out = NULL;
    size_t len = 0;
    if (want_n(c, args, 2, 2, "[db tx-data]")) return -1;
    if (arg_db(c, &args->u.items[0], 1, &db, &pinned, 0)) return -1;
    if (enc(c, &args->u.items[1], &b)) return -1;
    int rc = datalith_with(db, b.data, b.len, DATALITH_FORMAT_EDN, &out, &len);
    dl_buf_free(&b);
    if (rc) return engine_error(c);
    if (dec(c, out, len, &report)) return -1;
    if (is_tag(&args->u.items[0], "datahike/DB")) {
        const edn_value *cfgv = edn_map_getk(args->u.items[0].u.tagged.val, "config");
        if (report.type == EDN_MAP && report_with_config(c, cfgv, &report)) return -1;
    }
    c->res->value = report;
    return 0;
}

/* ---- queries ---- */

/* Split the arguments after the query into snapshots and other inputs. */
static int split_inputs(ctx *c, const edn_value *items, uint32_t n, uint32_t first_argno,
                        datalith_db ***dbs, size_t *ndbs, edn_value *inputs) {
    datalith_db **d = dl_arena_alloc(c->a, sizeof *d * (n ? n : 1));
    edn_value *in = dl_arena_alloc(c->a, sizeof *in * (n ? n : 1));
    size_t nd = 0, ni = 0;
    if (!d || !in) return nomem(c);
    for (uint32_t i = 0; i < n; i++) {
        edn_value pinned;
        if (is_db_arg(&items[i])) {
            if (arg_db(c, &items[i], (int)(first_argno + i), &d[nd], &pinned, 0))
                return -1;
            nd++;
        } else {
            in[ni++] = items[i];
        }
    }
    *dbs = d;
    *ndbs = nd;
    if (edn_vector(c->a, in, ni, inputs)) return engine_error(c);
    return 0;
}

/* kind: 'q' query, 's' query-stats, 'e' explain */
static int run_query(ctx *c, const edn_value *args, int kind) {
    datalith_db **dbs;
    size_t ndbs;
    edn_value inputs, query;
    if (args->n < 1) return want_n(c, args, 1, 1, "[query & inputs]");
    query = args->u.items[0];
    /* the arg-map form {:query … :args [db …]} */
    if (query.type == EDN_MAP && edn_map_getk(&query, "query") &&
        edn_map_getk(&query, "args")) {
        const edn_value *qa = edn_map_getk(&query, "args");
        if (!edn_is_seq(qa)) return bad_arg(c, "the arg-map's :args must be a vector");
        if (args->n > 1)
            return bad_arg(c, "give inputs either in the arg-map's :args or after "
                              "the query, not both");
        if (split_inputs(c, qa->u.items, qa->n, 1, &dbs, &ndbs, &inputs)) return -1;
        edn_value *kv = dl_arena_alloc(c->a, sizeof *kv * 2 * query.n);
        if (!kv) return nomem(c);
        memcpy(kv, query.u.items, sizeof *kv * 2 * query.n);
        for (uint32_t i = 0; i < query.n; i++)
            if (kv[2 * i].type == EDN_KEYWORD && !strcmp(kv[2 * i].u.sym->full, "args"))
                kv[2 * i + 1] = inputs;
        if (edn_map(c->a, kv, query.n, &query)) return engine_error(c);
    } else if (split_inputs(c, args->u.items + 1, args->n - 1, 2, &dbs, &ndbs,
                            &inputs)) {
        return -1;
    }
    if (kind == 'q') {
        srv_gate_enter();
        int rc = q_run(c->a, &query, (dl_db *const *)(void *)dbs, ndbs, &inputs, NULL,
                       &c->res->value, NULL);
        srv_gate_leave();
        return rc ? engine_error(c) : 0;
    }
    dl_buf qb = DL_BUF_INIT, ib = DL_BUF_INIT;
    char *out = NULL;
    size_t len = 0;
    int rc = 0;
    if (enc(c, &query, &qb) || enc(c, &inputs, &ib)) rc = -1;
    if (!rc) {
        srv_gate_enter();
        rc = kind == 's'
                 ? datalith_query_stats(qb.data, qb.len, dbs, ndbs, ib.data, ib.len,
                                        DATALITH_FORMAT_EDN, &out, &len)
                 : datalith_explain(qb.data, qb.len, dbs, ndbs, ib.data, ib.len,
                                    DATALITH_FORMAT_EDN, &out, &len);
        srv_gate_leave();
        if (rc) rc = engine_error(c);
    }
    dl_buf_free(&qb);
    dl_buf_free(&ib);
    if (rc) return rc;
    if (kind == 's') return dec(c, out, len, &c->res->value);
    rc = edn_string(c->a, out, len, &c->res->value);
    datalith_free(out);
    return rc ? engine_error(c) : 0;
}

static int op_q(ctx *c, const edn_value *a) { return run_query(c, a, 'q'); }
static int op_query_stats(ctx *c, const edn_value *a) { return run_query(c, a, 's'); }
static int op_explain(ctx *c, const edn_value *a) { return run_query(c, a, 'e'); }

/* ---- pull ---- */

static int op_pull_x(ctx *c, const edn_value *args, int many) {
    datalith_db *db;
    edn_value pinned;
    if (want_n(c, args, 3, 3, many ? "[db selector eids]" : "[db selector eid]"))
        return -1;
    if (arg_db(c, &args->u.items[0], 1, &db, &pinned, 0)) return -1;
    const dl_db *d = (const dl_db *)(void *)db;
    srv_gate_enter();
    int rc = many ? dl_pull_many_value(c->a, d, &args->u.items[1], &args->u.items[2],
                                       &c->res->value)
                  : dl_pull_value(c->a, d, &args->u.items[1], &args->u.items[2],
                                  &c->res->value);
    srv_gate_leave();
    return rc ? engine_error(c) : 0;
}

static int op_pull(ctx *c, const edn_value *a) { return op_pull_x(c, a, 0); }
static int op_pull_many(ctx *c, const edn_value *a) { return op_pull_x(c, a, 1); }

/* ---- snapshot + one value -> value (facade entry points) ---- */

typedef int (*db_val_fn)(datalith_db *, const char *, size_t, int, char **, size_t *);
typedef int (*db_fn)(datalith_db *, int, char **, size_t *);

static int call_db_val(ctx *c, const edn_value *db_arg, const edn_value *v,
                       db_val_fn fn) {
    datalith_db *db;
    edn_value pinned;
    dl_buf b = DL_BUF_INIT;
    char *out = NULL;
    size_t len = 0;
    if (arg_db(c, db_arg, 1, &db, &pinned, 0)) return -1;
    if (enc(c, v, &b)) return -1;
    srv_gate_enter();
    int rc = fn(db, b.data, b.len, DATALITH_FORMAT_EDN, &out, &len);
    srv_gate_leave();
    dl_buf_free(&b);
    if (rc) return engine_error(c);
    return dec(c, out, len, &c->res->value);
}

static int call_db(ctx *c, const edn_value *args, db_fn fn) {
    datalith_db *db;
    edn_value pinned;
    char *out = NULL;
    size_t len = 0;
    if (want_n(c, args, 1, 1, "[db]")) return -1;
    if (arg_db(c, &args->u.items[0], 1, &db, &pinned, 0)) return -1;
    srv_gate_enter();
    int rc = fn(db, DATALITH_FORMAT_EDN, &out, &len);
    srv_gate_leave();
    if (rc) return engine_error(c);
    return dec(c, out, len, &c->res->value);
}

static int op_entity(ctx *c, const edn_value *args) {
    if (want_n(c, args, 2, 2, "[db eid]")) return -1;
    return call_db_val(c, &args->u.items[0], &args->u.items[1], datalith_entity);
}

/* [db {:index :eavt :components [...]}] or Datahike's [db :eavt c1 c2 …] */
static int index_args(ctx *c, const edn_value *args, db_val_fn fn) {
    edn_value m;
    if (args->n < 2)
        return want_n(c, args, 2, 2, "[db {:index :eavt :components [...]}] or [db :eavt & components]");
    if (args->u.items[1].type == EDN_KEYWORD) {
        edn_value kv[4], comps;
        if (edn_vector(c->a, args->u.items + 2, args->n - 2, &comps))
            return engine_error(c);
        kv[0] = kw("index");
        kv[1] = args->u.items[1];
        kv[2] = kw("components");
        kv[3] = comps;
        if (edn_map(c->a, kv, 2, &m)) return engine_error(c);
    } else {
        if (args->n != 2)
            return bad_arg(c, "takes [db {:index :eavt :components [...]}] or "
                              "[db :eavt & components]");
        m = args->u.items[1];
    }
    return call_db_val(c, &args->u.items[0], &m, fn);
}

static int op_datoms(ctx *c, const edn_value *a) { return index_args(c, a, datalith_datoms); }
static int op_seek_datoms(ctx *c, const edn_value *a) {
    return index_args(c, a, datalith_seek_datoms);
}
static int op_rseek_datoms(ctx *c, const edn_value *a) {
    return index_args(c, a, datalith_rseek_datoms);
}

static int op_index_range(ctx *c, const edn_value *args) {
    if (want_n(c, args, 2, 2, "[db {:attrid :a :start x :end y}]")) return -1;
    return call_db_val(c, &args->u.items[0], &args->u.items[1], datalith_index_range);
}

static int op_schema(ctx *c, const edn_value *a) { return call_db(c, a, datalith_schema); }
static int op_reverse_schema(ctx *c, const edn_value *a) {
    return call_db(c, a, datalith_reverse_schema);
}
static int op_metrics(ctx *c, const edn_value *a) { return call_db(c, a, datalith_metrics); }

static int op_is_filtered(ctx *c, const edn_value *args) {
    datalith_db *db;
    edn_value pinned;
    int f = 0;
    if (want_n(c, args, 1, 1, "[db]")) return -1;
    if (arg_db(c, &args->u.items[0], 1, &db, &pinned, 0)) return -1;
    if (datalith_is_filtered(db, &f)) return engine_error(c);
    c->res->value = edn_bool(f != 0);
    return 0;
}

/* ---- views ---- */

static int op_history(ctx *c, const edn_value *args) {
    datalith_db *db, *h;
    edn_value pinned;
    if (want_n(c, args, 1, 1, "[db]")) return -1;
    if (arg_db(c, &args->u.items[0], 1, &db, &pinned, 0)) return -1;
    if (datalith_history(db, &h)) return engine_error(c);
    if (hold(c, h)) return -1;
    return view_tag(c, "datahike/HistoricalDB", &pinned, NULL, &c->res->value);
}

static int op_time_view(ctx *c, const edn_value *args, int kind) {
    datalith_db *db, *v;
    edn_value pinned;
    if (want_n(c, args, 2, 2, "[db time-point]")) return -1;
    if (arg_db(c, &args->u.items[0], 1, &db, &pinned, 0)) return -1;
    if (make_view(c, kind, db, &args->u.items[1], &v)) return -1;
    return view_tag(c, kind == 'a' ? "datahike/AsOfDB" : "datahike/SinceDB", &pinned,
                    &args->u.items[1], &c->res->value);
}

static int op_as_of(ctx *c, const edn_value *a) { return op_time_view(c, a, 'a'); }
static int op_since(ctx *c, const edn_value *a) { return op_time_view(c, a, 's'); }

/* ---- the route table ---- */

typedef struct route {
    srv_op op;
    int (*fn)(ctx *c, const edn_value *args);
} route;

static const route routes[] = {
    {{"database-exists", false}, op_database_exists},
    {{"create-database", false}, op_create_database},
    {{"delete-database", false}, op_delete_database},
    {{"transact", false}, op_transact},
    {{"load-entities", false}, op_load_entities},
    {{"db", false}, op_db},
    {{"await-commit", false}, op_await_commit},
    {{"with", true}, op_with},
    {{"q", true}, op_q},
    {{"query-stats", true}, op_query_stats},
    {{"explain", true}, op_explain},
    {{"pull", true}, op_pull},
    {{"pull-many", true}, op_pull_many},
    {{"entity", true}, op_entity},
    {{"datoms", true}, op_datoms},
    {{"seek-datoms", true}, op_seek_datoms},
    {{"rseek-datoms", true}, op_rseek_datoms},
    {{"index-range", true}, op_index_range},
    {{"schema", true}, op_schema},
    {{"reverse-schema", true}, op_reverse_schema},
    {{"metrics", true}, op_metrics},
    {{"is-filtered", true}, op_is_filtered},
    {{"history", true}, op_history},
    {{"as-of", true}, op_as_of},
    {{"since", true}, op_since},
};

const srv_op *srv_op_find(const char *path) {
    if (!path || path[0] != '/') return NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (strcmp(routes[i].op.name, path + 1) == 0) return &routes[i].op;
    return NULL;
}

void srv_op_run(const srv_op *op, dl_arena *a, const edn_value *args,
                srv_result *res) {
    const route *r = (const route *)(const void *)op; /* op is the first member */
    ctx c = {a, res, op->name, NULL, 0, 0};
    res->status = 200;
    res->value = edn_nil();
    dl_err_clear();
    if (args->type != EDN_VECTOR && args->type != EDN_LIST) {
        bad_arg(&c, "the body must be a vector of the arguments, e.g. [config]");
    } else {
        r->fn(&c, args);
    }
    for (size_t i = 0; i < c.n_held; i++) datalith_db_release(c.held[i]);
    free(c.held);
}
