/*
** test_tx.c — the transaction layer (core/db/tx.h) against
** reference/datahike-semantics.md §0 and §4: ids, tempids, lookup refs,
** upserts, card-one supersession, redundant assertions, retractions,
** :db/cas, nested maps, tx metadata and every error text.  Expected ids are
** worked out by hand from §0: the schema transaction's attribute entities
** take eids 1, 2, …; tx ids run 536870913, 536870914, …  Entity maps are
** exploded in key order (EDN maps are sorted).  Datoms are printed as
** [e :a v tx added] with :db/txInstant datoms left out.
*/
#include "db/db_internal.h"
#include "db/tx.h"
#include "test.h"
#include "util/error.h"

#include <stdio.h>

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

static dl_db *empty_db(const char *cfg_text) {
    dl_config c;
    edn_value v = rd(cfg_text);
    dl_db *db = NULL;
    memset(&c, 0, sizeof c);
    if (dl_config_parse(&A, &v, &c) != 0 || dl_db_empty(&c, &db) != 0)
        fprintf(stderr, "bad test db %s: %s\n", cfg_text, msg());
    return db;
}

#define MEM "{:store {:backend :memory :id \"tx\"}}"
#define MEM_NOHIST "{:store {:backend :memory :id \"tx\"} :keep-history? false}"
#define MEM_READ "{:store {:backend :memory :id \"tx\"} :schema-flexibility :read}"

static const char *SCHEMA =
    "[{:db/ident :name :db/valueType :db.type/string"
    "  :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}"
    " {:db/ident :age :db/valueType :db.type/long"
    "  :db/cardinality :db.cardinality/one}"
    " {:db/ident :tags :db/valueType :db.type/string"
    "  :db/cardinality :db.cardinality/many}"
    " {:db/ident :friend :db/valueType :db.type/ref"
    "  :db/cardinality :db.cardinality/many}"
    " {:db/ident :email :db/valueType :db.type/string"
    "  :db/cardinality :db.cardinality/one :db/unique :db.unique/value}"
    " {:db/ident :part :db/valueType :db.type/ref"
    "  :db/cardinality :db.cardinality/many :db/isComponent true}"
    " {:db/ident :best :db/valueType :db.type/ref"
    "  :db/cardinality :db.cardinality/one}]";
/* so :name 1, :age 2, :tags 3, :friend 4, :email 5, :part 6, :best 7;
** first data entity 8; the schema tx is 536870913 */

static int run(dl_db *db, const char *tx, dl_tx_report *r) {
    edn_value v = rd(tx);
    return dl_tx_run(db, &v, NULL, 1000, &A, r);
}

/* Replace *db by the result of tx (which must succeed). */
static int step(dl_db **db, const char *tx, dl_tx_report *r) {
    int rc = run(*db, tx, r);
    if (rc != 0) {
        fprintf(stderr, "tx %s failed: %s\n", tx, msg());
        return rc;
    }
    dl_db_release(*db);
    *db = r->db_after;
    r->db_after = NULL;
    return 0;
}

static dl_db *schema_db(void) {
    dl_tx_report r;
    dl_db *db = empty_db(MEM);
    if (db && step(&db, SCHEMA, &r) != 0) return NULL;
    return db;
}

static bool skip(const edn_sym *a) {
    return strcmp(a->full, "db/txInstant") == 0;
}

static void put_datom(dl_buf *b, const dl_datom *d, bool full) {
    edn_value v = d->v;
    dl_buf_printf(b, "%s[%llu :%s ", b->len > 1 ? " " : "",
                  (unsigned long long)d->e, d->a->full);
    edn_write(b, &v);
    if (full)
        dl_buf_printf(b, " %llu %s", (unsigned long long)d->tx,
                      d->added ? "true" : "false");
    dl_buf_putc(b, ']');
}

/* The report's tx-data as text. */
static const char *txd(const dl_tx_report *r) {
    static char out[4096];
    dl_buf b = DL_BUF_INIT;
    dl_buf_putc(&b, '[');
    for (size_t i = 0; i < r->n_datoms; i++)
        if (!skip(r->datoms[i].a)) put_datom(&b, &r->datoms[i], true);
    dl_buf_putc(&b, ']');
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data);
    dl_buf_free(&b);
    return out;
}

/* Current datoms of entities >= from (EAVT order) as [e :a v]. */
static const char *cur(const dl_db *db, uint64_t from) {
    static char out[4096];
    dl_buf b = DL_BUF_INIT;
    bt_cursor *c;
    dl_datom k = {.e = from};
    dl_buf_putc(&b, '[');
    if (bt_cursor_open(&db->idx[DL_EAVT], &c) == 0) {
        bt_cursor_seek(c, &k, 1, 0);
        while (bt_cursor_valid(c)) {
            dl_datom d;
            bt_cursor_get(c, &d);
            if (d.e >= DL_TX0) break;
            put_datom(&b, &d, false);
            bt_cursor_next(c);
        }
        bt_cursor_close(c);
    }
    dl_buf_putc(&b, ']');
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data);
    dl_buf_free(&b);
    return out;
}

static const char *pr(const edn_value *v) {
    static char out[1024];
    dl_buf b = DL_BUF_INIT;
    edn_write(&b, v);
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data ? b.data : "");
    dl_buf_free(&b);
    return out;
}

/* Expect tx to fail on db with code and exact message. */
#define FAILS(db, tx, code, text)                                            \
    do {                                                                     \
        dl_tx_report r_;                                                     \
        CHECK_EQ_INT(run((db), (tx), &r_), (code));                          \
        CHECK_STR(msg(), (text));                                            \
        CHECK(r_.db_after == NULL);                                          \
    } while (0)

/* ---- ids (§0) ---- */

TEST(schema_entities_consume_eids) {
    dl_tx_report r;
    dl_db *db = empty_db(MEM);
    CHECK_EQ_INT(step(&db, SCHEMA, &r), 0);
    CHECK_EQ_INT(r.tx, 536870913);
    CHECK_STR(pr(&r.tempids), "{:db/current-tx 536870913}");
    CHECK_EQ_INT(db->max_eid, 7);
    CHECK_EQ_INT(db->max_tx, 536870913);
    CHECK_STR(cur(db, 1),
              "[[1 :db/cardinality :db.cardinality/one] [1 :db/ident :name]"
              " [1 :db/unique :db.unique/identity]"
              " [1 :db/valueType :db.type/string]"
              " [2 :db/cardinality :db.cardinality/one] [2 :db/ident :age]"
              " [2 :db/valueType :db.type/long]"
              " [3 :db/cardinality :db.cardinality/many] [3 :db/ident :tags]"
              " [3 :db/valueType :db.type/string]"
              " [4 :db/cardinality :db.cardinality/many]"
              " [4 :db/ident :friend] [4 :db/valueType :db.type/ref]"
              " [5 :db/cardinality :db.cardinality/one] [5 :db/ident :email]"
              " [5 :db/unique :db.unique/value]"
              " [5 :db/valueType :db.type/string]"
              " [6 :db/cardinality :db.cardinality/many] [6 :db/ident :part]"
              " [6 :db/isComponent true] [6 :db/valueType :db.type/ref]"
              " [7 :db/cardinality :db.cardinality/one] [7 :db/ident :best]"
              " [7 :db/valueType :db.type/ref]]");
    CHECK(dl_schema_attr(db->schema, edn_intern_full("age", 3)) != NULL);
    CHECK_EQ_INT(step(&db, "[{:name \"Alice\" :age 30}]", &r), 0);
    CHECK_EQ_INT(r.tx, 536870914);
    CHECK_STR(txd(&r), "[[8 :age 30 536870914 true]"
                       " [8 :name \"Alice\" 536870914 true]]");
    CHECK_EQ_INT(db->max_eid, 8);
    dl_db_release(db);
}

TEST(explicit_id_advances_max_eid) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db, "[{:db/id 100 :age 1} [:db/add 50 :age 2]]", &r),
                 0);
    CHECK_EQ_INT(db->max_eid, 100);
    CHECK_EQ_INT(step(&db, "[{:age 3}]", &r), 0);
    CHECK_STR(txd(&r), "[[101 :age 3 536870915 true]]");
    /* a tx id as entity never advances max-eid */
    CHECK_EQ_INT(step(&db, "[[:db/add 536870913 :age 4]]", &r), 0);
    CHECK_EQ_INT(db->max_eid, 101);
    dl_db_release(db);
}

TEST(tempids_strings_and_negatives) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db,
                      "[{:db/id \"a\" :age 1} [:db/add -1 :age 2]"
                      " [:db/add \"a\" :tags \"x\"] [:db/add -1 :friend \"a\"]"
                      " [:db/add \"c\" :friend \"b\"]]",
                      &r),
                 0);
    /* "a" -> 8, -1 -> 9, "b" (ref value) -> 10, "c" -> 11 */
    CHECK_STR(pr(&r.tempids),
              "{:db/current-tx 536870914 -1 9 \"a\" 8 \"b\" 10 \"c\" 11}");
    CHECK_STR(txd(&r), "[[8 :age 1 536870914 true] [9 :age 2 536870914 true]"
                       " [8 :tags \"x\" 536870914 true]"
                       " [9 :friend 8 536870914 true]"
                       " [11 :friend 10 536870914 true]]");
    CHECK_EQ_INT(db->max_eid, 11);
    dl_db_release(db);
}

TEST(current_tx_forms) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db,
                      "[[:db/add :db/current-tx :age 1]"
                      " [:db/add \"datomic.tx\" :tags \"t\"]"
                      " {:db/id \"datahike.tx\" :email \"e\"}"
                      " [:db/add \"x\" :best :db/current-tx]]",
                      &r),
                 0);
    CHECK_STR(pr(&r.tempids),
              "{:db/current-tx 536870914 \"datahike.tx\" 536870914"
              " \"datomic.tx\" 536870914 \"x\" 8}");
    CHECK_STR(txd(&r), "[[536870914 :age 1 536870914 true]"
                       " [536870914 :tags \"t\" 536870914 true]"
                       " [536870914 :email \"e\" 536870914 true]"
                       " [8 :best 536870914 536870914 true]]");
    CHECK_EQ_INT(db->max_eid, 8);
    dl_db_release(db);
}

/* ---- adds, supersession, redundancy ---- */

TEST(card_one_supersession_and_redundant) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db, "[{:db/id 8 :age 30 :tags [\"a\" \"b\"]}]", &r), 0);
    CHECK_EQ_INT(step(&db, "[[:db/add 8 :age 31]]", &r), 0);
    CHECK_STR(txd(&r), "[[8 :age 30 536870915 false]"
                       " [8 :age 31 536870915 true]]");
    CHECK_EQ_INT(step(&db, "[[:db/add 8 :age 31] {:db/id 8 :tags #{\"a\"}}]",
                      &r),
                 0);
    CHECK_STR(txd(&r), "[]");
    CHECK_STR(cur(db, 8), "[[8 :age 31] [8 :tags \"a\"] [8 :tags \"b\"]]");
    /* a redundant re-assertion keeps the original tx */
    {
        bt_cursor *c;
        dl_datom k = {.e = 8}, d;
        CHECK_EQ_INT(bt_cursor_open(&db->idx[DL_EAVT], &c), 0);
        bt_cursor_seek(c, &k, 1, 0);
        bt_cursor_get(c, &d);
        CHECK_EQ_INT(d.tx, 536870915);
        bt_cursor_close(c);
    }
    dl_db_release(db);
}

TEST(retract_forms) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db, "[{:db/id 8 :age 30 :tags [\"a\" \"b\" \"c\"]}]",
                      &r), 0);
    CHECK_EQ_INT(step(&db, "[[:db/retract 8 :tags \"b\"]"
                           " [:db/retract 8 :tags \"zzz\"]"
                           " [:db/retract 99 :age 1]]", &r), 0);
    CHECK_STR(txd(&r), "[[8 :tags \"b\" 536870915 false]]");
    CHECK_EQ_INT(step(&db, "[[:db/retract 8 :tags]]", &r), 0);
    CHECK_STR(txd(&r), "[[8 :tags \"a\" 536870916 false]"
                       " [8 :tags \"c\" 536870916 false]]");
    CHECK_EQ_INT(step(&db, "[[:db.fn/retractAttribute 8 :age]]", &r), 0);
    CHECK_STR(txd(&r), "[[8 :age 30 536870917 false]]");
    CHECK_STR(cur(db, 8), "[]");
    dl_db_release(db);
}

TEST(retract_entity_refs_and_components) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db,
                      "[{:db/id 8 :name \"root\" :part [{:age 1} {:age 2"
                      " :part {:age 3}}]} {:db/id 20 :friend 8 :best 8}]",
                      &r),
                 0);
    /* children: {:age 1} -> 9, {:age 2 ...} -> 10, its child -> 11 */
    CHECK_STR(cur(db, 8),
              "[[8 :name \"root\"] [8 :part 9] [8 :part 10] [9 :age 1]"
              " [10 :age 2] [10 :part 11] [11 :age 3] [20 :best 8]"
              " [20 :friend 8]]");
    CHECK_EQ_INT(step(&db, "[[:db/retractEntity 8]]", &r), 0);
    CHECK_STR(cur(db, 8), "[]");
    CHECK_STR(txd(&r), "[[8 :name \"root\" 536870915 false]"
                       " [8 :part 9 536870915 false]"
                       " [8 :part 10 536870915 false]"
                       " [20 :best 8 536870915 false]"
                       " [20 :friend 8 536870915 false]"
                       " [9 :age 1 536870915 false]"
                       " [10 :age 2 536870915 false]"
                       " [10 :part 11 536870915 false]"
                       " [11 :age 3 536870915 false]]");
    CHECK_EQ_INT(step(&db, "[[:db.fn/retractEntity 77]]", &r), 0);
    CHECK_STR(txd(&r), "[]");
    dl_db_release(db);
}

TEST(cas) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db, "[[:db/cas 8 :age nil 1]]", &r), 0);
    CHECK_STR(txd(&r), "[[8 :age 1 536870914 true]]");
    CHECK_EQ_INT(step(&db, "[[:db.fn/cas 8 :age 1 2]]", &r), 0);
    CHECK_STR(txd(&r), "[[8 :age 1 536870915 false]"
                       " [8 :age 2 536870915 true]]");
    FAILS(db, "[[:db/cas 8 :age 1 3]]", DATALITH_ETX,
          ":db.fn/cas failed on datom [8 :age 2], expected 1");
    FAILS(db, "[[:db/cas 9 :age 1 3]]", DATALITH_ETX,
          ":db.fn/cas failed on datom [9 :age ], expected 1");
    CHECK_EQ_INT(step(&db, "[[:db/add 8 :tags \"a\"] [:db/add 8 :tags \"b\"]]",
                      &r), 0);
    CHECK_EQ_INT(step(&db, "[[:db/cas 8 :tags \"b\" \"c\"]]", &r), 0);
    CHECK_STR(txd(&r), "[[8 :tags \"c\" 536870917 true]]");
    FAILS(db, "[[:db/cas 8 :tags \"q\" \"d\"]]", DATALITH_ETX,
          ":db.fn/cas failed on datom [8 :tags (\"a\" \"b\" \"c\")],"
          " expected q");
    dl_db_release(db);
}

/* ---- lookup refs and idents ---- */

TEST(lookup_refs) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db, "[{:name \"A\"} {:name \"B\"}]", &r), 0);
    CHECK_EQ_INT(step(&db,
                      "[[:db/add [:name \"A\"] :age 5]"
                      " {:db/id [:name \"B\"] :friend [:name \"A\"]}"
                      " [:db/add 8 :best [:name \"B\"]]]",
                      &r),
                 0);
    CHECK_STR(txd(&r), "[[8 :age 5 536870915 true]"
                       " [9 :friend 8 536870915 true]"
                       " [8 :best 9 536870915 true]]");
    /* a 2-element identity vector on a card-many ref is one lookup ref */
    CHECK_EQ_INT(step(&db, "[{:db/id 8 :friend [:name \"B\"]}]", &r), 0);
    CHECK_STR(txd(&r), "[[8 :friend 9 536870916 true]]");
    FAILS(db, "[[:db/add [:age 5] :tags \"x\"]]", DATALITH_ETX,
          "Lookup ref attribute should be marked as :db/unique: [:age 5]");
    FAILS(db, "[[:db/add [:name \"A\" 1] :tags \"x\"]]", DATALITH_ETX,
          "Lookup ref should contain 2 elements: [:name \"A\" 1]");
    FAILS(db, "[[:db/add [:name \"Z\"] :tags \"x\"]]", DATALITH_ETX,
          "Nothing found for entity id [:name \"Z\"]");
    FAILS(db, "[{:db/id [:name \"Z\"] :tags \"x\"}]", DATALITH_ETX,
          "Nothing found for entity id [:name \"Z\"]");
    FAILS(db, "[[:db/add 8 :best [:name \"Z\"]]]", DATALITH_ETX,
          "Nothing found for entity id [:name \"Z\"]");
    CHECK_EQ_INT(step(&db, "[[:db/retract [:name \"Z\"] :age 5]"
                           " [:db/retractEntity [:name \"Z\"]]]", &r), 0);
    CHECK_STR(txd(&r), "[]");
    dl_db_release(db);
}

TEST(idents) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db, "[{:db/ident :red} [:db/add \"x\" :best :red]]",
                      &r), 0);
    CHECK_STR(txd(&r), "[[8 :db/ident :red 536870914 true]"
                       " [9 :best 8 536870914 true]]");
    CHECK_EQ_INT(step(&db, "[[:db/add :red :tags \"r\"] {:db/id :red :age 1}]",
                      &r), 0);
    CHECK_STR(txd(&r), "[[8 :tags \"r\" 536870915 true]"
                       " [8 :age 1 536870915 true]]");
    FAILS(db, "[[:db/add :blue :age 1]]", DATALITH_ETX,
          "Nothing found for entity id :blue");
    dl_db_release(db);
}

/* ---- upsert and uniqueness ---- */

TEST(upsert) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db, "[{:name \"A\" :age 1} {:name \"B\"}]", &r), 0);
    CHECK_EQ_INT(step(&db, "[{:name \"A\" :age 2}]", &r), 0);
    CHECK_STR(txd(&r), "[[8 :age 1 536870915 false]"
                       " [8 :age 2 536870915 true]]");
    /* a tempid upserts to the existing entity */
    CHECK_EQ_INT(step(&db, "[{:db/id \"t\" :name \"B\" :age 7}]", &r), 0);
    CHECK_STR(pr(&r.tempids), "{:db/current-tx 536870916 \"t\" 9}");
    /* a tempid first allocated, then upserted: the tx is re-run */
    CHECK_EQ_INT(step(&db, "[[:db/add -1 :age 3] [:db/add -1 :name \"A\"]]",
                      &r), 0);
    CHECK_STR(pr(&r.tempids), "{:db/current-tx 536870917 -1 8}");
    CHECK_STR(txd(&r), "[[8 :age 2 536870917 false]"
                       " [8 :age 3 536870917 true]]");
    CHECK_EQ_INT(db->max_eid, 9);
    FAILS(db, "[{:db/id 9 :name \"A\"}]", DATALITH_ETX,
          "Conflicting upsert: [:name \"A\"] resolves to 8, but entity"
          " already has :db/id 9");
    dl_db_release(db);
}

TEST(upsert_conflicts) {
    dl_tx_report r;
    dl_db *db = empty_db(MEM);
    CHECK_EQ_INT(step(&db,
                      "[{:db/ident :name :db/valueType :db.type/string"
                      "  :db/cardinality :db.cardinality/one"
                      "  :db/unique :db.unique/identity}"
                      " {:db/ident :nick :db/valueType :db.type/string"
                      "  :db/cardinality :db.cardinality/one"
                      "  :db/unique :db.unique/identity}]",
                      &r),
                 0);
    CHECK_EQ_INT(step(&db, "[{:name \"A\"} {:nick \"b\"}]", &r), 0);
    FAILS(db, "[{:name \"A\" :nick \"b\"}]", DATALITH_ETX,
          "Conflicting upserts: [:name \"A\"] resolves to 3, but"
          " [:nick \"b\"] resolves to 4");
    dl_db_release(db);
}

TEST(unique_value) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db, "[{:db/id 8 :email \"e\"}]", &r), 0);
    FAILS(db, "[{:email \"e\"}]", DATALITH_ETX,
          "Cannot add #datahike/Datom [9 :email \"e\" 536870915 true] because"
          " of unique constraint: (#datahike/Datom [8 :email \"e\" 536870914"
          " true])");
    /* the same entity re-asserting its own value is redundant */
    CHECK_EQ_INT(step(&db, "[{:db/id 8 :email \"e\"}]", &r), 0);
    CHECK_STR(txd(&r), "[]");
    dl_db_release(db);
}

/* ---- maps ---- */

TEST(nested_and_reverse) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db,
                      "[{:db/id \"p\" :name \"P\" :best {:name \"C\"}"
                      "  :_friend [{:name \"F\"}]}]",
                      &r),
                 0);
    /* "p" -> 8; keys in order :_friend, :best, :name; the :_friend child is
    ** exploded first (9), then the :best child (10) */
    CHECK_STR(pr(&r.tempids), "{:db/current-tx 536870914 \"p\" 8}");
    CHECK_STR(cur(db, 8), "[[8 :best 10] [8 :name \"P\"] [9 :friend 8]"
                          " [9 :name \"F\"] [10 :name \"C\"]]");
    CHECK_EQ_INT(step(&db, "[{:db/id 8 :_friend 10}]", &r), 0);
    CHECK_STR(txd(&r), "[[10 :friend 8 536870915 true]]");
    FAILS(db, "[{:db/id 8 :_age 1}]", DATALITH_ETX,
          "Bad attribute :_age: reverse attribute name requires"
          " {:db/valueType :db.type/ref} in schema");
    dl_db_release(db);
}

/* ---- errors ---- */

TEST(syntax_errors) {
    dl_db *db = schema_db();
    FAILS(db, "{:age 1}", DATALITH_ETX,
          "Bad transaction data {:age 1}, expected sequential collection");
    FAILS(db, "[42]", DATALITH_ETX,
          "Bad entity type at 42, expected map, vector, or datom");
    FAILS(db, "[[:db/retract -1 :age 1]]", DATALITH_ETX,
          "Tempids are allowed in :db/add only");
    FAILS(db, "[[:db/retractEntity \"x\"]]", DATALITH_ETX,
          "Tempids are allowed in :db/add only");
    FAILS(db, "[[:db/add 8 :age nil]]", DATALITH_ETX,
          "Cannot store nil as a value at [:db/add 8 :age nil]");
    FAILS(db, "[[:db/add 8 :height 1]]", DATALITH_ESCHEMA,
          "Bad entity attribute :height at [:db/add 8 :height 1], not"
          " defined in current schema");
    /* the text is schema.c's (dl_schema_check_value) */
    FAILS(db, "[[:db/add 8 :age \"x\"]]", DATALITH_ESCHEMA,
          "Bad entity value \"x\" at [:db/add 8 :age \"x\"], value does not"
          " match schema definition. Must be conform to: long?");
    FAILS(db, "[[:db.fn/call inc 1]]", DATALITH_EUNSUPPORTED,
          "Transaction functions are not supported: [:db.fn/call inc 1]");
    FAILS(db, "[[:db.purge/entity [:name \"nobody\"]]]", DATALITH_ETX,
          "Can't find entity with ID [:name \"nobody\"] to be purged");
    dl_db_release(db);
    db = empty_db(MEM_NOHIST);
    FAILS(db, "[[:db/purge 8 :age 1]]", DATALITH_ETX,
          "Purge is only available in temporal databases.");
    FAILS(db, "[[:db.purge/attribute 8 :age]]", DATALITH_ETX,
          "Purge attribute is only available in temporal databases.");
    FAILS(db, "[[:db.purge/entity 8]]", DATALITH_ETX,
          "Purge entity is only available in temporal databases.");
    dl_db_release(db);
}

TEST(schema_errors) {
    dl_tx_report r;
    dl_db *db = schema_db();
    FAILS(db, "[{:db/ident :x :db/valueType :db.type/string}]",
          DATALITH_ESCHEMA,
          "Incomplete schema transaction attributes, expected :db/ident,"
          " :db/valueType, :db/cardinality");
    /* a definition map with an existing ident upserts to its entity; a
    ** type change is refused once the attribute holds datoms */
    CHECK_EQ_INT(step(&db, "[{:db/id 8 :age 1}]", &r), 0);
    FAILS(db, "[{:db/ident :age :db/valueType :db.type/string"
              " :db/cardinality :db.cardinality/one}]",
          DATALITH_ESCHEMA,
          "Schema change on :age requires the attribute to be unused, but it"
          " has existing (or history) datoms. Migrate the data to a new"
          " attribute instead.");
    CHECK_EQ_INT(step(&db, "[{:db/ident :age :db/doc \"years\"}]", &r), 0);
    CHECK_STR(txd(&r), "[[2 :db/doc \"years\" 536870915 true]]");
    /* schema and data in one transaction */
    CHECK_EQ_INT(step(&db, "[{:db/ident :h :db/valueType :db.type/long"
                           " :db/cardinality :db.cardinality/one} {:h 1}]",
                      &r), 0);
    CHECK_STR(txd(&r), "[[9 :db/cardinality :db.cardinality/one 536870916"
                       " true] [9 :db/ident :h 536870916 true]"
                       " [9 :db/valueType :db.type/long 536870916 true]"
                       " [10 :h 1 536870916 true]]");
    dl_db_release(db);
}

TEST(schema_on_read) {
    dl_tx_report r;
    dl_db *db = empty_db(MEM_READ);
    CHECK_EQ_INT(step(&db, "[{:anything \"x\" :n 1} [:db/add 1 :n 2]]", &r), 0);
    CHECK_STR(txd(&r), "[[1 :anything \"x\" 536870913 true]"
                       " [1 :n 1 536870913 true] [1 :n 1 536870913 false]"
                       " [1 :n 2 536870913 true]]");
    CHECK_STR(cur(db, 1), "[[1 :anything \"x\"] [1 :n 2]]");
    FAILS(db, "[[:db/add 1 :n nil]]", DATALITH_ETX,
          "Cannot store nil as a value at [:db/add 1 :n nil]");
    dl_db_release(db);
}

/* ---- tx instant and metadata ---- */

TEST(tx_instant_and_meta) {
    dl_tx_report r;
    dl_db *db = schema_db();
    edn_value tx = rd("[[:db/add 8 :age 1]]");
    edn_value meta = rd("{:tags \"import\"}");
    edn_value own = rd("{:db/txInstant #inst \"2020-01-01T00:00:00.000-00:00\"}");
    /* schema tx ran at now=1000 */
    CHECK_EQ_INT(db->last_tx_instant, 1000);
    CHECK_EQ_INT(dl_tx_run(db, &tx, &meta, 500, &A, &r), 0);
    CHECK_EQ_INT(r.tx_instant, 1001);
    CHECK_STR(txd(&r), "[[8 :age 1 536870914 true]"
                       " [536870914 :tags \"import\" 536870914 true]]");
    CHECK_STR(pr(&r.tx_meta), "{:tags \"import\" :db/txInstant"
                              " #inst \"1970-01-01T00:00:01.001-00:00\"}");
    CHECK(r.datoms[0].a == edn_intern_full("db/txInstant", 12));
    CHECK_EQ_INT(r.datoms[0].e, 536870914);
    dl_tx_report_release(&r);
    CHECK_EQ_INT(dl_tx_run(db, &tx, NULL, 5000, &A, &r), 0);
    CHECK_EQ_INT(r.tx_instant, 5000);
    dl_tx_report_release(&r);
    CHECK_EQ_INT(dl_tx_run(db, &tx, &own, 5000, &A, &r), 0);
    CHECK_EQ_INT(r.tx_instant, 1577836800000LL);
    dl_tx_report_release(&r);
    dl_db_release(db);
    /* without history tx-meta is not written */
    db = empty_db(MEM_NOHIST);
    tx = rd("[{:db/ident :tags :db/valueType :db.type/string"
            " :db/cardinality :db.cardinality/many}]");
    CHECK_EQ_INT(dl_tx_run(db, &tx, &meta, 1, &A, &r), 0);
    CHECK_EQ_INT(r.n_datoms, 4); /* txInstant + three schema datoms */
    dl_tx_report_release(&r);
    dl_db_release(db);
}

/* ---- composite tuples (§3 "Composite tuple", §16 item 3) ---- */

static const char *TUPLE_SCHEMA =
    "[{:db/ident :a :db/valueType :db.type/string"
    "  :db/cardinality :db.cardinality/one}"
    " {:db/ident :b :db/valueType :db.type/long"
    "  :db/cardinality :db.cardinality/one}"
    " {:db/ident :c :db/valueType :db.type/keyword"
    "  :db/cardinality :db.cardinality/one}"
    " {:db/ident :a+b+c :db/valueType :db.type/tuple"
    "  :db/tupleAttrs [:a :b :c] :db/cardinality :db.cardinality/one"
    "  :db/unique :db.unique/identity}]";
/* :a 1, :b 2, :c 3, :a+b+c 4; first data entity 5; schema tx 536870913 */

TEST(composite_tuples_follow_components) {
    dl_tx_report r;
    dl_db *db = empty_db(MEM);
    CHECK_EQ_INT(step(&db, TUPLE_SCHEMA, &r), 0);
    /* one map, two components: a single tuple datom after the others */
    CHECK_EQ_INT(step(&db, "[{:db/id \"e\" :a \"x\" :c :k}]", &r), 0);
    CHECK_STR(txd(&r), "[[5 :a \"x\" 536870914 true]"
                       " [5 :c :k 536870914 true]"
                       " [5 :a+b+c [\"x\" nil :k] 536870914 true]]");
    CHECK_STR(cur(db, 5), "[[5 :a \"x\"] [5 :a+b+c [\"x\" nil :k]] [5 :c :k]]");
    /* filling the missing slot supersedes the old tuple value */
    CHECK_EQ_INT(step(&db, "[[:db/add 5 :b 7]]", &r), 0);
    CHECK_STR(txd(&r), "[[5 :b 7 536870915 true]"
                       " [5 :a+b+c [\"x\" nil :k] 536870915 false]"
                       " [5 :a+b+c [\"x\" 7 :k] 536870915 true]]");
    /* a redundant component assertion leaves the tuple alone */
    CHECK_EQ_INT(step(&db, "[[:db/add 5 :b 7]]", &r), 0);
    CHECK_STR(txd(&r), "[]");
    /* change and change back within one transaction: no net tuple change */
    CHECK_EQ_INT(step(&db, "[[:db/add 5 :b 8] [:db/add 5 :b 7]]", &r), 0);
    CHECK_STR(txd(&r), "[[5 :b 7 536870917 false] [5 :b 8 536870917 true]"
                       " [5 :b 8 536870917 false] [5 :b 7 536870917 true]]");
    /* :db/cas on a component */
    CHECK_EQ_INT(step(&db, "[[:db/cas 5 :b 7 9]]", &r), 0);
    CHECK_STR(txd(&r), "[[5 :b 7 536870918 false] [5 :b 9 536870918 true]"
                       " [5 :a+b+c [\"x\" 7 :k] 536870918 false]"
                       " [5 :a+b+c [\"x\" 9 :k] 536870918 true]]");
    /* retracting every component retracts the tuple */
    CHECK_EQ_INT(step(&db, "[[:db/retract 5 :a \"x\"] [:db/retract 5 :b 9]"
                           " [:db.fn/retractAttribute 5 :c]]",
                      &r),
                 0);
    CHECK_STR(txd(&r), "[[5 :a \"x\" 536870919 false]"
                       " [5 :b 9 536870919 false]"
                       " [5 :c :k 536870919 false]"
                       " [5 :a+b+c [\"x\" 9 :k] 536870919 false]]");
    CHECK_STR(cur(db, 5), "[]");
    dl_db_release(db);
}

TEST(composite_tuples_schema_in_same_tx_and_retract_entity) {
    dl_tx_report r;
    dl_db *db = empty_db(MEM);
    char tx[1024];
    snprintf(tx, sizeof tx, "%.*s [:db/add 10 :b 1]]",
             (int)strlen(TUPLE_SCHEMA) - 1, TUPLE_SCHEMA);
    CHECK_EQ_INT(step(&db, tx, &r), 0);
    CHECK_STR(cur(db, 10), "[[10 :a+b+c [nil 1 nil]] [10 :b 1]]");
    CHECK_EQ_INT(step(&db, "[[:db/retractEntity 10]]", &r), 0);
    CHECK_STR(txd(&r), "[[10 :a+b+c [nil 1 nil] 536870914 false]"
                       " [10 :b 1 536870914 false]]");
    CHECK_STR(cur(db, 10), "[]");
    dl_db_release(db);
}

TEST(composite_tuples_unique_and_direct_writes) {
    dl_tx_report r;
    dl_db *db = empty_db(MEM);
    CHECK_EQ_INT(step(&db, TUPLE_SCHEMA, &r), 0);
    CHECK_EQ_INT(step(&db, "[[:db/add 5 :a \"x\"] [:db/add 5 :b 1]]", &r), 0);
    FAILS(db, "[[:db/add 6 :a \"x\"] [:db/add 6 :b 1]]", DATALITH_ETX,
          "Cannot add #datahike/Datom [6 :a+b+c [\"x\" 1 nil] 536870915 "
          "true] because of unique constraint: (#datahike/Datom [5 :a+b+c "
          "[\"x\" 1 nil] 536870914 true])");
    FAILS(db, "[[:db/add 6 :a+b+c [\"y\" 1 nil]]]", DATALITH_ESCHEMA,
          "Can\xE2\x80\x99t modify tuple attrs directly: "
          "[:db/add 6 :a+b+c [\"y\" 1 nil]]");
    /* the failed transactions left nothing behind */
    CHECK_STR(cur(db, 5), "[[5 :a \"x\"] [5 :a+b+c [\"x\" 1 nil]] [5 :b 1]]");
    /* a write equal to the derived value is a no-op, so the identity
    ** composite upserts a tempid onto entity 5 */
    CHECK_EQ_INT(step(&db, "[{:db/id \"t\" :a+b+c [\"x\" 1 nil] :c :z}]", &r),
                 0);
    CHECK_STR(txd(&r), "[[5 :c :z 536870915 true]"
                       " [5 :a+b+c [\"x\" 1 nil] 536870915 false]"
                       " [5 :a+b+c [\"x\" 1 :z] 536870915 true]]");
    CHECK_STR(cur(db, 5), "[[5 :a \"x\"] [5 :a+b+c [\"x\" 1 :z]] [5 :b 1]"
                          " [5 :c :z]]");
    dl_db_release(db);
}

/* ---- purge (§4): trees and hash ---- */

/* The hash over the current datoms, computed from scratch. */
static uint64_t hash_of(const dl_db *db) {
    uint64_t h = 0;
    bt_cursor *c;
    if (bt_cursor_open(&db->idx[DL_EAVT], &c) != 0) return 0;
    bt_cursor_first(c);
    while (bt_cursor_valid(c)) {
        dl_datom d;
        bt_cursor_get(c, &d);
        h += dl_datom_hash(&d);
        bt_cursor_next(c);
    }
    bt_cursor_close(c);
    return h;
}

static uint64_t count_e(const dl_db *db, dl_index o, uint64_t e) {
    uint64_t n = 0;
    bt_cursor *c;
    if (bt_cursor_open(&db->idx[o], &c) != 0) return 0;
    bt_cursor_first(c);
    while (bt_cursor_valid(c)) {
        dl_datom d;
        bt_cursor_get(c, &d);
        if (d.e == e || (d.a && (strcmp(d.a->full, "friend") == 0 ||
                                 strcmp(d.a->full, "best") == 0) &&
                         d.v.type == EDN_INT && (uint64_t)d.v.u.i == e))
            n++;
        bt_cursor_next(c);
    }
    bt_cursor_close(c);
    return n;
}

TEST(purge_clears_every_tree_and_keeps_the_hash) {
    dl_tx_report r;
    dl_db *db = schema_db();
    CHECK_EQ_INT(step(&db, "[{:db/id 8 :name \"A\" :age 1 :tags [\"x\"]}"
                           " {:db/id 9 :name \"B\" :friend [8] :best 8}]",
                      &r), 0);
    CHECK_EQ_INT(step(&db, "[[:db/add 8 :age 2] [:db/retract 8 :tags \"x\"]]",
                      &r), 0);
    CHECK(count_e(db, DL_TEAVT, 8) > 0);
    CHECK_EQ_INT(step(&db, "[[:db.purge/entity 8]]", &r), 0);
    /* only the tx instant datom is reported */
    CHECK_STR(txd(&r), "[]");
    for (int t = 0; t < DL_INDEX_COUNT; t++) CHECK_EQ_INT(count_e(db, t, 8), 0);
    CHECK_STR(cur(db, 8), "[[9 :name \"B\"]]");
    CHECK(db->hash == hash_of(db));
    /* purging what is not there changes nothing but adds the tx instant */
    CHECK_EQ_INT(step(&db, "[[:db/purge 9 :age 7]]", &r), 0);
    CHECK_STR(cur(db, 8), "[[9 :name \"B\"]]");
    CHECK(hash_of(db) == db->hash);
    dl_db_release(db);
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(schema_entities_consume_eids);
    RUN(explicit_id_advances_max_eid);
    RUN(tempids_strings_and_negatives);
    RUN(current_tx_forms);
    RUN(card_one_supersession_and_redundant);
    RUN(retract_forms);
    RUN(retract_entity_refs_and_components);
    RUN(cas);
    RUN(lookup_refs);
    RUN(idents);
    RUN(upsert);
    RUN(upsert_conflicts);
    RUN(unique_value);
    RUN(nested_and_reverse);
    RUN(syntax_errors);
    RUN(schema_errors);
    RUN(schema_on_read);
    RUN(tx_instant_and_meta);
    RUN(composite_tuples_follow_components);
    RUN(composite_tuples_schema_in_same_tx_and_retract_entity);
    RUN(composite_tuples_unique_and_direct_writes);
    RUN(purge_clears_every_tree_and_keeps_the_hash);
    dl_arena_free(&A);
    return test_summary();
}
