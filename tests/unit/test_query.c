/*
** test_query.c — the query engine through the public API (datalith_q):
** patterns, joins, planning independent of clause order, predicates,
** functions and binding forms, not/or, rules (recursive and mutually
** recursive), inputs and sources, find specs and result shapes,
** aggregates, and the error texts.  Every expectation is worked out by
** hand from the data transacted in setup().
*/
#include "datalith.h"
#include "test.h"
#include "value/value.h"

#include <stdio.h>

static datalith_conn *conn;
static datalith_db *db;
static dl_arena A;

/* Schema (eids 1-4), then people 5.. :
**   5 Ivan   Petrov   age 15  sex :male    friends 6 7
**   6 Petr   Ivanov   age 37  sex :male    friends 7
**   7 Ivan   Ivanov   age 37  sex :male
**   8 Oleg   Sidorov  age 52  sex :female  friends 5
**   9 Anna   (no last) age 20  sex :female                           */
static void setup(void) {
    const char *cfg = "{:store {:backend :memory :id \"test-query\"} :schema-flexibility :write}";
    char *out = NULL;
    size_t n;
    dl_arena_init(&A, 0);
    datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
    if (datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out, &n)) {
        fprintf(stderr, "create: %s\n", datalith_error_last()->message);
        exit(1);
    }
    datalith_free(out);
    if (datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &conn)) exit(1);
    const char *schema =
        "[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :last :db/valueType :db.type/string :db/cardinality :db.cardinality/one}"
        " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}"
        " {:db/ident :friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
        " {:db/ident :sex :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}]";
    const char *data =
        "[{:db/id 5 :name \"Ivan\" :last \"Petrov\" :age 15 :sex :male :friend [6 7]}"
        " {:db/id 6 :name \"Petr\" :last \"Ivanov\" :age 37 :sex :male :friend [7]}"
        " {:db/id 7 :name \"Ivan\" :last \"Ivanov\" :age 37 :sex :male}"
        " {:db/id 8 :name \"Oleg\" :last \"Sidorov\" :age 52 :sex :female :friend [5]}"
        " {:db/id 9 :name \"Anna\" :age 20 :sex :female}]";
    if (datalith_transact(conn, schema, strlen(schema), DATALITH_FORMAT_EDN, &out, &n)) {
        fprintf(stderr, "schema: %s\n", datalith_error_last()->message);
        exit(1);
    }
    datalith_free(out);
    if (datalith_transact(conn, data, strlen(data), DATALITH_FORMAT_EDN, &out, &n)) {
        fprintf(stderr, "data: %s\n", datalith_error_last()->message);
        exit(1);
    }
    datalith_free(out);
    if (datalith_conn_db(conn, &db)) exit(1);
}

/* Run q with inputs (NULL: none) on db; compare with expected EDN. */
static int qeq(const char *q, const char *inputs, const char *expect) {
    char *out = NULL;
    size_t n = 0;
    datalith_db *dbs[1] = {db};
    int rc = datalith_q(q, strlen(q), dbs, 1, inputs, inputs ? strlen(inputs) : 0,
                        DATALITH_FORMAT_EDN, &out, &n);
    if (rc) {
        fprintf(stderr, "  query %s failed: %s\n", q, datalith_error_last()->message);
        return 0;
    }
    edn_value got, want;
    int ok = edn_read(&A, out, n, NULL, &got) == 0 &&
             edn_read(&A, expect, strlen(expect), NULL, &want) == 0 && edn_equal(&got, &want);
    if (!ok) fprintf(stderr, "  query %s\n    got %.*s\n    expected %s\n", q, (int)n, out, expect);
    datalith_free(out);
    return ok;
}

/* The query must fail with code and a message containing text. */
static int qerr(const char *q, const char *inputs, int code, const char *text) {
    char *out = NULL;
    size_t n = 0;
    datalith_db *dbs[1] = {db};
    int rc = datalith_q(q, strlen(q), dbs, 1, inputs, inputs ? strlen(inputs) : 0,
                        DATALITH_FORMAT_EDN, &out, &n);
    if (rc == 0) {
        fprintf(stderr, "  query %s succeeded: %.*s\n", q, (int)n, out);
        datalith_free(out);
        return 0;
    }
    const char *m = datalith_error_last()->message;
    if (rc != code || !strstr(m, text)) {
        fprintf(stderr, "  query %s: rc %d message \"%s\", expected %d \"%s\"\n", q, rc, m, code, text);
        return 0;
    }
    return 1;
}

TEST(patterns) {
    CHECK(qeq("[:find ?e :where [?e :name \"Ivan\"]]", NULL, "#{[5] [7]}"));
    CHECK(qeq("[:find ?n :where [_ :name ?n]]", NULL, "#{[\"Ivan\"] [\"Petr\"] [\"Oleg\"] [\"Anna\"]}"));
    CHECK(qeq("[:find ?e :where [?e :sex :female]]", NULL, "#{[8] [9]}"));
    CHECK(qeq("[:find ?v :where [7 :age ?v]]", NULL, "#{[37]}"));
    CHECK(qeq("[:find ?a :where [9 ?a _]]", NULL, "#{[:name] [:age] [:sex]}"));
    /* undeclared attribute matches nothing */
    CHECK(qeq("[:find ?e :where [?e :nope ?v]]", NULL, "#{}"));
    /* lookup ref in e position (:name is indexed but not unique: first) */
    CHECK(qeq("[:find ?n :where [?e :friend ?f] [?f :name ?n] [?e :name \"Oleg\"]]", NULL, "#{[\"Ivan\"]}"));
}

TEST(joins) {
    /* q2 and q2 with the clauses switched */
    CHECK(qeq("[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]", NULL, "#{[5 15] [7 37]}"));
    CHECK(qeq("[:find ?e ?a :where [?e :age ?a] [?e :name \"Ivan\"]]", NULL, "#{[5 15] [7 37]}"));
    /* value join: people of the same age as an Ivan */
    CHECK(qeq("[:find ?e1 :where [?e :name \"Ivan\"] [?e :age ?a] [?e1 :age ?a]]", NULL, "#{[5] [6] [7]}"));
    /* ref join */
    CHECK(qeq("[:find ?n2 :where [?e :name \"Petr\"] [?e :friend ?f] [?f :name ?n2]]", NULL, "#{[\"Ivan\"]}"));
    /* self-join in one pattern via a repeated var: nobody is own friend */
    CHECK(qeq("[:find ?e :where [?e :friend ?e]]", NULL, "#{}"));
    /* cross product of two unconnected patterns */
    CHECK(qeq("[:find ?a ?b :where [?x :name \"Anna\"] [?x :age ?a] [?y :name \"Oleg\"] [?y :age ?b]]", NULL,
              "#{[20 52]}"));
}

TEST(predicates_and_functions) {
    CHECK(qeq("[:find ?e :where [?e :age ?a] [(> ?a 30)]]", NULL, "#{[6] [7] [8]}"));
    CHECK(qeq("[:find ?e :where [(< ?a 20)] [?e :age ?a]]", NULL, "#{[5]}"));
    CHECK(qeq("[:find ?e ?b :where [?e :age ?a] [(+ ?a 10) ?b] [(> ?b 60)]]", NULL, "#{[8 62]}"));
    CHECK(qeq("[:find ?s :where [?e :name \"Anna\"] [?e :age ?a] [(str \"x\" ?a) ?s]]", NULL, "#{[\"x20\"]}"));
    CHECK(qeq("[:find ?x ?y :where [(ground [1 2]) [?x ?y]]]", NULL, "#{[1 2]}"));
    CHECK(qeq("[:find ?x :where [(ground [1 2 3]) [?x ...]]]", NULL, "#{[1] [2] [3]}"));
    CHECK(qeq("[:find ?x ?y :where [(ground [[1 2] [3 4]]) [[?x ?y]]]]", NULL, "#{[1 2] [3 4]}"));
    CHECK(qeq("[:find ?l :where [?e :name \"Anna\"] [(get-else $ ?e :last \"N/A\") ?l]]", NULL, "#{[\"N/A\"]}"));
    CHECK(qeq("[:find ?e :where [?e :name] [(missing? $ ?e :last)]]", NULL, "#{[9]}"));
    CHECK(qeq("[:find ?m :where [?e :name \"Oleg\"] [?e :last ?l] [(re-find \"^Si(d)\" ?l) ?m]]", NULL,
              "#{[[\"Sid\" \"d\"]]}"));
    CHECK(qeq("[:find ?u :where [(subs \"Datalith\" 4) ?u]]", NULL, "#{[\"lith\"]}"));
}

TEST(negation_and_disjunction) {
    CHECK(qeq("[:find ?e :where [?e :name] (not [?e :sex :male])]", NULL, "#{[8] [9]}"));
    CHECK(qeq("[:find ?e :where [?e :name] (not-join [?e] [?e :friend ?f] [?f :name \"Ivan\"])]", NULL,
              "#{[7] [9]}"));
    CHECK(qeq("[:find ?e :where (or [?e :name \"Anna\"] [?e :age 52])]", NULL, "#{[8] [9]}"));
    CHECK(qeq("[:find ?e :where [?e :name] (or-join [?e] [?e :age 15] (and [?e :sex :female] [?e :last]))]", NULL,
              "#{[5] [8]}"));
    /* not over an undeclared attribute removes nothing */
    CHECK(qeq("[:find ?e :where [?e :sex :female] (not [?e :nope 1])]", NULL, "#{[8] [9]}"));
}

TEST(rules) {
    const char *rules =
        "[[[(reach ?a ?b) [?a :friend ?b]]"
        "  [(reach ?a ?b) [?a :friend ?x] (reach ?x ?b)]]]";
    /* 8 -> 5 -> 6,7 ; 6 -> 7 */
    CHECK(qeq("[:find ?b :in $ % :where [?a :name \"Oleg\"] (reach ?a ?b)]", rules, "#{[5] [6] [7]}"));
    CHECK(qeq("[:find ?a :in $ % :where (reach ?a 7)]", rules, "#{[5] [6] [8]}"));
    /* mutual recursion: even/odd distance along :friend from Oleg */
    const char *eo =
        "[[[(odd ?a ?b) [?a :friend ?b]]"
        "  [(odd ?a ?b) [?a :friend ?x] (even ?x ?b)]"
        "  [(even ?a ?b) [?a :friend ?x] (odd ?x ?b)]]]";
    /* from 8: 1 step 5; 2 steps 6,7; 3 steps 7 (via 6) */
    CHECK(qeq("[:find ?b :in $ % :where (even 8 ?b)]", eo, "#{[6] [7]}"));
    CHECK(qeq("[:find ?b :in $ % :where (odd 8 ?b)]", eo, "#{[5] [7]}"));
    /* non-recursive rule with a bound argument */
    CHECK(qeq("[:find ?n :in $ % :where [?e :age 52] (named ?e ?n)]",
              "[[[(named ?x ?y) [?x :name ?y]]]]", "#{[\"Oleg\"]}"));
}

TEST(inputs) {
    CHECK(qeq("[:find ?e :in $ ?n :where [?e :name ?n]]", "[\"Ivan\"]", "#{[5] [7]}"));
    CHECK(qeq("[:find ?e :in $ [?n ...] :where [?e :name ?n]]", "[[\"Anna\" \"Oleg\"]]", "#{[8] [9]}"));
    CHECK(qeq("[:find ?e :in $ [[?n ?a]] :where [?e :name ?n] [?e :age ?a]]", "[[[\"Ivan\" 37] [\"Anna\" 1]]]",
              "#{[7]}"));
    CHECK(qeq("[:find ?x ?y :in $ [?x ?y]]", "[[1 2]]", "#{[1 2]}"));
    CHECK(qeq("[:find ?n :in $ $b :where [$b ?x ?n] [?e :age ?x]]", "[[[52 \"fifty-two\"] [99 \"x\"]]]",
              "#{[\"fifty-two\"]}"));
    CHECK(qeq("[:find ?e :in $ [?n ...] :where [?e :name ?n]]", "[[]]", "#{}"));
}

TEST(find_specs) {
    CHECK(qeq("[:find [?a ...] :where [_ :age ?a]]", NULL, "[15 20 37 52]"));
    CHECK(qeq("[:find ?a . :where [9 :age ?a]]", NULL, "20"));
    CHECK(qeq("[:find ?a . :where [99 :age ?a]]", NULL, "nil"));
    CHECK(qeq("[:find [?n ?a] :where [9 :name ?n] [9 :age ?a]]", NULL, "[\"Anna\" 20]"));
    CHECK(qeq("[:find ?n ?a :keys name age :where [?e :name ?n] [?e :age ?a] [(> ?a 40)]]", NULL,
              "[{:name \"Oleg\" :age 52}]"));
    CHECK(qeq("{:find [?n] :where [[?e :age 20] [?e :name ?n]]}", NULL, "#{[\"Anna\"]}"));
    CHECK(qeq("\"[:find ?n :where [9 :name ?n]]\"", NULL, "#{[\"Anna\"]}"));
}

TEST(aggregates) {
    /* ages 15 37 37 52 20: without :with the two 37s collapse */
    CHECK(qeq("[:find (count ?a) :where [_ :age ?a]]", NULL, "[[4]]"));
    CHECK(qeq("[:find (count ?a) :with ?e :where [?e :age ?a]]", NULL, "[[5]]"));
    CHECK(qeq("[:find (sum ?a) :with ?e :where [?e :age ?a]]", NULL, "[[161]]"));
    CHECK(qeq("[:find (avg ?a) :with ?e :where [?e :age ?a]]", NULL, "[[32.2]]"));
    CHECK(qeq("[:find (median ?a) :with ?e :where [?e :age ?a]]", NULL, "[[37.0]]"));
    CHECK(qeq("[:find (min ?a) (max ?a) :where [_ :age ?a]]", NULL, "[[15 52]]"));
    CHECK(qeq("[:find (max 2 ?a) :where [_ :age ?a]]", NULL, "[[[37 52]]]"));
    CHECK(qeq("[:find ?s (count ?e) :where [?e :sex ?s]]", NULL, "[[:female 2] [:male 3]]"));
    CHECK(qeq("[:find (distinct ?s) :where [_ :sex ?s]]", NULL, "[[#{:male :female}]]"));
    CHECK(qeq("[:find (count-distinct ?a) :with ?e :where [?e :age ?a]]", NULL, "[[4]]"));
    CHECK(qeq("[:find (variance ?x) :in $ [?x ...]]", "[[10 15 20 35 75]]", "[[554.0]]"));
}

TEST(errors) {
    CHECK(qerr("[:find ?x :where [?x :age ?a] [(foo ?a)]]", NULL, DATALITH_EQUERY, "Unknown function 'foo"));
    CHECK(qerr("[:find ?x :where [(> ?y 1)] [?x :age ?a]]", NULL, DATALITH_EQUERY, "insufficient bindings"));
    CHECK(qerr("[:find ?x :where [?x :age ?a] (or [?x :name ?n] [?x :age 1])]", NULL, DATALITH_EQUERY,
               "same set of free vars"));
    CHECK(qerr("[:find ?z :where [?x :age ?a]]", NULL, DATALITH_EQUERY, "Query for unknown vars: [?z]"));
    CHECK(qerr("[:find ?l :where [?e :name] [(get-else $ ?e :last nil) ?l]]", NULL, DATALITH_EQUERY,
               "get-else: nil default value is not supported"));
    CHECK(qerr("[:find ?x :in $ ?x :where [?x :age]]", NULL, DATALITH_EQUERY, "Wrong number of arguments"));
    CHECK(qerr("[:find ?x :in $ [?x ?y] :where [?x :age]]", "[:a]", DATALITH_EQUERY, "Cannot bind value :a to tuple"));
    CHECK(qerr("[:find ?x :where [?x :age", NULL, DATALITH_EPARSE, ""));
    CHECK(qerr("[:where [?x :age]]", NULL, DATALITH_EQUERY, ":find"));
    CHECK(qerr("[:find ?x :where (or-join [?x ?q] [?x :age 1])]", NULL, DATALITH_EQUERY,
               "Join variable not declared inside clauses"));
}

int main(void) {
    setup();
    RUN(patterns);
    RUN(joins);
    RUN(predicates_and_functions);
    RUN(negation_and_disjunction);
    RUN(rules);
    RUN(inputs);
    RUN(find_specs);
    RUN(aggregates);
    RUN(errors);
    datalith_db_release(db);
    datalith_conn_release(conn);
    dl_arena_free(&A);
    return test_summary();
}
