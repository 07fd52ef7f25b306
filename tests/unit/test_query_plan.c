/*
** test_query_plan.c — the planner's observable behaviour through the
** public API: datalith_query_stats (shape, per-clause rows and bound
** variables, :consts, :rules, arg-map options), datalith_explain (the
** text names each clause in the order run with its rows), AVET range
** pushdown on long and double attributes (results equal the plain
** predicate's), and the canonical order of large vector results (the
** radix path of the result sort).  Expectations are worked out by hand
** from the data in setup(), or computed independently in the test.
*/
#include "datalith.h"
#include "test.h"
#include "value/value.h"

#include <stdio.h>
#include <stdlib.h>

static datalith_conn *conn;
static datalith_db *db;
static dl_arena A;

/* Schema (eids 1-3), then:
**   5 Ivan  age 15  score  1.5
**   6 Petr  age 37  score -2.5
**   7 Ivan  age 37  score  3.0
**   8 Oleg  age 52  score  0.0
**   9 Anna  age 20  (no score)                                          */
static void setup(void) {
    const char *cfg = "{:store {:backend :memory :id \"test-query-plan\"} :schema-flexibility :write}";
    char *out = NULL;
    size_t n;
    dl_arena_init(&A, 0);
    datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
    if (datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out, &n)) exit(1);
    datalith_free(out);
    if (datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &conn)) exit(1);
    const char *schema =
        "[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :score :db/valueType :db.type/double :db/cardinality :db.cardinality/one :db/index true}]";
    const char *data =
        "[{:db/id 5 :name \"Ivan\" :age 15 :score 1.5}"
        " {:db/id 6 :name \"Petr\" :age 37 :score -2.5}"
        " {:db/id 7 :name \"Ivan\" :age 37 :score 3.0}"
        " {:db/id 8 :name \"Oleg\" :age 52 :score 0.0}"
        " {:db/id 9 :name \"Anna\" :age 20}]";
    if (datalith_transact(conn, schema, strlen(schema), DATALITH_FORMAT_EDN, &out, &n)) exit(1);
    datalith_free(out);
    if (datalith_transact(conn, data, strlen(data), DATALITH_FORMAT_EDN, &out, &n)) {
        fprintf(stderr, "data: %s\n", datalith_error_last()->message);
        exit(1);
    }
    datalith_free(out);
    if (datalith_conn_db(conn, &db)) exit(1);
}

static int read_edn(const char *text, edn_value *v) {
    return edn_read(&A, text, strlen(text), NULL, v) == 0;
}

static int qeq(const char *q, const char *inputs, const char *expect) {
    char *out = NULL;
    size_t n = 0;
    int rc = datalith_q(q, strlen(q), &db, 1, inputs, inputs ? strlen(inputs) : 0,
                        DATALITH_FORMAT_EDN, &out, &n);
    if (rc) {
        fprintf(stderr, "  query %s failed: %s\n", q, datalith_error_last()->message);
        return 0;
    }
    edn_value got, want;
    int ok = edn_read(&A, out, n, NULL, &got) == 0 && read_edn(expect, &want) && edn_equal(&got, &want);
    if (!ok) fprintf(stderr, "  query %s\n    got %.*s\n    expected %s\n", q, (int)n, out, expect);
    datalith_free(out);
    return ok;
}

/* query-stats of q; *st is the parsed map (NULL-safe on failure). */
static int stats(const char *q, const char *inputs, edn_value *st) {
    char *out = NULL;
    size_t n = 0;
    int rc = datalith_query_stats(q, strlen(q), &db, 1, inputs, inputs ? strlen(inputs) : 0,
                                  DATALITH_FORMAT_EDN, &out, &n);
    if (rc) {
        fprintf(stderr, "  stats %s failed: %s\n", q, datalith_error_last()->message);
        return 0;
    }
    int ok = edn_read(&A, out, n, NULL, st) == 0 && st->type == EDN_MAP;
    datalith_free(out);
    return ok;
}

static int has(const edn_value *m, const char *k, const char *expect) {
    const edn_value *g = edn_map_getk(m, k);
    edn_value want;
    if (!read_edn(expect, &want)) return 0;
    if (g && edn_equal(g, &want)) return 1;
    fprintf(stderr, "  key :%s differs from %s\n", k, expect);
    return 0;
}

static const edn_value *stat_at(const edn_value *st, size_t i) {
    const edn_value *s = edn_map_getk(st, "stats");
    return s && s->type == EDN_VECTOR && i < s->n ? &s->u.items[i] : NULL;
}

/* The single :rels entry of a stats row. */
static const edn_value *rel_of(const edn_value *row) {
    const edn_value *r = row ? edn_map_getk(row, "rels") : NULL;
    return r && r->type == EDN_VECTOR && r->n == 1 ? &r->u.items[0] : NULL;
}

TEST(query_stats_shape) {
    edn_value st;
    /* written with the big clause first: the planner runs the name lookup
    ** (2 datoms) before the age pattern (5 datoms) */
    const char *q = "[:find ?e ?a :in $ ?n :where [?e :age ?a] [?e :name ?n]]";
    CHECK(stats(q, "[\"Ivan\"]", &st));
    CHECK(has(&st, "ret", "#{[5 15] [7 37]}"));
    CHECK(has(&st, "consts", "{?n \"Ivan\"}"));
    CHECK(has(&st, "rules", "nil"));
    CHECK(has(&st, "query", q));
    const edn_value *s0 = stat_at(&st, 0), *s1 = stat_at(&st, 1);
    CHECK(s0 && s1 && !stat_at(&st, 2));
    if (!s0 || !s1) return;
    CHECK(has(s0, "clause", "[?e :name ?n]"));
    CHECK(has(s0, "type", ":lookup"));
    CHECK(rel_of(s0) && has(rel_of(s0), "bound", "#{?e ?n}") && has(rel_of(s0), "rows", "2"));
    CHECK(has(s1, "clause", "[?e :age ?a]"));
    /* ?n is needed by nothing after the first clause, so the planner has
    ** dropped it (early projection) */
    CHECK(rel_of(s1) && has(rel_of(s1), "bound", "#{?e ?a}") && has(rel_of(s1), "rows", "2"));
    const edn_value *t = edn_map_getk(s0, "t");
    CHECK(t && t->type == EDN_FLOAT && t->u.d >= 0);
}

TEST(query_stats_kinds) {
    edn_value st;
    CHECK(stats("[:find ?e :where [?e :age ?a] [(> ?a 20)] (not [?e :name \"Petr\"])]", NULL, &st));
    CHECK(has(&st, "ret", "#{[7] [8]}"));
    /* the pattern runs first, as an AVET range scan from 20 inclusive (the
    ** predicate is pushed down but still runs): ages 20 37 37 52 = 4 rows;
    ** then the two filters in either order: find each by type */
    const edn_value *s0 = stat_at(&st, 0);
    CHECK(s0 && has(s0, "type", ":lookup") && has(rel_of(s0), "rows", "4"));
    int pred = 0, not = 0;
    for (size_t i = 1; i < 3; i++) {
        const edn_value *s = stat_at(&st, i);
        if (!s) continue;
        const edn_value *ty = edn_map_getk(s, "type");
        if (ty && ty->type == EDN_KEYWORD && !strcmp(ty->u.sym->full, "pred")) pred++;
        if (ty && ty->type == EDN_KEYWORD && !strcmp(ty->u.sym->full, "not")) not++;
    }
    CHECK(pred == 1 && not == 1);
    /* a filter's estimate is the rows it receives: the pattern's 4 rows
    ** for the first, the first filter's output for the second */
    CHECK(stat_at(&st, 1) && has(stat_at(&st, 1), "est", "4"));
    /* whichever filter ran last leaves the final 2 rows */
    CHECK(stat_at(&st, 2) && has(rel_of(stat_at(&st, 2)), "rows", "2"));
    CHECK(stats("[:find ?x :in $ % :where (older ?x)]", "[[[(older ?e) [?e :age ?a] [(>= ?a 37)]]]]", &st));
    CHECK(has(&st, "ret", "#{[6] [7] [8]}"));
    CHECK(has(&st, "rules", "[[(older ?e) [?e :age ?a] [(>= ?a 37)]]]"));
    CHECK(stat_at(&st, 0) && has(stat_at(&st, 0), "type", ":rule"));
    /* arg-map options apply to :ret */
    CHECK(stats("{:query [:find ?n :where [_ :name ?n]] :order-by [?n :desc] :limit 2}", NULL, &st));
    CHECK(has(&st, "ret", "[[\"Petr\"] [\"Oleg\"]]"));
    CHECK(has(&st, "query", "[:find ?n :where [_ :name ?n]]"));
}

TEST(query_stats_errors) {
    char *out = NULL;
    size_t n;
    const char *q = "[:find ?x :where [?e :age ?a]]";
    CHECK(datalith_query_stats(q, strlen(q), &db, 1, NULL, 0, DATALITH_FORMAT_EDN, &out, &n) ==
          DATALITH_EQUERY);
    CHECK(strstr(datalith_error_last()->message, "Query for unknown vars") != NULL);
    CHECK(datalith_query_stats(q, strlen(q), &db, 1, NULL, 0, DATALITH_FORMAT_EDN, NULL, &n) ==
          DATALITH_EINVAL);
    CHECK(datalith_explain("[:find", 6, &db, 1, NULL, 0, DATALITH_FORMAT_EDN, &out, &n) ==
          DATALITH_EPARSE);
}

TEST(explain_text) {
    char *out = NULL;
    size_t n = 0;
    const char *q = "[:find ?e ?a :where [?e :age ?a] [?e :name \"Ivan\"]]";
    CHECK(datalith_explain(q, strlen(q), &db, 1, NULL, 0, DATALITH_FORMAT_EDN, &out, &n) == 0);
    if (!out) return;
    CHECK(strlen(out) == n);
    const char *one = strstr(out, "1. [?e :name \"Ivan\"]");
    const char *two = strstr(out, "2. [?e :age ?a]");
    CHECK(one && two && one < two);
    CHECK(strstr(out, "lookup  est 2  rows 2") != NULL);
    CHECK(strstr(out, "result: 2 items (set)") != NULL);
    datalith_free(out);
    q = "[:find ?e :where [?e :age ?a] [(> ?a 20)]]";
    CHECK(datalith_explain(q, strlen(q), &db, 1, NULL, 0, DATALITH_FORMAT_EDN, &out, &n) == 0);
    CHECK(out && strstr(out, "AVET range scan") != NULL);
    CHECK(out && strstr(out, "result: 3 items (set)") != NULL);
    datalith_free(out);
}

TEST(range_pushdown) {
    /* long attribute, each operator and both argument orders */
    CHECK(qeq("[:find ?e :where [?e :age ?a] [(> ?a 20)]]", NULL, "#{[6] [7] [8]}"));
    CHECK(qeq("[:find ?e :where [?e :age ?a] [(>= ?a 37)]]", NULL, "#{[6] [7] [8]}"));
    CHECK(qeq("[:find ?e :where [?e :age ?a] [(< ?a 37)]]", NULL, "#{[5] [9]}"));
    CHECK(qeq("[:find ?e :where [?e :age ?a] [(<= ?a 37)]]", NULL, "#{[5] [6] [7] [9]}"));
    CHECK(qeq("[:find ?e :where [?e :age ?a] [(< 20 ?a)] [(<= ?a 37)]]", NULL, "#{[6] [7]}"));
    CHECK(qeq("[:find ?e :where [?e :age ?a] [(> ?a 52)]]", NULL, "#{}"));
    CHECK(qeq("[:find ?e :where [?e :age ?a] [(> ?a 15)] [(< ?a 20)]]", NULL, "#{}"));
    /* double attribute with negative values */
    CHECK(qeq("[:find ?e :where [?e :score ?s] [(> ?s -1.0)]]", NULL, "#{[5] [7] [8]}"));
    CHECK(qeq("[:find ?e :where [?e :score ?s] [(<= ?s 0.0)]]", NULL, "#{[6] [8]}"));
    CHECK(qeq("[:find ?e :where [?e :score ?s] [(< -3.0 ?s)] [(< ?s 1.5)]]", NULL, "#{[6] [8]}"));
    /* a long constant against the double attribute is not pushed down but
    ** compares numerically */
    CHECK(qeq("[:find ?e :where [?e :score ?s] [(> ?s 1)]]", NULL, "#{[5] [7]}"));
    /* bound through an input, the constant arrives as a variable */
    CHECK(qeq("[:find ?e :in $ ?m :where [?e :age ?a] [(> ?a ?m)]]", "[37]", "#{[8]}"));
}

/* A vector result (because of :with) of 600 rows comes out in canonical
** row order; the expected order is computed here by insertion sort. */
TEST(large_result_order) {
    enum { N = 600 };
    static long long a[N], b[N];
    char *inp = malloc(N * 64 + 16), *exp = malloc(N * 64 + 16);
    size_t li = 0, le = 0;
    li += (size_t)sprintf(inp + li, "[[");
    for (int i = 0; i < N; i++) {
        a[i] = ((long long)((i * 7919) % 301) - 150) * 1000000007LL * 1000;
        b[i] = i % 3;
        li += (size_t)sprintf(inp + li, "[%lld %lld %d]", a[i], b[i], i);
    }
    li += (size_t)sprintf(inp + li, "]]");
    for (int i = 1; i < N; i++)
        for (int j = i; j > 0 && (a[j - 1] > a[j] || (a[j - 1] == a[j] && b[j - 1] > b[j])); j--) {
            long long t = a[j]; a[j] = a[j - 1]; a[j - 1] = t;
            t = b[j]; b[j] = b[j - 1]; b[j - 1] = t;
        }
    le += (size_t)sprintf(exp + le, "[");
    for (int i = 0; i < N; i++) le += (size_t)sprintf(exp + le, "[%lld %lld]", a[i], b[i]);
    le += (size_t)sprintf(exp + le, "]");
    CHECK(qeq("[:find ?a ?b :with ?c :in $ [[?a ?b ?c]]]", inp, exp));
    free(inp);
    free(exp);
}

int main(void) {
    setup();
    RUN(query_stats_shape);
    RUN(query_stats_kinds);
    RUN(query_stats_errors);
    RUN(explain_text);
    RUN(range_pushdown);
    RUN(large_result_order);
    datalith_db_release(db);
    datalith_conn_release(conn);
    dl_arena_free(&A);
    return test_summary();
}
