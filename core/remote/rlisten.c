/*
** rlisten.c — transaction listeners of :remote-peer connections (listen /
** unlisten over the writer server; docs/remote.md, core/db/listen.h for
** the contract they share with local listeners).
**
** One watcher thread per connection handle with listeners long-polls the
** server:
**
**   POST /await-commit [config #uuid "<known>" RL_WAIT_MS true]
**     -> {:commit-id … :max-tx … :reports [<report> …] (:more true)}
**
** and calls every listener with each report, oldest first, in the
** listener's format (the reports read like a local transact's: no :config
** in the snapshots).  `known` then moves to the last report's :db-after
** (when :more says the server left some out) or to the head.  So commits
** are never skipped or repeated while the server keeps the branch; a
** listener added later gets the reports of commits newer than the head it
** saw at listen (by :max-tx, which grows with every transaction).
**
** FAILURES.  An unreachable server, a refused request or a database that
** is gone: every listener's callback gets the error status once (the
** thread's last error says what failed), and the watcher retries with
** backoff (RL_BACKOFF_MIN_MS doubling up to RL_BACKOFF_MAX_MS); the first
** answer after that resumes delivery from `known`, so commits made while
** the server was away are delivered too.
**
** STOPPING.  unlisten of the last listener and the handle's release end the
** watcher's generation, write a byte to a pipe the long-poll's HTTP waits
** watch (http.h cancel_fd), and join the thread, so they return promptly.
** From a callback (on the watcher itself) they only end the generation:
** the thread exits when the callback returns.  The set is refcounted (the
** handle and a running watcher), so a callback may release the handle.
*/
#define _GNU_SOURCE
#include "remote.h"

#include "api/api_util.h"
#include "db/lset.h"
#include "remote/remote_internal.h"
#include "util/buf.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RL_WAIT_MS 20000        /* one long-poll (the server may cap it) */
#define RL_SLACK_MS 10000       /* read timeout beyond the long-poll */
#define RL_BACKOFF_MIN_MS 100
#define RL_BACKOFF_MAX_MS 5000
#define RL_PACE_MS 250          /* between answers of a server that does not
                                ** hold the request (:await-max-ms 0) */

typedef struct rlistener {
    dl_lsnr b;          /* key, callback, busy/removed (db/lset.h) */
    int64_t min_tx;     /* reports start above this :max-tx (the head at listen) */
} rlistener;

typedef struct dl_rlisten {
    dl_lset ls;         /* listeners, mu, cv, watcher thread; refs: the
                        ** handle's slot + a running watcher (db/lset.h) */
    int cancel[2];      /* pipe: a byte abandons the watcher's request */
    dl_arena arena;     /* config and settings below */
    edn_value config;
    dl_remote r;
    uint8_t known[16];  /* last commit delivered (or the head seen) */
    int64_t last_tx;    /* :max-tx of the last report delivered */
} dl_rlisten;

static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;
/* The set whose callback runs on this thread (the watcher's), or NULL. */
static _Thread_local dl_rlisten *tl_delivering;
static atomic_uint_fast64_t key_counter;

static edn_value kw(const char *full) { return edn_keyword_str(full); }

static void set_free(dl_rlisten *s) {
    dl_lset_destroy(&s->ls);
    close(s->cancel[0]);
    close(s->cancel[1]);
    dl_arena_free(&s->arena);
    free(s);
}

/* Drop one reference (under mu, which the caller then unlocks); 1 when the
** caller must free the set. */
static int unref_locked(dl_rlisten *s) { return --s->ls.refs == 0; }

static int set_new(datalith_conn *conn, dl_rlisten **out) {
    dl_rlisten *s = calloc(1, sizeof *s);
    int rc;
    if (!s) return dl_err_nomem();
    s->cancel[0] = s->cancel[1] = -1;
    dl_arena_init(&s->arena, 0);
    if (pipe2(s->cancel, O_CLOEXEC | O_NONBLOCK) != 0) {
        rc = dl_err_set(DATALITH_EIO, "listen: cannot make a pipe (%s)", strerror(errno));
        s->cancel[0] = s->cancel[1] = -1;
        goto fail;
    }
    if ((rc = edn_clone(&s->arena, dl_rpeer_conn_config(conn), &s->config)) != 0 ||
        (rc = dl_remote_peer_settings(&s->config, &s->r)) != 0)
        goto fail;
    dl_lset_init(&s->ls);
    *out = s;
    return 0;
fail:
    if (s->cancel[0] >= 0) close(s->cancel[0]);
    if (s->cancel[1] >= 0) close(s->cancel[1]);
    dl_arena_free(&s->arena);
    free(s);
    return rc;
}

static int on_watcher(const dl_rlisten *s) { return tl_delivering == s; }

static void drain_cancel(dl_rlisten *s) {
    char buf[64];
    while (read(s->cancel[0], buf, sizeof buf) > 0) {
    }
}

/* ---- talking to the server ---- */

/* POST /await-commit [config known-or-nil wait_ms reports?]; the answer's
** map in a.  `cancellable`: the watcher's long-poll. */
static int await_commit(dl_rlisten *s, const uint8_t *known, int wait_ms,
                        int reports, int cancellable, dl_arena *a, edn_value *out) {
    edn_value items[4], args;
    dl_remote r = s->r;
    int rc;
    items[0] = s->config;
    items[1] = known ? edn_uuid(known) : edn_nil();
    items[2] = edn_int(wait_ms);
    items[3] = edn_bool(reports);
    if (cancellable) {
        r.opts.read_timeout_ms = wait_ms + RL_SLACK_MS;
        r.opts.cancel_fd = &s->cancel[0];
    }
    if ((rc = edn_vector(a, items, 4, &args)) != 0) return rc;
    if ((rc = dl_remote_call(&r, "await-commit", &args, a, out)) != 0) return rc;
    if (out->type != EDN_MAP)
        return dl_err_set(DATALITH_EIO, "%s: /await-commit answered %s, not a map",
                          s->r.label, edn_type_name(out->type));
    return 0;
}

static int want_uuid(const dl_rlisten *s, const edn_value *m, uint8_t out[16]) {
    const edn_value *v = m && m->type == EDN_MAP ? edn_map_getk(m, "commit-id") : NULL;
    if (!v || v->type != EDN_UUID)
        return dl_err_set(DATALITH_EIO, "%s: /await-commit answered without a "
                          ":commit-id", s->r.label);
    memcpy(out, v->u.uuid, 16);
    return 0;
}

static int64_t max_tx_of(const edn_value *m) {
    const edn_value *v = m && m->type == EDN_MAP ? edn_map_getk(m, "max-tx") : NULL;
    return v && v->type == EDN_INT ? v->u.i : -1;
}

/* The map inside a report's #datahike/DB :db-after, or NULL. */
static const edn_value *db_after(const edn_value *rep) {
    const edn_value *v = rep->type == EDN_MAP ? edn_map_getk(rep, "db-after") : NULL;
    if (!v || v->type != EDN_TAGGED || v->u.tagged.val->type != EDN_MAP) return NULL;
    return v->u.tagged.val;
}

/* ---- delivery ---- */

/* Call the listeners with report `rep` (status 0) or with error `status`
** (message `msg`).  Entered and left with mu held; returns non-zero when
** this watcher's generation ended meanwhile. */
static int deliver(dl_rlisten *s, unsigned gen, int status, const char *msg,
                   const edn_value *rep, int64_t tx) {
    char *enc[3] = {NULL, NULL, NULL};
    size_t enc_len[3] = {0, 0, 0};
    int enc_rc[3] = {0, 0, 0};
    rlistener *l = (rlistener *)s->ls.head;
#define SKIP(x) ((x)->b.removed || (!status && tx <= (x)->min_tx))
    while (l && SKIP(l)) l = (rlistener *)l->b.next;
    while (l && s->ls.gen == gen) {
        int fmt = l->b.fmt;
        dl_lset_enter(&s->ls, &l->b);
        tl_delivering = s;
        if (status) {
            dl_err_set(status, "%s", msg);
            l->b.fn(l->b.ctx, status, NULL, 0);
        } else {
            if (!enc[fmt] && !enc_rc[fmt])
                enc_rc[fmt] = dl_api_write(rep, fmt, &enc[fmt], &enc_len[fmt]);
            if (enc_rc[fmt]) l->b.fn(l->b.ctx, enc_rc[fmt], NULL, 0);
            else l->b.fn(l->b.ctx, 0, enc[fmt], enc_len[fmt]);
        }
        tl_delivering = NULL;
        l = (rlistener *)dl_lset_leave(&s->ls, &l->b);
        while (l && SKIP(l)) l = (rlistener *)l->b.next;
    }
#undef SKIP
    for (int i = 0; i < 3; i++) free(enc[i]);
    return s->ls.gen != gen;
}

/* Deliver the reports of one answer (mu held). */
static int deliver_answer(dl_rlisten *s, unsigned gen, dl_arena *a,
                          const edn_value *ans) {
    const edn_value *reps = edn_map_getk(ans, "reports");
    const edn_value *more = edn_map_getk(ans, "more");
    uint8_t head[16];
    int rc = want_uuid(s, ans, head);
    if (rc) return rc;
    if (!reps || reps->type != EDN_VECTOR)
        return dl_err_set(DATALITH_EIO, "%s: /await-commit answered without "
                          ":reports (a server older than this client?)", s->r.label);
    for (uint32_t i = 0; i < reps->n; i++) {
        const edn_value *m = db_after(&reps->u.items[i]);
        edn_value rep;
        uint8_t id[16];
        int64_t tx = max_tx_of(m);
        if (!m || tx < 0 || want_uuid(s, m, id) != 0)
            return dl_err_set(DATALITH_EIO, "%s: /await-commit answered a report "
                              "without :db-after {:commit-id … :max-tx …}", s->r.label);
        if ((rc = dl_remote_local_report(a, &reps->u.items[i], &rep)) != 0) return rc;
        if (tx <= s->last_tx) {
            /* the branch started again (deleted and created anew): the
            ** thresholds of the old one mean nothing any more */
            for (dl_lsnr *l = s->ls.head; l; l = l->next) ((rlistener *)l)->min_tx = -1;
        }
        memcpy(s->known, id, 16);
        s->last_tx = tx;
        if (deliver(s, gen, 0, NULL, &rep, tx)) return 0;
    }
    if (!(more && more->type == EDN_BOOL && more->u.b)) memcpy(s->known, head, 16);
    return 0;
}

static void *watch_main(void *p) {
    dl_lset_arg *wa = p;
    dl_rlisten *s = (dl_rlisten *)wa->s;
    unsigned gen = wa->gen;
    int reported = 0, backoff = RL_BACKOFF_MIN_MS, free_it;
    free(wa);
    pthread_mutex_lock(&s->ls.mu);
    while (s->ls.gen == gen) {
        uint8_t known[16];
        dl_arena a;
        edn_value ans;
        memcpy(known, s->known, 16);
        pthread_mutex_unlock(&s->ls.mu);
        dl_arena_init(&a, 0);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = await_commit(s, known, RL_WAIT_MS, 1, 1, &a, &ans);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long took = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
        pthread_mutex_lock(&s->ls.mu);
        if (s->ls.gen != gen) {
            dl_arena_free(&a);
            break;
        }
        if (!rc) rc = deliver_answer(s, gen, &a, &ans);
        dl_arena_free(&a);
        if (s->ls.gen != gen) break;
        if (!rc) {
            reported = 0;
            backoff = RL_BACKOFF_MIN_MS;
            /* nothing new, answered at once: the server caps the wait
            ** (:await-max-ms 0); do not spin on it */
            if (memcmp(known, s->known, 16) == 0 && took < RL_WAIT_MS / 20)
                dl_lset_timed_wait(&s->ls, RL_PACE_MS);
            continue;
        }
        if (!reported) { /* once per outage */
            char msg[DL_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", dl_err_last()->message);
            reported = 1;
            if (deliver(s, gen, rc, msg, NULL, 0)) break;
        }
        dl_lset_timed_wait(&s->ls, backoff);
        backoff = backoff * 2 > RL_BACKOFF_MAX_MS ? RL_BACKOFF_MAX_MS : backoff * 2;
    }
    free_it = unref_locked(s);
    pthread_mutex_unlock(&s->ls.mu);
    dl_err_clear();
    if (free_it) set_free(s);
    return NULL;
}

static void cancel_poll(void *s) {
    ssize_t w = write(((dl_rlisten *)s)->cancel[1], "x", 1); /* abandon the long-poll */
    (void)w;
}

/* End the watcher's generation and join it, unless on it (under mu, which
** is dropped while joining). */
static void stop_watcher(dl_rlisten *s) {
    if (dl_lset_stop(&s->ls, cancel_poll, s)) drain_cancel(s);
}

/* ---- the facade's entry points ---- */

static dl_rlisten *slot_get(datalith_conn *conn, int create, int *rc) {
    dl_rlisten **slot = dl_rpeer_listen_slot(conn), *s;
    *rc = 0;
    pthread_mutex_lock(&slot_mu);
    s = *slot;
    if (!s && create && (*rc = set_new(conn, &s)) == 0) *slot = s;
    pthread_mutex_unlock(&slot_mu);
    return s;
}

int dl_rpeer_listen(datalith_conn *conn, const char *key, size_t key_len,
                    int fmt, datalith_listen_fn cb, void *cb_ctx, char **out,
                    size_t *out_len) {
    dl_arena a;
    edn_value k, ans;
    rlistener *l = NULL;
    dl_rlisten *s;
    uint8_t head[16];
    int rc;
    dl_err_clear();
    if (!conn || !cb || !out)
        return dl_err_set(DATALITH_EINVAL, "listen: NULL connection, callback or output");
    if (fmt != DATALITH_FORMAT_EDN && fmt != DATALITH_FORMAT_JSON &&
        fmt != DATALITH_FORMAT_CBOR)
        return dl_err_set(DATALITH_EINVAL, "listen: unknown format %d", fmt);
    dl_arena_init(&a, 0);
    k = edn_nil();
    rc = key && key_len ? dl_api_read(&a, key, key_len, fmt, "listen key", &k) : 0;
    if (!rc && k.type == EDN_NIL) {
        char name[64];
        snprintf(name, sizeof name, "datalith.listener/%llu",
                 (unsigned long long)atomic_fetch_add(&key_counter, 1) + 1);
        k = kw(name);
        if (k.type != EDN_KEYWORD) rc = dl_err_nomem();
    }
    if (!rc && (!(l = calloc(1, sizeof *l)) || !(l->b.key = dl_lset_key_text(&k))))
        rc = dl_err_nomem();
    if (rc) goto out;
    l->b.fmt = fmt;
    l->b.fn = cb;
    l->b.ctx = cb_ctx;
    if (!(s = slot_get(conn, 1, &rc))) goto out;
    /* the head now: reports start after it (and the server answers) */
    rc = await_commit(s, NULL, 0, 0, 0, &a, &ans);
    if (!rc) rc = want_uuid(s, &ans, head);
    if (!rc && (l->min_tx = max_tx_of(&ans)) < 0)
        rc = dl_err_set(DATALITH_EIO, "%s: /await-commit answered without :max-tx",
                        s->r.label);
    if (rc) goto out;
    pthread_mutex_lock(&s->ls.mu);
    if (dl_lset_find(&s->ls, l->b.key))
        rc = dl_err_set(DATALITH_EEXISTS, "listen: key %s is already listening",
                        l->b.key);
    if (!rc && !s->ls.have_thread) {
        memcpy(s->known, head, 16);
        s->last_tx = l->min_tx;
        rc = dl_lset_start(&s->ls, watch_main);
    }
    if (!rc) {
        dl_lset_append(&s->ls, &l->b);
        l = NULL;
    }
    pthread_mutex_unlock(&s->ls.mu);
    if (!rc) {
        rc = dl_api_write(&k, fmt, out, out_len);
        if (rc) {
            dl_buf kb = DL_BUF_INIT;
            if (edn_write(&kb, &k) == 0)
                dl_rpeer_unlisten(conn, kb.data, kb.len, DATALITH_FORMAT_EDN);
            dl_buf_free(&kb);
        }
    }
out:
    if (l) {
        free(l->b.key);
        free(l);
    }
    dl_arena_free(&a);
    return rc;
}

int dl_rpeer_unlisten(datalith_conn *conn, const char *key, size_t key_len,
                      int fmt) {
    dl_arena a;
    edn_value k;
    dl_lsnr *l = NULL;
    dl_rlisten *s;
    char *kt = NULL;
    int rc;
    dl_err_clear();
    if (!conn) return dl_err_set(DATALITH_EINVAL, "unlisten: NULL connection");
    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, key, key_len, fmt, "unlisten key", &k);
    if (!rc && !(kt = dl_lset_key_text(&k))) rc = dl_err_nomem();
    dl_arena_free(&a);
    if (rc) return rc;
    s = slot_get(conn, 0, &rc);
    if (s) {
        pthread_mutex_lock(&s->ls.mu);
        l = dl_lset_find(&s->ls, kt);
    }
    if (!l) {
        if (s) pthread_mutex_unlock(&s->ls.mu);
        rc = dl_err_set(DATALITH_ENOTFOUND, "unlisten: no listener with key %s", kt);
        free(kt);
        return rc;
    }
    free(kt);
    if (!dl_lset_remove(&s->ls, l, on_watcher(s))) stop_watcher(s);
    pthread_mutex_unlock(&s->ls.mu);
    return 0;
}

void dl_rlisten_close(struct dl_rlisten **slot) {
    dl_rlisten *s;
    int free_it;
    pthread_mutex_lock(&slot_mu);
    s = *slot;
    *slot = NULL;
    pthread_mutex_unlock(&slot_mu);
    if (!s) return;
    pthread_mutex_lock(&s->ls.mu);
    int mine = on_watcher(s);
    stop_watcher(s);
    /* no callback runs now, except the one that released the handle */
    for (dl_lsnr **pp = &s->ls.head; *pp;) {
        dl_lsnr *l = *pp;
        if (l->busy && mine) {
            l->removed = 2;
            pp = &l->next;
            continue;
        }
        *pp = l->next;
        free(l->key);
        free(l);
    }
    free_it = unref_locked(s);
    pthread_mutex_unlock(&s->ls.mu);
    if (free_it) set_free(s);
}
