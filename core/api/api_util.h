/*
** api_util.h — the value plumbing every public entry point shares: decode
** a value argument in the caller's datalith_format into a per-call arena,
** and encode a result into fresh memory the caller frees with
** datalith_free().  Internal to core/api.
*/
#ifndef DL_API_UTIL_H
#define DL_API_UTIL_H

#include "db/db.h"
#include "db/tx.h"
#include "util/arena.h"
#include "value/value.h"

#include <stddef.h>

/* Read the value p[0..n) in format `fmt` into *out (allocated from `a`).
** Errors are prefixed with `what` ("config: …"); an unknown format is
** DATALITH_EINVAL. */
int dl_api_read(dl_arena *a, const char *p, size_t n, int fmt,
                const char *what, edn_value *out);

/* Encode v in format `fmt` into *out (malloc'd, NUL-terminated for text
** formats) and its length into *out_len (may be NULL). */
int dl_api_write(const edn_value *v, int fmt, char **out, size_t *out_len);

/* A datom as Datahike prints it: #datahike/Datom [e a v tx added] (v is
** copied into `a`). */
int dl_api_datom_value(dl_arena *a, const dl_datom *d, edn_value *out);

/* A snapshot summary as a transaction report carries it:
** #datahike/DB {:max-eid … :max-tx … [:commit-id #uuid …]}. */
int dl_api_db_value(dl_arena *a, const dl_db *db, edn_value *out);

/* The report map {:db-before :db-after :tx-data :tempids :tx-meta}. */
int dl_api_report_value(dl_arena *a, const dl_db *before,
                        const dl_tx_report *rep, edn_value *out);

/* Split a transact argument: a vector of tx-data, or a map
** {:tx-data … :tx-meta …} (a map without :tx-data: DATALITH_ETX). */
int dl_api_tx_args(const edn_value *in, const edn_value **tx_data,
                   const edn_value **tx_meta);

/* Take (on != 0) or drop the process-wide write lock every local write of
** the facade holds from reading the newest snapshot to its commit, so that
** writes through the same connection never race (api_db.c). */
void dl_api_write_lock(int on);

/* The wall clock in milliseconds since the epoch. */
int64_t dl_api_now_ms(void);

#endif
