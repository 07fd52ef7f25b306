/*
** listen.h — transaction listeners of a connection (Datahike's listen /
** unlisten, reference/datahike-semantics.md §4 and §13).
**
** A listener is a C function called once per commit of the connection's
** branch with the transaction report {:db-before :db-after :tx-data
** :tempids :tx-meta} encoded in the listener's format.  Commits made
** through this connection and commits made by anyone else (another
** process, another store handle) are both delivered, in commit order:
**
**   datalith_transact ── tx_begin ─ commit ─ tx_end(report) ──┐ queue
**                                                             ▼
**   watcher thread (one per connection with listeners):  wait for the head
**   to move (store head_wait, a waiter hook, or polling every 50 ms), walk
**   the commits from the head back to the last one delivered, and for each
**   one, oldest first: the queued report of our own transaction, or a
**   report built from the commit record (its logged :tx-data, or a diff of
**   the two snapshots when the record flushed its nodes instead); then call
**   every listener.
**
** Reports of commits not made through this connection carry the tx-data,
** :tempids {:db/current-tx tx} and :tx-meta {:db/txInstant …} only (the
** user's tempids and tx-meta keys are not stored).  Memory stores have no
** shared head: only commits made through this connection are delivered.
**
** THREADING.  Callbacks run on the watcher thread, one at a time.  A
** callback may call any API function, including transact on the same
** connection, unlisten (of itself too) and release; no lock is held while
** it runs.  dl_listen_remove returns only when the callback is not running
** (unless called from the callback itself) and will not run again.
** Releasing the connection stops and joins the watcher.
*/
#ifndef DL_LISTEN_H
#define DL_LISTEN_H

#include "db.h"
#include "util/arena.h"
#include "value/value.h"

typedef void (*dl_listen_fn)(void *ctx, int status, const char *report,
                             size_t report_len);

/* Add a listener under `key` (NULL or nil: a fresh keyword
** :datalith.listener/<n>); *key_out receives the key (in arena a).
** A key already in use: DATALITH_EEXISTS. */
int dl_listen_add(dl_conn *c, const edn_value *key, int fmt, dl_listen_fn fn,
                  void *ctx, dl_arena *a, edn_value *key_out);

/* Remove listener `key`; DATALITH_ENOTFOUND if there is none. */
int dl_listen_remove(dl_conn *c, const edn_value *key);

/* Bracket a transaction made through this connection so the watcher
** delivers its full report (with the caller's tempids and tx-meta).
** tx_begin returns a token for tx_end; `after` is the committed value and
** `report` its report, or NULL when the transaction failed. */
int dl_listen_tx_begin(dl_conn *c);
void dl_listen_tx_end(dl_conn *c, int token, const dl_db *after,
                      const edn_value *report);

/* A hook for connections whose commits happen elsewhere (e.g. a remote
** writer's /await-commit): wait up to timeout_ms for the head to differ
** from `known`; return 0 (spurious wake-ups are fine) or an error.  NULL
** restores the default (the store's head_wait, else polling). */
typedef int (*dl_listen_wait_fn)(void *ctx, dl_conn *c, const char *known,
                                 int timeout_ms);
void dl_listen_set_waiter(dl_conn *c, dl_listen_wait_fn fn, void *ctx);

/* The reports of the commits after the one whose id is `known` up to
** commit key `head`, oldest first, in a vector in arena a: built from the
** commit records exactly as the watcher builds them for commits made
** elsewhere (tx-data; :tempids {:db/current-tx tx}; :tx-meta
** {:db/txInstant t}); commits that changed nothing are left out.  At most
** `max` reports, *more = 1 when later commits were left for another call
** (the last report's :db-after names where to go on).  When `known` is
** not on the branch (reset, or further back than the walk limit) only
** head's report.  Not for memory connections (no commit records). */
int dl_listen_reports(dl_conn *c, const uint8_t known[16], const char *head,
                      size_t max, dl_arena *a, edn_value *out, int *more);

/* Called by dl_conn_release for the last reference, before the connection
** is freed: drops every listener and stops the watcher. */
void dl_listen_conn_closing(dl_conn *c);

#endif
