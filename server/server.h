/*
** server.h — what the parts of datalith-server share.
**
** datalith-server is the single writer process of one or more Datalith
** databases, speaking the Datahike-compatible HTTP protocol of docs/server.md
** (route per operation, body = EDN or JSON vector of the positional
** arguments).  Its parts:
**
**   main.c     command line, signals, start and graceful stop
**   config.c   the server's EDN config file (srv_config)
**   http.c     libmicrohttpd glue: routing, auth, CORS, body limits, the
**              read-deadline watchdog, responses
**   ops.c      one function per route: decode arguments, call the engine,
**              build the result value
**   dbs.c      the databases the server holds: one connection each, the
**              transaction lock, recent snapshots by commit id, and the
**              commit signal /await-commit waits on
**
**   client ──HTTP──▶ http.c ──▶ ops.c ──▶ dbs.c ──▶ core (libdatalith)
*/
#ifndef DL_SERVER_H
#define DL_SERVER_H

#include "db/db.h"
#include "util/arena.h"
#include "value/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- config.c ---- */

typedef struct srv_config {
    int port;                 /* 0: any free port (printed on the ready line) */
    char bind[64];            /* numeric IPv4 or IPv6 address */
    char *token;              /* NULL only with dev_mode */
    size_t token_len;
    bool dev_mode;            /* no token check */
    char **stores;            /* normalised store identities (srv_store_ident) */
    size_t n_stores;
    char **origins;           /* CORS origins; "*" allows any */
    size_t n_origins;
    size_t max_body_bytes;    /* default 10 MiB */
    long read_timeout_ms;     /* a request must arrive whole within this */
    int threads;              /* engine operations running at once */
    int max_connections;      /* open connections at once */
    long await_max_ms;        /* cap of /await-commit's timeout */
    long poll_ms;             /* /await-commit re-reads the head this often
                              ** when the store has no head_wait */
    bool no_head_wait;        /* :head-wait false: poll even if it has one */
    bool log_requests;        /* one line per request on stderr */
} srv_config;

/* Load and check the config file at `path`.  On error returns non-zero and
** writes a one-line message naming the file and the key into err. */
int srv_config_load(const char *path, srv_config *out, char *err, size_t errlen);
void srv_config_free(srv_config *c);

/* The identity a store map is compared by (malloc'd): its canonical EDN
** after :backend normalisation (:mem -> :memory) and with :path made
** absolute and lexically normalised; :password does not take part.
** Returns NULL with the engine's error set when `store` is not a map. */
char *srv_store_ident(const edn_value *store);

/* ---- dbs.c ---- */

typedef struct srv_db srv_db;

/* Look up (or open) the database a config map names.  The config's
** :writer and :remote-peer keys are ignored.  On success *out holds one
** reference (srv_db_unref).  Engine errors (e.g. DATALITH_ENOTFOUND
** "Database does not exist.") are returned with the error set. */
int srv_db_get(const edn_value *config, srv_db **out);
void srv_db_unref(srv_db *d);

/* The connection's newest snapshot (retained). */
int srv_db_current(srv_db *d, dl_db **out);

/* The snapshot with commit id `id` (retained): from the recent-snapshot
** cache, else by walking the branch in the store. */
int srv_db_at(srv_db *d, const uint8_t id[16], dl_db **out);

/* Run a transaction and commit it durably; serialised per database.
** *before and rep->db_after are retained for the caller; rep's values live
** in `a`.  Waiters of srv_db_await are woken after the commit. */
struct dl_tx_report;
int srv_db_transact(srv_db *d, const edn_value *tx_data,
                    const edn_value *tx_meta, dl_arena *a, dl_db **before,
                    struct dl_tx_report *rep);

/* Run fn(conn, ctx) — a write through the engine's own entry point, e.g.
** load-entities — holding the transaction lock; on success waiters are
** woken as after srv_db_transact. */
int srv_db_write(srv_db *d, int (*fn)(dl_conn *c, void *ctx), void *ctx);

/* Wait until the head's commit id differs from `known` (NULL: return the
** head at once) or timeout_ms pass; *out is the head then (retained). */
int srv_db_await(srv_db *d, const uint8_t *known, long timeout_ms,
                 dl_db **out);

/* The transaction reports of the commits after the one with id `known` up
** to `head` (a snapshot of d), oldest first, at most max (*more = 1 when
** some were left): core/db/listen.h dl_listen_reports. */
int srv_db_reports(srv_db *d, const uint8_t known[16], const dl_db *head,
                   size_t max, dl_arena *a, edn_value *out, int *more);

/* Forget the database (before it is deleted): later srv_db_get opens it
** afresh.  Holders of references keep a released connection. */
void srv_db_forget(const edn_value *config);

/* Stop: wake every waiter (they answer at once) and refuse new waits. */
void srv_dbs_shutdown(void);
/* Release every connection (flushes log tails); after the HTTP side
** stopped. */
void srv_dbs_close_all(void);

/* The engine config without :writer and :remote-peer (values in a). */
int srv_engine_config(dl_arena *a, const edn_value *config, edn_value *out);

/* ---- ops.c ---- */

/* HTTP status plus an error message, filled by a failing op. */
typedef struct srv_result {
    int status;               /* 200 on success */
    edn_value value;          /* the result, or the error map */
} srv_result;

typedef struct srv_op {
    const char *name;         /* route without the slash */
    bool pure;                /* GET allowed (spec :pure? true) */
} srv_op;

/* The route table entry for `path` ("/q"), or NULL. */
const srv_op *srv_op_find(const char *path);

/* Run `op` on the decoded argument vector, filling res (status and
** value); never fails without a result. */
void srv_op_run(const srv_op *op, dl_arena *a, const edn_value *args,
                srv_result *res);

/* An error result {:msg msg :ex-data {:code :<code>}} with `status`. */
void srv_error(dl_arena *a, srv_result *res, int status, const char *code,
               const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* ---- http.c ---- */

/* Start serving on g_cfg's address; *port receives the bound port.  On
** failure returns non-zero with a message in err. */
int srv_http_start(int *port, char *err, size_t errlen);
/* Stop accepting connections (in-flight requests continue). */
void srv_http_quiesce(void);
/* Wait until no request is in flight or timeout_ms pass; returns the
** number still in flight. */
int srv_http_wait_idle(long timeout_ms);
/* Close every connection and stop the HTTP threads. */
void srv_http_stop(void);

/* ---- shared state (main.c) ---- */

extern srv_config g_cfg;
/* Store identity allowed by the config? */
bool srv_store_allowed(const char *ident);

/* A counting gate bounding engine operations running at once. */
void srv_gate_enter(void);
void srv_gate_leave(void);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t srv_now_ms(void);

#endif
