/*
** remote.h — the client side of the writer server (docs/remote.md,
** protocol in docs/server.md): the public facade (core/api) hands a call to
** these functions when the configuration asks for it, with one early line at
** the top of the entry point.
**
** Two modes, chosen by the configuration map:
**
**   :writer {:backend :datahike-server :url … :token …}
**       create-database, delete-database and transact are sent to the
**       server; every read stays local on the shared store.  The local
**       connection is an ordinary dl_conn: transact recognises it by its
**       config's writer backend.  After the server acknowledges a
**       transaction the next dl_conn_db() re-reads the branch head, so the
**       caller sees its own write.
**
**   :remote-peer {:backend :datahike-server :url … :token …}
**       every operation is forwarded.  Connections and snapshots are then
**       REMOTE HANDLES: small structs of this module holding the config map
**       (a connection) or the snapshot descriptor the server returned
**       (#datahike/DB {…}, #datahike/AsOfDB {…}, …).  A remote handle is
**       passed through the public API as its address with the lowest bit
**       set, so the facade tells it from a dl_conn / dl_db without reading
**       memory (DL_REMOTE_HANDLE); malloc'd addresses always have that bit
**       clear.
**
** Both modes talk EDN to the server (POST /<op>, body = the vector of the
** positional arguments) and convert the answer into the caller's format.
** Errors: the server's engine errors come back with their own code and
** message (:ex-data {:code :ETX} -> DATALITH_ETX); transport problems are
** DATALITH_EIO "writer server http://…: unreachable: <reason>" (or "…:
** timed out …"); 401 -> DATALITH_EINVAL "writer server http://… refused
** the token …"; 403 -> DATALITH_EINVAL naming the store; 413 ->
** DATALITH_ELIMIT.  A :datahike-server writer on a :memory store is
** DATALITH_EINVAL (the server cannot share the process's memory).
*/
#ifndef DL_REMOTE_H
#define DL_REMOTE_H

#include "datalith.h"
#include "db/db.h"

#include <stddef.h>
#include <stdint.h>

/* ---- routing ---- */

enum { DL_ROUTE_LOCAL = 0, DL_ROUTE_WRITER = 1, DL_ROUTE_PEER = 2 };

/* How a config (given encoded, as the facade receives it) is served:
** DL_ROUTE_LOCAL, _WRITER or _PEER; a negative status when it names a
** remote mode with bad settings (https, a :memory store with a remote
** writer, a missing :url).  A config that does not even decode is
** DL_ROUTE_LOCAL: the local path reports the problem as usual. */
int dl_remote_route(const char *config, size_t config_len, int fmt);

/* Whether a local connection's config sends writes to a server. */
int dl_remote_conn_writer(const dl_conn *c);

/* After dl_conn_open for a config routed `route`: connections are shared
** per store and branch in a process, so a :writer connection may have been
** opened earlier without the server setting (its writes would then be
** local).  Then releases c and returns DATALITH_ECONFLICT; else 0. */
int dl_remote_connected(dl_conn *c, int route);

/* ---- lifecycle, both modes ---- */

int dl_remote_create_database(const char *config, size_t config_len, int fmt,
                              char **out, size_t *out_len);
int dl_remote_delete_database(const char *config, size_t config_len, int fmt);
int dl_remote_database_exists(const char *config, size_t config_len, int fmt,
                              int *out);

/* ---- writer backend ---- */

/* datalith_transact on a local connection whose writer is a server. */
int dl_remote_transact(dl_conn *c, const char *tx, size_t tx_len, int fmt,
                       char **out, size_t *out_len);

/* load-entities on a writer-backend connection or a remote-peer handle:
** [config entities] to /load-entities (an older server answers 404:
** DATALITH_EUNSUPPORTED). */
int dl_remote_load_entities(datalith_conn *conn, const char *entities,
                            size_t entities_len, int fmt, char **out,
                            size_t *out_len);

/* ---- remote peer ---- */

#define DL_REMOTE_HANDLE(h) ((h) != NULL && ((uintptr_t)(const void *)(h) & 1u))

int dl_rpeer_connect(const char *config, size_t config_len, int fmt,
                     datalith_conn **out);
void dl_rpeer_conn_release(datalith_conn *conn);
int dl_rpeer_conn_db(datalith_conn *conn, datalith_db **out);
int dl_rpeer_transact(datalith_conn *conn, const char *tx, size_t tx_len,
                      int fmt, char **out, size_t *out_len);
void dl_rpeer_db_release(datalith_db *db);

/* Forward `op` on a remote snapshot with `n` extra value arguments
** (vals[i] of lens[i] bytes in `fmt`); the result in `fmt`. */
int dl_rpeer_forward(const char *op, datalith_db *db, size_t n,
                     const char *const *vals, const size_t *lens, int fmt,
                     char **out, size_t *out_len);

/* Forward an op that returns a snapshot (history, as-of, since): a new
** remote handle.  `val` may be NULL (no extra argument). */
int dl_rpeer_view(const char *op, datalith_db *db, const char *val,
                  size_t val_len, int fmt, datalith_db **out);

/* with: the report of tx applied to the remote snapshot. */
int dl_rpeer_with(datalith_db *db, const char *tx, size_t tx_len, int fmt,
                  char **out, size_t *out_len);

/* q, query-stats, explain: every snapshot in dbs must be remote. */
int dl_rpeer_query(const char *op, const char *query, size_t query_len,
                   datalith_db *const *dbs, size_t dbs_count,
                   const char *inputs, size_t inputs_len, int fmt, char **out,
                   size_t *out_len);

/* listen / unlisten on a remote-peer handle (rlisten.c): a watcher thread
** long-polls the server's /await-commit and delivers each commit's report
** (docs/remote.md); same arguments and threading as datalith_listen. */
int dl_rpeer_listen(datalith_conn *conn, const char *key, size_t key_len,
                    int fmt, datalith_listen_fn cb, void *cb_ctx, char **out,
                    size_t *out_len);
int dl_rpeer_unlisten(datalith_conn *conn, const char *key, size_t key_len,
                      int fmt);

/* DATALITH_EUNSUPPORTED "<op> is not supported over :remote-peer". */
int dl_rpeer_unsupported(const char *op);

/* Some handles in a query's db list are remote and some local:
** DATALITH_EINVAL.  Returns 1 when all are remote, 0 when none are. */
int dl_rpeer_dbs_remote(datalith_db *const *dbs, size_t n);

#endif
