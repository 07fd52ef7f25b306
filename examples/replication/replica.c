/*
** replica.c — the two ends of the replication demo (see README.md).
**
**   replica origin <dir> <seconds> <done-file>
**       creates a :file database in <dir> and commits one transaction after
**       another for <seconds>; commit k asserts [k :n 7k] (a deterministic
**       sequence, so any prefix can be checked on its own).  Writes the last
**       commit number to <done-file> when it stops.
**
**   replica reader <clone-dir> <final-file>
**       connects once to the clone (a plain copy made by rsync) and polls
**       for new commits without reconnecting.  Every snapshot it sees must
**       equal the origin's as of that commit: exactly [j :n 7j] for
**       j = 1..k, with k = its transaction number.  It stops, successfully,
**       once it has seen the commit named in <final-file> (written by the
**       sync script after its last pass).
**
** It uses the engine's internal database API (core/db/db.h) directly.
*/
#define _GNU_SOURCE
#include "db/db.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static dl_arena arena;

static int config(const char *dir, dl_config *out) {
    char text[1024];
    edn_value v;
    int rc;
    /* The :id names the database wherever its files are, so the clone (at
    ** another path) matches the config stored by the origin. */
    snprintf(text, sizeof text,
             "{:store {:backend :file :path \"%s\" :id \"replication-demo\"}"
             " :schema-flexibility :read}",
             dir);
    if ((rc = edn_read(&arena, text, strlen(text), NULL, &v)) != 0) return rc;
    memset(out, 0, sizeof *out);
    return dl_config_parse(&arena, &v, out);
}

static int commit(dl_conn *c, uint64_t k) {
    dl_db *cur = NULL, *next = NULL;
    dl_change ch;
    int rc = dl_conn_db(c, &cur);
    if (rc) return rc;
    memset(&ch, 0, sizeof ch);
    ch.d.e = k;
    ch.d.a = edn_intern_full("n", 1);
    ch.d.v = edn_int((int64_t)(7 * k));
    ch.d.tx = DL_TX0 + k;
    ch.d.added = true;
    rc = dl_db_apply(cur, &ch, 1, NULL, k, DL_TX0 + k, (int64_t)time(NULL) * 1000, &next);
    if (rc == 0) rc = dl_conn_commit(c, next);
    dl_db_release(next);
    dl_db_release(cur);
    return rc;
}

/* Is db exactly the origin's state after commit k (k from its max-tx)? */
static int check(const dl_db *db, uint64_t *k_out) {
    uint64_t k = db->max_tx - DL_TX0, j = 0;
    bt_cursor *cur;
    int ok = bt_tree_count(&db->idx[DL_EAVT]) == k;
    if (!ok || bt_cursor_open(&db->idx[DL_EAVT], &cur) != 0) return -1;
    for (bt_cursor_first(cur); ok && bt_cursor_valid(cur); bt_cursor_next(cur)) {
        dl_datom d;
        bt_cursor_get(cur, &d);
        j++;
        ok = d.e == j && d.v.type == EDN_INT && d.v.u.i == (int64_t)(7 * j) &&
             d.tx == DL_TX0 + j && strcmp(d.a->full, "n") == 0;
    }
    ok = ok && j == k && bt_cursor_error(cur) == 0;
    bt_cursor_close(cur);
    *k_out = k;
    return ok ? 0 : -1;
}

static int origin(const char *dir, double seconds, const char *done) {
    dl_config cfg;
    dl_conn *c;
    uint64_t k = 0;
    struct timespec t0, t;
    if (config(dir, &cfg) || dl_db_create(&cfg) || dl_conn_open(&cfg, &c)) {
        fprintf(stderr, "origin: %s\n", dl_err_last()->message);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (commit(c, ++k) != 0) {
            fprintf(stderr, "origin: commit %llu: %s\n", (unsigned long long)k,
                    dl_err_last()->message);
            return 1;
        }
        usleep(2000);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
    dl_conn_release(c);
    FILE *f = fopen(done, "w");
    if (!f) return 1;
    fprintf(f, "%llu\n", (unsigned long long)k);
    fclose(f);
    printf("origin: %llu commits\n", (unsigned long long)k);
    return 0;
}

static int reader(const char *dir, const char *final_file) {
    dl_config cfg;
    dl_conn *c;
    uint64_t last = 0, seen = 0, final = 0;
    time_t start = time(NULL);
    if (config(dir, &cfg) || dl_conn_open(&cfg, &c)) {
        fprintf(stderr, "reader: %s\n", dl_err_last()->message);
        return 1;
    }
    for (;;) {
        dl_db *db;
        uint64_t k = 0;
        if (dl_conn_db(c, &db) != 0) {
            fprintf(stderr, "reader: %s\n", dl_err_last()->message);
            return 1;
        }
        int rc = check(db, &k);
        dl_db_release(db);
        if (rc) {
            fprintf(stderr, "reader: the clone's commit %llu differs from the origin's\n",
                    (unsigned long long)k);
            return 1;
        }
        if (k < last) {
            fprintf(stderr, "reader: went back from %llu to %llu\n",
                    (unsigned long long)last, (unsigned long long)k);
            return 1;
        }
        if (k != last) seen++;
        last = k;
        if (!final) {
            FILE *f = fopen(final_file, "r");
            if (f) {
                unsigned long long x = 0;
                if (fscanf(f, "%llu", &x) == 1) final = x;
                fclose(f);
            }
        }
        if (final && last >= final) break;
        if (time(NULL) - start > 60) {
            fprintf(stderr, "reader: stuck at commit %llu\n", (unsigned long long)last);
            return 1;
        }
        usleep(5000);
    }
    dl_conn_release(c);
    printf("reader: picked up %llu new commits without reconnecting; clone == origin "
           "at commit %llu\n",
           (unsigned long long)seen, (unsigned long long)last);
    return 0;
}

int main(int argc, char **argv) {
    dl_arena_init(&arena, 0);
    if (argc == 5 && strcmp(argv[1], "origin") == 0)
        return origin(argv[2], atof(argv[3]), argv[4]);
    if (argc == 4 && strcmp(argv[1], "reader") == 0) return reader(argv[2], argv[3]);
    fprintf(stderr,
            "usage: replica origin <dir> <seconds> <done-file>\n"
            "       replica reader <clone-dir> <final-file>\n");
    return 2;
}
