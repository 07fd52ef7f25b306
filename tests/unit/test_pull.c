/*
** test_pull.c — the pull pattern language (core/pull/pull.h): parsing and
** its error messages, evaluation of every form of
** reference/datahike-semantics.md §6 against a small hand-built database,
** entity id resolution, pull-many, limits, cycles and deep recursion.
** Expected maps are worked out by hand from the data below.
*/
#include "db/db.h"
#include "db/tx.h"
#include "db/view.h"
#include "pull/pull.h"
#include "test.h"
#include "util/error.h"

static dl_arena A;

static edn_value rd(const char *s) {
    edn_value v;
    if (edn_read(&A, s, strlen(s), NULL, &v) != 0) {
        fprintf(stderr, "bad test literal %s: %s\n", s, dl_err_last()->message);
        return edn_nil();
    }
    return v;
}

static const char *msg(void) { return dl_err_last()->message; }

static int step(dl_db **db, const char *tx) {
    dl_tx_report r;
    edn_value v = rd(tx);
    int rc = dl_tx_run(*db, &v, NULL, 1000, &A, &r);
    if (rc != 0) {
        fprintf(stderr, "tx %s failed: %s\n", tx, msg());
        return rc;
    }
    dl_db_release(*db);
    *db = r.db_after;
    return 0;
}

/* Schema: :name 1 (unique identity), :aka 2 (many), :friend 3 (ref many),
** :father 4 (ref one), :part 5 (ref many component), :spec 6 (ref one
** component), :age 7, :child 8 (ref many).
** Data (explicit ids):
**   10 Petr  :aka "Devil" "Tupen"  :child 11 12
**   11 David :father 10            12 Elizabeth :father 10
**   20 Part A :part 21 22          21 Part A.A :part 23
**   22 Part A.B                    23 Part A.A.A
**   24 Spec   :spec 25             25 Inner
**   30 a :friend 31   31 b :friend 32   32 c :friend 30   (a cycle) */
static dl_db *test_db(void) {
    dl_config c;
    dl_db *db = NULL;
    edn_value v = rd("{:store {:backend :memory :id \"pull\"}}");
    memset(&c, 0, sizeof c);
    if (dl_config_parse(&A, &v, &c) != 0 || dl_db_empty(&c, &db) != 0) {
        fprintf(stderr, "empty db: %s\n", msg());
        return NULL;
    }
    if (step(&db,
             "[{:db/ident :name :db/valueType :db.type/string"
             "  :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}"
             " {:db/ident :aka :db/valueType :db.type/string"
             "  :db/cardinality :db.cardinality/many}"
             " {:db/ident :friend :db/valueType :db.type/ref"
             "  :db/cardinality :db.cardinality/many}"
             " {:db/ident :father :db/valueType :db.type/ref"
             "  :db/cardinality :db.cardinality/one}"
             " {:db/ident :part :db/valueType :db.type/ref"
             "  :db/cardinality :db.cardinality/many :db/isComponent true}"
             " {:db/ident :spec :db/valueType :db.type/ref"
             "  :db/cardinality :db.cardinality/one :db/isComponent true}"
             " {:db/ident :age :db/valueType :db.type/long"
             "  :db/cardinality :db.cardinality/one}"
             " {:db/ident :child :db/valueType :db.type/ref"
             "  :db/cardinality :db.cardinality/many}]") ||
        step(&db,
             "[{:db/id 10 :name \"Petr\" :aka [\"Devil\" \"Tupen\"]}"
             " {:db/id 11 :name \"David\" :father 10}"
             " {:db/id 12 :name \"Elizabeth\" :father 10}"
             " [:db/add 10 :child 11] [:db/add 10 :child 12]"
             " {:db/id 23 :name \"Part A.A.A\"}"
             " {:db/id 22 :name \"Part A.B\"}"
             " {:db/id 21 :name \"Part A.A\" :part [23]}"
             " {:db/id 20 :name \"Part A\" :part [21 22]}"
             " {:db/id 25 :name \"Inner\"}"
             " {:db/id 24 :name \"Spec\" :spec 25}"
             " {:db/id 30 :name \"a\"} {:db/id 31 :name \"b\"}"
             " {:db/id 32 :name \"c\"}"
             " [:db/add 30 :friend 31] [:db/add 31 :friend 32]"
             " [:db/add 32 :friend 30]]")) {
        dl_db_release(db);
        return NULL;
    }
    return db;
}

static dl_db *DB;

/* Pull `pattern` for `eid` (EDN texts) and compare with `expect`. */
static int pulls(const char *pattern, const char *eid, const char *expect) {
    edn_value p = rd(pattern), e = rd(eid), want = rd(expect), got;
    int rc = dl_pull_value(&A, DB, &p, &e, &got);
    if (rc) {
        fprintf(stderr, "pull %s %s failed: %s\n", pattern, eid, msg());
        return 0;
    }
    if (!edn_equal(&got, &want)) {
        dl_buf b = DL_BUF_INIT;
        edn_write(&b, &got);
        dl_buf_putc(&b, 0);
        fprintf(stderr, "pull %s %s:\n  got:      %s\n  expected: %s\n",
                pattern, eid, b.data, expect);
        dl_buf_free(&b);
        return 0;
    }
    return 1;
}

/* The pull must fail with `code` and a message containing `part`. */
static int fails(const char *pattern, const char *eid, int code,
                 const char *part) {
    edn_value p = rd(pattern), e = rd(eid), got;
    int rc = dl_pull_value(&A, DB, &p, &e, &got);
    if (rc != code || !strstr(msg(), part)) {
        fprintf(stderr, "pull %s %s: rc %d (want %d), message \"%s\" "
                "(want \"%s\")\n", pattern, eid, rc, code, msg(), part);
        return 0;
    }
    return 1;
}

TEST(attributes) {
    CHECK(pulls("[:name :aka]", "10", "{:name \"Petr\" :aka [\"Devil\" \"Tupen\"]}"));
    CHECK(pulls("[:name :age]", "11", "{:name \"David\"}"));
    CHECK(pulls("[:age]", "11", "nil"));
    CHECK(pulls("[:name]", "999", "nil"));
}

TEST(db_id) {
    CHECK(pulls("[:db/id :name]", "10", "{:db/id 10 :name \"Petr\"}"));
    CHECK(pulls("[:db/id]", "999", "nil"));
    CHECK(pulls("[:db/id :age]", "10", "{:db/id 10}"));
    CHECK(pulls("[[:db/id :as \"id\"]]", "10", "{\"id\" 10}"));
}

TEST(wildcard) {
    CHECK(pulls("[*]", "11", "{:db/id 11 :name \"David\" :father {:db/id 10}}"));
    CHECK(pulls("[*]", "10",
                "{:db/id 10 :name \"Petr\" :aka [\"Devil\" \"Tupen\"]"
                " :child [{:db/id 11} {:db/id 12}]}"));
    CHECK(pulls("[* :_father]", "10",
                "{:db/id 10 :name \"Petr\" :aka [\"Devil\" \"Tupen\"]"
                " :child [{:db/id 11} {:db/id 12}]"
                " :_father [{:db/id 11} {:db/id 12}]}"));
    /* an explicit spec overrides the wildcard's entry */
    CHECK(pulls("[* {:father [:name]}]", "11",
                "{:db/id 11 :name \"David\" :father {:name \"Petr\"}}"));
    /* wildcard expands components recursively */
    CHECK(pulls("[*]", "24",
                "{:db/id 24 :name \"Spec\" :spec {:db/id 25 :name \"Inner\"}}"));
    CHECK(pulls("[*]", "999", "nil"));
    /* schema entities are entities */
    CHECK(pulls("[*]", "1",
                "{:db/id 1 :db/ident :name :db/valueType :db.type/string"
                " :db/cardinality :db.cardinality/one"
                " :db/unique :db.unique/identity}"));
}

TEST(refs_and_nesting) {
    CHECK(pulls("[:father]", "11", "{:father {:db/id 10}}"));
    CHECK(pulls("[:child]", "10", "{:child [{:db/id 11} {:db/id 12}]}"));
    CHECK(pulls("[{:father [:name]}]", "11", "{:father {:name \"Petr\"}}"));
    CHECK(pulls("[:name {:child [:name :db/id]}]", "10",
                "{:name \"Petr\" :child [{:name \"David\" :db/id 11}"
                " {:name \"Elizabeth\" :db/id 12}]}"));
    /* an empty sub-pull: card-one dropped, card-many filtered to [] */
    CHECK(pulls("[:name {:father [:age]}]", "11", "{:name \"David\"}"));
    CHECK(pulls("[:name {:child [:age]}]", "10", "{:name \"Petr\" :child []}"));
    CHECK(pulls("[{(limit :child 1) [:name]}]", "10", "{:child [{:name \"David\"}]}"));
    CHECK(pulls("[{[:child :limit 1 :as :kids] [:name]}]", "10",
                "{:kids [{:name \"David\"}]}"));
}

TEST(reverse) {
    CHECK(pulls("[:_father]", "10", "{:_father [{:db/id 11} {:db/id 12}]}"));
    CHECK(pulls("[{:_father [:name]}]", "10",
                "{:_father [{:name \"David\"} {:name \"Elizabeth\"}]}"));
    CHECK(pulls("[:name :_father]", "11", "{:name \"David\"}"));
    /* reverse of a component attribute is one map */
    CHECK(pulls("[:_part]", "21", "{:_part {:db/id 20}}"));
    CHECK(pulls("[{:_part [:name]}]", "23", "{:_part {:name \"Part A.A\"}}"));
    CHECK(pulls("[:_spec]", "25", "{:_spec {:db/id 24}}"));
    CHECK(pulls("[(limit :_father 1)]", "10", "{:_father [{:db/id 11}]}"));
    CHECK(pulls("[[:_father :as \"kids\"]]", "10",
                "{\"kids\" [{:db/id 11} {:db/id 12}]}"));
}

TEST(components) {
    CHECK(pulls("[:name :part]", "20",
                "{:name \"Part A\" :part [{:db/id 21 :name \"Part A.A\""
                " :part [{:db/id 23 :name \"Part A.A.A\"}]}"
                " {:db/id 22 :name \"Part A.B\"}]}"));
    CHECK(pulls("[:spec]", "24", "{:spec {:db/id 25 :name \"Inner\"}}"));
    /* a map spec overrides the expansion */
    CHECK(pulls("[{:part [:name]}]", "20",
                "{:part [{:name \"Part A.A\"} {:name \"Part A.B\"}]}"));
}

TEST(recursion) {
    CHECK(pulls("[:name {:friend ...}]", "30",
                "{:name \"a\" :friend [{:name \"b\" :friend [{:name \"c\""
                " :friend [{:db/id 30}]}]}]}"));
    CHECK(pulls("[:name {:friend 1}]", "30",
                "{:name \"a\" :friend [{:name \"b\"}]}"));
    CHECK(pulls("[:name {:friend 2}]", "30",
                "{:name \"a\" :friend [{:name \"b\" :friend [{:name \"c\"}]}]}"));
    CHECK(pulls("[:db/id {:friend 3}]", "30",
                "{:db/id 30 :friend [{:db/id 31 :friend [{:db/id 32"
                " :friend [{:db/id 30}]}]}]}"));
    /* reverse recursion */
    CHECK(pulls("[:name {:_friend ...}]", "30",
                "{:name \"a\" :_friend [{:name \"c\" :_friend [{:name \"b\""
                " :_friend [{:db/id 30}]}]}]}"));
    /* two recursive specs, counted separately */
    CHECK(pulls("[:name {:friend 1} {:_friend 1}]", "31",
                "{:name \"b\" :friend [{:name \"c\" :_friend [{:db/id 31}]}]"
                " :_friend [{:name \"a\" :friend [{:db/id 31}]}]}"));
}

TEST(limits_defaults_aliases) {
    dl_db *saved = DB;
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, "[{:db/id 50 :aka [");
    for (int i = 0; i < 1200; i++) dl_buf_printf(&b, "\"v%04d\" ", i);
    dl_buf_puts(&b, "]}]");
    dl_buf_putc(&b, 0);
    dl_db *db = DB;
    dl_db_retain(db);
    CHECK_EQ_INT(step(&db, b.data), 0);
    dl_buf_free(&b);
    DB = db;
    edn_value got, p, e = edn_int(50);
    p = rd("[:aka]");
    CHECK_EQ_INT(dl_pull_value(&A, DB, &p, &e, &got), 0);
    const edn_value *aka = edn_map_getk(&got, "aka");
    CHECK(aka && aka->type == EDN_VECTOR && aka->n == 1000);
    if (aka && aka->n == 1000) {
        CHECK_STR(aka->u.items[0].u.s, "v0000");
        CHECK_STR(aka->u.items[999].u.s, "v0999");
    }
    p = rd("[(limit :aka nil)]");
    CHECK_EQ_INT(dl_pull_value(&A, DB, &p, &e, &got), 0);
    aka = edn_map_getk(&got, "aka");
    CHECK(aka && aka->n == 1200);
    p = rd("[[:aka :limit nil]]");
    CHECK_EQ_INT(dl_pull_value(&A, DB, &p, &e, &got), 0);
    aka = edn_map_getk(&got, "aka");
    CHECK(aka && aka->n == 1200);
    p = rd("[*]");
    CHECK_EQ_INT(dl_pull_value(&A, DB, &p, &e, &got), 0);
    aka = edn_map_getk(&got, "aka");
    CHECK(aka && aka->n == 1000);
    CHECK(pulls("[(limit :aka 2)]", "50", "{:aka [\"v0000\" \"v0001\"]}"));
    CHECK(pulls("[[:aka :limit 3 :as :first]]", "50",
                "{:first [\"v0000\" \"v0001\" \"v0002\"]}"));
    CHECK(pulls("[(default :age 0) :name]", "10", "{:age 0 :name \"Petr\"}"));
    CHECK(pulls("[(default :name \"?\")]", "10", "{:name \"Petr\"}"));
    CHECK(pulls("[[:age :as \"Age\" :default \"Nothing\"]]", "10",
                "{\"Age\" \"Nothing\"}"));
    CHECK(pulls("[[:name :as :n] [:name :as :m]]", "10",
                "{:n \"Petr\" :m \"Petr\"}"));
    CHECK(pulls("[[:_father :default []]]", "11", "{:_father []}"));
    dl_db_release(DB);
    DB = saved;
}

TEST(entity_ids) {
    CHECK(pulls("[:name]", "[:name \"David\"]", "{:name \"David\"}"));
    CHECK(pulls("[:db/id]", ":name", "{:db/id 1}"));
    CHECK(fails("[:name]", "[:name \"Nobody\"]", DATALITH_ENOTFOUND,
                "Nothing found for entity id [:name \"Nobody\"]"));
    CHECK(fails("[:name]", ":nobody", DATALITH_ENOTFOUND,
                "Nothing found for entity id :nobody"));
    CHECK(fails("[:name]", "[:age 3]", DATALITH_EINVAL,
                "Lookup ref attribute should be marked as :db/unique: [:age 3]"));
    CHECK(fails("[:name]", "[:name \"a\" 1]", DATALITH_EINVAL,
                "Lookup ref should contain 2 elements"));
    CHECK(fails("[:name]", "\"x\"", DATALITH_EINVAL,
                "Expected number or lookup ref for entity id, got \"x\""));
    CHECK(fails("[:name]", "0", DATALITH_EINVAL, "got 0"));
}

TEST(parse_errors) {
    CHECK(fails(":name", "10", DATALITH_EQUERY, "expected a vector of attribute specs, got :name"));
    CHECK(fails("[:name 42]", "10", DATALITH_EQUERY, "got 42"));
    CHECK(fails("[(limit :aka 0)]", "10", DATALITH_EQUERY,
                "positive limit or nil, got 0 in (limit :aka 0)"));
    CHECK(fails("[(limit :aka \"x\")]", "10", DATALITH_EQUERY, "got \"x\""));
    CHECK(fails("[(limit :aka)]", "10", DATALITH_EQUERY, "(limit :aka)"));
    CHECK(fails("[(default :aka)]", "10", DATALITH_EQUERY, "(default attr value)"));
    CHECK(fails("[[:name :as]]", "10", DATALITH_EQUERY, "[:name :as]"));
    CHECK(fails("[[:name :bogus 1]]", "10", DATALITH_EQUERY,
                "unknown attribute option :bogus"));
    CHECK(fails("[{:friend :x}]", "10", DATALITH_EQUERY,
                "value of :friend, got :x"));
    CHECK(fails("[{:friend 0}]", "10", DATALITH_EQUERY,
                "positive recursion depth or ..., got 0"));
    CHECK(fails("[{:friend [:name 1.5]}]", "10", DATALITH_EQUERY, "got 1.5"));
    CHECK(fails("[:_name]", "10", DATALITH_EQUERY,
                "reverse attribute :_name needs :name to be of :db.type/ref"));
    CHECK(fails("[(list :name)]", "10", DATALITH_EQUERY, "(list :name)"));
    CHECK(fails("[()]", "10", DATALITH_EQUERY, "empty attribute expression"));
}

/* Forms Datahike's grammar accepts that are easy to get wrong. */
TEST(grammar_corners) {
    CHECK(pulls("[]", "10", "nil"));
    CHECK(pulls("[{}]", "10", "nil"));
    CHECK(pulls("[:name {}]", "10", "{:name \"Petr\"}"));
    CHECK(pulls("[{:db/id [:name]}]", "10", "{:db/id 10}"));
    CHECK(pulls("[[:name]]", "10", "{:name \"Petr\"}"));
    CHECK(pulls("[:*]", "11", "{:db/id 11 :name \"David\" :father {:db/id 10}}"));
    CHECK(pulls("[\"*\" \"*\"]", "11", "{:db/id 11 :name \"David\" :father {:db/id 10}}"));
    CHECK(pulls("[[limit :aka 1]]", "10", "{:aka [\"Devil\"]}"));
    CHECK(pulls("[[\"limit\" :aka 1]]", "10", "{:aka [\"Devil\"]}"));
    CHECK(pulls("[[:limit :aka 1]]", "10", "{:aka [\"Devil\"]}"));
    CHECK(pulls("[[:default :age 7]]", "10", "{:age 7}"));
    /* [:limit :as "x"] is an attribute :limit with an alias, not a limit */
    CHECK(pulls("[[:limit :as \"x\"]]", "10", "nil"));
    CHECK(pulls("[:name {:friend \"...\"}]", "30",
                "{:name \"a\" :friend [{:name \"b\" :friend [{:name \"c\""
                " :friend [{:db/id 30}]}]}]}"));
    /* a map spec wins over a plain spec of the same key, wherever written */
    CHECK(pulls("[{:father [:name]} :father]", "11", "{:father {:name \"Petr\"}}"));
    CHECK(pulls("[:father {:father [:name]}]", "11", "{:father {:name \"Petr\"}}"));
}

TEST(pull_many) {
    edn_value p = rd("[:name]"), ids = rd("[10 999 [:name \"David\"]]"), got;
    CHECK_EQ_INT(dl_pull_many_value(&A, DB, &p, &ids, &got), 0);
    edn_value want = rd("[{:name \"Petr\"} nil {:name \"David\"}]");
    CHECK(edn_equal(&got, &want));
    ids = rd("[]");
    CHECK_EQ_INT(dl_pull_many_value(&A, DB, &p, &ids, &got), 0);
    CHECK(got.type == EDN_VECTOR && got.n == 0);
    ids = rd("10");
    CHECK_EQ_INT(dl_pull_many_value(&A, DB, &p, &ids, &got), DATALITH_EINVAL);
    ids = rd("[10 [:name \"Nobody\"]]");
    CHECK_EQ_INT(dl_pull_many_value(&A, DB, &p, &ids, &got), DATALITH_ENOTFOUND);
}

/* A 1500-long :father chain pulled with unbounded recursion. */
TEST(deep_chain) {
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, "[");
    for (int i = 0; i < 1500; i++)
        dl_buf_printf(&b, "{:db/id %d :age %d :father %d} ", 1000 + i, i,
                      1000 + i + 1);
    dl_buf_puts(&b, "{:db/id 2500 :age 1500}]");
    dl_buf_putc(&b, 0);
    dl_db *db = DB;
    dl_db_retain(db);
    CHECK_EQ_INT(step(&db, b.data), 0);
    dl_buf_free(&b);
    edn_value p = rd("[:age {:father ...}]"), e = edn_int(1000), got;
    CHECK_EQ_INT(dl_pull_value(&A, db, &p, &e, &got), 0);
    const edn_value *cur = &got;
    int n = 0;
    while (cur && cur->type == EDN_MAP) {
        const edn_value *age = edn_map_getk(cur, "age");
        if (!age || age->type != EDN_INT || age->u.i != n) break;
        n++;
        cur = edn_map_getk(cur, "father");
    }
    CHECK_EQ_INT(n, 1501);
    /* a depth bound stops early: 1000 →father 1001 → 1002, no more */
    p = rd("[:age {:father 2}]");
    CHECK_EQ_INT(dl_pull_value(&A, db, &p, &e, &got), 0);
    edn_value want = rd("{:age 0 :father {:age 1 :father {:age 2}}}");
    CHECK(edn_equal(&got, &want));
    dl_db_release(db);
}

/* Pull reads through the view: as-of shows the old value. */
TEST(views) {
    dl_db *db = DB, *old = NULL;
    dl_db_retain(db);
    CHECK_EQ_INT(step(&db, "[[:db/add 11 :name \"Dave\"]]"), 0);
    edn_value tp = edn_int(536870914), p = rd("[:name {:father [:name]}]");
    edn_value e = edn_int(11), got;
    CHECK_EQ_INT(dl_view_as_of(db, &tp, &old), 0);
    if (old) {
        CHECK_EQ_INT(dl_pull_value(&A, old, &p, &e, &got), 0);
        edn_value want = rd("{:name \"David\" :father {:name \"Petr\"}}");
        CHECK(edn_equal(&got, &want));
        dl_view_release(old);
    }
    CHECK_EQ_INT(dl_pull_value(&A, db, &p, &e, &got), 0);
    edn_value now = rd("{:name \"Dave\" :father {:name \"Petr\"}}");
    CHECK(edn_equal(&got, &now));
    /* history: every asserted value, retractions skipped */
    CHECK_EQ_INT(step(&db, "[[:db/retract 10 :aka \"Devil\"]]"), 0);
    dl_db *hist = NULL;
    p = rd("[:aka]");
    e = edn_int(10);
    CHECK_EQ_INT(dl_view_history(db, &hist), 0);
    if (hist) {
        CHECK_EQ_INT(dl_pull_value(&A, hist, &p, &e, &got), 0);
        edn_value all = rd("{:aka [\"Devil\" \"Tupen\"]}");
        CHECK(edn_equal(&got, &all));
        dl_view_release(hist);
    }
    CHECK_EQ_INT(dl_pull_value(&A, db, &p, &e, &got), 0);
    edn_value left = rd("{:aka [\"Tupen\"]}");
    CHECK(edn_equal(&got, &left));
    dl_db_release(db);
}

TEST(parsed_pattern_shape) {
    edn_value pv = rd("[* :name {(limit :friend 2) [:name]} [:aka :as \"A\" :default 0]"
                      " {:_child ...}]");
    dl_pull_pattern *p = NULL;
    CHECK_EQ_INT(dl_pull_parse(&A, &pv, DB, &p), 0);
    if (!p) return;
    CHECK(p->wildcard);
    CHECK_EQ_INT(p->n, 4);
    CHECK_EQ_INT(p->specs[0].kind, DL_PULL_ATTR);
    CHECK_EQ_INT(p->specs[0].limit, DL_PULL_DEFAULT_LIMIT);
    /* plain specs first, then map-spec entries */
    CHECK(p->specs[1].has_default && p->specs[1].key.type == EDN_STRING);
    CHECK_EQ_INT(p->specs[2].limit, 2);
    CHECK(p->specs[2].sub && p->specs[2].sub->n == 1);
    CHECK_EQ_INT(p->specs[3].kind, DL_PULL_REVERSE);
    CHECK_STR(p->specs[3].attr->full, "child");
    CHECK_EQ_INT(p->specs[3].recursion, DL_PULL_RECURSE_UNBOUNDED);
}

int main(void) {
    dl_arena_init(&A, 0);
    DB = test_db();
    if (!DB) return 1;
    RUN(attributes);
    RUN(db_id);
    RUN(wildcard);
    RUN(refs_and_nesting);
    RUN(reverse);
    RUN(components);
    RUN(recursion);
    RUN(limits_defaults_aliases);
    RUN(entity_ids);
    RUN(parse_errors);
    RUN(grammar_corners);
    RUN(pull_many);
    RUN(deep_chain);
    RUN(views);
    RUN(parsed_pattern_shape);
    dl_db_release(DB);
    dl_arena_free(&A);
    return test_summary();
}
