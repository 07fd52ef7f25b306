/*
** api_util.c — value arguments and results of the public facade (see
** api_util.h).
*/
#define _POSIX_C_SOURCE 200809L
#include "api_util.h"

#include "datalith.h"
#include "util/buf.h"
#include "util/error.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

int dl_api_read(dl_arena *a, const char *p, size_t n, int fmt,
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

int dl_api_write(const edn_value *v, int fmt, char **out, size_t *out_len) {
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

/* The keywords and tags every transaction report uses, interned once (a
** report is built per transact call; interning each time cost ~3 % of a
** one-datom transaction). */
static struct {
    const edn_sym *max_eid, *max_tx, *commit_id, *db_before, *db_after,
        *tx_data, *tempids, *tx_meta, *datom, *db;
} RK;
static pthread_once_t rk_once = PTHREAD_ONCE_INIT;
static bool rk_ok;

static void rk_fill(void) {
#define RKW(f, s)                                                            \
    if (!(RK.f = edn_intern_full(s, strlen(s)))) return;
    RKW(max_eid, "max-eid");
    RKW(max_tx, "max-tx");
    RKW(commit_id, "commit-id");
    RKW(db_before, "db-before");
    RKW(db_after, "db-after");
    RKW(tx_data, "tx-data");
    RKW(tempids, "tempids");
    RKW(tx_meta, "tx-meta");
    RKW(datom, "datahike/Datom");
    RKW(db, "datahike/DB");
#undef RKW
    rk_ok = true;
}

static int rk_init(void) {
    pthread_once(&rk_once, rk_fill);
    return rk_ok ? 0 : dl_err_nomem();
}

int dl_api_datom_value(dl_arena *a, const dl_datom *d, edn_value *out) {
    edn_value items[5], vec;
    int rc;
    items[0] = edn_int((int64_t)d->e);
    items[1] = edn_keyword(d->a);
    if ((rc = edn_clone(a, &d->v, &items[2])) != 0) return rc;
    items[3] = edn_int((int64_t)d->tx);
    items[4] = edn_bool(d->added);
    if ((rc = edn_vector(a, items, 5, &vec)) != 0) return rc;
    if ((rc = rk_init()) != 0) return rc;
    return edn_tagged(a, RK.datom, &vec, out);
}

int dl_api_db_value(dl_arena *a, const dl_db *db, edn_value *out) {
    static const uint8_t zero[16];
    edn_value kv[6], map;
    size_t n = 0;
    int rc = rk_init();
    if (rc) return rc;
    kv[n++] = edn_keyword(RK.max_eid);
    kv[n++] = edn_int((int64_t)db->max_eid);
    kv[n++] = edn_keyword(RK.max_tx);
    kv[n++] = edn_int((int64_t)db->max_tx);
    if (memcmp(db->commit_id, zero, 16) != 0) {
        kv[n++] = edn_keyword(RK.commit_id);
        kv[n++] = edn_uuid(db->commit_id);
    }
    if ((rc = edn_map(a, kv, n / 2, &map)) != 0) return rc;
    return edn_tagged(a, RK.db, &map, out);
}

int dl_api_report_value(dl_arena *a, const dl_db *before,
                        const dl_tx_report *rep, edn_value *out) {
    edn_value kv[10];
    edn_value *datoms =
        dl_arena_alloc(a, (rep->n_datoms ? rep->n_datoms : 1) * sizeof *datoms);
    int rc = 0;
    if (!datoms) return dl_err_last()->code;
    if ((rc = rk_init()) != 0) return rc;
    for (size_t i = 0; i < rep->n_datoms && !rc; i++)
        rc = dl_api_datom_value(a, &rep->datoms[i], &datoms[i]);
    kv[0] = edn_keyword(RK.db_before);
    if (!rc) rc = dl_api_db_value(a, before, &kv[1]);
    kv[2] = edn_keyword(RK.db_after);
    if (!rc) rc = dl_api_db_value(a, rep->db_after, &kv[3]);
    kv[4] = edn_keyword(RK.tx_data);
    if (!rc) rc = edn_vector(a, datoms, rep->n_datoms, &kv[5]);
    kv[6] = edn_keyword(RK.tempids);
    kv[7] = rep->tempids;
    kv[8] = edn_keyword(RK.tx_meta);
    kv[9] = rep->tx_meta;
    if (!rc) rc = edn_map(a, kv, 5, out);
    return rc;
}

int dl_api_tx_args(const edn_value *in, const edn_value **tx_data,
                   const edn_value **tx_meta) {
    *tx_data = in;
    *tx_meta = NULL;
    if (in->type != EDN_MAP) return DATALITH_OK;
    *tx_data = edn_map_getk(in, "tx-data");
    *tx_meta = edn_map_getk(in, "tx-meta");
    if (!*tx_data)
        return dl_err_set(DATALITH_ETX,
                          "Bad transaction data: a map must hold :tx-data "
                          "(and optionally :tx-meta)");
    return DATALITH_OK;
}

int64_t dl_api_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
