/*
** crash_db.c — database-level crash test.
**
**   crash_db <file|lmdb> [iterations] [seed]
**
** A child connects and commits the deterministic workload
** (crash_db_common.h) in a loop, writing the number of each commit to a
** pipe after dl_conn_commit returns (the acknowledgement).  The parent
** SIGKILLs it at a random moment — after a random number of acks plus a
** random delay — then reconnects and checks that the newest commit is a
** complete, intact prefix that includes every acknowledged commit (it may
** include one more: durable but killed before its ack).  Exit 0 on success.
*/
#define _GNU_SOURCE
#include "crash_db_common.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void child(const dl_config *cfg, int fd) {
    dl_conn *c;
    dl_db *db;
    if (dl_conn_open(cfg, &c) != 0 || dl_conn_db(c, &db) != 0) _exit(20);
    uint64_t k = db->max_tx - DL_TX0;
    dl_db_release(db);
    for (;;) {
        k++;
        if (wl_commit(c, k) != 0) {
            fprintf(stderr, "child: commit %llu: %s\n", (unsigned long long)k,
                    dl_err_last()->message);
            _exit(21);
        }
        if (write(fd, &k, sizeof k) != (ssize_t)sizeof k) _exit(22);
    }
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "file";
    long iters = argc > 2 ? atol(argv[2]) : 200;
    rng = argc > 3 ? strtoull(argv[3], NULL, 10) : (uint64_t)time(NULL);
    char dir[256];
    dl_config cfg;
    uint64_t acked = 0, extra_seen = 0;
    if (!rng) rng = 1;
    printf("crash_db %s iterations %ld seed %llu\n", backend, iters,
           (unsigned long long)rng);
    snprintf(dir, sizeof dir, "/tmp/dl_crash_db_%s_%d", backend, (int)getpid());
    if (wl_config(backend, dir, &cfg) != 0 || dl_db_create(&cfg) != 0) {
        fprintf(stderr, "setup: %s\n", dl_err_last()->message);
        return 1;
    }
    for (long it = 0; it < iters; it++) {
        int p[2];
        if (pipe(p) != 0) return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child(&cfg, p[1]);
        }
        close(p[1]);
        /* wait for 0..3 acks, then a random delay up to ~2 ms */
        unsigned want = (unsigned)(rnd() % 4), got = 0;
        uint64_t k;
        while (got < want && read(p[0], &k, sizeof k) == (ssize_t)sizeof k) {
            acked = k;
            got++;
        }
        struct timespec ts = {0, (long)(rnd() % 2000000)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        while (read(p[0], &k, sizeof k) == (ssize_t)sizeof k) acked = k;
        close(p[0]);
        if (WIFEXITED(st)) {
            fprintf(stderr, "iteration %ld: child exited with %d\n", it,
                    WEXITSTATUS(st));
            return 1;
        }
        /* reopen and check */
        dl_conn *c;
        dl_db *db;
        uint64_t seen;
        char why[256];
        if (dl_conn_open(&cfg, &c) != 0 || dl_conn_db(c, &db) != 0) {
            fprintf(stderr, "iteration %ld: reopen: %s\n", it, dl_err_last()->message);
            return 1;
        }
        int rc = wl_verify(db, &seen, why, sizeof why);
        dl_db_release(db);
        dl_conn_release(c);
        if (rc != 0) {
            fprintf(stderr, "iteration %ld: torn state: %s\n", it, why);
            return 1;
        }
        if (seen < acked || seen > acked + 1) {
            fprintf(stderr, "iteration %ld: saw commit %llu, acknowledged %llu\n",
                    it, (unsigned long long)seen, (unsigned long long)acked);
            return 1;
        }
        if (seen == acked + 1) extra_seen++;
        acked = seen;
    }
    printf("ok: %ld kills, %llu commits, %llu durable-but-unacknowledged\n", iters,
           (unsigned long long)acked, (unsigned long long)extra_seen);
    dl_db_delete(&cfg);
    dl_arena_free(&wl_arena);
    return 0;
}
