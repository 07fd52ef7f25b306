/*
** write_bench.c — the write suite of shared/bench/WORKLOAD.md through the
** public C API (EDN in, report out, one commit per transaction):
**
**   add-1      one datom per transaction          (N transactions)
**   add-5      one 5-attribute entity per transaction
**   add-all    one transaction of all datoms
**   retract-5  retract each entity in its own transaction
**   init       build from datoms: one load-entities of the add-all datoms
**
** Data: people with :name :last-name :sex :age :salary drawn with mulberry32
** (seed 42) as WORKLOAD.md describes; all attributes :db/index true.
**
**   build/release/bench/write_bench [memory|file|lmdb] [N] [DIR] [SUITE]
**
** SUITE (add-1, add-5, add-all, init; add-5 includes retract-5) runs only that
** suite, e.g. for a profile.
** Prints ms per suite and µs per transaction.  Built by the release preset
** (bench/CMakeLists.txt); not part of the test suite.
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t rng_state = 42;
static uint32_t mulberry32(void) {
    uint32_t t = rng_state += 0x6D2B79F5u;
    t = (t ^ (t >> 15)) * (1u | t);
    t = (t + ((t ^ (t >> 7)) * (61u | t))) ^ t;
    return t ^ (t >> 14);
}
static uint32_t rand_int(uint32_t n) { return mulberry32() % n; }

static const char *names[] = {"Ivan", "Petr", "Sergei", "Oleg", "Yuri", "Dmitry", "Fedor", "Denis"};
static const char *lasts[] = {"Ivanov", "Petrov", "Sidorov", "Kovalev", "Kuznetsov", "Voronoi"};

typedef struct person {
    const char *name, *last, *sex;
    int age, salary;
} person;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void check(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "%s: %s\n", what, datalith_error_last()->message);
        exit(1);
    }
}

static datalith_conn *fresh(const char *backend, const char *dir, int run) {
    char cfg[512];
    if (!strcmp(backend, "memory"))
        snprintf(cfg, sizeof cfg,
                 "{:store {:backend :memory :id \"bench-%d\"} :keep-history? true}", run);
    else
        snprintf(cfg, sizeof cfg,
                 "{:store {:backend :%s :path \"%s/%s-%d\"} :keep-history? true}",
                 backend, dir, backend, run);
    int exists = 0;
    check(datalith_database_exists(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &exists), "exists");
    if (exists) check(datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN), "delete");
    char *out = NULL;
    check(datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out, NULL), "create");
    datalith_free(out);
    datalith_conn *c = NULL;
    check(datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c), "connect");
    const char *schema =
        "[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :last-name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :sex :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :salary :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}]";
    check(datalith_transact(c, schema, strlen(schema), DATALITH_FORMAT_EDN, &out, NULL), "schema");
    datalith_free(out);
    return c;
}

static void tx(datalith_conn *c, const char *text) {
    char *out = NULL;
    check(datalith_transact(c, text, strlen(text), DATALITH_FORMAT_EDN, &out, NULL), "transact");
    datalith_free(out);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "memory";
    int n = argc > 2 ? atoi(argv[2]) : 20000;
    const char *dir = argc > 3 ? argv[3] : "/tmp/datalith-bench";
    const char *only = argc > 4 ? argv[4] : NULL;
    person *ps = calloc((size_t)n, sizeof *ps);
    char buf[512];
    int run = 0;

    for (int i = 0; i < n; i++) {
        ps[i].name = names[rand_int(8)];
        ps[i].last = lasts[rand_int(6)];
        ps[i].sex = rand_int(2) ? "female" : "male";
        ps[i].age = (int)rand_int(100);
        ps[i].salary = (int)rand_int(100000);
    }

    datalith_conn *c;
#define SKIP(name) (only && strcmp(only, name) != 0)
    /* add-1: n transactions of one datom each */
    if (SKIP("add-1")) goto add5;
    c = fresh(backend, dir, run++);
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "[[:db/add %d :age %d]]", 100 + i, ps[i].age);
        tx(c, buf);
    }
    double t1 = now_ms();
    printf("%-8s add-1     %6d tx  %9.1f ms  %7.1f us/tx\n", backend, n, t1 - t0, (t1 - t0) * 1e3 / n);
    datalith_conn_release(c);

add5:
    /* add-5: one entity (5 datoms) per transaction */
    if (SKIP("add-5")) goto addall;
    c = fresh(backend, dir, run++);
    t0 = now_ms();
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf,
                 "[{:db/id %d :name \"%s\" :last-name \"%s\" :sex :%s :age %d :salary %d}]",
                 100 + i, ps[i].name, ps[i].last, ps[i].sex, ps[i].age, ps[i].salary);
        tx(c, buf);
    }
    t1 = now_ms();
    printf("%-8s add-5     %6d tx  %9.1f ms  %7.1f us/tx\n", backend, n, t1 - t0, (t1 - t0) * 1e3 / n);

    /* retract-5: each entity retracted in its own transaction */
    t0 = now_ms();
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "[[:db/retractEntity %d]]", 100 + i);
        tx(c, buf);
    }
    t1 = now_ms();
    printf("%-8s retract-5 %6d tx  %9.1f ms  %7.1f us/tx\n", backend, n, t1 - t0, (t1 - t0) * 1e3 / n);
    datalith_conn_release(c);

addall:
    /* add-all: one transaction of 5n datoms */
    if (SKIP("add-all") && SKIP("init")) goto done;
    size_t cap = (size_t)n * 192 + 16, len = 0;
    char *big = malloc(cap);
    if (SKIP("add-all")) goto init;
    c = fresh(backend, dir, run++);
    big[len++] = '[';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(big + len, cap - len,
                                "{:db/id %d :name \"%s\" :last-name \"%s\" :sex :%s :age %d :salary %d}",
                                100 + i, ps[i].name, ps[i].last, ps[i].sex, ps[i].age, ps[i].salary);
    big[len++] = ']';
    big[len] = '\0';
    t0 = now_ms();
    tx(c, big);
    t1 = now_ms();
    printf("%-8s add-all   %6d datoms %6.1f ms  %7.2f us/datom\n", backend, 5 * n, t1 - t0, (t1 - t0) * 1e3 / (5.0 * n));
    datalith_conn_release(c);

init:
    /* init: build from datoms — load-entities of the same 5n datoms as
    ** [e a v tx true] records of one source transaction */
    if (SKIP("init")) goto done_big;
    c = fresh(backend, dir, run++);
    len = 0;
    big[len++] = '[';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(big + len, cap - len,
                                "[%d :name \"%s\" 7 true][%d :last-name \"%s\" 7 true]"
                                "[%d :sex :%s 7 true][%d :age %d 7 true][%d :salary %d 7 true]",
                                100 + i, ps[i].name, 100 + i, ps[i].last, 100 + i, ps[i].sex,
                                100 + i, ps[i].age, 100 + i, ps[i].salary);
    big[len++] = ']';
    big[len] = '\0';
    t0 = now_ms();
    {
        char *out = NULL;
        check(datalith_load_entities(c, big, len, DATALITH_FORMAT_EDN, &out, NULL), "load");
        datalith_free(out);
    }
    t1 = now_ms();
    printf("%-8s init      %6d datoms %6.1f ms  %7.2f us/datom\n", backend, 5 * n, t1 - t0, (t1 - t0) * 1e3 / (5.0 * n));
    datalith_conn_release(c);
done_big:
    free(big);
done:
    free(ps);
    return 0;
}
