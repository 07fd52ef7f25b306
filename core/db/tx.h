/*
** tx.h — the transaction layer: turns Datahike tx-data (EDN) into the final
** list of datom changes of one transaction and the next database value
** (reference/datahike-semantics.md §0, §3, §4, §16).
**
** dl_tx_run expands entity maps and list forms against a private working
** copy of the snapshot's EAVT and AVET trees (copy-on-write, so `before`
** never changes), resolving tempids, lookup refs, idents and upserts as it
** goes, exactly in Datahike's order.  The result is handed to dl_db_apply;
** committing is the connection layer's job:
**
**   tx-data ──▶ work stack ──▶ ops ──▶ working EAVT/AVET ──▶ tx-data datoms
**     (maps exploded, nested maps and components pushed in front)   │
**                                              dl_db_apply(before, …) ▼
**                                                            db_after (uncommitted)
**
** An upsert that binds a tempid already used for another id restarts the
** whole expansion with the binding fixed (Datahike's retry-with-tempid).
*/
#ifndef DL_DB_TX_H
#define DL_DB_TX_H

#include "db.h"

#include <stdint.h>

typedef struct dl_tx_report {
    dl_db *db_after;     /* owned reference (uncommitted); see release */
    uint64_t tx;         /* the transaction's entity id */
    int64_t tx_instant;  /* ms of its :db/txInstant */
    dl_datom *datoms;    /* tx-data in order, implied retractions included;
                            values live in the arena given to dl_tx_run */
    size_t n_datoms;
    edn_value tempids;   /* {tempid eid …, :db/current-tx tx} */
    edn_value tx_meta;   /* the given tx-meta map plus :db/txInstant */
} dl_tx_report;

/* Run tx-data (a vector or list) against `before`.  `tx_meta` may be NULL
** or nil; otherwise a map whose entries become datoms on the transaction
** entity (only with :keep-history?; a :db/txInstant there sets the
** transaction's instant).  `now_ms` is the wall clock; the instant is
** max(now_ms, previous + 1).  Everything in *out except db_after is
** allocated from `a` and lives as long as it.
** Errors: DATALITH_ETX (transaction syntax and semantics), DATALITH_ESCHEMA
** (schema violations), DATALITH_EUNSUPPORTED (transaction functions,
** purging schema datoms), DATALITH_ENOMEM; the message is Datahike's text.
** On error *out is zeroed and nothing needs releasing.  Purge ops remove
** their datoms from the current and temporal trees of db_after (not
** reported in datoms); such a value is committed by flushing its trees. */
int dl_tx_run(const dl_db *before, const edn_value *tx_data,
              const edn_value *tx_meta, int64_t now_ms, dl_arena *a,
              dl_tx_report *out);

/* load-entities: write raw [e a v tx added] records (vectors or
** #datahike/Datom values) from another database into `before`, with entity
** and transaction ids remapped (Datahike's transact-entities-directly, see
** tx.c).  The report's tempids and tx_meta are empty maps; tx is the new
** max-tx.  Errors: DATALITH_ETX (a malformed record; attribute ids under a
** database without :attribute-refs? "Configuration mismatch: …"),
** DATALITH_ESCHEMA (undeclared attribute, bad value), DATALITH_ENOMEM. */
int dl_tx_load(const dl_db *before, const edn_value *records, dl_arena *a,
               dl_tx_report *out);

/* Release the report's db_after (NULL-safe; the rest belongs to the arena). */
void dl_tx_report_release(dl_tx_report *r);

#endif
