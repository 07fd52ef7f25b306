/*
** api_db.c — the public facade of databases, connections, snapshots,
** transactions and raw index access (spec/api.edn: lifecycle, connection,
** write, index and schema categories).
**
** The exported entry points are generated (core/api/dispatch_gen.c, from
** spec/api.edn): they clear the thread's error, check handles and
** out-pointers, forward remote-peer handles, and call the dl_impl_*
** functions here.  Every implementation follows one shape: decode the
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

#include "api_util.h"
#include "impl_gen.h"

#include "db/config.h"
#include "db/db.h"
#include "db/listen.h"
#include "db/schema.h"
#include "db/tx.h"
#include "db/view.h"
#include "index/btree.h"
#include "remote/remote.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "value/value.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TO_CONN(c) ((dl_conn *)(void *)(c))
#define TO_DB(d) ((dl_db *)(void *)(d))

/* ---- value arguments and results ---- */

static int api_config(dl_arena *a, const char *p, size_t n, int fmt,
                      dl_config *cfg) {
    edn_value v;
    int rc = dl_api_read(a, p, n, fmt, "config", &v);
    if (rc) return rc;
    return dl_config_parse(a, &v, cfg);
}

/* ---- lifecycle ---- */

int dl_impl_database_exists(const char *config,
                            size_t config_len, int fmt,
                            int *out) {
    dl_arena a;
    dl_config cfg;
    int rc, exists = 0;
    rc = dl_remote_route(config, config_len, fmt); /* core/remote */
    if (rc < 0) return rc;
    if (rc == DL_ROUTE_PEER)
        return dl_remote_database_exists(config, config_len, fmt, out);
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

void dl_api_write_lock(int on) {
    if (on) pthread_mutex_lock(&api_write_mu);
    else pthread_mutex_unlock(&api_write_mu);
}

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
    if (!rc) rc = dl_tx_run(*before, tx_data, tx_meta, dl_api_now_ms(), a, rep);
    if (!rc) rc = dl_conn_commit(c, rep->db_after);
    pthread_mutex_unlock(&api_write_mu);
    return rc;
}

int dl_impl_create_database(const char *config,
                            size_t config_len, int fmt,
                            char **out, size_t *out_len) {
    dl_arena a;
    dl_config cfg;
    edn_value done;
    int rc;
    rc = dl_remote_route(config, config_len, fmt); /* core/remote */
    if (rc < 0) return rc;
    if (rc != DL_ROUTE_LOCAL)
        return dl_remote_create_database(config, config_len, fmt, out, out_len);
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
    if (!rc) rc = dl_api_write(&done, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

int dl_impl_delete_database(const char *config,
                            size_t config_len, int fmt) {
    dl_arena a;
    dl_config cfg;
    int rc;
    rc = dl_remote_route(config, config_len, fmt); /* core/remote */
    if (rc < 0) return rc;
    if (rc != DL_ROUTE_LOCAL)
        return dl_remote_delete_database(config, config_len, fmt);
    dl_arena_init(&a, 0);
    rc = api_config(&a, config, config_len, fmt, &cfg);
    if (!rc) rc = dl_db_delete(&cfg);
    dl_arena_free(&a);
    return rc;
}

/* ---- connections and snapshots ---- */

int dl_impl_connect(const char *config, size_t config_len,
                    int fmt, datalith_conn **out) {
    dl_arena a;
    dl_config cfg;
    dl_conn *c = NULL;
    int rc, route;
    rc = route = dl_remote_route(config, config_len, fmt); /* core/remote */
    if (rc < 0) return rc;
    if (rc == DL_ROUTE_PEER) return dl_rpeer_connect(config, config_len, fmt, out);
    dl_arena_init(&a, 0);
    rc = api_config(&a, config, config_len, fmt, &cfg);
    if (!rc) rc = dl_conn_open(&cfg, &c);
    if (!rc) rc = dl_remote_connected(c, route);
    dl_arena_free(&a);
    if (!rc) *out = (datalith_conn *)(void *)c;
    return rc;
}

DATALITH_API void datalith_conn_release(datalith_conn *conn) {
    if (DL_REMOTE_HANDLE(conn)) dl_rpeer_conn_release(conn);
    else if (conn) dl_conn_release(TO_CONN(conn));
}

int dl_impl_conn_db(datalith_conn *conn, datalith_db **out) {
    dl_db *db = NULL;
    int rc = dl_conn_db(TO_CONN(conn), &db);
    if (!rc) *out = (datalith_db *)(void *)db;
    return rc;
}

DATALITH_API void datalith_db_release(datalith_db *db) {
    if (DL_REMOTE_HANDLE(db)) dl_rpeer_db_release(db);
    else if (db) dl_view_release(TO_DB(db)); /* also frees a filter chain */
}

/* ---- writes ---- */

int dl_impl_transact(datalith_conn *conn, const char *tx,
                     size_t tx_len, int fmt, char **out,
                     size_t *out_len) {
    dl_arena a;
    edn_value in, report;
    const edn_value *tx_data, *tx_meta = NULL;
    dl_db *before = NULL;
    dl_tx_report rep;
    int rc;

    memset(&rep, 0, sizeof rep);
    if (dl_remote_conn_writer(TO_CONN(conn)))
        return dl_remote_transact(TO_CONN(conn), tx, tx_len, fmt, out, out_len);
    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, tx, tx_len, fmt, "tx-data", &in);
    if (rc) goto done;
    rc = dl_api_tx_args(&in, &tx_data, &tx_meta);
    if (rc) goto done;
    /* listeners get this report (with its tempids and tx-meta) */
    int ltok = dl_listen_tx_begin(TO_CONN(conn));
    rc = run_transact(TO_CONN(conn), tx_data, tx_meta, &a, &before, &rep);
    if (!rc) rc = dl_api_report_value(&a, before, &rep, &report);
    dl_listen_tx_end(TO_CONN(conn), ltok, rc ? NULL : rep.db_after,
                     rc ? NULL : &report);
    if (rc) goto done;
    rc = dl_api_write(&report, fmt, out, out_len);
done:
    dl_tx_report_release(&rep);
    if (before) dl_db_release(before);
    dl_arena_free(&a);
    return rc;
}

/* ---- raw index access ---- */

/* api_view.c: the view-aware index scans (mode 0 = datoms). */
int api_index_datoms(datalith_db *dbh, const char *args, size_t args_len,
                     int fmt, int mode, char **out, size_t *out_len);

int dl_impl_datoms(datalith_db *dbh, const char *args,
                   size_t args_len, int fmt, char **out,
                   size_t *out_len) {
    return api_index_datoms(dbh, args, args_len, fmt, 0, out, out_len);
}

/* ---- schema ---- */

int dl_impl_schema(datalith_db *dbh, int fmt, char **out,
                   size_t *out_len) {
    dl_arena a;
    edn_value v;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_schema_to_edn(&a, TO_DB(dbh)->schema, &v);
    if (!rc) rc = dl_api_write(&v, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

int dl_impl_reverse_schema(datalith_db *dbh, int fmt, char **out,
                           size_t *out_len) {
    dl_arena a;
    edn_value v;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_schema_reverse_to_edn(&a, TO_DB(dbh)->schema, &v);
    if (!rc) rc = dl_api_write(&v, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}
