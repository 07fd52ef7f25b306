/*
** multiproc_db.c — one writer process and two reader processes on the same
** store.
**
**   multiproc_db <file|lmdb> [commits]
**
** The writer commits the deterministic workload (crash_db_common.h).  Each
** reader connects once and polls dl_conn_db: every snapshot it sees must be
** a complete prefix (never torn), sequence numbers never go backwards, and
** it must reach the last commit without reconnecting.  Exit 0 on success.
*/
#define _GNU_SOURCE
#include "crash_db_common.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int reader(const dl_config *cfg, uint64_t n) {
    dl_conn *c;
    uint64_t last = 0, snaps = 0, distinct = 0;
    time_t start = time(NULL);
    if (dl_conn_open(cfg, &c) != 0) return 30;
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
        if (time(NULL) - start > 120) {
            fprintf(stderr, "reader: never saw commit %llu (stuck at %llu)\n",
                    (unsigned long long)n, (unsigned long long)last);
            return 34;
        }
    }
    printf("reader %d: %llu snapshots, %llu distinct commits\n", (int)getpid(),
           (unsigned long long)snaps, (unsigned long long)distinct);
    dl_conn_release(c);
    return 0;
}

static int writer(const dl_config *cfg, uint64_t n) {
    dl_conn *c;
    if (dl_conn_open(cfg, &c) != 0) return 40;
    for (uint64_t k = 1; k <= n; k++) {
        if (wl_commit(c, k) != 0) {
            fprintf(stderr, "writer: %s\n", dl_err_last()->message);
            return 41;
        }
    }
    dl_conn_release(c);
    return 0;
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "file";
    uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 200;
    char dir[256];
    dl_config cfg;
    pid_t pids[3];
    int fail = 0;
    snprintf(dir, sizeof dir, "/tmp/dl_multiproc_db_%s_%d", backend, (int)getpid());
    if (wl_config(backend, dir, &cfg) != 0 || dl_db_create(&cfg) != 0) {
        fprintf(stderr, "setup: %s\n", dl_err_last()->message);
        return 1;
    }
    for (int i = 0; i < 3; i++) {
        pids[i] = fork();
        if (pids[i] == 0) _exit(i < 2 ? reader(&cfg, n) : writer(&cfg, n));
    }
    for (int i = 0; i < 3; i++) {
        int st;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "%s %d failed (status %d)\n", i < 2 ? "reader" : "writer",
                    i, st);
            fail = 1;
        }
    }
    dl_db_delete(&cfg);
    dl_arena_free(&wl_arena);
    if (!fail) printf("ok: %s, %llu commits seen by 2 readers\n", backend,
                      (unsigned long long)n);
    return fail;
}
