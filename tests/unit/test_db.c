/*
** test_db.c — database values and connections (core/db/db.h): dl_db_empty,
** dl_db_apply (index membership, history, hashing, structural sharing),
** create/exists/delete/connect, commits and snapshots across connections,
** the writer lock, and commits through a fault-injecting store.
*/
#include "db/db.h"
#include "db/db_internal.h"
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

/* Under :attribute-refs? the system schema owns ids 1-54, so the first
** user entity is 55 (reference §0, ue0). */
TEST(empty_value_attribute_refs) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"empty-ar\"}"
                         " :attribute-refs? true}");
    dl_db *db = NULL;
    CHECK_EQ_INT(dl_db_empty(&c, &db), 0);
    if (!db) return;
    CHECK_EQ_INT(db->max_eid, 54);
    CHECK_EQ_INT(db->max_tx, 536870912);
    dl_db_release(db);
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


/* ---- stores and connections ---- */

static char tmpdir[256];

static const char *file_cfg(const char *name) {
    static char buf[512];
    snprintf(buf, sizeof buf, "{:store {:backend :file :path \"%s/%s\"}}", tmpdir, name);
    return buf;
}

/* Commit "[[e :a v tx added] …]" on top of the connection's newest value;
** a fresh schema is installed when `schema` is set. */
static int commit_str(dl_conn *c, const char *edn, int schema, uint64_t max_eid,
                      uint64_t tx) {
    dl_db *cur = NULL, *next = NULL;
    dl_schema *s = NULL;
    size_t n;
    int rc = dl_conn_db(c, &cur);
    if (rc) return rc;
    if (schema) s = test_schema(cur->schema);
    dl_change *ch = changes(edn, &n);
    rc = dl_db_apply(cur, ch, n, s, max_eid, tx, 77, &next);
    if (rc == 0) rc = dl_conn_commit(c, next);
    dl_db_release(next);
    dl_schema_release(s);
    dl_db_release(cur);
    return rc;
}

TEST(lifecycle_file) {
    dl_config c = cfg_of(file_cfg("life"));
    dl_conn *k = NULL, *k2 = NULL;
    int ex = -1;
    CHECK_EQ_INT(dl_db_exists(&c, &ex), 0);
    CHECK_EQ_INT(ex, 0);
    CHECK_EQ_INT(dl_conn_open(&c, &k), DATALITH_ENOTFOUND);
    CHECK_STR(msg(), "Database does not exist.");
    CHECK_EQ_INT(dl_db_create(&c), 0);
    CHECK_EQ_INT(dl_db_exists(&c, &ex), 0);
    CHECK_EQ_INT(ex, 1);
    CHECK_EQ_INT(dl_db_create(&c), DATALITH_EEXISTS);
    CHECK_STR(msg(), "Database already exists.");
    CHECK_EQ_INT(dl_conn_open(&c, &k), 0);
    CHECK_EQ_INT(dl_conn_open(&c, &k2), 0);
    CHECK(k == k2);
    dl_conn_release(k2);
    dl_db *d0 = NULL;
    CHECK_EQ_INT(dl_conn_db(k, &d0), 0);
    if (!d0) return;
    CHECK_EQ_INT(bt_tree_count(&d0->idx[DL_EAVT]), 0);
    CHECK(d0->commit_key[0] == 'c');
    CHECK(dl_conn_config(k)->keep_history);
    CHECK_EQ_INT(commit_str(k, "[[1 :name \"Ann\" 536870913 true] [1 :age 3 536870913 true]]",
                            1, 1, TX1),
                 0);
    /* the earlier snapshot is unchanged */
    CHECK_EQ_INT(bt_tree_count(&d0->idx[DL_EAVT]), 0);
    CHECK(dl_schema_attr(d0->schema, S("name")) == NULL);
    dl_db_release(d0);
    dl_conn_release(k);
    /* a new connection (the old one is gone) reads the commit back */
    CHECK_EQ_INT(dl_conn_open(&c, &k), 0);
    dl_db *d1 = NULL;
    CHECK_EQ_INT(dl_conn_db(k, &d1), 0);
    if (!d1) return;
    CHECK_STR(dump(&d1->idx[DL_EAVT]), "[1 :age 3 1 true][1 :name \"Ann\" 1 true]");
    CHECK_STR(dump(&d1->idx[DL_AVET]), "[1 :name \"Ann\" 1 true]");
    CHECK_EQ_INT(bt_tree_count(&d1->idx[DL_TEAVT]), 2);
    CHECK_EQ_INT(d1->max_tx, TX1);
    CHECK_EQ_INT(d1->max_eid, 1);
    CHECK_EQ_INT(d1->last_tx_instant, 77);
    const dl_attr *at = dl_schema_attr(d1->schema, S("name"));
    CHECK(at && at->index && at->avet && at->eid == 100);
    at = dl_schema_attr(d1->schema, S("tag"));
    CHECK(at && at->many && at->no_history);
    at = dl_schema_attr(d1->schema, S("email"));
    CHECK(at && at->unique == DL_UNIQUE_IDENTITY);
    /* a second commit without a schema change reuses the schema object */
    CHECK_EQ_INT(commit_str(k, "[[1 :age 3 536870914 false] [2 :age 5 536870914 true]]",
                            0, 2, TX2),
                 0);
    dl_db *d2 = NULL;
    CHECK_EQ_INT(dl_conn_db(k, &d2), 0);
    if (!d2) return;
    CHECK(d2->schema == d1->schema);
    CHECK_STR(dump(&d2->idx[DL_EAVT]), "[1 :name \"Ann\" 1 true][2 :age 5 2 true]");
    CHECK_STR(dump(&d1->idx[DL_EAVT]), "[1 :age 3 1 true][1 :name \"Ann\" 1 true]");
    CHECK(d2->hash != d1->hash);
    /* a value built on a stale base is refused */
    dl_db *stale = NULL;
    size_t n;
    dl_change *ch = changes("[[3 :age 1 536870915 true]]", &n);
    CHECK_EQ_INT(dl_db_apply(d1, ch, n, NULL, 3, TX3, 0, &stale), 0);
    CHECK_EQ_INT(dl_conn_commit(k, stale), DATALITH_ECONFLICT);
    dl_db_release(stale);
    /* delete: the connection is marked released */
    CHECK_EQ_INT(dl_db_delete(&c), 0);
    CHECK_EQ_INT(dl_db_exists(&c, &ex), 0);
    CHECK_EQ_INT(ex, 0);
    dl_db *dx = NULL;
    CHECK_EQ_INT(dl_conn_db(k, &dx), DATALITH_EINVAL);
    CHECK_STR(msg(), "Connection has been released.");
    /* snapshots taken before stay readable from the cache? they need not;
    ** they must only be released safely */
    dl_db_release(d2);
    dl_db_release(d1);
    dl_conn_release(k);
    CHECK_EQ_INT(dl_db_delete(&c), 0); /* deleting a missing db is fine */
}

TEST(lifecycle_memory_and_config_check) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"mem-life\"}}");
    dl_config other = cfg_of("{:store {:backend :memory :id \"mem-life\"} :keep-history? false}");
    dl_conn *k = NULL;
    CHECK_EQ_INT(dl_db_create(&c), 0);
    CHECK_EQ_INT(dl_conn_open(&other, &k), DATALITH_ECONFLICT);
    CHECK_EQ_INT(dl_conn_open(&c, &k), 0);
    if (!k) return;
    CHECK_EQ_INT(commit_str(k, "[[5 :age 1 536870913 true]]", 1, 5, TX1), 0);
    dl_db *d = NULL;
    CHECK_EQ_INT(dl_conn_db(k, &d), 0);
    CHECK(d && bt_tree_count(&d->idx[DL_EAVT]) == 1);
    dl_db_release(d);
    dl_conn_release(k);
    CHECK_EQ_INT(dl_conn_open(&c, &k), 0);
    d = NULL;
    CHECK_EQ_INT(dl_conn_db(k, &d), 0);
    CHECK(d && bt_tree_count(&d->idx[DL_EAVT]) == 1);
    dl_db_release(d);
    dl_conn_release(k);
    CHECK_EQ_INT(dl_db_delete(&c), 0);
}

/* Another process commits; this one sees it through dl_conn_db; while this
** process holds the writer lock, the other's commit is ELOCKED. */
TEST(cross_process) {
    dl_config c = cfg_of(file_cfg("xproc"));
    int go[2], done[2];
    CHECK_EQ_INT(dl_db_create(&c), 0);
    CHECK(pipe(go) == 0 && pipe(done) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* child: its registry is empty; wait for the parent's signal */
        char ch;
        int code = 0;
        dl_conn *k = NULL;
        if (read(go[0], &ch, 1) != 1) _exit(10);
        if (dl_conn_open(&c, &k) != 0) _exit(11);
        if (commit_str(k, "[[1 :age 1 536870913 true]]", 1, 1, TX1) != 0) code = 12;
        dl_conn_release(k);
        if (write(done[1], "x", 1) != 1) _exit(13);
        if (read(go[0], &ch, 1) != 1) _exit(14);
        /* the parent holds the writer lock now */
        if (dl_conn_open(&c, &k) != 0) _exit(15);
        int rc = commit_str(k, "[[9 :age 9 536870915 true]]", 0, 9, TX3);
        if (rc == DATALITH_ELOCKED) {
            if (!*msg()) code = 16;
        } else if (!code) {
            code = 17;
        }
        dl_conn_release(k);
        _exit(code);
    }
    dl_conn *k = NULL;
    dl_db *before = NULL, *after = NULL;
    char ch;
    CHECK_EQ_INT(dl_conn_open(&c, &k), 0);
    CHECK_EQ_INT(dl_conn_db(k, &before), 0);
    CHECK(write(go[1], "x", 1) == 1);
    CHECK(read(done[0], &ch, 1) == 1);
    CHECK_EQ_INT(dl_conn_db(k, &after), 0);
    CHECK(before && after && before != after);
    if (before && after) {
        CHECK_EQ_INT(bt_tree_count(&before->idx[DL_EAVT]), 0);
        CHECK_STR(dump(&after->idx[DL_EAVT]), "[1 :age 1 1 true]");
        CHECK_STR(after->parent_key, after->commit_key);
    }
    /* this process commits (takes the lock), then lets the child try */
    CHECK_EQ_INT(commit_str(k, "[[2 :age 2 536870914 true]]", 0, 2, TX2), 0);
    CHECK(write(go[1], "x", 1) == 1);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_EQ_INT(WEXITSTATUS(st), 0);
    dl_db *last = NULL;
    CHECK_EQ_INT(dl_conn_db(k, &last), 0);
    if (last) CHECK_STR(dump(&last->idx[DL_EAVT]), "[1 :age 1 1 true][2 :age 2 2 true]");
    dl_db_release(last);
    dl_db_release(before);
    dl_db_release(after);
    dl_conn_release(k);
    dl_db_delete(&c);
}

/* A second store handle in this process cannot commit while the shared
** connection holds the writer lock; it can once that connection is gone. */
TEST(writer_lock_in_process) {
    dl_config c = cfg_of(file_cfg("lock"));
    dl_conn *k = NULL, *p = NULL;
    dl_store *st = NULL;
    CHECK_EQ_INT(dl_db_create(&c), 0);
    CHECK_EQ_INT(dl_conn_open(&c, &k), 0);
    if (!k) return;
    CHECK_EQ_INT(commit_str(k, "[[1 :age 1 536870913 true]]", 1, 1, TX1), 0);
    CHECK_EQ_INT(dl_store_open(&c.store, 0, &st), 0);
    CHECK_EQ_INT(dl_conn_open_store(&c, st, &p), 0);
    if (!p) return;
    CHECK_EQ_INT(commit_str(p, "[[2 :age 2 536870914 true]]", 0, 2, TX2), DATALITH_ELOCKED);
    CHECK(strlen(msg()) > 0);
    dl_conn_release(k);
    CHECK_EQ_INT(commit_str(p, "[[2 :age 2 536870914 true]]", 0, 2, TX2), 0);
    dl_db *d = NULL;
    CHECK_EQ_INT(dl_conn_db(p, &d), 0);
    if (d) CHECK_STR(dump(&d->idx[DL_EAVT]), "[1 :age 1 1 true][2 :age 2 2 true]");
    dl_db_release(d);
    dl_conn_release(p);
    dl_db_delete(&c);
}

/* The N-th put / sync / head update of a commit fails or tears: the commit
** reports an error, the previous commit stays readable and intact, and a
** retry from the same connection succeeds with intact data. */
TEST(fault_injection) {
    static const struct { unsigned op; int mode; const char *name; } cases[] = {
        {DL_FAULT_PUT, DL_FAULT_FAIL, "put-fail"},
        {DL_FAULT_PUT, DL_FAULT_TEAR, "put-tear"},
        {DL_FAULT_SYNC, DL_FAULT_FAIL, "sync-fail"},
        {DL_FAULT_HEAD_CAS, DL_FAULT_FAIL, "cas-fail"},
    };
    int runs = 0, failed_commits = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        for (unsigned long nth = 1; nth <= 10; nth++) {
            char name[64];
            snprintf(name, sizeof name, "fault-%s-%lu", cases[ci].name, nth);
            dl_config c = cfg_of(file_cfg(name));
            dl_store *inner = NULL, *f = NULL;
            dl_conn *k = NULL;
            CHECK_EQ_INT(dl_db_create(&c), 0);
            CHECK_EQ_INT(dl_store_open(&c.store, 0, &inner), 0);
            CHECK_EQ_INT(dl_fault_wrap(inner, 1, &f), 0);
            CHECK_EQ_INT(dl_conn_open_store(&c, f, &k), 0);
            if (!k) return;
            CHECK_EQ_INT(commit_str(k, "[[1 :name \"A\" 536870913 true] [1 :age 1 536870913 true]]",
                                    1, 1, TX1),
                         0);
            dl_fault_arm(f, cases[ci].op, nth, cases[ci].mode, 0);
            int rc = commit_str(k, "[[2 :name \"B\" 536870914 true] [1 :age 1 536870914 false]]",
                                0, 2, TX2);
            int fired = dl_fault_fired(f) > 0;
            dl_fault_arm(f, cases[ci].op, 0, 0, 0);
            runs++;
            if (fired) {
                CHECK(rc != 0);
                failed_commits++;
            } else {
                CHECK_EQ_INT(rc, 0);
            }
            /* a fresh connection sees the previous commit (or the new one
            ** when no fault fired), intact */
            dl_config c2 = cfg_of(file_cfg(name));
            dl_conn *k2 = NULL;
            dl_store *raw = NULL;
            CHECK_EQ_INT(dl_store_open(&c2.store, 0, &raw), 0);
            CHECK_EQ_INT(dl_conn_open_store(&c2, raw, &k2), 0);
            dl_db *d = NULL;
            if (k2) CHECK_EQ_INT(dl_conn_db(k2, &d), 0);
            if (d)
                CHECK_STR(dump(&d->idx[DL_EAVT]),
                          fired ? "[1 :age 1 1 true][1 :name \"A\" 1 true]"
                                : "[1 :name \"A\" 1 true][2 :name \"B\" 2 true]");
            dl_db_release(d);
            /* retry the failed commit from the faulted connection */
            if (fired) {
                CHECK_EQ_INT(commit_str(k, "[[2 :name \"B\" 536870914 true] [1 :age 1 536870914 false]]",
                                        0, 2, TX2),
                             0);
                d = NULL;
                CHECK_EQ_INT(dl_conn_db(k2, &d), 0);
                if (d) {
                    CHECK_STR(dump(&d->idx[DL_EAVT]),
                              "[1 :name \"A\" 1 true][2 :name \"B\" 2 true]");
                    CHECK_STR(dump(&d->idx[DL_TEAVT]),
                              "[1 :age 1 1 true][1 :age 1 2 false]"
                              "[1 :name \"A\" 1 true][2 :name \"B\" 2 true]");
                }
                dl_db_release(d);
            }
            dl_conn_release(k2);
            dl_conn_release(k);
            dl_db_delete(&c);
        }
    }
    CHECK(failed_commits > 10);
    CHECK_EQ_INT(runs, 40);
}

/* A disk that lies (a put tears but reports success): the commit goes
** through, and a fresh reader gets DATALITH_ECORRUPT naming the object,
** never garbage and never a crash. */
TEST(fault_silent_tear) {
    dl_config c = cfg_of(file_cfg("silent"));
    dl_store *inner = NULL, *f = NULL, *raw = NULL;
    dl_conn *k = NULL, *k2 = NULL;
    CHECK_EQ_INT(dl_db_create(&c), 0);
    CHECK_EQ_INT(dl_store_open(&c.store, 0, &inner), 0);
    CHECK_EQ_INT(dl_fault_wrap(inner, 1, &f), 0);
    CHECK_EQ_INT(dl_conn_open_store(&c, f, &k), 0);
    if (!k) return;
    dl_fault_arm(f, DL_FAULT_PUT, 1, DL_FAULT_TEAR_SILENT, 0);
    CHECK_EQ_INT(commit_str(k, "[[1 :name \"A\" 536870913 true]]", 1, 1, TX1), 0);
    CHECK_EQ_INT(dl_fault_fired(f), 1);
    CHECK_EQ_INT(dl_store_open(&c.store, 0, &raw), 0);
    int rc = dl_conn_open_store(&c, raw, &k2);
    CHECK_EQ_INT(rc, DATALITH_ECORRUPT);
    CHECK(strstr(msg(), "corrupt object 'n") != NULL);
    if (rc) raw->vt->close(raw);
    else dl_conn_release(k2);
    dl_conn_release(k);
    dl_db_delete(&c);
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(empty_value);
    RUN(empty_value_attribute_refs);
    RUN(apply_assert_and_avet);
    RUN(apply_retract_history);
    RUN(apply_without_history);
    RUN(apply_schema_on_read);
    RUN(apply_hash);
    RUN(apply_structural_sharing);
    RUN(apply_bad_args);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dl_test_db_%d", (int)getpid());
    mkdir(tmpdir, 0700);
    RUN(lifecycle_file);
    RUN(lifecycle_memory_and_config_check);
    RUN(cross_process);
    RUN(writer_lock_in_process);
    RUN(fault_injection);
    RUN(fault_silent_tear);
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    dl_arena_free(&A);
    return test_summary();
}
