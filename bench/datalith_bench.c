/*
** datalith_bench.c — the query, join, rule, aggregate, temporal, pull and
** write suites of shared/bench/WORKLOAD.md on Datalith's public C API, on
** :memory databases.  Data and timing rules: bench_common.h.  Output: one TSV
** line per shape (engine shape median_ms min_ms result_size note); result
** sizes are rows for queries, entity maps for pulls, datoms for writes, so
** scripts/bench can check them against Datascript and SQLite.
**
**   build/release/bench/datalith_bench            # everything
**   BENCH_ONLY=q5 build/release/bench/datalith_bench
**
** Built by the release preset on request (EXCLUDE_FROM_ALL); not a test.
*/
#include "bench_common.h"
#include "datalith.h"

static void check(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "%s: %s\n", what, datalith_error_last()->message);
        exit(1);
    }
}

/* Elements of the top-level EDN collection (1 for a scalar). */
static long edn_count_top(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == ',')) i++;
    if (i < n && s[i] == '#') i++;
    if (i >= n) return 0;
    if (s[i] != '[' && s[i] != '{' && s[i] != '(') return 1;
    int depth = 0, in_elem = 0, str = 0;
    long count = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (str) {
            if (c == '\\') i++;
            else if (c == '"') str = 0;
            continue;
        }
        if (depth == 1 && !in_elem && c != ' ' && c != ',' && c != '\n' && c != ']' && c != '}' && c != ')') {
            count++;
            in_elem = 1;
        }
        if (c == '"') str = 1;
        else if (c == '[' || c == '{' || c == '(') depth++;
        else if (c == ']' || c == '}' || c == ')') {
            depth--;
            if (depth == 1) in_elem = 0; /* the nested element ended */
        } else if (depth == 1 && (c == ' ' || c == ',' || c == '\n')) in_elem = 0;
    }
    return count;
}

/* Entity maps in a pull result: '{' outside strings, not a set's "#{". */
static long edn_count_maps(const char *s, size_t n) {
    long count = 0;
    int str = 0;
    for (size_t i = 0; i < n; i++) {
        if (str) {
            if (s[i] == '\\') i++;
            else if (s[i] == '"') str = 0;
        } else if (s[i] == '"') str = 1;
        else if (s[i] == '{' && !(i > 0 && s[i - 1] == '#')) count++;
    }
    return count;
}

static int db_counter;
static datalith_conn *fresh(int history) {
    char cfg[256];
    snprintf(cfg, sizeof cfg, "{:store {:backend :memory :id \"dlbench-%d\"} :keep-history? %s}", db_counter++,
             history ? "true" : "false");
    char *out = NULL;
    check(datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out, NULL), "create");
    datalith_free(out);
    datalith_conn *c = NULL;
    check(datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c), "connect");
    return c;
}

static void tx(datalith_conn *c, const char *text, size_t len) {
    char *out = NULL;
    check(datalith_transact(c, text, len, DATALITH_FORMAT_EDN, &out, NULL), "transact");
    datalith_free(out);
}
static void txs(datalith_conn *c, const char *text) { tx(c, text, strlen(text)); }

static const char *people_schema =
    "[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :last-name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :sex :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :salary :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :follows :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}]";

/* A growing text buffer for transactions. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;
static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void sb_printf(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap ? b->cap * 2 : 1 << 16;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
}

/* people20k, in transactions of `batch` people (0: one transaction). */
static void load_people(datalith_conn *c, int batch, int follows) {
    txs(c, people_schema);
    sbuf b = {0};
    if (batch <= 0) batch = NPEOPLE;
    for (int i = 0; i < NPEOPLE; i += batch) {
        b.len = 0;
        sb_printf(&b, "[");
        for (int k = i; k < i + batch && k < NPEOPLE; k++) {
            person *p = &people[k];
            sb_printf(&b, "{:db/id %d :name \"%s\" :last-name \"%s\" :sex :%s :age %d :salary %d}", PEOPLE_BASE + k,
                      p->name, p->last, p->sex, p->age, p->salary);
        }
        sb_printf(&b, "]");
        tx(c, b.p, b.len);
    }
    if (follows) {
        b.len = 0;
        sb_printf(&b, "[");
        for (int k = 0; k < NPEOPLE; k++)
            if (people[k].follows >= 0)
                sb_printf(&b, "[:db/add %d :follows %d]", PEOPLE_BASE + k, PEOPLE_BASE + people[k].follows);
        sb_printf(&b, "]");
        tx(c, b.p, b.len);
    }
    free(b.p);
}

static void load_joins(datalith_conn *c) {
    txs(c, "[{:db/ident :div/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
           " {:db/ident :d/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
           " {:db/ident :d/budget :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}"
           " {:db/ident :d/div :db/valueType :db.type/ref :db/cardinality :db.cardinality/one :db/index true}"
           " {:db/ident :p/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
           " {:db/ident :p/salary :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}"
           " {:db/ident :p/dept :db/valueType :db.type/ref :db/cardinality :db.cardinality/one :db/index true}]");
    sbuf b = {0};
    sb_printf(&b, "[");
    for (int k = 0; k < 10; k++) sb_printf(&b, "{:db/id %d :div/name \"div-%d\"}", DIV_BASE + k, k);
    for (int k = 0; k < 100; k++)
        sb_printf(&b, "{:db/id %d :d/name \"dept-%d\" :d/budget %d :d/div %d}", DEPT_BASE + k, k, depts[k].budget,
                  DIV_BASE + depts[k].div);
    sb_printf(&b, "]");
    tx(c, b.p, b.len);
    b.len = 0;
    sb_printf(&b, "[");
    for (int i = 0; i < NPEOPLE; i++)
        sb_printf(&b, "{:db/id %d :p/name \"%s\" :p/salary %d :p/dept %d}", JP_BASE + i, jpeople[i].name,
                  jpeople[i].salary, DEPT_BASE + jpeople[i].dept);
    sb_printf(&b, "]");
    tx(c, b.p, b.len);
    free(b.p);
}

static void load_trees(datalith_conn *c) {
    txs(c, people_schema);
    sbuf b = {0};
    sb_printf(&b, "[");
    for (long id = tree_first_id; id < tree_next_id; id++) sb_printf(&b, "[:db/add %ld :name \"Ivan\"]", id);
    for (long k = 0; k < tree_nedges; k++) sb_printf(&b, "[:db/add %ld :follows %ld]", tree_from[k], tree_to[k]);
    sb_printf(&b, "]");
    tx(c, b.p, b.len);
    free(b.p);
}

/* ---- query shapes ---- */

typedef struct qctx {
    datalith_db *db;
    const char *query, *inputs;
    int pull;        /* 0 query, 1 pull, 2 pull-many */
    const char *eid; /* pull */
} qctx;

static long run_q(void *p) {
    qctx *q = p;
    char *out = NULL;
    size_t n = 0;
    int rc;
    if (q->pull == 1)
        rc = datalith_pull(q->db, q->query, strlen(q->query), q->eid, strlen(q->eid), DATALITH_FORMAT_EDN, &out, &n);
    else if (q->pull == 2)
        rc = datalith_pull_many(q->db, q->query, strlen(q->query), q->eid, strlen(q->eid), DATALITH_FORMAT_EDN, &out,
                                &n);
    else
        rc = datalith_q(q->query, strlen(q->query), &q->db, 1, q->inputs, q->inputs ? strlen(q->inputs) : 0,
                        DATALITH_FORMAT_EDN, &out, &n);
    if (rc) {
        static const char *last;
        if (last != q->query) fprintf(stderr, "datalith: %.60s…: %s\n", q->query, datalith_error_last()->message);
        last = q->query;
        return -1;
    }
    long size = q->pull ? edn_count_maps(out, n) : edn_count_top(out, n);
    datalith_free(out);
    return size;
}

static void bq(const char *shape, datalith_db *db, const char *query, const char *inputs) {
    qctx q = {db, query, inputs, 0, NULL};
    bench_run(shape, run_q, &q);
}

typedef struct named_q {
    const char *shape, *query, *inputs;
} named_q;

static const named_q people_qs[] = {
    {"q1", "[:find ?e :where [?e :name \"Ivan\"]]", NULL},
    {"q2", "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]", NULL},
    {"q2-switch", "[:find ?e ?a :where [?e :age ?a] [?e :name \"Ivan\"]]", NULL},
    {"q3", "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e :sex :male]]", NULL},
    {"q4", "[:find ?e ?l ?a :where [?e :name \"Ivan\"] [?e :last-name ?l] [?e :age ?a] [?e :sex :male]]", NULL},
    {"q5", "[:find ?e1 ?l ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e1 :age ?a] [?e1 :last-name ?l]]", NULL},
    {"qpred1", "[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]", NULL},
    {"qpred2", "[:find ?e ?s :in $ ?min :where [?e :salary ?s] [(> ?s ?min)]]", "[50000]"},
    {"q-or", "[:find ?e :where (or [?e :name \"Ivan\"] [?e :name \"Oleg\"])]", NULL},
    {"q-not", "[:find ?e :where [?e :name \"Ivan\"] (not [?e :sex :male])]", NULL},
    {"q-or-join", "[:find ?e :where [?e :name \"Ivan\"] (or-join [?e] [?e :last-name \"Ivanov\"] [?e :age 30])]", NULL},
    {"q-not-join", "[:find ?e :where [?e :name \"Ivan\"] (not-join [?e] [?e :follows ?f] [?f :name \"Petr\"])]", NULL},
    {"q-pred-range", "[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)] [(< ?s 80000)]]", NULL},
    {"q-5-merge", "[:find ?e ?n ?l ?a ?s :where [?e :sex :male] [?e :name ?n] [?e :last-name ?l] [?e :age ?a] [?e :salary ?s]]", NULL},
    {"q-rule", "[:find ?e ?n :in $ % :where [?e :name \"Ivan\"] (follows-name ?e ?n)]",
     "[[[(follows-name ?e ?n) [?e :follows ?f] [?f :name ?n]]]]"},
    {"agg-avg", "[:find (avg ?s) :with ?e :where [?e :salary ?s]]", NULL},
    {"agg-avg-count-by-sex", "[:find ?x (avg ?s) (count ?e) :where [?e :sex ?x] [?e :salary ?s]]", NULL},
    {"agg-male-avg-min-max", "[:find (avg ?s) (min ?s) (max ?s) :with ?e :where [?e :sex :male] [?e :salary ?s]]", NULL},
    {"agg-pred-by-sex", "[:find ?x (avg ?s) :with ?e :where [?e :salary ?s] [(> ?s 50000)] [?e :sex ?x]]", NULL},
    {"agg-by-sex-name", "[:find ?x ?n (avg ?s) :with ?e :where [?e :sex ?x] [?e :name ?n] [?e :salary ?s]]", NULL},
    {"agg-stats", "[:find (avg ?s) (variance ?s) (stddev ?s) (median ?s) :with ?e :where [?e :salary ?s]]", NULL},
};

static const named_q join_qs[] = {
    {"join-1dept", "[:find ?p :where [?d :d/name \"dept-7\"] [?p :p/dept ?d]]", NULL},
    {"join-budget>450k", "[:find ?p :where [?d :d/budget ?b] [(> ?b 450000)] [?p :p/dept ?d]]", NULL},
    {"join-budget>400k", "[:find ?p :where [?d :d/budget ?b] [(> ?b 400000)] [?p :p/dept ?d]]", NULL},
    {"join-3hop", "[:find ?p ?vn :where [?p :p/dept ?d] [?d :d/div ?v] [?v :div/name ?vn]]", NULL},
    {"join-salary>90k", "[:find ?p ?dn :where [?p :p/salary ?s] [(> ?s 90000)] [?p :p/dept ?d] [?d :d/name ?dn]]", NULL},
};

static const char *follow_rules =
    "[[(follow ?a ?b) [?a :follows ?b]] [(follow ?a ?b) [?a :follows ?t] (follow ?t ?b)]]";

static datalith_db *snapshot(datalith_conn *c) {
    datalith_db *db = NULL;
    check(datalith_conn_db(c, &db), "db");
    return db;
}

static long max_tx(datalith_db *db) {
    const char *q = "[:find (max ?tx) :where [_ :name _ ?tx]]";
    char *out = NULL;
    size_t n = 0;
    check(datalith_q(q, strlen(q), &db, 1, NULL, 0, DATALITH_FORMAT_EDN, &out, &n), "max tx");
    const char *p = out;
    while (*p && (*p < '0' || *p > '9')) p++;
    long t = strtol(p, NULL, 10);
    datalith_free(out);
    return t;
}

/* ---- writes ---- */

static void write_suite(void) {
    int reps = (int)env_num("BENCH_WRITE_REPS", 3);
    if (reps < 1) reps = 1;
    if (reps > 16) reps = 16;
    double t_add1[16], t_add5[16], t_ret5[16], t_all[16];
    char buf[512];
    int want1 = bench_selected("add-1"), want5 = bench_selected("add-5") || bench_selected("retract-5"),
        wantall = bench_selected("add-all");
    for (int r = 0; r < reps; r++) {
        if (want1) {
            datalith_conn *c = fresh(1);
            txs(c, people_schema);
            double t0 = now_ms();
            for (int i = 0; i < NPEOPLE; i++) {
                int n = snprintf(buf, sizeof buf, "[[:db/add %d :age %d]]", PEOPLE_BASE + i, people[i].age);
                tx(c, buf, (size_t)n);
            }
            t_add1[r] = now_ms() - t0;
            datalith_conn_release(c);
        }
        if (want5) {
            datalith_conn *c = fresh(1);
            txs(c, people_schema);
            double t0 = now_ms();
            for (int i = 0; i < NPEOPLE; i++) {
                person *p = &people[i];
                int n = snprintf(buf, sizeof buf,
                                 "[{:db/id %d :name \"%s\" :last-name \"%s\" :sex :%s :age %d :salary %d}]",
                                 PEOPLE_BASE + i, p->name, p->last, p->sex, p->age, p->salary);
                tx(c, buf, (size_t)n);
            }
            t_add5[r] = now_ms() - t0;
            t0 = now_ms();
            for (int i = 0; i < NPEOPLE; i++) {
                int n = snprintf(buf, sizeof buf, "[[:db/retractEntity %d]]", PEOPLE_BASE + i);
                tx(c, buf, (size_t)n);
            }
            t_ret5[r] = now_ms() - t0;
            datalith_conn_release(c);
        }
        if (wantall) {
            datalith_conn *c = fresh(1);
            txs(c, people_schema);
            sbuf b = {0};
            sb_printf(&b, "[");
            for (int i = 0; i < NPEOPLE; i++) {
                person *p = &people[i];
                sb_printf(&b, "{:db/id %d :name \"%s\" :last-name \"%s\" :sex :%s :age %d :salary %d}",
                          PEOPLE_BASE + i, p->name, p->last, p->sex, p->age, p->salary);
            }
            sb_printf(&b, "]");
            double t0 = now_ms();
            tx(c, b.p, b.len);
            t_all[r] = now_ms() - t0;
            free(b.p);
            datalith_conn_release(c);
        }
    }
    const char *note = "ms per whole suite; memory store, EDN tx text";
    if (want1) bench_print_reps("add-1", t_add1, reps, NPEOPLE, note);
    if (want5) {
        bench_print_reps("add-5", t_add5, reps, 5L * NPEOPLE, note);
        bench_print_reps("retract-5", t_ret5, reps, 5L * NPEOPLE, note);
    }
    if (wantall) bench_print_reps("add-all", t_all, reps, 5L * NPEOPLE, note);
    bench_na("init", "no init-db (build from datoms) in the C API");
}

int main(void) {
    bench_engine = "datalith";
    bench_only = getenv("BENCH_ONLY");
    gen_people();
    gen_trees();

    datalith_conn *cp = fresh(0);
    load_people(cp, 2000, 1);
    datalith_db *dbp = snapshot(cp);
    for (size_t i = 0; i < sizeof people_qs / sizeof people_qs[0]; i++)
        bq(people_qs[i].shape, dbp, people_qs[i].query, people_qs[i].inputs);

    datalith_conn *cj = fresh(0);
    load_joins(cj);
    datalith_db *dbj = snapshot(cj);
    for (size_t i = 0; i < sizeof join_qs / sizeof join_qs[0]; i++)
        bq(join_qs[i].shape, dbj, join_qs[i].query, join_qs[i].inputs);

    datalith_conn *ct = fresh(0);
    load_trees(ct);
    datalith_db *dbt = snapshot(ct);
    char inputs[256], eid[32];
    for (size_t t = 0; t < NTREES; t++) {
        if (!strncmp(trees[t].name, "pull", 4)) continue;
        snprintf(inputs, sizeof inputs, "[%s %ld]", follow_rules, trees[t].root);
        bq(trees[t].name, dbt, "[:find ?d :in $ % ?r :where (follow ?r ?d)]", inputs);
    }

    /* pull */
    long root45 = trees[NTREES - 1].root;
    snprintf(eid, sizeof eid, "%ld", root45);
    qctx pq = {dbt, "[:name {:follows ...}]", NULL, 1, eid};
    bench_run("pull-one", run_q, &pq);
    qctx pw = {dbt, "[* {:follows ...}]", NULL, 1, eid};
    bench_run("pull-wildcard", run_q, &pw);
    sbuf ids = {0};
    sb_printf(&ids, "[");
    for (int i = 0; i < 1000; i++) sb_printf(&ids, "%d ", PEOPLE_BASE + i);
    sb_printf(&ids, "]");
    qctx pm = {dbp, "[:name :last-name :sex :age :salary {:follows [:name]}]", NULL, 2, ids.p};
    bench_run("pull-many", run_q, &pm);

    /* temporal */
    datalith_conn *ch = fresh(1);
    load_people(ch, 0, 0);
    datalith_db *h0 = snapshot(ch);
    long tx1 = max_tx(h0);
    datalith_db_release(h0);
    char buf[128];
    for (int k = 0; k < 2000; k += 100) {
        sbuf b = {0};
        sb_printf(&b, "[");
        for (int i = k; i < k + 100; i++)
            sb_printf(&b, "[:db/add %d :age %d]", PEOPLE_BASE + i, (people[i].age + 1) % 100);
        sb_printf(&b, "]");
        tx(ch, b.p, b.len);
        free(b.p);
    }
    datalith_db *dbh = snapshot(ch), *asof = NULL, *hist = NULL;
    snprintf(buf, sizeof buf, "%ld", tx1);
    check(datalith_as_of(dbh, buf, strlen(buf), DATALITH_FORMAT_EDN, &asof), "as-of");
    check(datalith_history(dbh, &hist), "history");
    bq("temporal-current-q1", dbh, people_qs[0].query, NULL);
    bq("temporal-current-q2", dbh, people_qs[1].query, NULL);
    bq("temporal-asof-q1", asof, people_qs[0].query, NULL);
    bq("temporal-asof-q2", asof, people_qs[1].query, NULL);
    bq("temporal-asof-q3", asof, people_qs[3].query, NULL);
    bq("history-names", hist, "[:find ?e ?n :where [?e :name ?n]]", NULL);
    bq("history-age-tx", hist, "[:find ?e ?a ?tx :where [?e :age ?a ?tx]]", NULL);
    bq("history-name-age", hist, "[:find ?e ?n ?a :where [?e :name ?n] [?e :age ?a]]", NULL);
    bq("history-retracted-ages", hist, "[:find ?e ?a ?tx :where [?e :age ?a ?tx false]]", NULL);

    write_suite();

    free(ids.p);
    datalith_db_release(asof);
    datalith_db_release(hist);
    datalith_db_release(dbh);
    datalith_db_release(dbp);
    datalith_db_release(dbj);
    datalith_db_release(dbt);
    datalith_conn_release(ch);
    datalith_conn_release(cp);
    datalith_conn_release(cj);
    datalith_conn_release(ct);
    return 0;
}
