/*
** test_listen.c — datalith_listen / datalith_unlisten (core/db/listen.c):
** reports of this connection's transactions (with tempids and tx-meta),
** of commits by another process on the same file store (from the commit
** record's logged :tx-data, and from a snapshot diff when the record
** flushed its nodes instead), unlisten, callbacks that call back into the
** API, memory stores, and releasing a connection with active listeners.
**
** Expected reports follow reference/datahike-semantics.md §4: tx-data holds
** the asserted datoms, the implied retraction of a cardinality-one value
** (added false, tx = the retracting transaction) and [tx :db/txInstant
** inst tx true].  Waits are bounded by a generous deadline only so that a
** broken watcher fails the test instead of hanging it.
*/
#define _GNU_SOURCE
#include "datalith.h"
#include "db/db_internal.h"
#include "test.h"
#include "util/arena.h"
#include "value/value.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_S 60

/* ---- a listener that records reports ---- */

typedef struct rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *reports[64];
    int n, errors;
    /* behaviours */
    datalith_conn *conn;      /* for the re-entrant callbacks */
    int transact_once;        /* transact from inside the callback */
    int unlisten_self;        /* unlisten its own key from the callback */
    int release_in_cb;        /* release `conn` from inside the callback */
    struct rec *add_in_cb;    /* add this listener from inside the callback */
    char key[64];
    int cb_rc;                /* status of the API call made in the callback */
} rec;

static void rec_init(rec *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static void rec_free(rec *r) {
    /* a callback still unlocking r->mu has finished with r once we hold it */
    pthread_mutex_lock(&r->mu);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->n; i++) free(r->reports[i]);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

static void on_report(void *ctx, int status, const char *report, size_t len) {
    rec *r = ctx;
    char *copy = NULL;
    if (status == 0) {
        copy = malloc(len + 1);
        memcpy(copy, report, len);
        copy[len] = 0;
    }
    if (status == 0 && r->transact_once) {
        char *out = NULL;
        const char *tx = "[{:name \"Inner\"}]";
        r->transact_once = 0;
        r->cb_rc = datalith_transact(r->conn, tx, strlen(tx), DATALITH_FORMAT_EDN, &out, NULL);
        datalith_free(out);
    }
    if (r->unlisten_self) {
        r->unlisten_self = 0;
        r->cb_rc = datalith_unlisten(r->conn, r->key, strlen(r->key), DATALITH_FORMAT_EDN);
    }
    if (r->add_in_cb) {
        char *out = NULL;
        r->cb_rc = datalith_listen(r->conn, NULL, 0, DATALITH_FORMAT_EDN, on_report,
                                   r->add_in_cb, &out, NULL);
        r->add_in_cb = NULL;
        datalith_free(out);
    }
    if (r->release_in_cb) {
        r->release_in_cb = 0;
        datalith_conn_release(r->conn);
    }
    pthread_mutex_lock(&r->mu);
    if (status) r->errors++;
    else if (r->n < 64) r->reports[r->n++] = copy, copy = NULL;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    free(copy);
}

/* Wait until r holds at least n reports (or the deadline); returns the count. */
static int rec_wait(rec *r, int n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += DEADLINE_S;
    pthread_mutex_lock(&r->mu);
    while (r->n < n)
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0) break;
    int got = r->n;
    pthread_mutex_unlock(&r->mu);
    return got;
}

static int rec_count(rec *r) {
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* ---- looking into a report ---- */

static dl_arena A;

static edn_value parse(const char *s) {
    edn_value v;
    if (!s || edn_read(&A, s, strlen(s), NULL, &v) != 0) v = edn_nil();
    return v;
}

/* Datoms of the report's :tx-data with attribute `attr`, value printed as
** `val` (NULL: any) and flag `added`. */
static int count_datoms(const char *report, const char *attr, const char *val, int added) {
    edn_value r = parse(report);
    const edn_value *td = r.type == EDN_MAP ? edn_map_getk(&r, "tx-data") : NULL;
    int n = 0;
    if (!td || td->type != EDN_VECTOR) return -1;
    for (uint32_t i = 0; i < td->n; i++) {
        const edn_value *d = &td->u.items[i];
        if (d->type == EDN_TAGGED) d = d->u.tagged.val;
        if (d->type != EDN_VECTOR || d->n != 5) return -1;
        const edn_value *a = &d->u.items[1], *v = &d->u.items[2], *f = &d->u.items[4];
        edn_value want_a = edn_keyword_str(attr);
        if (!edn_equal(a, &want_a) || f->u.b != (added != 0)) continue;
        if (val) {
            edn_value want_v = parse(val);
            if (!edn_equal(v, &want_v)) continue;
        }
        n++;
    }
    return n;
}

static int64_t db_field(const char *report, const char *which, const char *field) {
    edn_value r = parse(report);
    const edn_value *d = r.type == EDN_MAP ? edn_map_getk(&r, which) : NULL;
    if (d && d->type == EDN_TAGGED) d = d->u.tagged.val;
    const edn_value *x = d && d->type == EDN_MAP ? edn_map_getk(d, field) : NULL;
    return x && x->type == EDN_INT ? x->u.i : -1;
}

static const edn_value *report_get(const char *report, const char *key) {
    static edn_value r;
    r = parse(report);
    return r.type == EDN_MAP ? edn_map_getk(&r, key) : NULL;
}

/* ---- setup ---- */

static char dir[512];
static char cfg[1024];

static const char *SCHEMA =
    "[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one "
    ":db/unique :db.unique/identity}"
    " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}"
    " {:db/ident :source :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]";

static void make_db(const char *store) {
    char *out = NULL;
    snprintf(cfg, sizeof cfg, "{:store %s :initial-tx %s}", store, SCHEMA);
    datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
    int rc = datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out, NULL);
    if (rc) fprintf(stderr, "create: %s\n", datalith_error_last()->message);
    datalith_free(out);
}

static datalith_conn *connect_cfg(void) {
    datalith_conn *c = NULL;
    if (datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c) != 0)
        fprintf(stderr, "connect: %s\n", datalith_error_last()->message);
    return c;
}

static int transact(datalith_conn *c, const char *tx) {
    char *out = NULL;
    int rc = datalith_transact(c, tx, strlen(tx), DATALITH_FORMAT_EDN, &out, NULL);
    if (rc) fprintf(stderr, "transact %s: %s\n", tx, datalith_error_last()->message);
    datalith_free(out);
    return rc;
}

static int listen(datalith_conn *c, const char *key, rec *r) {
    char *out = NULL;
    size_t n = 0;
    int rc = datalith_listen(c, key, key ? strlen(key) : 0, DATALITH_FORMAT_EDN, on_report,
                             r, &out, &n);
    if (!rc) snprintf(r->key, sizeof r->key, "%s", out);
    datalith_free(out);
    return rc;
}

static void file_store(const char *name) {
    char store[700];
    snprintf(store, sizeof store, "{:backend :file :path \"%s/%s\"}", dir, name);
    make_db(store);
}

/* ---- tests ---- */

TEST(own_commit_report) {
    rec r;
    rec_init(&r);
    file_store("own");
    datalith_conn *c = connect_cfg();
    CHECK(c != NULL);
    CHECK_EQ_INT(listen(c, NULL, &r), 0);
    CHECK_CONTAINS(r.key, ":datalith.listener/");
    CHECK_EQ_INT(transact(c, "{:tx-data [{:db/id \"a\" :name \"Alice\" :age 30}] "
                             ":tx-meta {:source \"test\"}}"), 0);
    CHECK_EQ_INT(rec_wait(&r, 1), 1);
    const char *rep = r.reports[0];
    CHECK_EQ_INT(count_datoms(rep, "name", "\"Alice\"", 1), 1);
    CHECK_EQ_INT(count_datoms(rep, "age", "30", 1), 1);
    CHECK_EQ_INT(count_datoms(rep, "db/txInstant", NULL, 1), 1);
    CHECK_EQ_INT(count_datoms(rep, "age", NULL, 0), 0);
    /* this connection's transaction: the caller's tempids and tx-meta */
    const edn_value *t = report_get(rep, "tempids");
    CHECK(t && t->type == EDN_MAP && t->n == 2); /* "a" and :db/current-tx */
    const edn_value *m = report_get(rep, "tx-meta");
    CHECK(m && m->type == EDN_MAP && edn_map_getk(m, "source") != NULL);
    CHECK_EQ_INT(db_field(rep, "db-after", "max-tx"), db_field(rep, "db-before", "max-tx") + 1);
    /* a second listener with a given key; a taken key is refused */
    rec r2;
    rec_init(&r2);
    CHECK_EQ_INT(listen(c, ":mine", &r2), 0);
    CHECK_STR(r2.key, ":mine");
    CHECK_EQ_INT(listen(c, ":mine", &r2), DATALITH_EEXISTS);
    CHECK_EQ_INT(transact(c, "[{:name \"Alice\" :age 31}]"), 0);
    CHECK_EQ_INT(rec_wait(&r, 2), 2);
    CHECK_EQ_INT(rec_wait(&r2, 1), 1);
    /* the implied retraction of the old age is in tx-data */
    CHECK_EQ_INT(count_datoms(r.reports[1], "age", "30", 0), 1);
    CHECK_EQ_INT(count_datoms(r.reports[1], "age", "31", 1), 1);
    CHECK_STR(r.reports[1], r2.reports[0]);
    /* unlisten stops delivery; the other listener goes on */
    CHECK_EQ_INT(datalith_unlisten(c, ":mine", 5, DATALITH_FORMAT_EDN), 0);
    CHECK_EQ_INT(datalith_unlisten(c, ":mine", 5, DATALITH_FORMAT_EDN), DATALITH_ENOTFOUND);
    CHECK_CONTAINS(datalith_error_last()->message, "no listener with key :mine");
    CHECK_EQ_INT(transact(c, "[{:name \"Bea\"}]"), 0);
    CHECK_EQ_INT(rec_wait(&r, 3), 3);
    CHECK_EQ_INT(count_datoms(r.reports[2], "name", "\"Bea\"", 1), 1);
    CHECK_EQ_INT(rec_count(&r2), 1);
    /* bad arguments */
    char *out = NULL;
    CHECK_EQ_INT(datalith_listen(c, NULL, 0, DATALITH_FORMAT_EDN, NULL, NULL, &out, NULL),
                 DATALITH_EINVAL);
    CHECK_EQ_INT(datalith_listen(c, "{:a", 3, DATALITH_FORMAT_EDN, on_report, &r, &out, NULL),
                 DATALITH_EPARSE);
    CHECK_EQ_INT(datalith_listen(c, NULL, 0, 77, on_report, &r, &out, NULL), DATALITH_EINVAL);
    CHECK_EQ_INT(datalith_unlisten(c, "", 0, DATALITH_FORMAT_EDN), DATALITH_EPARSE);
    datalith_conn_release(c); /* with r still listening: clean */
    rec_free(&r);
    rec_free(&r2);
}

/* Child process: transact on the same file store after the parent says go.
** Commit 1 logs its changes; commit 2 flushes its nodes (log tail off), so
** the parent's watcher has to diff two snapshots; commit 3 logs again. */
static void child_writer(int go_fd) {
    char b;
    if (read(go_fd, &b, 1) != 1) _exit(2);
    datalith_conn *c = connect_cfg();
    if (!c) _exit(3);
    if (transact(c, "[{:name \"Bob\" :age 1}]")) _exit(4);
    dl_conn_set_log_tail((dl_conn *)(void *)c, 0);
    if (transact(c, "[{:name \"Bob\" :age 2}]")) _exit(5);
    dl_conn_set_log_tail((dl_conn *)(void *)c, 1);
    if (transact(c, "[{:name \"Carol\"}]")) _exit(6);
    datalith_conn_release(c); /* flushes the log tail: a commit without changes */
    _exit(0);
}

TEST(other_process_commits) {
    int go[2];
    rec r;
    rec_init(&r);
    file_store("cross");
    CHECK(pipe(go) == 0);
    fflush(NULL);
    pid_t pid = fork(); /* before any thread exists in this process */
    if (pid == 0) {
        close(go[1]);
        child_writer(go[0]);
    }
    close(go[0]);
    datalith_conn *c = connect_cfg();
    CHECK_EQ_INT(listen(c, NULL, &r), 0);
    CHECK(write(go[1], "g", 1) == 1);
    close(go[1]);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_EQ_INT(rec_wait(&r, 3), 3);
    /* 1: logged */
    CHECK_EQ_INT(count_datoms(r.reports[0], "name", "\"Bob\"", 1), 1);
    CHECK_EQ_INT(count_datoms(r.reports[0], "age", "1", 1), 1);
    CHECK_EQ_INT(count_datoms(r.reports[0], "db/txInstant", NULL, 1), 1);
    const edn_value *t = report_get(r.reports[0], "tempids");
    CHECK(t && t->type == EDN_MAP && t->n == 1 && edn_map_getk(t, "db/current-tx"));
    const edn_value *m = report_get(r.reports[0], "tx-meta");
    CHECK(m && m->type == EDN_MAP && edn_map_getk(m, "db/txInstant"));
    /* 2: flushed, from the diff: the old age retracted, the new asserted */
    CHECK_EQ_INT(count_datoms(r.reports[1], "age", "1", 0), 1);
    CHECK_EQ_INT(count_datoms(r.reports[1], "age", "2", 1), 1);
    CHECK_EQ_INT(count_datoms(r.reports[1], "name", NULL, 1), 0);
    CHECK_EQ_INT(count_datoms(r.reports[1], "db/txInstant", NULL, 1), 1);
    /* 3 */
    CHECK_EQ_INT(count_datoms(r.reports[2], "name", "\"Carol\"", 1), 1);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(db_field(r.reports[i], "db-after", "max-tx"),
                     db_field(r.reports[i], "db-before", "max-tx") + 1);
    CHECK_EQ_INT(db_field(r.reports[1], "db-before", "max-tx"),
                 db_field(r.reports[0], "db-after", "max-tx"));
    /* the child's closing flush is no transaction: the next report is ours */
    CHECK_EQ_INT(transact(c, "[{:db/id \"d\" :name \"Dave\"}]"), 0);
    CHECK_EQ_INT(rec_wait(&r, 4), 4);
    CHECK_EQ_INT(count_datoms(r.reports[3], "name", "\"Dave\"", 1), 1);
    t = report_get(r.reports[3], "tempids");
    CHECK(t && t->type == EDN_MAP && t->n == 2);
    CHECK_EQ_INT(r.errors, 0);
    datalith_conn_release(c);
    rec_free(&r);
}

TEST(reentrant_callbacks) {
    rec r;
    rec_init(&r);
    file_store("reenter");
    datalith_conn *c = connect_cfg();
    r.conn = c;
    r.transact_once = 1;
    CHECK_EQ_INT(listen(c, ":re", &r), 0);
    CHECK_EQ_INT(transact(c, "[{:name \"Outer\"}]"), 0);
    /* the callback transacted "Inner": its report arrives too */
    CHECK_EQ_INT(rec_wait(&r, 2), 2);
    CHECK_EQ_INT(r.cb_rc, 0);
    CHECK_EQ_INT(count_datoms(r.reports[0], "name", "\"Outer\"", 1), 1);
    CHECK_EQ_INT(count_datoms(r.reports[1], "name", "\"Inner\"", 1), 1);
    /* unlisten from inside the callback: that call is the last one */
    r.unlisten_self = 1;
    CHECK_EQ_INT(transact(c, "[{:name \"Last\"}]"), 0);
    CHECK_EQ_INT(rec_wait(&r, 3), 3);
    CHECK_EQ_INT(r.cb_rc, 0);
    rec r2; /* a second listener proves later commits were processed */
    rec_init(&r2);
    CHECK_EQ_INT(listen(c, ":probe", &r2), 0);
    CHECK_EQ_INT(transact(c, "[{:name \"After\"}]"), 0);
    CHECK_EQ_INT(rec_wait(&r2, 1), 1);
    CHECK_EQ_INT(rec_count(&r), 3);
    CHECK_EQ_INT(datalith_unlisten(c, ":re", 3, DATALITH_FORMAT_EDN), DATALITH_ENOTFOUND);
    /* a listener added while a report is being delivered starts with the
    ** next commit, not with that report */
    rec late;
    rec_init(&late);
    r2.conn = c;
    r2.add_in_cb = &late;
    CHECK_EQ_INT(transact(c, "[{:name \"During\"}]"), 0);
    CHECK_EQ_INT(rec_wait(&r2, 2), 2);
    CHECK_EQ_INT(r2.cb_rc, 0);
    CHECK_EQ_INT(transact(c, "[{:name \"Next\"}]"), 0);
    CHECK_EQ_INT(rec_wait(&late, 1), 1);
    CHECK_EQ_INT(rec_wait(&r2, 3), 3);
    CHECK_EQ_INT(rec_count(&late), 1);
    CHECK_EQ_INT(count_datoms(late.reports[0], "name", "\"Next\"", 1), 1);
    /* the callback releases the last reference to the connection */
    datalith_conn *c2 = connect_cfg(); /* refs 2 */
    r2.conn = c2;
    r2.release_in_cb = 1;
    datalith_conn_release(c);          /* refs 1: the callback holds the last */
    CHECK_EQ_INT(transact(c2, "[{:name \"Bye\"}]"), 0);
    CHECK_EQ_INT(rec_wait(&r2, 4), 4);
    rec_free(&r);
    rec_free(&late);
    /* the detached watcher exits without calling back again (its
    ** generation ended) */
    rec_free(&r2);
}

TEST(memory_store) {
    rec r;
    rec_init(&r);
    make_db("{:backend :memory :id \"listen-mem\"}");
    datalith_conn *c = connect_cfg();
    CHECK_EQ_INT(listen(c, NULL, &r), 0);
    CHECK_EQ_INT(transact(c, "[{:db/id \"m\" :name \"Mem\"}]"), 0);
    CHECK_EQ_INT(transact(c, "[{:name \"Mem\" :age 7}]"), 0);
    CHECK_EQ_INT(rec_wait(&r, 2), 2);
    CHECK_EQ_INT(count_datoms(r.reports[0], "name", "\"Mem\"", 1), 1);
    CHECK_EQ_INT(count_datoms(r.reports[1], "age", "7", 1), 1);
    const edn_value *t = report_get(r.reports[0], "tempids");
    CHECK(t && t->type == EDN_MAP && t->n == 2);
    /* other formats */
    rec j;
    rec_init(&j);
    char *out = NULL;
    CHECK_EQ_INT(datalith_listen(c, NULL, 0, DATALITH_FORMAT_JSON, on_report, &j, &out, NULL), 0);
    datalith_free(out);
    CHECK_EQ_INT(transact(c, "[{:name \"Json\"}]"), 0);
    CHECK_EQ_INT(rec_wait(&j, 1), 1);
    CHECK_CONTAINS(j.reports[0], "\"Json\"");
    CHECK_CONTAINS(j.reports[0], "tx-data");
    datalith_conn_release(c);
    datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
    rec_free(&r);
    rec_free(&j);
}

int main(void) {
    const char *t = test_tmpdir("listen");
    snprintf(dir, sizeof dir, "%s", t);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    dl_arena_init(&A, 0);
    RUN(other_process_commits); /* first: it forks before any thread */
    RUN(own_commit_report);
    RUN(reentrant_callbacks);
    RUN(memory_store);
    dl_arena_free(&A);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return test_summary();
}
