/*
** query_bench.c — rough timings of q1/q2-style queries on 20k entities
** (names from 10 first names, ages 0..99), through datalith_q and
** salaries 0..99999, through datalith_q on a :memory database.  Not built
** by default; not run by the tests.  `qb [name [reps]]` runs one shape.
**   cc -O2 -Iinclude bench/query_bench.c build/<dir>/libdatalith.a -lpthread -lxxhash -lzstd -llmdb -lm -o qb
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static const char *only;
static int reps = 20;

static void bench(datalith_db *db, const char *name, const char *q) {
    double best = 1e18;
    size_t n = 0;
    if (only && strcmp(only, name)) return;
    for (int i = 0; i < reps; i++) {
        char *out = NULL;
        double t0 = now();
        if (datalith_q(q, strlen(q), &db, 1, NULL, 0, DATALITH_FORMAT_EDN, &out, &n)) {
            printf("%s: %s\n", name, datalith_error_last()->message);
            return;
        }
        double t = now() - t0;
        if (t < best) best = t;
        datalith_free(out);
    }
    printf("%-10s %8.3f ms  (%zu bytes of result)\n", name, best, n);
}

int main(int argc, char **argv) {
    if (argc > 1) only = argv[1];
    if (argc > 2) reps = atoi(argv[2]);
    const char *cfg = "{:store {:backend :memory :id \"qbench\"}}";
    static const char *names[] = {"Ivan", "Petr", "Oleg", "Anna", "Maria", "Olga", "Boris", "Yuri", "Igor", "Lena"};
    char *out;
    size_t n;
    datalith_conn *c;
    datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out, &n);
    datalith_free(out);
    datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c);
    const char *schema =
        "[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :last-name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :salary :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}]";
    datalith_transact(c, schema, strlen(schema), DATALITH_FORMAT_EDN, &out, &n);
    datalith_free(out);
    srand(1);
    for (int b = 0; b < 20; b++) {
        size_t cap = 1 << 20, len = 0;
        char *tx = malloc(cap);
        len += (size_t)sprintf(tx + len, "[");
        for (int i = 0; i < 1000; i++)
            len += (size_t)sprintf(tx + len, "{:name \"%s\" :last-name \"%s\" :age %d :salary %d}",
                                   names[rand() % 10], names[rand() % 10], rand() % 100, rand() % 100000);
        len += (size_t)sprintf(tx + len, "]");
        datalith_transact(c, tx, len, DATALITH_FORMAT_EDN, &out, &n);
        datalith_free(out);
        free(tx);
    }
    datalith_db *db;
    datalith_conn_db(c, &db);
    bench(db, "q1", "[:find ?e :where [?e :name \"Ivan\"]]");
    bench(db, "q2", "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]");
    bench(db, "q2-switch", "[:find ?e ?a :where [?e :age ?a] [?e :name \"Ivan\"]]");
    bench(db, "q3", "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e :last-name \"Petr\"]]");
    bench(db, "q4", "[:find ?e ?l ?a :where [?e :name \"Ivan\"] [?e :last-name ?l] [?e :age ?a]]");
    bench(db, "q5", "[:find ?e1 ?l ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e1 :age ?a] [?e1 :last-name ?l]]");
    bench(db, "qpred1", "[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]");
    bench(db, "qpred-age", "[:find ?e ?a :where [?e :age ?a] [(> ?a 50)]]");
    datalith_db_release(db);
    datalith_conn_release(c);
    return 0;
}
