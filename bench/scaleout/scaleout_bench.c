/*
** bench/scaleout/scaleout_bench.c — the reader side of the scale-out
** benchmark (bench/scaleout/run drives it).
**
**   scaleout_bench load CONFIG
**       create the database CONFIG names and load people20k (WORKLOAD.md,
**       the generator of bench_common.h) in transactions of 2000 people;
**       this process is the writer
**   scaleout_bench read CONFIG SECONDS [SHAPE…]
**       a reader process: connect, take the current snapshot, then for each
**       shape (default: all) time its first run in this process (the node
**       cache starts empty: every node comes from the store) and then run
**       it back to back for SECONDS; one TSV line per shape on stdout:
**           shape  first_ms  queries  seconds  qps  result_size
**       With :store-cache-size 1 in CONFIG the node cache holds 64 KiB, so
**       nearly every node read of every run goes to the store ("cold").
**       BENCH_START_AT (a CLOCK_REALTIME time in ms) makes several reader
**       processes start their timed loops together.
**
** The shapes are WORKLOAD.md's q1, q2, q4 and qpred1 on people20k.
*/
#include "../bench_common.h"
#include "datalith.h"

typedef struct shape {
    const char *name, *q;
} shape;

static const shape SHAPES[] = {
    {"q1", "[:find ?e :where [?e :name \"Ivan\"]]"},
    {"q2", "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]"},
    {"q4", "[:find ?e ?l ?a :where [?e :name \"Ivan\"] [?e :last-name ?l] [?e :age ?a] "
           "[?e :sex :male]]"},
    {"qpred1", "[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]"},
};
#define NSHAPES (sizeof SHAPES / sizeof SHAPES[0])

static const char *SCHEMA =
    "[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :last-name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :sex :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :salary :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}]";

static void die(const char *what) {
    const datalith_error *e = datalith_error_last();
    fprintf(stderr, "scaleout_bench: %s: %s: %s\n", what, datalith_status_name(e->code),
            e->message ? e->message : "");
    exit(1);
}

/* The number of rows of a result printed as EDN: a set or vector of
** tuples, counted by its top-level "[" elements. */
static long rows(const char *r) {
    long n = 0;
    int depth = 0;
    for (const char *p = r; *p; p++) {
        if (*p == '"') { /* skip strings */
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (!*p) break;
        } else if (*p == '[' || *p == '{' || *p == '(') {
            if (++depth == 2 && *p == '[') n++;
        } else if (*p == ']' || *p == '}' || *p == ')') {
            depth--;
        }
    }
    return n;
}

static long run_q(datalith_db *db, const char *q) {
    char *out = NULL;
    size_t len = 0;
    if (datalith_q(q, strlen(q), &db, 1, "[]", 2, DATALITH_FORMAT_EDN, &out, &len) != 0)
        die("query");
    long n = rows(out);
    datalith_free(out);
    return n;
}

static int cmd_load(const char *config) {
    char *out = NULL;
    size_t len = 0;
    datalith_conn *c;
    double t0 = now_ms();
    if (datalith_create_database(config, strlen(config), DATALITH_FORMAT_EDN, &out, &len) != 0)
        die("create-database");
    datalith_free(out);
    if (datalith_connect(config, strlen(config), DATALITH_FORMAT_EDN, &c) != 0) die("connect");
    if (datalith_transact(c, SCHEMA, strlen(SCHEMA), DATALITH_FORMAT_EDN, &out, &len) != 0)
        die("schema");
    datalith_free(out);
    gen_people();
    char *buf = malloc(1 << 20);
    if (!buf) return 1;
    for (int i = 0; i < NPEOPLE; i += 2000) {
        size_t n = 0;
        n += (size_t)snprintf(buf + n, (1 << 20) - n, "[");
        for (int k = i; k < i + 2000 && k < NPEOPLE; k++) {
            person *p = &people[k];
            n += (size_t)snprintf(buf + n, (1 << 20) - n,
                                  "{:db/id %d :name \"%s\" :last-name \"%s\" :sex :%s :age %d "
                                  ":salary %d}",
                                  PEOPLE_BASE + k, p->name, p->last, p->sex, p->age, p->salary);
        }
        n += (size_t)snprintf(buf + n, (1 << 20) - n, "]");
        if (datalith_transact(c, buf, n, DATALITH_FORMAT_EDN, &out, &len) != 0) die("load");
        datalith_free(out);
    }
    free(buf);
    datalith_conn_release(c);
    fprintf(stderr, "scaleout_bench: loaded people20k in %.0f ms\n", now_ms() - t0);
    return 0;
}

static int cmd_read(const char *config, double seconds, int argc, char **argv) {
    datalith_conn *c;
    datalith_db *db;
    double t0 = now_ms();
    if (datalith_connect(config, strlen(config), DATALITH_FORMAT_EDN, &c) != 0) die("connect");
    if (datalith_conn_db(c, &db) != 0) die("snapshot");
    fprintf(stderr, "scaleout_bench: opened in %.1f ms\n", now_ms() - t0);
    const char *start_at = getenv("BENCH_START_AT");
    if (start_at && *start_at) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double now = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6, at = atof(start_at);
        if (at > now) {
            double d = (at - now) / 1e3;
            struct timespec w = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
            nanosleep(&w, NULL);
        }
    }
    for (size_t s = 0; s < NSHAPES; s++) {
        int want = argc == 0;
        for (int i = 0; i < argc; i++) want |= !strcmp(argv[i], SHAPES[s].name);
        if (!want) continue;
        double a = now_ms();
        long size = run_q(db, SHAPES[s].q);
        double first = now_ms() - a, b;
        long n = 0;
        a = now_ms();
        do {
            if (run_q(db, SHAPES[s].q) != size) {
                fprintf(stderr, "scaleout_bench: %s changed its result size\n", SHAPES[s].name);
                return 1;
            }
            n++;
        } while ((b = now_ms()) - a < seconds * 1e3);
        printf("%s\t%.3f\t%ld\t%.3f\t%.1f\t%ld\n", SHAPES[s].name, first, n, (b - a) / 1e3,
               n / ((b - a) / 1e3), size);
        fflush(stdout);
    }
    datalith_db_release(db);
    datalith_conn_release(c);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "load")) return cmd_load(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "read"))
        return cmd_read(argv[2], atof(argv[3]), argc - 4, argv + 4);
    fprintf(stderr, "usage: scaleout_bench load CONFIG | read CONFIG SECONDS [SHAPE…]\n");
    return 2;
}
