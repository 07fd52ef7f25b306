/*
** store_pg.c — the :pg backend: a store is two tables in a PostgreSQL
** database, reached through libpq.  Many processes on many machines can
** open the same store: readers read straight from the tables, the one
** writer (advisory lock) commits with a compare-and-set on the head row.
**
**   <table>        (k text COLLATE "C" PRIMARY KEY, v bytea NOT NULL)
**                  one row per object; written once, never updated
**   <table>_heads  (branch text COLLATE "C" PRIMARY KEY, v bytea NOT NULL)
**                  one row per branch head
**
** Config: {:backend :pg :host "127.0.0.1" :port 5432 :dbname "x" :user "u"
**          :password "p" :table "datalith" :connect-timeout-ms 5000
**          :statement-timeout-ms 30000 :sslmode "prefer"}
** or Datahike's JDBC form {:backend :jdbc :dbtype "postgresql" …} with the
** same keys, or :jdbcUrl "jdbc:postgresql://host:port/db?user=u&password=p".
** Every key but :backend is optional (libpq's defaults and PG* environment
** variables apply); :table defaults to "datalith".
**
** Writes.  put buffers the object in the handle (visible to its own get
** and list); sync writes the buffer in one transaction, head_cas writes it
** together with the head:
**
**   BEGIN
**   INSERT INTO t (k, v) SELECT * FROM unnest($keys, $values)
**          ON CONFLICT (k) DO NOTHING            -- put is idempotent
**   UPDATE t_heads SET v = $new WHERE branch = $b AND v = $expected
**     (or INSERT … ON CONFLICT DO NOTHING when no head is expected)
**          -- 0 rows affected: another writer moved the head: ECONFLICT
**   SELECT pg_notify('<table>_head', $b)         -- wakes head_wait
**   COMMIT
**
** Under READ COMMITTED a concurrent UPDATE of the same row waits for the
** other transaction and re-checks `v = $expected` against the row it
** committed, so a writer can never overwrite a head it did not see.
** Commits are durable when COMMIT returns: a session whose
** synchronous_commit is 'off' is switched to 'on' at connect.
**
** Connections.  Every operation borrows a connection from a small pool in
** the handle (several threads at once each get their own); the writer lock
** and head_wait use dedicated connections.  A connection found broken
** (server restarted, network cut) is replaced transparently — retrying
** the connect for up to :connect-timeout-ms while a restarting server
** refuses — and the operation retried once: reads and object writes are
** idempotent, and a head_cas whose COMMIT was lost is recognised on retry
** by finding its own new head in place.  A forked child never touches its
** parent's sessions.
**
** Writer lock: a session-level pg_try_advisory_lock(key1, hash(table)) on
** the lock connection; the server drops it when that session ends, so a
** dead writer never leaves the store locked.  The holder is named from
** pg_locks and its session's application_name ("datalith pid=N host=H").
** head_cas by the holder checks, inside its transaction, that the lock
** session still holds the lock; if a restart took it, the lock is taken
** again on a new session (or ELOCKED names the new holder).
*/
#if DATALITH_HAVE_PG
#define _GNU_SOURCE
#include "store_impl.h"

#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PG_TABLE_MAX 48        /* leaves room for "_heads", "_head" */
#define PG_POOL_IDLE 8         /* idle connections kept per handle */
#define PG_FLUSH_ROWS 2000     /* objects per INSERT statement */
#define PG_FLUSH_BYTES (16u << 20)
#define PG_PEND_BYTES (64u << 20) /* put flushes the buffer beyond this */
#define PG_LOCK_KEY1 0x44617461   /* "Data" */
#define PG_OID_TEXTARRAY 1009
#define PG_OID_BYTEAARRAY 1001

typedef dl_store_batch pg_batch;

typedef struct pg_store {
    dl_store base;
    /* connection parameters (NULL-terminated, for PQconnectdbParams) */
    char *kw[24];
    char *val[24];
    int nkw;
    char *where;        /* "host:port", for messages */
    char *objs, *heads; /* quoted table names */
    char *channel;      /* NOTIFY channel (unquoted) */
    char *channel_q;    /* quoted, for LISTEN */
    int lock_key2;
    long connect_ms;    /* :connect-timeout-ms */
    char *ckey;         /* the connection parameters, for pg_shared */
    pid_t pid;          /* the process the connections belong to */

    pthread_mutex_t mu; /* pool, pend, flight */
    PGconn *idle[PG_POOL_IDLE];
    int nidle;
    PGconn *lidle[PG_POOL_IDLE]; /* idle LISTENing connections */
    int nlidle;
    pg_batch pend, flight;

    pthread_mutex_t cmu; /* one commit at a time */

    pthread_mutex_t lmu; /* the writer lock */
    PGconn *lockc;
    int locked;
} pg_store;

/* ---- small helpers ---- */

/* The first line of a libpq message, without "ERROR:  "/"FATAL:  ". */
static void pg_msg_line(const char *m, char *out, size_t cap) {
    if (!m) m = "";
    while (*m == ' ' || *m == '\n') m++;
    if (strncmp(m, "ERROR:", 6) == 0 || strncmp(m, "FATAL:", 6) == 0)
        for (m += 6; *m == ' ';) m++;
    size_t n = strcspn(m, "\n");
    while (n && (m[n - 1] == ' ' || m[n - 1] == '\r')) n--;
    snprintf(out, cap, "%.*s", (int)n, m);
}

static long long pg_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection inherited from the parent through fork: close our copy of
** its socket without telling the server, whose session is the parent's. */
static void pg_abandon(PGconn *c) {
    if (!c) return;
    int fd = PQsocket(c);
    if (fd >= 0) {
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0) {
            dup2(nul, fd);
            close(nul);
        }
    }
    PQfinish(c); /* its goodbye goes to /dev/null */
}

static int pg_unreachable(pg_store *s, PGconn *c) {
    char line[600];
    const char *m = c ? PQerrorMessage(c) : "out of memory";
    /* libpq prefixes: 'connection to server at "h" (ip), port p failed: ' */
    const char *p = strstr(m, "failed: ");
    pg_msg_line(p ? p + 8 : m, line, sizeof line);
    if (strstr(m, "FATAL:"))
        return dl_err_set(DATALITH_EIO,
                          "PostgreSQL at %s refused the connection: %s",
                          s->where, line);
    return dl_err_set(DATALITH_EIO, "PostgreSQL at %s unreachable: %s",
                      s->where, line);
}

/* An error from a statement (or a lost connection) as a Datalith error. */
static int pg_fail(pg_store *s, PGconn *c, const PGresult *r,
                   const char *what) {
    char line[600];
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    pg_msg_line(r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
                                                : PQerrorMessage(c),
                line, sizeof line);
    if (PQstatus(c) == CONNECTION_BAD)
        return dl_err_set(DATALITH_EIO,
                          "PostgreSQL at %s: connection lost during %s: %s",
                          s->where, what, line);
    if (state && strcmp(state, "57014") == 0)
        return dl_err_set(DATALITH_EIO,
                          "PostgreSQL at %s: %s timed out (statement-timeout-"
                          "ms): %s", s->where, what, line);
    if (state && (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0))
        return dl_err_set(DATALITH_ECORRUPT,
                          "PostgreSQL at %s: table %s does not have the "
                          "Datalith store layout (was the store deleted?): "
                          "%s", s->where, s->objs, line);
    return dl_err_set(DATALITH_EIO, "PostgreSQL at %s: %s failed: %s",
                      s->where, what, line);
}

/* Run one statement.  Text parameters unless `fmts` says otherwise; the
** result in binary when `bin`.  On success *out is the result (PQclear it)
** and the status is COMMAND_OK or TUPLES_OK. */
static int pg_exec(pg_store *s, PGconn *c, const char *what, const char *sql,
                   int n, const Oid *types, const char *const *vals,
                   const int *lens, const int *fmts, int bin,
                   PGresult **out) {
    PGresult *r = PQexecParams(c, sql, n, types, vals, lens, fmts, bin);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = pg_fail(s, c, r, what);
        PQclear(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Statements without parameters whose results are not needed (several,
** separated by ';', are allowed: the simple query protocol). */
static int pg_cmd(pg_store *s, PGconn *c, const char *what, const char *sql) {
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_fail(s, c, r, what);
    PQclear(r);
    return rc;
}

/* ---- connections ---- */

static void pg_quiet(void *arg, const char *message) {}

static int pg_connect(pg_store *s, PGconn **out) {
    const char *kw[32], *val[32];
    int n = 0;
    for (int i = 0; i < s->nkw; i++) {
        kw[n] = s->kw[i];
        val[n++] = s->val[i];
    }
    char host[256] = "", app[300];
    gethostname(host, sizeof host - 1);
    snprintf(app, sizeof app, "datalith pid=%ld host=%.200s",
             (long)getpid(), host);
    kw[n] = "application_name";
    val[n++] = app;
    kw[n] = NULL;
    val[n] = NULL;
    PGconn *c = PQconnectdbParams(kw, val, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        int rc = c ? pg_unreachable(s, c) : dl_err_nomem();
        PQfinish(c);
        return rc;
    }
    /* Notices ("already exists, skipping", a shutdown's FATAL) are not
    ** for the application's stderr; errors reach it through dl_err. */
    PQsetNoticeProcessor(c, pg_quiet, NULL);
    /* Commits must be durable when COMMIT returns. */
    int rc = pg_cmd(s, c, "session setup",
                    "SELECT set_config('synchronous_commit', 'on', false) "
                    "WHERE current_setting('synchronous_commit') = 'off'");
    if (rc) {
        PQfinish(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Forget every connection made before a fork (caller holds mu). */
static void pg_forked(pg_store *s) {
    for (int i = 0; i < s->nidle; i++) pg_abandon(s->idle[i]);
    for (int i = 0; i < s->nlidle; i++) pg_abandon(s->lidle[i]);
    s->nidle = s->nlidle = 0;
    pg_abandon(s->lockc);
    s->lockc = NULL;
    s->locked = 0; /* the parent's lock is not ours */
    s->pid = getpid();
}

static void pg_pool_drop(pg_store *s, PGconn **pool, int *n) {
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < *n; i++) PQfinish(pool[i]);
    *n = 0;
    pthread_mutex_unlock(&s->mu);
}

/*
** Sessions outlive their handle: a closed handle's idle sessions wait in a
** small process-wide list, keyed by the connection parameters, for the next
** handle on the same server (opening a store, database-exists, a CLI
** command — each would otherwise pay a login of many milliseconds).
** Entries belong to the process that made them; a forked child abandons
** its parent's.  A session that died meanwhile is replaced on first use
** like any other (pg_run).
*/
#define PG_SHARED_MAX 16

typedef struct pg_shared {
    char *ckey;
    PGconn *c;
    pid_t pid;
} pg_shared;

static pthread_mutex_t pg_shared_mu = PTHREAD_MUTEX_INITIALIZER;
static pg_shared pg_shared_idle[PG_SHARED_MAX];
static int pg_nshared;

static PGconn *pg_shared_take(const char *ckey) {
    PGconn *c = NULL;
    pid_t me = getpid();
    pthread_mutex_lock(&pg_shared_mu);
    for (int i = pg_nshared - 1; i >= 0 && !c; i--) {
        pg_shared *e = &pg_shared_idle[i];
        if (e->pid != me) { /* inherited through fork */
            pg_abandon(e->c);
        } else if (strcmp(e->ckey, ckey) == 0) {
            c = e->c;
        } else {
            continue;
        }
        free(e->ckey);
        *e = pg_shared_idle[--pg_nshared];
    }
    pthread_mutex_unlock(&pg_shared_mu);
    return c;
}

/* Close the list's sessions to the server `ckey` names (one of ours was
** found dead: the others most likely are too). */
static void pg_shared_drop(const char *ckey) {
    PGconn *dead[PG_SHARED_MAX];
    int nd = 0;
    pid_t me = getpid();
    pthread_mutex_lock(&pg_shared_mu);
    for (int i = 0; i < pg_nshared;) {
        pg_shared *e = &pg_shared_idle[i];
        if (e->pid == me && strcmp(e->ckey, ckey) == 0) {
            dead[nd++] = e->c;
            free(e->ckey);
            *e = pg_shared_idle[--pg_nshared];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&pg_shared_mu);
    for (int i = 0; i < nd; i++) PQfinish(dead[i]);
}

/* Give an idle, healthy session to the list (or close it). */
static void pg_shared_put(const char *ckey, PGconn *c) {
    if (PQstatus(c) != CONNECTION_OK ||
        PQtransactionStatus(c) != PQTRANS_IDLE) {
        PQfinish(c);
        return;
    }
    char *k = strdup(ckey);
    PGconn *evict = NULL;
    char *evict_key = NULL;
    pthread_mutex_lock(&pg_shared_mu);
    if (pg_nshared == PG_SHARED_MAX) { /* drop the oldest */
        evict = pg_shared_idle[0].c;
        evict_key = pg_shared_idle[0].ckey;
        memmove(pg_shared_idle, pg_shared_idle + 1,
                (PG_SHARED_MAX - 1) * sizeof *pg_shared_idle);
        pg_nshared--;
    }
    if (k) {
        pg_shared_idle[pg_nshared++] = (pg_shared){k, c, getpid()};
        c = NULL;
    }
    pthread_mutex_unlock(&pg_shared_mu);
    free(evict_key);
    PQfinish(evict);
    PQfinish(c);
}

static int pg_acquire_from(pg_store *s, PGconn **pool, int *n,
                           PGconn **out) {
    PGconn *c = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->pid != getpid()) pg_forked(s);
    if (*n) c = pool[--*n];
    pthread_mutex_unlock(&s->mu);
    if (!c && pool == s->idle && s->ckey) c = pg_shared_take(s->ckey);
    if (c) {
        *out = c;
        return 0;
    }
    return pg_connect(s, out);
}

static void pg_release_to(pg_store *s, PGconn **pool, int *n, PGconn *c) {
    if (!c) return;
    if (PQstatus(c) != CONNECTION_OK ||
        PQtransactionStatus(c) != PQTRANS_IDLE) {
        PQfinish(c);
        return;
    }
    pthread_mutex_lock(&s->mu);
    if (s->pid == getpid() && *n < PG_POOL_IDLE) {
        pool[(*n)++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (c) PQfinish(c);
}

/* Connect again after a session was lost.  A server that is restarting
** refuses connections for a moment: keep trying for up to
** :connect-timeout-ms, so a restart delays operations instead of failing
** them. */
static int pg_reconnect(pg_store *s, PGconn **out) {
    long long deadline = pg_now_ms() + s->connect_ms;
    for (;;) {
        int rc = pg_connect(s, out);
        if (!rc || pg_now_ms() + 100 >= deadline) return rc;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Run op on a pooled connection; if the connection turns out broken,
** replace it (and the idle ones, which share its fate) and run op once
** more.  `retry` tells op it is the second attempt. */
typedef int (*pg_op)(pg_store *s, PGconn *c, void *arg, int retry);

static int pg_run(pg_store *s, pg_op op, void *arg) {
    PGconn *c;
    int rc = pg_acquire_from(s, s->idle, &s->nidle, &c);
    if (rc) return rc;
    rc = op(s, c, arg, 0);
    if (rc && PQstatus(c) == CONNECTION_BAD) {
        PQfinish(c);
        c = NULL;
        pg_pool_drop(s, s->idle, &s->nidle);
        if (s->ckey) pg_shared_drop(s->ckey);
        rc = pg_reconnect(s, &c);
        if (!rc) rc = op(s, c, arg, 1);
    }
    pg_release_to(s, s->idle, &s->nidle, c);
    return rc;
}

/* ---- buffered puts (caller holds mu) ---- */

/* Start a commit: take cmu, move pend to flight. */
static void pg_commit_begin(pg_store *s) {
    pthread_mutex_lock(&s->cmu);
    pthread_mutex_lock(&s->mu);
    pg_batch t = s->flight;
    s->flight = s->pend;
    s->pend = t;
    pthread_mutex_unlock(&s->mu);
}

/* End a commit: on failure the flight goes back to pend (newer puts of the
** same key, made meanwhile, win). */
static void pg_commit_end(pg_store *s, int ok) {
    pthread_mutex_lock(&s->mu);
    if (!ok) dl_store_batch_requeue(&s->pend, &s->flight);
    dl_store_batch_clear(&s->flight);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->cmu);
}

/* ---- PostgreSQL binary arrays (for unnest) ---- */

static void pg_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One-dimensional array of elements [from, to) of the flight, keys (text)
** or values (bytea), in the binary send format. */
static uint8_t *pg_array(const pg_batch *b, size_t from, size_t to, int keys,
                         size_t *len) {
    size_t n = 20;
    for (size_t i = from; i < to; i++)
        n += 4 + (keys ? strlen(b->it[i].key) : b->it[i].len);
    uint8_t *a = malloc(n), *p = a;
    if (!a) return NULL;
    pg_be32(p, 1);                                       /* ndim */
    pg_be32(p + 4, 0);                                   /* no nulls */
    pg_be32(p + 8, keys ? 25 : 17);                      /* text / bytea */
    pg_be32(p + 12, (uint32_t)(to - from));              /* dimension */
    pg_be32(p + 16, 1);                                  /* lower bound */
    p += 20;
    for (size_t i = from; i < to; i++) {
        size_t el = keys ? strlen(b->it[i].key) : b->it[i].len;
        pg_be32(p, (uint32_t)el);
        if (el) memcpy(p + 4, keys ? (const void *)b->it[i].key
                                   : (const void *)b->it[i].data, el);
        p += 4 + el;
    }
    *len = n;
    return a;
}

/* Write the in-flight objects on c (inside the caller's transaction). */
static int pg_flight_write(pg_store *s, PGconn *c) {
    const pg_batch *b = &s->flight;
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (k, v) SELECT * FROM unnest($1::text[], "
             "$2::bytea[]) ON CONFLICT (k) DO NOTHING", s->objs);
    size_t i = 0;
    while (i < b->n) {
        size_t j = i, bytes = 0;
        while (j < b->n && j - i < PG_FLUSH_ROWS &&
               (j == i || bytes + b->it[j].len <= PG_FLUSH_BYTES))
            bytes += b->it[j++].len;
        if (bytes > 0x7fffffffu - (j - i) * 8)
            return dl_err_set(DATALITH_ELIMIT,
                              "object '%s' is too large for PostgreSQL",
                              b->it[i].key);
        size_t kl, vl;
        uint8_t *ka = pg_array(b, i, j, 1, &kl);
        uint8_t *va = pg_array(b, i, j, 0, &vl);
        if (!ka || !va) {
            free(ka);
            free(va);
            return dl_err_nomem();
        }
        Oid types[2] = {PG_OID_TEXTARRAY, PG_OID_BYTEAARRAY};
        const char *vals[2] = {(const char *)ka, (const char *)va};
        int lens[2] = {(int)kl, (int)vl}, fmts[2] = {1, 1};
        PGresult *r;
        int rc = pg_exec(s, c, "object write", sql, 2, types, vals, lens,
                         fmts, 0, &r);
        free(ka);
        free(va);
        if (rc) return rc;
        PQclear(r);
        i = j;
    }
    return 0;
}

/* ---- reads ---- */

typedef struct pg_read_arg {
    const char *sql, *what, *key;
    uint8_t **out;
    size_t *len;
} pg_read_arg;

static int pg_read_op(pg_store *s, PGconn *c, void *varg, int retry) {
    pg_read_arg *a = varg;
    const char *vals[1] = {a->key};
    PGresult *r;
    int rc = pg_exec(s, c, "read", a->sql, 1, NULL, vals, NULL, NULL, 1, &r);
    if (rc) return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return dl_err_set(DATALITH_ENOTFOUND, "%s '%s' not found", a->what,
                          a->key);
    }
    size_t n = (size_t)PQgetlength(r, 0, 0);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        PQclear(r);
        return dl_err_nomem();
    }
    if (n) memcpy(b, PQgetvalue(r, 0, 0), n);
    PQclear(r);
    *a->out = b;
    *a->len = n;
    return 0;
}

static int pg_get(dl_store *st, const char *key, uint8_t **out,
                  size_t *len) {
    pg_store *s = (pg_store *)st;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    pthread_mutex_lock(&s->mu);
    rc = dl_store_batch_copy(&s->pend, &s->flight, key, out, len);
    pthread_mutex_unlock(&s->mu);
    if (rc) return rc < 0 ? rc : 0;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT v FROM %s WHERE k = $1", s->objs);
    pg_read_arg a = {sql, "object", key, out, len};
    return pg_run(s, pg_read_op, &a);
}

static int pg_head_get(dl_store *st, const char *branch, uint8_t **out,
                       size_t *len) {
    pg_store *s = (pg_store *)st;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT v FROM %s WHERE branch = $1",
             s->heads);
    pg_read_arg a = {sql, "head", branch, out, len};
    return pg_run(s, pg_read_op, &a);
}

/* ---- writes ---- */

static int pg_sync(dl_store *st);

static int pg_put(dl_store *st, const char *key, const uint8_t *data,
                  size_t len) {
    pg_store *s = (pg_store *)st;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    if (len > 0x3fffffffu)
        return dl_err_set(DATALITH_ELIMIT,
                          "object '%s' is too large for PostgreSQL (%zu "
                          "bytes)", key, len);
    uint8_t *copy = malloc(len ? len : 1);
    char *k = strdup(key);
    if (!copy || !k) {
        free(copy);
        free(k);
        return dl_err_nomem();
    }
    if (len) memcpy(copy, data, len);
    pthread_mutex_lock(&s->mu);
    rc = dl_store_batch_set(&s->pend, k, copy, len);
    int big = s->pend.bytes > PG_PEND_BYTES;
    pthread_mutex_unlock(&s->mu);
    /* A very large batch is written early (still idempotent). */
    if (!rc && big) rc = pg_sync(st);
    return rc;
}

typedef struct pg_key_arg {
    const char *sql, *key;
} pg_key_arg;

static int pg_key_op(pg_store *s, PGconn *c, void *varg, int retry) {
    pg_key_arg *a = varg;
    const char *vals[1] = {a->key};
    PGresult *r;
    int rc = pg_exec(s, c, "delete", a->sql, 1, NULL, vals, NULL, NULL, 0,
                     &r);
    if (!rc) PQclear(r);
    return rc;
}

static int pg_del(dl_store *st, const char *key) {
    pg_store *s = (pg_store *)st;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    pthread_mutex_lock(&s->cmu);
    pthread_mutex_lock(&s->mu);
    dl_store_batch_remove(&s->pend, key);
    pthread_mutex_unlock(&s->mu);
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE k = $1", s->objs);
    pg_key_arg a = {sql, key};
    rc = pg_run(s, pg_key_op, &a);
    pthread_mutex_unlock(&s->cmu);
    return rc;
}

static int pg_head_del(dl_store *st, const char *branch) {
    pg_store *s = (pg_store *)st;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE branch = $1", s->heads);
    pg_key_arg a = {sql, branch};
    pthread_mutex_lock(&s->cmu);
    rc = pg_run(s, pg_key_op, &a);
    pthread_mutex_unlock(&s->cmu);
    return rc;
}

/* Roll back whatever c has open (a failed statement leaves the
** transaction aborted); a broken connection is left to the caller. */
static void pg_rollback(PGconn *c) {
    if (PQstatus(c) == CONNECTION_OK &&
        PQtransactionStatus(c) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c, "ROLLBACK");
        PQclear(r);
    }
}

static int pg_sync_op(pg_store *s, PGconn *c, void *arg, int retry) {
    int rc = pg_cmd(s, c, "begin", "BEGIN");
    if (!rc) rc = pg_flight_write(s, c);
    if (!rc) rc = pg_cmd(s, c, "commit", "COMMIT");
    if (rc) pg_rollback(c);
    return rc;
}

static int pg_sync(dl_store *st) {
    pg_store *s = (pg_store *)st;
    int rc = 0;
    pg_commit_begin(s);
    if (s->flight.n) rc = pg_run(s, pg_sync_op, NULL);
    pg_commit_end(s, rc == 0);
    return rc;
}

typedef struct pg_cas_arg {
    const char *branch;
    const uint8_t *expected, *data;
    size_t elen, len;
    int lock_pid;  /* backend pid of our lock session; 0: not locked */
    int lock_lost; /* set when that session no longer holds the lock */
} pg_cas_arg;

/* Whether head `branch` currently holds exactly data (read on c). */
static int pg_head_is(pg_store *s, PGconn *c, const pg_cas_arg *a) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT v FROM %s WHERE branch = $1",
             s->heads);
    const char *vals[1] = {a->branch};
    PGresult *r;
    if (pg_exec(s, c, "read", sql, 1, NULL, vals, NULL, NULL, 1, &r))
        return 0;
    int is = PQntuples(r) == 1 && (size_t)PQgetlength(r, 0, 0) == a->len &&
             (a->len == 0 || memcmp(PQgetvalue(r, 0, 0), a->data, a->len) ==
                                 0);
    PQclear(r);
    return is;
}

static int pg_cas_op(pg_store *s, PGconn *c, void *varg, int retry) {
    pg_cas_arg *a = varg;
    char sql[256];
    int rc = pg_cmd(s, c, "begin", "BEGIN");
    if (!rc) rc = pg_flight_write(s, c);
    if (!rc) {
        PGresult *r;
        if (a->expected) {
            snprintf(sql, sizeof sql,
                     "UPDATE %s SET v = $2 WHERE branch = $1 AND v = $3",
                     s->heads);
            const char *vals[3] = {a->branch, (const char *)a->data,
                                   (const char *)a->expected};
            int lens[3] = {0, (int)a->len, (int)a->elen};
            int fmts[3] = {0, 1, 1};
            rc = pg_exec(s, c, "head update", sql, 3, NULL, vals, lens, fmts,
                         0, &r);
        } else {
            snprintf(sql, sizeof sql,
                     "INSERT INTO %s (branch, v) VALUES ($1, $2) "
                     "ON CONFLICT (branch) DO NOTHING", s->heads);
            const char *vals[2] = {a->branch, (const char *)a->data};
            int lens[2] = {0, (int)a->len};
            int fmts[2] = {0, 1};
            rc = pg_exec(s, c, "head update", sql, 2, NULL, vals, lens, fmts,
                         0, &r);
        }
        if (!rc) {
            int changed = strcmp(PQcmdTuples(r), "1") == 0;
            PQclear(r);
            if (!changed) {
                pg_rollback(c);
                /* On a retry the lost COMMIT may have been ours. */
                if (retry && pg_head_is(s, c, a)) return 0;
                return dl_err_set(DATALITH_ECONFLICT,
                                  "head '%s' was changed by another writer",
                                  a->branch);
            }
        }
    }
    if (!rc && a->lock_pid) {
        /* The writer moves the head only while it holds the lock: its
        ** session may have died (server restart) and the lock with it. */
        char k1[16], k2[16], pid[16];
        snprintf(k1, sizeof k1, "%d", PG_LOCK_KEY1);
        snprintf(k2, sizeof k2, "%d", s->lock_key2);
        snprintf(pid, sizeof pid, "%d", a->lock_pid);
        const char *vals[3] = {k1, k2, pid};
        PGresult *r;
        rc = pg_exec(s, c, "lock check",
                     "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                     "AND granted AND pid = $3::int4 "
                     "AND classid = $1::int4::oid AND objid = $2::int4::oid "
                     "AND objsubid = 2", 3, NULL, vals, NULL, NULL, 0, &r);
        if (!rc) {
            int held = PQntuples(r) > 0;
            PQclear(r);
            if (!held) {
                pg_rollback(c);
                a->lock_lost = 1;
                return dl_err_set(DATALITH_ELOCKED,
                                  "the writer lock was lost with its "
                                  "PostgreSQL session");
            }
        }
    }
    if (!rc) {
        const char *vals[2] = {s->channel, a->branch};
        PGresult *r;
        rc = pg_exec(s, c, "notify", "SELECT pg_notify($1, $2)", 2, NULL,
                     vals, NULL, NULL, 0, &r);
        if (!rc) PQclear(r);
    }
    if (!rc) rc = pg_cmd(s, c, "commit", "COMMIT");
    if (rc) pg_rollback(c);
    return rc;
}

static int pg_lock_take(pg_store *s);

static int pg_head_cas(dl_store *st, const char *branch,
                       const uint8_t *expected, size_t elen,
                       const uint8_t *data, size_t len) {
    pg_store *s = (pg_store *)st;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    if (len > 0x3fffffffu || elen > 0x3fffffffu)
        return dl_err_set(DATALITH_ELIMIT, "head '%s' is too large", branch);
    pg_cas_arg a = {branch, expected, data, elen, len, 0, 0};
    for (int round = 0; round < 2; round++) {
        pthread_mutex_lock(&s->lmu);
        a.lock_pid = s->locked && s->lockc ? PQbackendPID(s->lockc) : 0;
        a.lock_lost = 0;
        pthread_mutex_unlock(&s->lmu);
        pg_commit_begin(s);
        rc = pg_run(s, pg_cas_op, &a);
        pg_commit_end(s, rc == 0);
        if (!a.lock_lost) break;
        /* Take the lock again (a new session), then retry once. */
        pthread_mutex_lock(&s->lmu);
        s->locked = 0;
        rc = pg_lock_take(s);
        pthread_mutex_unlock(&s->lmu);
        if (rc) {
            dl_err_prefix("writer lock lost with its PostgreSQL session: ");
            break;
        }
    }
    return rc;
}

/* ---- list ---- */

typedef struct pg_list_arg {
    const char *prefix;
    char **keys;
    size_t n, cap, nbuf;
} pg_list_arg;

static int pg_keys_add(pg_list_arg *a, const char *k) {
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        char **nk = realloc(a->keys, nc * sizeof *nk);
        if (!nk) return dl_err_nomem();
        a->keys = nk;
        a->cap = nc;
    }
    if (!(a->keys[a->n] = strdup(k))) return dl_err_nomem();
    a->n++;
    return 0;
}

static int pg_list_op(pg_store *s, PGconn *c, void *varg, int retry) {
    pg_list_arg *a = varg;
    for (size_t i = a->nbuf; i < a->n; i++) free(a->keys[i]);
    a->n = a->nbuf;
    char sql[200], hi[DL_STORE_KEY_MAX + 2];
    const char *vals[2] = {a->prefix, hi};
    PGresult *r;
    int rc;
    if (a->prefix && *a->prefix) {
        /* Keys are ASCII in "C" collation: [prefix, prefix+1) */
        size_t pl = strlen(a->prefix);
        snprintf(hi, sizeof hi, "%s", a->prefix);
        hi[pl - 1]++;
        snprintf(sql, sizeof sql,
                 "SELECT k FROM %s WHERE k >= $1 AND k < $2", s->objs);
        rc = pg_exec(s, c, "list", sql, 2, NULL, vals, NULL, NULL, 0, &r);
    } else {
        snprintf(sql, sizeof sql, "SELECT k FROM %s", s->objs);
        rc = pg_exec(s, c, "list", sql, 0, NULL, NULL, NULL, NULL, 0, &r);
    }
    if (rc) return rc;
    int nt = PQntuples(r);
    for (int i = 0; i < nt && !rc; i++) {
        const char *k = PQgetvalue(r, i, 0);
        int seen = 0;
        for (size_t j = 0; j < a->nbuf && !seen; j++)
            seen = strcmp(a->keys[j], k) == 0;
        if (!seen) rc = pg_keys_add(a, k);
    }
    PQclear(r);
    return rc;
}

static int pg_list(dl_store *st, const char *prefix,
                   int (*cb)(void *ctx, const char *key), void *ctx) {
    pg_store *s = (pg_store *)st;
    /* A prefix no key can start with matches nothing (and keeps the range
    ** bound below within the key alphabet). */
    for (const char *q = prefix; q && *q; q++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._-", *q))
            return 0;
    if (prefix && strlen(prefix) > DL_STORE_KEY_MAX) return 0;
    pg_list_arg a = {prefix, NULL, 0, 0, 0};
    size_t pl = prefix ? strlen(prefix) : 0;
    int rc = 0;
    /* Buffered keys first: a commit finishing meanwhile has them in the
    ** table by the time the query below runs. */
    pthread_mutex_lock(&s->mu);
    pg_batch *bs[2] = {&s->pend, &s->flight};
    for (int bi = 0; bi < 2 && !rc; bi++)
        for (size_t i = 0; i < bs[bi]->n && !rc; i++) {
            const char *k = bs[bi]->it[i].key;
            if (pl && strncmp(k, prefix, pl) != 0) continue;
            rc = pg_keys_add(&a, k);
        }
    pthread_mutex_unlock(&s->mu);
    a.nbuf = a.n;
    if (!rc) rc = pg_run(s, pg_list_op, &a);
    /* Keys were collected first so cb may call back into the store. */
    for (size_t i = 0; i < a.n && !rc; i++) rc = cb(ctx, a.keys[i]);
    for (size_t i = 0; i < a.n; i++) free(a.keys[i]);
    free(a.keys);
    return rc;
}

/* ---- the writer lock ---- */

/* Describe the session holding our advisory lock in `holder` (" (pid N)",
** " (pid N on host)" or "" when unknown).  *gone is set when the lock is
** about to be free: no holder any more, a session that is exiting, or a
** Datalith session of a process on this host that no longer exists (the
** server is still ending that session and will release the lock). */
static void pg_lock_holder(pg_store *s, PGconn *c, char *holder, size_t cap,
                           int *gone) {
    char k1[16], k2[16];
    snprintf(k1, sizeof k1, "%d", PG_LOCK_KEY1);
    snprintf(k2, sizeof k2, "%d", s->lock_key2);
    const char *sql =
        "SELECT l.pid, a.application_name FROM pg_locks l "
        "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database()) "
        "AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid "
        "AND l.objsubid = 2";
    const char *vals[2] = {k1, k2};
    PGresult *r;
    holder[0] = 0;
    *gone = 0;
    if (pg_exec(s, c, "lock holder", sql, 2, NULL, vals, NULL, NULL, 0, &r))
        return;
    if (PQntuples(r) == 0 || PQgetisnull(r, 0, 1)) {
        /* Released since our try, or held by a session that is exiting
        ** (its pg_stat_activity row is gone before its locks): try again. */
        *gone = 1;
    } else {
        const char *app = PQgetvalue(r, 0, 1);
        long cpid;
        char host[256] = "", me[256] = "";
        gethostname(me, sizeof me - 1);
        if (sscanf(app, "datalith pid=%ld host=%255s", &cpid, host) == 2) {
            /* application_name is cut at 63 bytes: compare what is left */
            size_t hl = strlen(app) >= 63 ? strlen(host) : strlen(me) + 1;
            if (strncmp(host, me, hl) == 0) {
                snprintf(holder, cap, " (pid %ld)", cpid);
                *gone = kill((pid_t)cpid, 0) != 0 && errno == ESRCH;
            } else {
                snprintf(holder, cap, " (pid %ld on %s)", cpid, host);
            }
        } else {
            snprintf(holder, cap, " (PostgreSQL session pid %s)",
                     PQgetvalue(r, 0, 0));
        }
    }
    PQclear(r);
}

/* Take the lock on the lock connection (caller holds lmu). */
static int pg_lock_take(pg_store *s) {
    char q[96], holder[400] = "";
    snprintf(q, sizeof q, "SELECT pg_try_advisory_lock(%d, %d)",
             PG_LOCK_KEY1, s->lock_key2);
    /* A holder that has died is waited for (its session is closing), up
    ** to about five seconds; a live one is reported at once. */
    int fresh = 0;
    for (int attempt = 0; attempt < 500; attempt++) {
        if (s->lockc && PQstatus(s->lockc) != CONNECTION_OK) {
            PQfinish(s->lockc);
            s->lockc = NULL;
        }
        if (!s->lockc) {
            int rc = attempt ? pg_reconnect(s, &s->lockc)
                             : pg_connect(s, &s->lockc);
            if (rc) return rc;
            fresh = 1;
        }
        PGresult *r;
        int rc = pg_exec(s, s->lockc, "writer lock", q, 0, NULL, NULL, NULL,
                         NULL, 0, &r);
        if (rc && !fresh && PQstatus(s->lockc) == CONNECTION_BAD) {
            continue; /* a session from before a restart: once more */
        }
        if (rc) return rc;
        int got = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (got) {
            s->locked = 1;
            return 0;
        }
        int gone;
        pg_lock_holder(s, s->lockc, holder, sizeof holder, &gone);
        if (!gone) break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return dl_err_set(DATALITH_ELOCKED,
                      "database is locked by another writer%s", holder);
}

static int pg_lock_writer(dl_store *st) {
    pg_store *s = (pg_store *)st;
    pthread_mutex_lock(&s->mu);
    if (s->pid != getpid()) pg_forked(s);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->lmu);
    int rc = 0;
    if (!s->locked) rc = pg_lock_take(s);
    pthread_mutex_unlock(&s->lmu);
    return rc;
}

static void pg_unlock_writer(dl_store *st) {
    pg_store *s = (pg_store *)st;
    pthread_mutex_lock(&s->lmu);
    if (s->locked && s->lockc && s->pid == getpid()) {
        /* Unlock synchronously, so the next try_lock anywhere succeeds;
        ** the session stays for the next lock_writer. */
        char q[96];
        snprintf(q, sizeof q, "SELECT pg_advisory_unlock(%d, %d)",
                 PG_LOCK_KEY1, s->lock_key2);
        PGresult *r = PQexec(s->lockc, q);
        PQclear(r);
    }
    s->locked = 0;
    pthread_mutex_unlock(&s->lmu);
}

/* ---- head_wait: LISTEN/NOTIFY ---- */

/* A LISTENing session: a pooled one (listening already; if it died, the
** caller's first query finds out and calls again with `lost`), or a new
** one (after a lost session waiting for a restarting server, as
** pg_reconnect does). */
static int pg_listen_conn(pg_store *s, PGconn **out, int lost) {
    *out = NULL;
    if (!lost) {
        pthread_mutex_lock(&s->mu);
        if (s->pid != getpid()) pg_forked(s);
        if (s->nlidle) *out = s->lidle[--s->nlidle];
        pthread_mutex_unlock(&s->mu);
        if (*out) return 0;
    }
    int rc = lost ? pg_reconnect(s, out) : pg_connect(s, out);
    if (rc) return rc;
    char q[128];
    snprintf(q, sizeof q, "LISTEN %s", s->channel_q);
    rc = pg_cmd(s, *out, "listen", q);
    if (rc) {
        PQfinish(*out);
        *out = NULL;
    }
    return rc;
}

/* 1 when the head differs from known, 0 when equal, <0 on error. */
static int pg_head_differs(pg_store *s, PGconn *c, const char *branch,
                           const uint8_t *known, size_t klen) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT v FROM %s WHERE branch = $1",
             s->heads);
    const char *vals[1] = {branch};
    PGresult *r;
    int rc = pg_exec(s, c, "read", sql, 1, NULL, vals, NULL, NULL, 1, &r);
    if (rc) return rc;
    int d;
    if (PQntuples(r) == 0) d = known != NULL;
    else
        d = !known || (size_t)PQgetlength(r, 0, 0) != klen ||
            (klen && memcmp(PQgetvalue(r, 0, 0), known, klen) != 0);
    PQclear(r);
    return d;
}

static int pg_head_wait(dl_store *st, const char *branch,
                        const uint8_t *known, size_t klen, int timeout_ms) {
    pg_store *s = (pg_store *)st;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    long long deadline = pg_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    PGconn *c = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!c && (rc = pg_listen_conn(s, &c, attempt)) != 0) return rc;
        /* Drop notifications from before: the head is read below, after
        ** LISTEN took effect, so no commit can slip between. */
        PGnotify *nf;
        PQconsumeInput(c);
        while ((nf = PQnotifies(c))) PQfreemem(nf);
        rc = pg_head_differs(s, c, branch, known, klen);
        int woke = rc == 1;
        while (rc == 0 && !woke) {
            /* Notifications libpq has read already (during the head read,
            ** say) would not make the socket readable again. */
            while ((nf = PQnotifies(c))) {
                if (nf->extra && strcmp(nf->extra, branch) == 0) woke = 1;
                PQfreemem(nf);
            }
            if (woke) break;
            long long left = deadline - pg_now_ms();
            if (left <= 0) break;
            struct pollfd p = {PQsocket(c), POLLIN, 0};
            int pr = poll(&p, 1, left > 60000 ? 60000 : (int)left);
            if (pr < 0 && errno != EINTR) {
                rc = dl_err_set(DATALITH_EIO, "poll: %s", strerror(errno));
                break;
            }
            if (pr > 0 && !PQconsumeInput(c)) {
                rc = pg_fail(s, c, NULL, "head wait");
                break;
            }
        }
        if (rc >= 0 || PQstatus(c) != CONNECTION_BAD) break;
        /* The session was lost: one fresh connection, then re-check. */
        PQfinish(c);
        c = NULL;
        pg_pool_drop(s, s->lidle, &s->nlidle);
    }
    pg_release_to(s, s->lidle, &s->nlidle, c);
    return rc < 0 ? rc : 0;
}

/* ---- lifetime ---- */

static void pg_free(pg_store *s) {
    for (int i = 0; i < s->nkw; i++) {
        free(s->kw[i]);
        free(s->val[i]);
    }
    free(s->where);
    free(s->ckey);
    free(s->objs);
    free(s->heads);
    free(s->channel);
    free(s->channel_q);
    dl_store_batch_free(&s->pend);
    dl_store_batch_free(&s->flight);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->cmu);
    pthread_mutex_destroy(&s->lmu);
    free(s);
}

static void pg_close(dl_store *st) {
    pg_store *s = (pg_store *)st;
    if (s->pid != getpid()) {
        pthread_mutex_lock(&s->mu);
        pg_forked(s);
        pthread_mutex_unlock(&s->mu);
    }
    pg_unlock_writer(st);
    PQfinish(s->lockc);
    for (int i = 0; i < s->nidle; i++) {
        if (s->ckey) pg_shared_put(s->ckey, s->idle[i]);
        else PQfinish(s->idle[i]);
    }
    for (int i = 0; i < s->nlidle; i++) PQfinish(s->lidle[i]);
    pg_free(s);
}

static int pg_drop_op(pg_store *s, PGconn *c, void *arg, int retry) {
    char sql[256];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s, %s", s->objs,
             s->heads);
    return pg_cmd(s, c, "drop tables", sql);
}

static int pg_destroy(dl_store *st) {
    pg_store *s = (pg_store *)st;
    pthread_mutex_lock(&s->mu);
    dl_store_batch_clear(&s->pend);
    pthread_mutex_unlock(&s->mu);
    /* Our own idle LISTEN sessions hold no table locks; drop them anyway
    ** so nothing of ours outlives the tables. */
    pg_pool_drop(s, s->lidle, &s->nlidle);
    int rc = pg_run(s, pg_drop_op, NULL);
    pg_close(st);
    return rc;
}

static const dl_store_vtable pg_vtable = {
    DL_STORE_VTABLE_V1, "pg", pg_get, pg_put, pg_del, pg_list, pg_sync,
    pg_head_get, pg_head_cas, pg_head_del, pg_lock_writer, pg_unlock_writer,
    pg_close, pg_destroy, pg_head_wait};

/* ---- config ---- */

/* An optional string key: *out NULL when absent. */
static int pg_cfg_str(const edn_value *cfg, const char *key,
                      const char **out) {
    *out = NULL;
    if (!edn_map_getk(cfg, key)) return 0;
    return dl_store_cfg_string(cfg, key, out);
}

/* An optional integer key in [lo, hi]; *out unchanged when absent.  A
** port may also be given as a string of digits (as JDBC configs do). */
static int pg_cfg_int(const edn_value *cfg, const char *key, long lo,
                      long hi, long *out) {
    const edn_value *v = edn_map_getk(cfg, key);
    if (!v) return 0;
    long n;
    if (v->type == EDN_INT) {
        n = (long)v->u.i;
    } else if (v->type == EDN_STRING && v->n > 0 && v->n < 12 &&
               strspn(v->u.s, "0123456789") == v->n) {
        n = strtol(v->u.s, NULL, 10);
    } else {
        return dl_err_set(DATALITH_EINVAL,
                          "store config :%s must be an integer", key);
    }
    if (n < lo || n > hi)
        return dl_err_set(DATALITH_EINVAL,
                          "store config :%s must be between %ld and %ld", key,
                          lo, hi);
    *out = n;
    return 0;
}

static int pg_add_kw(pg_store *s, const char *k, const char *v) {
    if (s->nkw >= (int)(sizeof s->kw / sizeof *s->kw) - 2)
        return dl_err_set(DATALITH_EINTERNAL, "too many connection options");
    if (!(s->kw[s->nkw] = strdup(k)) || !(s->val[s->nkw] = strdup(v))) {
        free(s->kw[s->nkw]);
        s->kw[s->nkw] = NULL;
        return dl_err_nomem();
    }
    s->nkw++;
    return 0;
}

static uint32_t pg_fnv(const char *p) {
    uint32_t h = 2166136261u;
    for (; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

/* Read the config into a new, unconnected handle. */
static int pg_configure(const edn_value *cfg, pg_store **out) {
    const edn_value *b = edn_map_getk(cfg, "backend");
    if (b && b->type == EDN_KEYWORD && strcmp(b->u.sym->full, "jdbc") == 0) {
        const char *dbtype;
        int rc = pg_cfg_str(cfg, "dbtype", &dbtype);
        if (rc) return rc;
        if (!dbtype)
            return dl_err_set(DATALITH_EINVAL,
                              "store config :backend :jdbc needs :dbtype "
                              "\"postgresql\"");
        if (strcmp(dbtype, "postgresql") != 0 &&
            strcmp(dbtype, "postgres") != 0)
            return dl_err_set(DATALITH_EUNSUPPORTED,
                              "store config :dbtype \"%s\" is not supported "
                              "(only \"postgresql\")", dbtype);
    }
    const char *host, *dbname, *user, *password, *table, *url, *sslmode;
    long port = -1, cto = 5000, sto = 30000;
    int rc;
    if ((rc = pg_cfg_str(cfg, "host", &host)) ||
        (rc = pg_cfg_str(cfg, "dbname", &dbname)) ||
        (rc = pg_cfg_str(cfg, "user", &user)) ||
        (rc = pg_cfg_str(cfg, "password", &password)) ||
        (rc = pg_cfg_str(cfg, "table", &table)) ||
        (rc = pg_cfg_str(cfg, "jdbcUrl", &url)) ||
        (rc = pg_cfg_str(cfg, "sslmode", &sslmode)) ||
        (rc = pg_cfg_int(cfg, "port", 1, 65535, &port)) ||
        (rc = pg_cfg_int(cfg, "connect-timeout-ms", 1, 3600000, &cto)) ||
        (rc = pg_cfg_int(cfg, "statement-timeout-ms", 0, 86400000, &sto)))
        return rc;
    if (!table) table = "datalith";
    size_t tl = strlen(table);
    int ok = tl <= PG_TABLE_MAX &&
             ((table[0] >= 'a' && table[0] <= 'z') ||
              (table[0] >= 'A' && table[0] <= 'Z') || table[0] == '_');
    for (size_t i = 0; ok && i < tl; i++) {
        char c = table[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '_';
    }
    if (!ok)
        return dl_err_set(DATALITH_EINVAL,
                          "store config :table \"%.64s\" must be 1-%d "
                          "letters, digits or _ (not starting with a digit)",
                          table, PG_TABLE_MAX);
    const char *url_pg = NULL;
    if (url) {
        if (strncmp(url, "jdbc:", 5) == 0) url += 5;
        if (strncmp(url, "postgresql://", 13) != 0 &&
            strncmp(url, "postgres://", 11) != 0)
            return dl_err_set(DATALITH_EINVAL,
                              "store config :jdbcUrl must start with "
                              "jdbc:postgresql://");
        url_pg = url;
    }

    pg_store *s = calloc(1, sizeof *s);
    if (!s) return dl_err_nomem();
    s->base.vt = &pg_vtable;
    s->pid = getpid();
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->cmu, NULL);
    pthread_mutex_init(&s->lmu, NULL);
    char num[32];
    /* With expand_dbname the URL must come first; the keys override it. */
    if (url_pg) rc = pg_add_kw(s, "dbname", url_pg);
    if (!rc && host) rc = pg_add_kw(s, "host", host);
    if (!rc && port > 0) {
        snprintf(num, sizeof num, "%ld", port);
        rc = pg_add_kw(s, "port", num);
    }
    if (!rc && dbname) rc = pg_add_kw(s, "dbname", dbname);
    if (!rc && user) rc = pg_add_kw(s, "user", user);
    if (!rc && password) rc = pg_add_kw(s, "password", password);
    if (!rc && sslmode) rc = pg_add_kw(s, "sslmode", sslmode);
    if (!rc) {
        /* libpq counts whole seconds (and treats 1 as 2). */
        snprintf(num, sizeof num, "%ld", (cto + 999) / 1000);
        rc = pg_add_kw(s, "connect_timeout", num);
    }
    /* The server probes our side the same way, so the session (and the
    ** writer lock) of a writer whose machine vanished ends in seconds,
    ** not after the operating system's two-hour keepalive default. */
    char opt[200];
    snprintf(opt, sizeof opt,
             "-c statement_timeout=%ld -c tcp_keepalives_idle=5 "
             "-c tcp_keepalives_interval=2 -c tcp_keepalives_count=3", sto);
    if (!rc) rc = pg_add_kw(s, "options", opt);
    /* A dead peer or a cut link is noticed in about 11 s by a session that
    ** waits for an answer (keepalive probes: 5 s idle, 3 × 2 s), and when
    ** sent data stays unacknowledged for the connect timeout (at least
    ** 5 s; a slow but working link keeps acknowledging).  A long-running
    ** statement is not cut: the server's TCP stack answers the probes. */
    if (!rc) rc = pg_add_kw(s, "keepalives", "1");
    if (!rc) rc = pg_add_kw(s, "keepalives_idle", "5");
    if (!rc) rc = pg_add_kw(s, "keepalives_interval", "2");
    if (!rc) rc = pg_add_kw(s, "keepalives_count", "3");
    if (!rc) {
        snprintf(num, sizeof num, "%ld", cto > 5000 ? cto : 5000);
        rc = pg_add_kw(s, "tcp_user_timeout", num);
    }
    if (rc) {
        pg_free(s);
        return rc;
    }
    size_t kl = 1;
    for (int i = 0; i < s->nkw; i++)
        kl += strlen(s->kw[i]) + strlen(s->val[i]) + 2;
    if ((s->ckey = malloc(kl)) != NULL) {
        s->ckey[0] = 0;
        for (int i = 0; i < s->nkw; i++) {
            strcat(s->ckey, s->kw[i]);
            strcat(s->ckey, "=");
            strcat(s->ckey, s->val[i]);
            strcat(s->ckey, "\n");
        }
    }
    /* "host:port" for messages, from the same sources libpq uses. */
    const char *mh = host, *mp = NULL;
    char pbuf[16] = "";
    PQconninfoOption *ci = NULL;
    if (url_pg) ci = PQconninfoParse(url_pg, NULL);
    for (PQconninfoOption *o = ci; o && o->keyword; o++) {
        if (!mh && strcmp(o->keyword, "host") == 0 && o->val) mh = o->val;
        if (strcmp(o->keyword, "port") == 0 && o->val) mp = o->val;
    }
    if (port > 0) snprintf(pbuf, sizeof pbuf, "%ld", port);
    else if (mp) snprintf(pbuf, sizeof pbuf, "%.15s", mp);
    else if (getenv("PGPORT")) snprintf(pbuf, sizeof pbuf, "%.15s",
                                        getenv("PGPORT"));
    else snprintf(pbuf, sizeof pbuf, "5432");
    if (!mh) mh = getenv("PGHOST");
    if (!mh) mh = "localhost";
    size_t wl = strlen(mh) + strlen(pbuf) + 2;
    s->where = malloc(wl);
    if (s->where) snprintf(s->where, wl, "%s:%s", mh, pbuf);
    PQconninfoFree(ci);

    size_t ql = tl + 16;
    s->objs = malloc(ql);
    s->heads = malloc(ql);
    s->channel = malloc(ql);
    s->channel_q = malloc(ql);
    if (!s->where || !s->objs || !s->heads || !s->channel || !s->channel_q) {
        pg_free(s);
        return dl_err_nomem();
    }
    snprintf(s->objs, ql, "\"%s\"", table);
    snprintf(s->heads, ql, "\"%s_heads\"", table);
    snprintf(s->channel, ql, "%s_head", table);
    snprintf(s->channel_q, ql, "\"%s_head\"", table);
    s->lock_key2 = (int)(pg_fnv(table) & 0x7fffffff);
    s->connect_ms = cto;
    *out = s;
    return 0;
}

/* Whether the objects table exists (1/0), on c. */
static int pg_table_exists(pg_store *s, PGconn *c, const char *quoted) {
    const char *vals[1] = {quoted};
    PGresult *r;
    int rc = pg_exec(s, c, "table lookup",
                     "SELECT to_regclass($1) IS NOT NULL", 1, NULL, vals,
                     NULL, NULL, 0, &r);
    if (rc) return rc;
    int e = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return e;
}

/* Check one table's columns: a text key and a bytea value. */
static int pg_check_layout(pg_store *s, PGconn *c, const char *tbl,
                           const char *keycol) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s, v FROM %s WHERE false", keycol,
             tbl);
    PGresult *r = PQexec(c, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char line[400];
        pg_msg_line(PQresultErrorMessage(r), line, sizeof line);
        rc = PQstatus(c) == CONNECTION_BAD
                 ? pg_fail(s, c, r, "schema check")
                 : dl_err_set(DATALITH_ECORRUPT,
                              "PostgreSQL at %s: table %s is not a Datalith "
                              "store table (expected columns %s text, v "
                              "bytea): %s", s->where, tbl, keycol, line);
    } else {
        Oid kt = PQftype(r, 0), vt = PQftype(r, 1);
        if ((kt != 25 && kt != 1043) || vt != 17)
            rc = dl_err_set(DATALITH_ECORRUPT,
                            "PostgreSQL at %s: table %s is not a Datalith "
                            "store table (expected columns %s text, v bytea)",
                            s->where, tbl, keycol);
    }
    PQclear(r);
    return rc;
}

static int pg_open_op(pg_store *s, PGconn *c, void *arg, int retry) {
    int create = *(int *)arg;
    int rc;
    if (create) {
        char sql[900];
        snprintf(sql, sizeof sql,
                 "BEGIN; SELECT pg_advisory_xact_lock(%d, %d); "
                 "CREATE TABLE IF NOT EXISTS %s (k text COLLATE \"C\" "
                 "PRIMARY KEY, v bytea NOT NULL); "
                 "ALTER TABLE %s ALTER COLUMN v SET STORAGE EXTERNAL; "
                 "CREATE TABLE IF NOT EXISTS %s (branch text COLLATE \"C\" "
                 "PRIMARY KEY, v bytea NOT NULL); COMMIT",
                 PG_LOCK_KEY1 + 1, s->lock_key2, s->objs, s->objs, s->heads);
        rc = pg_cmd(s, c, "create tables", sql);
        if (rc) {
            pg_rollback(c);
            return rc;
        }
    }
    int e = pg_table_exists(s, c, s->objs);
    if (e < 0) return e;
    if (!e) return dl_err_set(DATALITH_ENOTFOUND, "Backend does not exist.");
    if ((rc = pg_check_layout(s, c, s->objs, "k")) ||
        (rc = pg_check_layout(s, c, s->heads, "branch")))
        return rc;
    return 0;
}

int dl_store_pg_open(const edn_value *cfg, int create, dl_store **out) {
    pg_store *s;
    int rc = pg_configure(cfg, &s);
    if (rc) return rc;
    rc = pg_run(s, pg_open_op, &create);
    if (rc) {
        pg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

static int pg_exists_op(pg_store *s, PGconn *c, void *arg, int retry) {
    int e = pg_table_exists(s, c, s->objs);
    if (e < 0) return e;
    *(int *)arg = e;
    return 0;
}

int dl_store_pg_exists(const edn_value *cfg, int *out) {
    pg_store *s;
    int rc = pg_configure(cfg, &s);
    if (rc) return rc;
    int e = 0;
    rc = pg_run(s, pg_exists_op, &e);
    pg_close(&s->base);
    if (!rc) *out = e;
    return rc;
}

#else
/* Built without libpq: the :pg backend is not registered (store.c). */
typedef int dl_store_pg_unavailable;
#endif
