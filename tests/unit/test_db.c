/*
** test_db.c — database values and connections (core/db/db.h): dl_db_empty,
** dl_db_apply (index membership, history, hashing, structural sharing),
** create/exists/delete/connect, commits and snapshots across connections,
** the writer lock, and commits through a fault-injecting store.
*/
#include "db/db.h"
#include "store/object.h"
#include "store/store_fault.h"
#include "test.h"
#include "util/error.h"

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static dl_arena A;

static edn_value rd(const char *s) {
    edn_value v;
    if (edn_read(&A, s, strlen(s), NULL, &v) != 0) {
        fprintf(stderr, "bad test literal %s: %s\n", s, dl_err_last()->message);
        return edn_nil();
    }
    return v;
}

static const edn_sym *S(const char *full) {
    return edn_intern_full(full, strlen(full));
}

static const char *msg(void) { return dl_err_last()->message; }

static dl_config cfg_of(const char *edn) {
    dl_config c;
    edn_value v = rd(edn);
    memset(&c, 0, sizeof c);
    if (dl_config_parse(&A, &v, &c) != 0)
        fprintf(stderr, "bad test config %s: %s\n", edn, msg());
    return c;
}

#define TX1 (DL_TX0 + 1)
#define TX2 (DL_TX0 + 2)
#define TX3 (DL_TX0 + 3)

/* Schema entities 100.. : :name string indexed, :age long, :friend ref,
** :tag string many noHistory, :email string unique identity. */
static dl_schema *test_schema(const dl_schema *base) {
    static const char *defs =
        "[[100 :db/ident :name] [100 :db/valueType :db.type/string]"
        " [100 :db/cardinality :db.cardinality/one] [100 :db/index true]"
        " [101 :db/ident :age] [101 :db/valueType :db.type/long]"
        " [101 :db/cardinality :db.cardinality/one]"
        " [102 :db/ident :friend] [102 :db/valueType :db.type/ref]"
        " [102 :db/cardinality :db.cardinality/many]"
        " [103 :db/ident :tag] [103 :db/valueType :db.type/string]"
        " [103 :db/cardinality :db.cardinality/many] [103 :db/noHistory true]"
        " [104 :db/ident :email] [104 :db/valueType :db.type/string]"
        " [104 :db/cardinality :db.cardinality/one]"
        " [104 :db/unique :db.unique/identity]]";
    dl_schema_builder *b;
    dl_schema *out = NULL;
    edn_value d = rd(defs);
    if (dl_schema_edit(base, &b) != 0) return NULL;
    for (uint32_t i = 0; i < d.n; i++) {
        const edn_value *t = d.u.items[i].u.items;
        if (dl_schema_builder_assert(b, (uint64_t)t[0].u.i, t[1].u.sym,
                                     &t[2]) != 0) {
            fprintf(stderr, "schema: %s\n", msg());
            dl_schema_builder_free(b);
            return NULL;
        }
    }
    if (dl_schema_builder_finish(b, &out) != 0) return NULL;
    return out;
}

/* Changes from "[[e :a v tx added] …]" (allocated in A). */
static dl_change *changes(const char *edn, size_t *n) {
    edn_value d = rd(edn);
    dl_change *c = dl_arena_calloc(&A, d.n + 1, sizeof *c);
    for (uint32_t i = 0; i < d.n; i++) {
        const edn_value *t = d.u.items[i].u.items;
        c[i].d.e = (uint64_t)t[0].u.i;
        c[i].d.a = t[1].u.sym;
        c[i].d.v = t[2];
        c[i].d.tx = (uint64_t)t[3].u.i;
        c[i].d.added = t[4].u.b;
    }
    *n = d.n;
    return c;
}

/* The tree as "[e :a v tx added]…" in index order (tx as an offset from
** DL_TX0 to keep expectations short). */
static const char *dump(const bt_tree *t) {
    static char out[8192];
    dl_buf b = DL_BUF_INIT;
    bt_cursor *c;
    out[0] = 0;
    if (bt_cursor_open(t, &c) != 0) return "<cursor error>";
    for (bt_cursor_first(c); bt_cursor_valid(c); bt_cursor_next(c)) {
        dl_datom d;
        bt_cursor_get(c, &d);
        dl_buf_printf(&b, "[%llu :%s ", (unsigned long long)d.e, d.a->full);
        edn_write(&b, &d.v);
        dl_buf_printf(&b, " %lld %s]", (long long)(d.tx - DL_TX0),
                      d.added ? "true" : "false");
    }
    if (bt_cursor_error(c)) dl_buf_puts(&b, "<error>");
    bt_cursor_close(c);
    if (b.data) snprintf(out, sizeof out, "%s", b.data);
    dl_buf_free(&b);
    return out;
}

static dl_db *apply_str(const dl_db *base, const char *edn, dl_schema *s,
                        uint64_t max_eid, uint64_t max_tx) {
    size_t n;
    dl_change *c = changes(edn, &n);
    dl_db *out = NULL;
    if (dl_db_apply(base, c, n, s, max_eid, max_tx, 1000, &out) != 0) {
        fprintf(stderr, "apply: %s\n", msg());
        return NULL;
    }
    return out;
}

/* ---- pure values ---- */

TEST(empty_value) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"empty\"}}");
    dl_db *db = NULL;
    CHECK_EQ_INT(dl_db_empty(&c, &db), 0);
    if (!db) return;
    for (int i = 0; i < DL_INDEX_COUNT; i++)
        CHECK_EQ_INT(bt_tree_count(&db->idx[i]), 0);
    CHECK_EQ_INT(db->max_eid, 0);
    CHECK_EQ_INT(db->max_tx, 536870912);
    CHECK_STR(db->commit_key, "");
    CHECK(db->schema != NULL);
    CHECK(dl_schema_attr(db->schema, S("db/ident")) != NULL);
    CHECK(db->config->keep_history);
    CHECK(dl_db_btenv(db) != NULL);
    dl_db_retain(db);
    dl_db_release(db);
    dl_db_release(db);
    dl_db_release(NULL);
}

TEST(apply_assert_and_avet) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"a\"}}");
    dl_db *e0 = NULL, *d1;
    dl_db_empty(&c, &e0);
    dl_schema *s = test_schema(e0->schema);
    CHECK(s != NULL);
    d1 = apply_str(e0,
                   "[[1 :name \"Ann\" 536870913 true] [1 :age 30 536870913 true]"
                   " [2 :name \"Bob\" 536870913 true] [1 :friend 2 536870913 true]"
                   " [2 :tag \"x\" 536870913 true] [2 :email \"b@x\" 536870913 true]]",
                   s, 2, TX1);
    CHECK(d1 != NULL);
    if (!d1) return;
    CHECK_STR(dump(&d1->idx[DL_EAVT]),
              "[1 :age 30 1 true][1 :friend 2 1 true][1 :name \"Ann\" 1 true]"
              "[2 :email \"b@x\" 1 true][2 :name \"Bob\" 1 true][2 :tag \"x\" 1 true]");
    CHECK_STR(dump(&d1->idx[DL_AEVT]),
              "[1 :age 30 1 true][2 :email \"b@x\" 1 true][1 :friend 2 1 true]"
              "[1 :name \"Ann\" 1 true][2 :name \"Bob\" 1 true][2 :tag \"x\" 1 true]");
    /* AVET: :email (unique), :friend (ref), :name (index); not :age, :tag */
    CHECK_STR(dump(&d1->idx[DL_AVET]),
              "[2 :email \"b@x\" 1 true][1 :friend 2 1 true]"
              "[1 :name \"Ann\" 1 true][2 :name \"Bob\" 1 true]");
    /* history: every assertion except the :db/noHistory :tag */
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_TEAVT]), 5);
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_TAEVT]), 5);
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_TAVET]), 4);
    CHECK_EQ_INT(d1->max_eid, 2);
    CHECK_EQ_INT(d1->max_tx, TX1);
    CHECK_EQ_INT(d1->last_tx_instant, 1000);
    CHECK(d1->schema == s);
    CHECK_STR(d1->commit_key, "");
    /* the base is unchanged */
    for (int i = 0; i < DL_INDEX_COUNT; i++)
        CHECK_EQ_INT(bt_tree_count(&e0->idx[i]), 0);
    CHECK(e0->schema != s);
    dl_schema_release(s);
    dl_db_release(d1);
    dl_db_release(e0);
}

TEST(apply_retract_history) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"r\"}}");
    dl_db *e0 = NULL, *d1, *d2;
    dl_db_empty(&c, &e0);
    dl_schema *s = test_schema(e0->schema);
    d1 = apply_str(e0,
                   "[[1 :name \"Ann\" 536870913 true] [1 :tag \"t\" 536870913 true]"
                   " [1 :age 30 536870913 true]]",
                   s, 1, TX1);
    /* the retraction names the retracting tx; the current datom has tx 1 */
    d2 = apply_str(d1,
                   "[[1 :name \"Ann\" 536870914 false] [1 :tag \"t\" 536870914 false]"
                   " [1 :name \"Al\" 536870914 true]]",
                   NULL, 1, TX2);
    CHECK(d2 != NULL);
    if (!d2) return;
    CHECK(d2->schema == s);
    CHECK_STR(dump(&d2->idx[DL_EAVT]),
              "[1 :age 30 1 true][1 :name \"Al\" 2 true]");
    CHECK_STR(dump(&d2->idx[DL_AVET]), "[1 :name \"Al\" 2 true]");
    CHECK_STR(dump(&d2->idx[DL_TEAVT]),
              "[1 :age 30 1 true][1 :name \"Al\" 2 true]"
              "[1 :name \"Ann\" 1 true][1 :name \"Ann\" 2 false]");
    CHECK_STR(dump(&d2->idx[DL_TAVET]),
              "[1 :name \"Al\" 2 true][1 :name \"Ann\" 1 true]"
              "[1 :name \"Ann\" 2 false]");
    /* d1 still sees its own state */
    CHECK_STR(dump(&d1->idx[DL_EAVT]),
              "[1 :age 30 1 true][1 :name \"Ann\" 1 true][1 :tag \"t\" 1 true]");
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_TEAVT]), 2);
    /* retracting a datom that is not there is a caller bug */
    size_t n;
    dl_change *bad = changes("[[1 :age 31 536870915 false]]", &n);
    dl_db *d3 = NULL;
    CHECK_EQ_INT(dl_db_apply(d2, bad, n, NULL, 1, TX3, 0, &d3),
                 DATALITH_EINVAL);
    CHECK(d3 == NULL);
    CHECK(strstr(msg(), "names no current datom") != NULL);
    dl_schema_release(s);
    dl_db_release(d2);
    dl_db_release(d1);
    dl_db_release(e0);
}

TEST(apply_without_history) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"nh\"} :keep-history? false}");
    dl_db *e0 = NULL, *d1, *d2;
    dl_db_empty(&c, &e0);
    dl_schema *s = test_schema(e0->schema);
    d1 = apply_str(e0, "[[1 :name \"Ann\" 536870913 true]]", s, 1, TX1);
    d2 = apply_str(d1, "[[1 :name \"Ann\" 536870914 false]]", NULL, 1, TX2);
    CHECK(d2 != NULL);
    if (!d2) return;
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_EAVT]), 1);
    CHECK_EQ_INT(bt_tree_count(&d2->idx[DL_EAVT]), 0);
    for (int i = DL_TEAVT; i <= DL_TAVET; i++) {
        CHECK_EQ_INT(bt_tree_count(&d1->idx[i]), 0);
        CHECK_EQ_INT(bt_tree_count(&d2->idx[i]), 0);
    }
    dl_schema_release(s);
    dl_db_release(d2);
    dl_db_release(d1);
    dl_db_release(e0);
}

TEST(apply_schema_on_read) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"rd\"} :schema-flexibility :read}");
    dl_db *e0 = NULL, *d1;
    dl_db_empty(&c, &e0);
    d1 = apply_str(e0, "[[1 :whatever 5 536870913 true] [1 :other \"x\" 536870913 true]]",
                   NULL, 1, TX1);
    CHECK(d1 != NULL);
    if (!d1) return;
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_EAVT]), 2);
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_AVET]), 0);
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_TEAVT]), 2);
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_TAVET]), 0);
    dl_db_release(d1);
    dl_db_release(e0);
}

TEST(apply_hash) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"h\"}}");
    dl_db *e0 = NULL, *x, *y, *z;
    dl_db_empty(&c, &e0);
    dl_schema *s = test_schema(e0->schema);
    CHECK_EQ_INT(e0->hash, 0);
    x = apply_str(e0, "[[1 :name \"A\" 536870913 true] [2 :age 7 536870913 true]]",
                  s, 2, TX1);
    /* same datoms, other order, other tx: same hash */
    y = apply_str(e0, "[[2 :age 7 536870914 true] [1 :name \"A\" 536870914 true]]",
                  s, 2, TX2);
    CHECK(x && y);
    if (!x || !y) return;
    CHECK(x->hash != 0);
    CHECK(x->hash == y->hash);
    z = apply_str(x, "[[1 :name \"A\" 536870914 false] [2 :age 7 536870914 false]]",
                  NULL, 2, TX2);
    CHECK(z && z->hash == 0);
    dl_db_release(z);
    dl_db_release(y);
    dl_db_release(x);
    dl_schema_release(s);
    dl_db_release(e0);
}

TEST(apply_structural_sharing) {
    /* a chain of 300 values, each adding one datom; every kept snapshot
    ** keeps exactly its own prefix */
    dl_config c = cfg_of("{:store {:backend :memory :id \"sh\"}}");
    dl_db *dbs[301] = {0};
    dl_db_empty(&c, &dbs[0]);
    dl_schema *s = test_schema(dbs[0]->schema);
    for (int i = 1; i <= 300; i++) {
        dl_change ch;
        memset(&ch, 0, sizeof ch);
        ch.d.e = (uint64_t)i;
        ch.d.a = S("age");
        ch.d.v = edn_int(i * 10);
        ch.d.tx = DL_TX0 + (uint64_t)i;
        ch.d.added = true;
        CHECK_EQ_INT(dl_db_apply(dbs[i - 1], &ch, 1, i == 1 ? s : NULL,
                                 (uint64_t)i, DL_TX0 + (uint64_t)i, 0, &dbs[i]),
                     0);
        if (!dbs[i]) return;
    }
    int ok = 1;
    for (int i = 0; i <= 300; i++) {
        if (bt_tree_count(&dbs[i]->idx[DL_EAVT]) != (uint64_t)i) ok = 0;
        if (bt_tree_count(&dbs[i]->idx[DL_TEAVT]) != (uint64_t)i) ok = 0;
        dl_datom key = {.e = (uint64_t)i, .a = S("age")};
        uint64_t cnt = 0;
        if (i > 0) {
            bt_count_prefix(&dbs[i]->idx[DL_EAVT], &key, 1, &cnt);
            if (cnt != 1) ok = 0;
        }
        key.e = (uint64_t)i + 1;
        bt_count_prefix(&dbs[i]->idx[DL_EAVT], &key, 1, &cnt);
        if (cnt != 0) ok = 0;
    }
    CHECK(ok);
    for (int i = 300; i >= 0; i--) dl_db_release(dbs[i]);
    dl_schema_release(s);
}

TEST(apply_bad_args) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"bad\"}}");
    dl_db *e0 = NULL, *out = NULL;
    dl_db_empty(&c, &e0);
    dl_change ch;
    memset(&ch, 0, sizeof ch);
    CHECK_EQ_INT(dl_db_apply(e0, &ch, 1, NULL, 0, 0, 0, &out), DATALITH_EINVAL);
    CHECK_EQ_INT(dl_db_apply(NULL, NULL, 0, NULL, 0, 0, 0, &out), DATALITH_EINVAL);
    CHECK(out == NULL);
    dl_db_release(e0);
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(empty_value);
    RUN(apply_assert_and_avet);
    RUN(apply_retract_history);
    RUN(apply_without_history);
    RUN(apply_schema_on_read);
    RUN(apply_hash);
    RUN(apply_structural_sharing);
    RUN(apply_bad_args);
    dl_arena_free(&A);
    return test_summary();
}
