/*
** pg_procs.c — several processes on one PostgreSQL store.
**
**   pg_procs [commits]        (run by run_with_pg.sh: needs DL_TEST_PG_STORE)
**
**   writer     commits the deterministic workload (../dbproc), holding the
**              writer lock from its first commit to its exit
**   reader ×2  connect once and keep taking snapshots straight from the
**              tables: every one must be a complete prefix, never going
**              backwards, until the last commit shows up
**   writer 2   while the writer holds the lock: its commit fails with
**              DATALITH_ELOCKED naming the writer's pid
**   stale      reads the head, waits (head_wait, LISTEN/NOTIFY) until the
**              writer has moved it, then tries head_cas from the old head:
**              DATALITH_ECONFLICT, and the head is left as the writer put it
**
** The writer waits after its first commit until writer 2 and the stale
** process have done their first step (pipes), so every check happens in
** the state it is meant to test, without sleeps.
*/
#define _GNU_SOURCE
#include "../dbproc/crash_db_common.h"

#include "store/object.h"
#include "store/store.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char store_text[1024];

static int make_config(dl_config *out) {
    char text[1200];
    edn_value v;
    int rc;
    snprintf(text, sizeof text, "{:store %s :schema-flexibility :read}",
             store_text);
    if ((rc = edn_read(&wl_arena, text, strlen(text), NULL, &v)) != 0)
        return rc;
    memset(out, 0, sizeof *out);
    return dl_config_parse(&wl_arena, &v, out);
}

static void say(int fd) {
    char b = 1;
    if (write(fd, &b, 1) != 1) _exit(90);
}

static void hear(int fd) {
    char b;
    if (read(fd, &b, 1) != 1) _exit(91);
}

static int reader(const dl_config *cfg, uint64_t n) {
    dl_conn *c;
    uint64_t last = 0, snaps = 0, distinct = 0;
    time_t start = time(NULL);
    if (dl_conn_open(cfg, &c) != 0) {
        fprintf(stderr, "reader: open: %s\n", dl_err_last()->message);
        return 30;
    }
    while (last < n) {
        dl_db *db;
        uint64_t k;
        char why[256];
        if (dl_conn_db(c, &db) != 0) {
            fprintf(stderr, "reader: %s\n", dl_err_last()->message);
            return 31;
        }
        int rc = wl_verify(db, &k, why, sizeof why);
        dl_db_release(db);
        if (rc) {
            fprintf(stderr, "reader: torn snapshot: %s\n", why);
            return 32;
        }
        if (k < last) {
            fprintf(stderr, "reader: went back from %llu to %llu\n",
                    (unsigned long long)last, (unsigned long long)k);
            return 33;
        }
        if (k != last) distinct++;
        last = k;
        snaps++;
        if (time(NULL) - start > 240) { /* a hang guard, not a threshold */
            fprintf(stderr, "reader: never saw commit %llu (stuck at %llu)\n",
                    (unsigned long long)n, (unsigned long long)last);
            return 34;
        }
    }
    printf("reader %d: %llu snapshots, %llu distinct commits\n",
           (int)getpid(), (unsigned long long)snaps,
           (unsigned long long)distinct);
    fflush(stdout); /* the child leaves with _exit */
    dl_conn_release(c);
    return 0;
}

/* Commit 1, tell the parent (to_parent), wait for go, commit 2..n. */
static int writer(const dl_config *cfg, uint64_t n, int to_parent, int go) {
    dl_conn *c;
    if (dl_conn_open(cfg, &c) != 0) return 40;
    for (uint64_t k = 1; k <= n; k++) {
        if (wl_commit(c, k) != 0) {
            fprintf(stderr, "writer: commit %llu: %s\n",
                    (unsigned long long)k, dl_err_last()->message);
            return 41;
        }
        if (k == 1) {
            say(to_parent);
            hear(go);
        }
    }
    dl_conn_release(c);
    return 0;
}

/* A second writer while the first holds the lock. */
static int writer2(const dl_config *cfg, long holder) {
    dl_conn *c;
    if (dl_conn_open(cfg, &c) != 0) {
        fprintf(stderr, "writer 2: open: %s\n", dl_err_last()->message);
        return 50;
    }
    int rc = wl_commit(c, 2);
    char want[64];
    snprintf(want, sizeof want, "(pid %ld)", holder);
    if (rc != DATALITH_ELOCKED) {
        fprintf(stderr, "writer 2: expected ELOCKED, got %d: %s\n", rc,
                dl_err_last()->message);
        return 51;
    }
    if (!strstr(dl_err_last()->message, want) ||
        !strstr(dl_err_last()->message, "locked by another writer")) {
        fprintf(stderr, "writer 2: message does not name %s: %s\n", want,
                dl_err_last()->message);
        return 52;
    }
    dl_conn_release(c);
    return 0;
}

/* Read the head, tell the parent, wait until it moves, then a stale
** compare-and-set. */
static int stale(const dl_config *cfg, int to_parent) {
    dl_store *s;
    if (dl_store_open(&cfg->store, 0, &s) != 0) {
        fprintf(stderr, "stale: open: %s\n", dl_err_last()->message);
        return 60;
    }
    uint8_t *h0, *h1;
    size_t n0, n1;
    if (s->vt->head_get(s, "db", &h0, &n0) != 0) return 61;
    say(to_parent);
    if (!s->vt->head_wait) return 62;
    for (;;) {
        if (s->vt->head_wait(s, "db", h0, n0, 60000) != 0) {
            fprintf(stderr, "stale: head_wait: %s\n", dl_err_last()->message);
            return 63;
        }
        if (s->vt->head_get(s, "db", &h1, &n1) != 0) return 64;
        if (n1 != n0 || memcmp(h1, h0, n0) != 0) break;
        free(h1);
    }
    int rc = s->vt->head_cas(s, "db", h0, n0, h0, n0);
    if (rc != DATALITH_ECONFLICT) {
        fprintf(stderr, "stale: expected ECONFLICT, got %d: %s\n", rc,
                dl_err_last()->message);
        return 65;
    }
    uint8_t *h2;
    size_t n2;
    if (s->vt->head_get(s, "db", &h2, &n2) != 0) return 66;
    /* The head is the writer's (h1 or newer), never h0 again. */
    if (n2 == n0 && memcmp(h2, h0, n0) == 0) {
        fprintf(stderr, "stale: the stale head_cas went through\n");
        return 67;
    }
    free(h0);
    free(h1);
    free(h2);
    s->vt->close(s);
    return 0;
}

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100;
    const char *m = getenv("DL_TEST_PG_STORE");
    if (!m || !strrchr(m, '}')) {
        fprintf(stderr, "pg_procs: DL_TEST_PG_STORE is not set (run through "
                        "tests/pg/run_with_pg.sh)\n");
        return 1;
    }
    snprintf(store_text, sizeof store_text, "%.*s :table \"procs_%d\"}",
             (int)(strrchr(m, '}') - m), m, (int)getpid());
    (void)wl_config; /* the file/lmdb config builder is not used here */
    dl_arena_init(&wl_arena, 0);
    dl_config cfg;
    if (make_config(&cfg) != 0 || dl_db_create(&cfg) != 0) {
        fprintf(stderr, "setup: %s\n", dl_err_last()->message);
        return 1;
    }
    int up[2], go[2], st_up[2];
    if (pipe(up) || pipe(go) || pipe(st_up)) return 1;
    fflush(NULL);
    pid_t pids[5];
    const char *names[5] = {"reader 1", "reader 2", "writer", "writer 2",
                            "stale"};
    for (int i = 0; i < 2; i++)
        if ((pids[i] = fork()) == 0) _exit(reader(&cfg, n));
    if ((pids[2] = fork()) == 0) _exit(writer(&cfg, n, up[1], go[0]));
    hear(up[0]); /* commit 1 is in, the writer holds the lock */
    if ((pids[3] = fork()) == 0) _exit(writer2(&cfg, (long)pids[2]));
    if ((pids[4] = fork()) == 0) _exit(stale(&cfg, st_up[1]));
    hear(st_up[0]); /* the stale process has read head 1 */
    int st3;
    waitpid(pids[3], &st3, 0); /* writer 2 is done before the writer goes */
    say(go[1]);
    int fail = 0;
    for (int i = 0; i < 5; i++) {
        int st = st3;
        if (i != 3) waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "%s failed (status %d)\n", names[i],
                    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            fail = 1;
        }
    }
    if (dl_db_delete(&cfg) != 0) {
        fprintf(stderr, "delete: %s\n", dl_err_last()->message);
        fail = 1;
    }
    /* delete-database dropped the tables. */
    int ex = -1;
    if (dl_store_exists(&cfg.store, &ex) != 0 || ex != 0) {
        fprintf(stderr, "the store still exists after delete\n");
        fail = 1;
    }
    dl_arena_free(&wl_arena);
    if (!fail)
        printf("ok: %llu commits seen by 2 readers; second writer locked "
               "out; stale head_cas refused\n", (unsigned long long)n);
    return fail;
}
