/*
** dbs.c — the databases the server holds.
**
** One entry per [store identity, branch], opened on first use and kept until
** the database is deleted or the server stops:
**
**   reg ──▶ srv_db{key "…#db", conn, tx_mu, recent[], seq, cv} ──▶ …
**
**   conn     the engine connection; the server is its single writer
**   tx_mu    serialises transactions: each runs on the newest snapshot and
**            commits on top of exactly it; the commit is durable (synced,
**            head swapped) before the request is answered
**   recent   the last SRV_RECENT snapshots seen (retained), so a snapshot a
**            client names by commit id is usually found without a store walk
**   seq, cv  bumped and broadcast after every commit the server makes;
**            /await-commit waits on cv
**   watcher  while requests wait in /await-commit, one thread per entry
**            notices commits of OTHER writers (a process writing the store
**            directly): it blocks in the store's head_wait (inotify for a
**            directory, LISTEN/NOTIFY for PostgreSQL) for the head it saw
**            last and bumps seq when the head moved; a store without
**            head_wait (or :head-wait false) is polled every :poll-ms.  It
**            exits a second or so after the last waiter left.
**
** Entries are refcounted: the registry holds one reference, each request
** using an entry another.
*/
#define _GNU_SOURCE
#include "server.h"

#include "api/api_util.h"
#include "db/config.h"
#include "db/db_internal.h"
#include "db/listen.h"
#include "db/tx.h"
#include "util/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SRV_RECENT 64

struct srv_db {
    srv_db *next;
    int refs;                 /* under reg_mu */
    char *key;
    dl_conn *conn;
    pthread_mutex_t tx_mu;
    pthread_mutex_t mu;       /* recent, seq */
    pthread_cond_t cv;
    uint64_t seq;
    dl_db *recent[SRV_RECENT];
    size_t recent_pos;
    int n_waiting;            /* requests in srv_db_await (under mu) */
    int watching;             /* a watcher thread runs (under mu) */
    int gone;                 /* forgotten: the watcher exits (under mu) */
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static srv_db *reg;
static int stopping;          /* under reg_mu; read by waiters under d->mu */
static int n_watchers;        /* watcher threads running (under reg_mu) */
static pthread_cond_t watchers_cv = PTHREAD_COND_INITIALIZER;

#define SRV_WATCH_MS 500      /* one head_wait of the watcher */

int64_t srv_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int srv_engine_config(dl_arena *a, const edn_value *config, edn_value *out) {
    if (config->type != EDN_MAP) {
        *out = *config;
        return 0;
    }
    edn_value *kv = dl_arena_alloc(a, sizeof *kv * 2 * (config->n ? config->n : 1));
    if (!kv) return dl_err_nomem();
    size_t n = 0;
    for (uint32_t i = 0; i < config->n; i++) {
        const edn_value *k = &config->u.items[2 * i];
        if (k->type == EDN_KEYWORD && (!strcmp(k->u.sym->full, "writer") ||
                                       !strcmp(k->u.sym->full, "remote-peer")))
            continue;
        kv[2 * n] = *k;
        kv[2 * n + 1] = config->u.items[2 * i + 1];
        n++;
    }
    return edn_map(a, kv, n, out);
}

static void db_free(srv_db *d) {
    for (size_t i = 0; i < SRV_RECENT; i++) dl_db_release(d->recent[i]);
    dl_conn_release(d->conn);
    pthread_mutex_destroy(&d->tx_mu);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d->key);
    free(d);
}

void srv_db_unref(srv_db *d) {
    if (!d) return;
    pthread_mutex_lock(&reg_mu);
    int last = --d->refs == 0;
    pthread_mutex_unlock(&reg_mu);
    if (last) db_free(d);
}

/* The registry key of a (stripped) engine config. */
static int db_key(const edn_value *config, char **out) {
    dl_arena a;
    dl_config cfg;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_config_parse(&a, config, &cfg);
    if (!rc) {
        char *id = srv_store_ident(&cfg.store);
        if (!id) {
            rc = dl_err_last()->code;
        } else {
            const char *br = cfg.branch ? cfg.branch->full : "db";
            size_t n = strlen(id) + strlen(br) + 2;
            *out = malloc(n);
            if (*out) snprintf(*out, n, "%s#%s", id, br);
            else rc = dl_err_nomem();
            free(id);
        }
    }
    dl_arena_free(&a);
    return rc;
}

/* Open a connection through the public facade (so the engine parses and
** checks the config exactly as for any client). */
static int open_conn(const edn_value *config, dl_conn **out) {
    dl_buf b = DL_BUF_INIT;
    datalith_conn *c = NULL;
    int rc = edn_write(&b, config);
    if (!rc) rc = datalith_connect(b.data, b.len, DATALITH_FORMAT_EDN, &c);
    dl_buf_free(&b);
    if (!rc) *out = (dl_conn *)(void *)c;
    return rc;
}

/* The entry under `key` with a reference taken, or NULL (reg_mu held). */
static srv_db *reg_find(const char *key) {
    for (srv_db *d = reg; d; d = d->next) {
        if (strcmp(d->key, key) == 0) {
            d->refs++;
            return d;
        }
    }
    return NULL;
}

int srv_db_get(const edn_value *config, srv_db **out) {
    char *key = NULL;
    srv_db *d;
    int rc = db_key(config, &key);
    if (rc) return rc;
    pthread_mutex_lock(&reg_mu);
    d = reg_find(key);
    pthread_mutex_unlock(&reg_mu);
    if (d) {
        free(key);
        *out = d;
        return 0;
    }
    /* open without the registry lock (a store may be slow to reach); two
    ** threads racing here get the same engine connection, and the entry
    ** made second is dropped below */
    if (!(d = calloc(1, sizeof *d))) {
        free(key);
        return dl_err_nomem();
    }
    if ((rc = open_conn(config, &d->conn)) != 0) {
        free(key);
        free(d);
        return rc;
    }
    pthread_mutex_lock(&reg_mu);
    srv_db *won = reg_find(key);
    if (won) {
        pthread_mutex_unlock(&reg_mu);
        dl_conn_release(d->conn);
        free(d);
        free(key);
        *out = won;
        return 0;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&d->tx_mu, NULL);
    pthread_mutex_init(&d->mu, NULL);
    d->key = key;
    d->refs = 2; /* the registry's and the caller's */
    d->next = reg;
    reg = d;
    pthread_mutex_unlock(&reg_mu);
    *out = d;
    return 0;
}

void srv_db_forget(const edn_value *config) {
    char *key = NULL;
    srv_db *drop = NULL;
    if (db_key(config, &key)) {
        dl_err_clear();
        return;
    }
    pthread_mutex_lock(&reg_mu);
    for (srv_db **pp = &reg; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            drop = *pp;
            *pp = drop->next;
            drop->next = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&reg_mu);
    free(key);
    if (drop) {
        /* wake its waiters: they re-read the head and answer */
        pthread_mutex_lock(&drop->mu);
        drop->gone = 1;
        drop->seq++;
        pthread_cond_broadcast(&drop->cv);
        pthread_mutex_unlock(&drop->mu);
        srv_db_unref(drop);
    }
}

/* ---- snapshots ---- */

static void recent_add(srv_db *d, dl_db *db) {
    pthread_mutex_lock(&d->mu);
    size_t last = (d->recent_pos + SRV_RECENT - 1) % SRV_RECENT;
    if (d->recent[last] != db) {
        dl_db_retain(db);
        dl_db_release(d->recent[d->recent_pos]);
        d->recent[d->recent_pos] = db;
        d->recent_pos = (d->recent_pos + 1) % SRV_RECENT;
    }
    pthread_mutex_unlock(&d->mu);
}

int srv_db_current(srv_db *d, dl_db **out) {
    int rc = dl_conn_db(d->conn, out);
    if (!rc) recent_add(d, *out);
    return rc;
}

int srv_db_at(srv_db *d, const uint8_t id[16], dl_db **out) {
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < SRV_RECENT; i++) {
        dl_db *x = d->recent[i];
        if (x && memcmp(x->commit_id, id, 16) == 0) {
            dl_db_retain(x);
            pthread_mutex_unlock(&d->mu);
            *out = x;
            return 0;
        }
    }
    pthread_mutex_unlock(&d->mu);
    int rc = dl_conn_db_at(d->conn, id, 0, out);
    if (!rc) recent_add(d, *out);
    return rc;
}

/* ---- writing ---- */

int srv_db_transact(srv_db *d, const edn_value *tx_data,
                    const edn_value *tx_meta, dl_arena *a, dl_db **before,
                    dl_tx_report *rep) {
    int rc;
    *before = NULL;
    memset(rep, 0, sizeof *rep);
    pthread_mutex_lock(&d->tx_mu);
    rc = dl_conn_db(d->conn, before);
    if (!rc) rc = dl_tx_run(*before, tx_data, tx_meta, dl_api_now_ms(), a, rep);
    if (!rc) rc = dl_conn_commit(d->conn, rep->db_after);
    pthread_mutex_unlock(&d->tx_mu);
    if (rc) return rc;
    recent_add(d, rep->db_after);
    pthread_mutex_lock(&d->mu);
    d->seq++;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return 0;
}

int srv_db_write(srv_db *d, int (*fn)(dl_conn *c, void *ctx), void *ctx) {
    dl_db *now = NULL;
    pthread_mutex_lock(&d->tx_mu);
    int rc = fn(d->conn, ctx);
    pthread_mutex_unlock(&d->tx_mu);
    if (rc) return rc;
    if (dl_conn_db(d->conn, &now) == 0) {
        recent_add(d, now);
        dl_db_release(now);
    } else {
        dl_err_clear(); /* the write itself succeeded */
    }
    pthread_mutex_lock(&d->mu);
    d->seq++;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return 0;
}

/* ---- waiting for commits ---- */

static void bump(srv_db *d) {
    pthread_mutex_lock(&d->mu);
    d->seq++;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The watcher thread of entry d (holds a reference to it). */
static void *head_watch(void *p) {
    srv_db *d = p;
    char seen[DL_COMMIT_KEY_MAX] = "", head[DL_COMMIT_KEY_MAX];
    int idle = 0, first = 1, polling = g_cfg.no_head_wait;
    for (;;) {
        pthread_mutex_lock(&reg_mu);
        int stop = stopping;
        pthread_mutex_unlock(&reg_mu);
        pthread_mutex_lock(&d->mu);
        idle = d->n_waiting ? 0 : idle + 1;
        if (stop || d->gone || idle > 2) {
            d->watching = 0;
            pthread_mutex_unlock(&d->mu);
            break;
        }
        pthread_mutex_unlock(&d->mu);
        int rc = dl_conn_head_now(d->conn, head);
        if (rc) head[0] = '\0'; /* e.g. deleted: waiters re-read and see it */
        /* the first look wakes the waiters too: a commit that happened
        ** before this thread saw the head must not go unnoticed */
        if (first || strcmp(head, seen) != 0) {
            memcpy(seen, head, sizeof seen);
            first = 0;
            bump(d);
        }
        if (!rc && !polling) {
            rc = dl_conn_wait_head(d->conn, head, SRV_WATCH_MS);
            if (rc == DATALITH_EUNSUPPORTED) polling = 1;
        }
        if (rc || polling) sleep_ms(g_cfg.poll_ms < SRV_WATCH_MS ? g_cfg.poll_ms
                                                                  : SRV_WATCH_MS);
        dl_err_clear();
    }
    pthread_mutex_lock(&reg_mu);
    n_watchers--;
    pthread_cond_broadcast(&watchers_cv);
    pthread_mutex_unlock(&reg_mu);
    srv_db_unref(d);
    return NULL;
}

/* Count a waiter in and make sure a watcher runs; 1 if one does. */
static int waiter_enter(srv_db *d) {
    int ok;
    pthread_mutex_lock(&reg_mu);
    pthread_mutex_lock(&d->mu);
    d->n_waiting++;
    ok = d->watching;
    if (!ok && !stopping && !d->gone) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        d->refs++;
        n_watchers++;
        if (pthread_create(&t, &at, head_watch, d) == 0) {
            d->watching = ok = 1;
        } else {
            d->refs--;
            n_watchers--;
        }
        pthread_attr_destroy(&at);
    }
    pthread_mutex_unlock(&d->mu);
    pthread_mutex_unlock(&reg_mu);
    return ok;
}

static void waiter_leave(srv_db *d) {
    pthread_mutex_lock(&d->mu);
    d->n_waiting--;
    pthread_mutex_unlock(&d->mu);
}

int srv_db_await(srv_db *d, const uint8_t *known, long timeout_ms, dl_db **out) {
    int64_t deadline = srv_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    /* other writers can only reach a durable store; a memory database
    ** changes only through this server's own commits (seq) */
    int mem = dl_conn_is_memory(d->conn);
    int entered = known && !mem && timeout_ms > 0;
    int watched = mem || (entered && waiter_enter(d));
    for (;;) {
        dl_db *cur = NULL;
        pthread_mutex_lock(&d->mu);
        uint64_t seq = d->seq;
        pthread_mutex_unlock(&d->mu);
        int rc = srv_db_current(d, &cur); /* re-reads the head */
        int64_t now = srv_now_ms();
        pthread_mutex_lock(&reg_mu);
        int stop = stopping;
        pthread_mutex_unlock(&reg_mu);
        if (rc || !known || memcmp(cur->commit_id, known, 16) != 0 ||
            now >= deadline || stop) {
            if (entered) waiter_leave(d);
            if (rc) return rc;
            *out = cur;
            return 0;
        }
        dl_db_release(cur);
        /* with a watcher, sleep until a commit (ours or its signal) or
        ** the deadline; without one, re-read every poll-ms */
        int64_t until = watched ? deadline : now + g_cfg.poll_ms;
        if (until > deadline) until = deadline;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = until - now;
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (wait % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&d->mu);
        while (d->seq == seq) {
            int w = pthread_cond_timedwait(&d->cv, &d->mu, &ts);
            if (w == ETIMEDOUT) break;
        }
        pthread_mutex_unlock(&d->mu);
    }
}

int srv_db_reports(srv_db *d, const uint8_t known[16], const dl_db *head,
                   size_t max, dl_arena *a, edn_value *out, int *more) {
    return dl_listen_reports(d->conn, known, head->commit_key, max, a, out, more);
}

void srv_dbs_shutdown(void) {
    pthread_mutex_lock(&reg_mu);
    stopping = 1;
    for (srv_db *d = reg; d; d = d->next) {
        pthread_mutex_lock(&d->mu);
        d->seq++;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
    pthread_mutex_unlock(&reg_mu);
}

void srv_dbs_close_all(void) {
    pthread_mutex_lock(&reg_mu);
    /* watchers see `stopping` within one head_wait and exit */
    while (n_watchers > 0) pthread_cond_wait(&watchers_cv, &reg_mu);
    srv_db *d = reg;
    reg = NULL;
    pthread_mutex_unlock(&reg_mu);
    while (d) {
        srv_db *nx = d->next;
        srv_db_unref(d);
        d = nx;
    }
}
