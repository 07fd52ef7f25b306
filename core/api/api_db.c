/*
** api_db.c — the public facade of databases, connections, snapshots,
** transactions and raw index access (spec/api.edn: lifecycle, connection,
** write, index and schema categories).
**
** Every entry point follows one shape: clear the thread's error, decode the
** value arguments (EDN, JSON or CBOR) into a per-call arena, call the
** engine, encode the result with the caller's format, free the arena.  So an
** error path can never leak and a value handed back is always fresh memory
** the caller frees with datalith_free().
**
** Handles are the engine's own refcounted objects behind opaque public
** types: a datalith_conn is a dl_conn, a datalith_db is a dl_db.
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"

#include "db/config.h"
#include "db/db.h"
#include "db/schema.h"
#include "db/tx.h"
#include "index/btree.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "value/value.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TO_CONN(c) ((dl_conn *)(void *)(c))
#define TO_DB(d) ((dl_db *)(void *)(d))

/* ---- value arguments and results ---- */

static int api_read(dl_arena *a, const char *p, size_t n, int fmt,
                    const char *what, edn_value *out) {
    int rc;
    if (!p && n) return dl_err_set(DATALITH_EINVAL, "%s: NULL data", what);
    if (!p) p = "";
    switch (fmt) {
    case DATALITH_FORMAT_EDN: rc = edn_read(a, p, n, NULL, out); break;
    case DATALITH_FORMAT_JSON: rc = json_read(a, p, n, NULL, out); break;
    case DATALITH_FORMAT_CBOR:
        rc = cbor_read(a, (const uint8_t *)p, n, NULL, out);
        break;
    default:
        return dl_err_set(DATALITH_EINVAL, "%s: unknown format %d", what, fmt);
    }
    if (rc) dl_err_prefix("%s: ", what);
    return rc;
}

static int api_write(const edn_value *v, int fmt, char **out, size_t *out_len) {
    dl_buf b = DL_BUF_INIT;
    int rc;
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    switch (fmt) {
    case DATALITH_FORMAT_EDN: rc = edn_write(&b, v); break;
    case DATALITH_FORMAT_JSON: rc = json_write(&b, v); break;
    case DATALITH_FORMAT_CBOR: rc = cbor_write(&b, v); break;
    default: rc = dl_err_set(DATALITH_EINVAL, "unknown format %d", fmt);
    }
    if (rc) {
        dl_buf_free(&b);
        return rc;
    }
    size_t len = 0;
    *out = dl_buf_detach(&b, &len);
    if (!*out) return dl_err_nomem();
    if (out_len) *out_len = len;
    return DATALITH_OK;
}

static int api_config(dl_arena *a, const char *p, size_t n, int fmt,
                      dl_config *cfg) {
    edn_value v;
    int rc = api_read(a, p, n, fmt, "config", &v);
    if (rc) return rc;
    return dl_config_parse(a, &v, cfg);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static edn_value kw(const char *full) { return edn_keyword_str(full); }

/* A datom as Datahike prints it: #datahike/Datom [e a v tx added]. */
static int datom_value(dl_arena *a, const dl_datom *d, edn_value *out) {
    edn_value items[5], vec;
    items[0] = edn_int((int64_t)d->e);
    items[1] = edn_keyword(d->a);
    items[2] = d->v;
    items[3] = edn_int((int64_t)d->tx);
    items[4] = edn_bool(d->added);
    int rc = edn_vector(a, items, 5, &vec);
    if (rc) return rc;
    const edn_sym *tag = edn_intern_full("datahike/Datom", 14);
    if (!tag) return dl_err_nomem();
    return edn_tagged(a, tag, &vec, out);
}

/* A snapshot summary, as the tx report's :db-before / :db-after carry it:
** #datahike/DB {:max-eid … :max-tx … :commit-id #uuid …}. */
static int db_value(dl_arena *a, const dl_db *db, edn_value *out) {
    edn_value kv[6], map;
    size_t n = 0;
    kv[n++] = kw("max-eid");
    kv[n++] = edn_int((int64_t)db->max_eid);
    kv[n++] = kw("max-tx");
    kv[n++] = edn_int((int64_t)db->max_tx);
    static const uint8_t zero[16];
    if (memcmp(db->commit_id, zero, 16) != 0) {
        kv[n++] = kw("commit-id");
        kv[n++] = edn_uuid(db->commit_id);
    }
    int rc = edn_map(a, kv, n / 2, &map);
    if (rc) return rc;
    const edn_sym *tag = edn_intern_full("datahike/DB", 11);
    if (!tag) return dl_err_nomem();
    return edn_tagged(a, tag, &map, out);
}

/* ---- lifecycle ---- */

DATALITH_API int datalith_database_exists(const char *config,
                                          size_t config_len, int fmt,
                                          int *out) {
    dl_arena a;
    dl_config cfg;
    int rc, exists = 0;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    rc = api_config(&a, config, config_len, fmt, &cfg);
    if (!rc) rc = dl_db_exists(&cfg, &exists);
    dl_arena_free(&a);
    if (!rc) *out = exists;
    return rc;
}

/* Transact tx-data on a connection and fill `rep`; the caller frees the
** arena and releases rep->db_after and *before. */
static pthread_mutex_t api_write_mu = PTHREAD_MUTEX_INITIALIZER;

static int run_transact(dl_conn *c, const edn_value *tx_data,
                        const edn_value *tx_meta, dl_arena *a,
                        dl_db **before, dl_tx_report *rep) {
    int rc;
    *before = NULL;
    memset(rep, 0, sizeof *rep);
    /* One transaction at a time per process: the tx runs against the newest
    ** snapshot and must commit on top of exactly that snapshot. */
    pthread_mutex_lock(&api_write_mu);
    rc = dl_conn_db(c, before);
    if (!rc) rc = dl_tx_run(*before, tx_data, tx_meta, now_ms(), a, rep);
    if (!rc) rc = dl_conn_commit(c, rep->db_after);
    pthread_mutex_unlock(&api_write_mu);
    return rc;
}

DATALITH_API int datalith_create_database(const char *config,
                                          size_t config_len, int fmt,
                                          char **out, size_t *out_len) {
    dl_arena a;
    dl_config cfg;
    edn_value done;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    rc = api_config(&a, config, config_len, fmt, &cfg);
    if (!rc) rc = dl_db_create(&cfg);
    if (!rc && cfg.has_initial_tx) {
        dl_conn *c = NULL;
        rc = dl_conn_open(&cfg, &c);
        if (!rc) {
            dl_db *before = NULL;
            dl_tx_report rep;
            rc = run_transact(c, &cfg.initial_tx, NULL, &a, &before, &rep);
            dl_tx_report_release(&rep);
            if (before) dl_db_release(before);
            dl_conn_release(c);
        }
        if (rc) dl_err_prefix("initial-tx: ");
    }
    if (!rc) rc = dl_config_to_edn(&a, &cfg, &done);
    if (!rc) rc = api_write(&done, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

DATALITH_API int datalith_delete_database(const char *config,
                                          size_t config_len, int fmt) {
    dl_arena a;
    dl_config cfg;
    int rc;
    dl_err_clear();
    dl_arena_init(&a, 0);
    rc = api_config(&a, config, config_len, fmt, &cfg);
    if (!rc) rc = dl_db_delete(&cfg);
    dl_arena_free(&a);
    return rc;
}

/* ---- connections and snapshots ---- */

DATALITH_API int datalith_connect(const char *config, size_t config_len,
                                  int fmt, datalith_conn **out) {
    dl_arena a;
    dl_config cfg;
    dl_conn *c = NULL;
    int rc;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    rc = api_config(&a, config, config_len, fmt, &cfg);
    if (!rc) rc = dl_conn_open(&cfg, &c);
    dl_arena_free(&a);
    if (!rc) *out = (datalith_conn *)(void *)c;
    return rc;
}

DATALITH_API void datalith_conn_release(datalith_conn *conn) {
    if (conn) dl_conn_release(TO_CONN(conn));
}

DATALITH_API int datalith_conn_db(datalith_conn *conn, datalith_db **out) {
    dl_db *db = NULL;
    dl_err_clear();
    if (!conn || !out) return dl_err_set(DATALITH_EINVAL, "NULL argument");
    int rc = dl_conn_db(TO_CONN(conn), &db);
    if (!rc) *out = (datalith_db *)(void *)db;
    return rc;
}

DATALITH_API void datalith_db_release(datalith_db *db) {
    if (db) dl_db_release(TO_DB(db));
}

/* ---- writes ---- */

DATALITH_API int datalith_transact(datalith_conn *conn, const char *tx,
                                   size_t tx_len, int fmt, char **out,
                                   size_t *out_len) {
    dl_arena a;
    edn_value in, report;
    const edn_value *tx_data, *tx_meta = NULL;
    dl_db *before = NULL;
    dl_tx_report rep;
    int rc;

    dl_err_clear();
    memset(&rep, 0, sizeof rep);
    if (!conn) return dl_err_set(DATALITH_EINVAL, "NULL connection");
    dl_arena_init(&a, 0);
    rc = api_read(&a, tx, tx_len, fmt, "tx-data", &in);
    if (rc) goto done;
    tx_data = &in;
    if (in.type == EDN_MAP) {
        tx_data = edn_map_getk(&in, "tx-data");
        tx_meta = edn_map_getk(&in, "tx-meta");
        if (!tx_data) {
            rc = dl_err_set(DATALITH_ETX,
                            "Bad transaction data: a map must hold :tx-data "
                            "(and optionally :tx-meta)");
            goto done;
        }
    }
    rc = run_transact(TO_CONN(conn), tx_data, tx_meta, &a, &before, &rep);
    if (rc) goto done;

    /* {:db-before :db-after :tx-data :tempids :tx-meta} */
    {
        edn_value *datoms = dl_arena_alloc(&a, (rep.n_datoms ? rep.n_datoms : 1) *
                                                   sizeof *datoms);
        edn_value kv[10];
        if (!datoms) { rc = DATALITH_ENOMEM; goto done; }
        for (size_t i = 0; i < rep.n_datoms && !rc; i++)
            rc = datom_value(&a, &rep.datoms[i], &datoms[i]);
        kv[0] = kw("db-before");
        if (!rc) rc = db_value(&a, before, &kv[1]);
        kv[2] = kw("db-after");
        if (!rc) rc = db_value(&a, rep.db_after, &kv[3]);
        kv[4] = kw("tx-data");
        if (!rc) rc = edn_vector(&a, datoms, rep.n_datoms, &kv[5]);
        kv[6] = kw("tempids");
        kv[7] = rep.tempids;
        kv[8] = kw("tx-meta");
        kv[9] = rep.tx_meta;
        if (!rc) rc = edn_map(&a, kv, 5, &report);
        if (!rc) rc = api_write(&report, fmt, out, out_len);
    }
done:
    dl_tx_report_release(&rep);
    if (before) dl_db_release(before);
    dl_arena_free(&a);
    return rc;
}

/* ---- raw index access ---- */

static int index_of(const edn_value *v, dl_index *out) {
    static const char *names[] = {"eavt", "aevt", "avet"};
    if (v && v->type == EDN_KEYWORD && !v->u.sym->ns) {
        for (int i = 0; i < 3; i++)
            if (!strcmp(v->u.sym->name, names[i])) {
                *out = (dl_index)i;
                return DATALITH_OK;
            }
    }
    return dl_err_set(DATALITH_EINVAL,
                      "datoms: :index must be one of :eavt :aevt :avet");
}

/* Resolve an entity component: an id, a keyword ident or a lookup ref
** [attr value] on a unique attribute.  *found 0 when nothing matches. */
static int resolve_eid(const dl_db *db, const edn_value *v, uint64_t *out,
                       int *found) {
    *found = 1;
    if (v->type == EDN_INT && v->u.i >= 0) {
        *out = (uint64_t)v->u.i;
        return DATALITH_OK;
    }
    dl_datom key;
    unsigned nf;
    dl_index order = DL_AVET;
    memset(&key, 0, sizeof key);
    if (v->type == EDN_KEYWORD) {
        key.a = edn_intern_full("db/ident", 8);
        key.v = *v;
        nf = 2;
    } else if (edn_is_seq(v) && v->n == 2 &&
               v->u.items[0].type == EDN_KEYWORD) {
        const dl_attr *at = dl_schema_attr(db->schema, v->u.items[0].u.sym);
        if (!at || !at->unique)
            return dl_err_set(DATALITH_EINVAL,
                              "Lookup ref attribute should be marked as "
                              ":db/unique: [%s ...]",
                              v->u.items[0].u.sym->full);
        key.a = v->u.items[0].u.sym;
        key.v = v->u.items[1];
        nf = 2;
    } else {
        return dl_err_set(DATALITH_ETYPE,
                          "Expected number or lookup ref for entity id, got "
                          "a %s",
                          edn_type_name((edn_type)v->type));
    }
    bt_cursor *cur = NULL;
    int rc = bt_cursor_open(&db->idx[order], &cur);
    if (rc) return rc;
    rc = bt_cursor_seek(cur, &key, nf, 0);
    *found = 0;
    if (!rc && bt_cursor_valid(cur)) {
        dl_datom d;
        bt_cursor_get(cur, &d);
        if (dl_datom_cmp(order, &d, &key, nf) == 0) {
            *out = d.e;
            *found = 1;
        }
    }
    if (!rc) rc = bt_cursor_error(cur);
    bt_cursor_close(cur);
    return rc;
}

DATALITH_API int datalith_datoms(datalith_db *dbh, const char *args,
                                 size_t args_len, int fmt, char **out,
                                 size_t *out_len) {
    dl_arena a;
    edn_value in, result;
    dl_db *db = TO_DB(dbh);
    dl_index order = DL_EAVT;
    dl_datom key;
    unsigned nf = 0;
    int rc;

    dl_err_clear();
    if (!db) return dl_err_set(DATALITH_EINVAL, "NULL snapshot");
    dl_arena_init(&a, 0);
    memset(&key, 0, sizeof key);
    rc = api_read(&a, args, args_len, fmt, "datoms", &in);
    if (rc) goto done;
    if (in.type != EDN_MAP) {
        rc = dl_err_set(DATALITH_EINVAL,
                        "datoms: expected a map {:index … :components […]}");
        goto done;
    }
    rc = index_of(edn_map_getk(&in, "index"), &order);
    if (rc) goto done;
    const edn_value *comps = edn_map_getk(&in, "components");
    if (comps && comps->type != EDN_NIL && !edn_is_seq(comps)) {
        rc = dl_err_set(DATALITH_EINVAL, "datoms: :components must be a vector");
        goto done;
    }
    /* Components come in index order; fill the key accordingly. */
    static const char roles[3][4] = {{'e', 'a', 'v', 't'},
                                     {'a', 'e', 'v', 't'},
                                     {'a', 'v', 'e', 't'}};
    size_t ncomp = comps && comps->type != EDN_NIL ? comps->n : 0;
    if (ncomp > 4) {
        rc = dl_err_set(DATALITH_EINVAL, "datoms: at most 4 components");
        goto done;
    }
    int empty = 0;
    for (size_t i = 0; i < ncomp && !rc; i++) {
        const edn_value *c = &comps->u.items[i];
        switch (roles[order][i]) {
        case 'e': {
            int found;
            rc = resolve_eid(db, c, &key.e, &found);
            if (!rc && !found) empty = 1;
            break;
        }
        case 'a':
            if (c->type != EDN_KEYWORD) {
                rc = dl_err_set(DATALITH_ETYPE,
                                "datoms: attribute component must be a keyword");
                break;
            }
            key.a = c->u.sym;
            if (dl_schema_flexibility(db->schema) == DL_FLEX_WRITE &&
                !dl_schema_attr(db->schema, key.a))
                rc = dl_err_set(DATALITH_ESCHEMA,
                                "Bad entity attribute %s at nil, not defined "
                                "in current schema",
                                key.a->full);
            break;
        case 'v': key.v = *c; break;
        case 't':
            if (c->type != EDN_INT) {
                rc = dl_err_set(DATALITH_ETYPE,
                                "datoms: transaction component must be an id");
                break;
            }
            key.tx = (uint64_t)c->u.i;
            break;
        }
        nf++;
    }
    if (rc) goto done;

    {
        size_t cap = 64, n = 0;
        edn_value *items = dl_arena_alloc(&a, cap * sizeof *items);
        bt_cursor *cur = NULL;
        if (!items) { rc = DATALITH_ENOMEM; goto done; }
        if (!empty) {
            rc = bt_cursor_open(&db->idx[order], &cur);
            if (!rc) rc = nf ? bt_cursor_seek(cur, &key, nf, 0) : bt_cursor_first(cur);
            while (!rc && bt_cursor_valid(cur)) {
                dl_datom d;
                bt_cursor_get(cur, &d);
                if (nf && dl_datom_cmp(order, &d, &key, nf) != 0) break;
                if (n == cap) {
                    items = dl_arena_realloc(&a, items, cap * sizeof *items,
                                             cap * 2 * sizeof *items);
                    if (!items) { rc = DATALITH_ENOMEM; break; }
                    cap *= 2;
                }
                edn_value v;
                rc = edn_clone(&a, &d.v, &v);
                if (rc) break;
                d.v = v;
                rc = datom_value(&a, &d, &items[n++]);
                if (!rc) rc = bt_cursor_next(cur);
            }
            if (!rc && cur) rc = bt_cursor_error(cur);
            bt_cursor_close(cur);
        }
        if (!rc) rc = edn_vector(&a, items, n, &result);
        if (!rc) rc = api_write(&result, fmt, out, out_len);
    }
done:
    dl_arena_free(&a);
    return rc;
}

/* ---- schema ---- */

DATALITH_API int datalith_schema(datalith_db *dbh, int fmt, char **out,
                                 size_t *out_len) {
    dl_arena a;
    edn_value v;
    int rc;
    dl_err_clear();
    if (!dbh) return dl_err_set(DATALITH_EINVAL, "NULL snapshot");
    dl_arena_init(&a, 0);
    rc = dl_schema_to_edn(&a, TO_DB(dbh)->schema, &v);
    if (!rc) rc = api_write(&v, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

DATALITH_API int datalith_reverse_schema(datalith_db *dbh, int fmt, char **out,
                                         size_t *out_len) {
    dl_arena a;
    edn_value v;
    int rc;
    dl_err_clear();
    if (!dbh) return dl_err_set(DATALITH_EINVAL, "NULL snapshot");
    dl_arena_init(&a, 0);
    rc = dl_schema_reverse_to_edn(&a, TO_DB(dbh)->schema, &v);
    if (!rc) rc = api_write(&v, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}
