/*
** prop_db.c — random sequences of dl_db_apply + dl_conn_commit against a
** reference model, on the memory, file and LMDB stores.
**
** The model is an array of current [e a v tx] facts and an array of
** history datoms [e a v tx added].  Each step asserts new facts and
** retracts current ones at random and commits.  Snapshots taken midway
** (with a copy of the model at that point) must stay unchanged.  At the
** end the store is reopened through a fresh connection and every index
** scan (all six orders) is compared with the model sorted in that order;
** AVET and temporal AVET hold only the indexed attribute :a and the ref
** attribute :c, never :b.
*/
#include "db/db.h"
#include "test.h"
#include "util/error.h"

#include <sys/stat.h>
#include <unistd.h>

#define MAXF 4096

typedef struct model {
    dl_datom cur[MAXF];
    size_t ncur;
    dl_datom hist[MAXF];
    size_t nhist;
    uint64_t tx;
} model;

static dl_arena A;
static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const edn_sym *S(const char *n) { return edn_intern_full(n, strlen(n)); }

static dl_schema *make_schema(const dl_schema *base) {
    static const char *defs =
        "[[100 :db/ident :a] [100 :db/valueType :db.type/long]"
        " [100 :db/cardinality :db.cardinality/many] [100 :db/index true]"
        " [101 :db/ident :b] [101 :db/valueType :db.type/long]"
        " [101 :db/cardinality :db.cardinality/many]"
        " [102 :db/ident :c] [102 :db/valueType :db.type/ref]"
        " [102 :db/cardinality :db.cardinality/many]]";
    dl_schema_builder *b;
    dl_schema *out = NULL;
    edn_value d;
    if (edn_read(&A, defs, strlen(defs), NULL, &d) != 0) return NULL;
    if (dl_schema_edit(base, &b) != 0) return NULL;
    for (uint32_t i = 0; i < d.n; i++) {
        const edn_value *t = d.u.items[i].u.items;
        if (dl_schema_builder_assert(b, (uint64_t)t[0].u.i, t[1].u.sym, &t[2])) {
            dl_schema_builder_free(b);
            return NULL;
        }
    }
    if (dl_schema_builder_finish(b, &out) != 0) return NULL;
    return out;
}

static int in_avet(const dl_datom *d) { return d->a == S("a") || d->a == S("c"); }

static dl_index sort_order;
static int cmp_sort(const void *x, const void *y) {
    return dl_datom_cmp(sort_order, x, y, 5);
}

/* Compare tree t (order o) with the model. */
static int compare_tree(const bt_tree *t, dl_index o, const model *m) {
    static dl_datom exp[MAXF];
    size_t n = 0;
    const dl_datom *src = dl_index_temporal(o) ? m->hist : m->cur;
    size_t ns = dl_index_temporal(o) ? m->nhist : m->ncur;
    for (size_t i = 0; i < ns; i++) {
        if ((o == DL_AVET || o == DL_TAVET) && !in_avet(&src[i])) continue;
        exp[n++] = src[i];
    }
    sort_order = o;
    qsort(exp, n, sizeof exp[0], cmp_sort);
    bt_cursor *c;
    size_t i = 0;
    int ok = 1;
    if (bt_cursor_open(t, &c) != 0) return 0;
    for (bt_cursor_first(c); bt_cursor_valid(c); bt_cursor_next(c), i++) {
        dl_datom d;
        bt_cursor_get(c, &d);
        if (i >= n || dl_datom_cmp(o, &d, &exp[i], 5) != 0 ||
            (!dl_index_temporal(o) && !d.added)) {
            ok = 0;
            break;
        }
    }
    if (bt_cursor_error(c)) ok = 0;
    bt_cursor_close(c);
    if (ok && i != n) ok = 0;
    if (!ok)
        fprintf(stderr, "index %s differs from the model (%zu expected)\n",
                dl_index_name(o), n);
    return ok;
}

static int compare_db(const dl_db *db, const model *m) {
    int ok = 1;
    for (int o = 0; o < DL_INDEX_COUNT; o++) ok &= compare_tree(&db->idx[o], (dl_index)o, m);
    ok &= db->max_tx == m->tx;
    return ok;
}

static int step(dl_conn *k, model *m, dl_schema *schema) {
    dl_change ch[8];
    size_t n = 0;
    dl_db *cur = NULL, *next = NULL;
    static const char *attrs[3] = {"a", "b", "c"};
    uint64_t tx = m->tx + 1;
    int nch = 1 + (int)(rnd() % 6);
    for (int i = 0; i < nch && m->ncur + 8 < MAXF && m->nhist + 8 < MAXF; i++) {
        memset(&ch[n], 0, sizeof ch[n]);
        if (m->ncur > 0 && rnd() % 3 == 0) {
            size_t j = (size_t)(rnd() % m->ncur);
            dl_datom d = m->cur[j];
            int dup = 0;
            for (size_t q = 0; q < n; q++)
                if (dl_datom_cmp(DL_EAVT, &ch[q].d, &d, 3) == 0) dup = 1;
            if (dup) continue;
            m->cur[j] = m->cur[--m->ncur];
            d.tx = tx;
            d.added = false;
            ch[n++].d = d;
            m->hist[m->nhist++] = d;
        } else {
            dl_datom d = {.e = 1 + rnd() % 20, .a = S(attrs[rnd() % 3]),
                          .v = edn_int((int64_t)(1 + rnd() % 9)), .tx = tx,
                          .added = true};
            int dup = 0;
            for (size_t q = 0; q < m->ncur; q++)
                if (dl_datom_cmp(DL_EAVT, &m->cur[q], &d, 3) == 0) dup = 1;
            for (size_t q = 0; q < n; q++)
                if (dl_datom_cmp(DL_EAVT, &ch[q].d, &d, 3) == 0) dup = 1;
            if (dup) continue;
            ch[n++].d = d;
            m->cur[m->ncur++] = d;
            m->hist[m->nhist++] = d;
        }
    }
    m->tx = tx;
    int rc = dl_conn_db(k, &cur);
    if (!rc) rc = dl_db_apply(cur, ch, n, schema, 20, tx, 0, &next);
    if (!rc) rc = dl_conn_commit(k, next);
    if (rc) fprintf(stderr, "step: %s\n", dl_err_last()->message);
    dl_db_release(next);
    dl_db_release(cur);
    return rc;
}

static void run_backend(const char *store_edn, int steps) {
    static model m, snap_model[4];
    dl_db *snaps[4] = {0};
    int nsnap = 0;
    dl_config cfg;
    edn_value v;
    dl_conn *k = NULL;
    dl_db *d0 = NULL;
    char text[512];
    snprintf(text, sizeof text, "{:store %s}", store_edn);
    memset(&m, 0, sizeof m);
    m.tx = DL_TX0;
    CHECK(edn_read(&A, text, strlen(text), NULL, &v) == 0);
    CHECK(dl_config_parse(&A, &v, &cfg) == 0);
    dl_db_delete(&cfg);
    CHECK_EQ_INT(dl_db_create(&cfg), 0);
    CHECK_EQ_INT(dl_conn_open(&cfg, &k), 0);
    if (!k) return;
    CHECK_EQ_INT(dl_conn_db(k, &d0), 0);
    dl_schema *schema = d0 ? make_schema(d0->schema) : NULL;
    CHECK(schema != NULL);
    dl_db_release(d0);
    for (int i = 0; i < steps; i++) {
        if (step(k, &m, i == 0 ? schema : NULL) != 0) {
            CHECK(0);
            break;
        }
        if (i % (steps / 4) == steps / 8 && nsnap < 4) {
            CHECK_EQ_INT(dl_conn_db(k, &snaps[nsnap]), 0);
            snap_model[nsnap] = m;
            nsnap++;
        }
    }
    dl_schema_release(schema);
    dl_db *last = NULL;
    CHECK_EQ_INT(dl_conn_db(k, &last), 0);
    if (last) CHECK(compare_db(last, &m));
    dl_db_release(last);
    dl_conn_release(k);
    /* a fresh connection reads everything back from the store */
    k = NULL;
    CHECK_EQ_INT(dl_conn_open(&cfg, &k), 0);
    last = NULL;
    if (k) CHECK_EQ_INT(dl_conn_db(k, &last), 0);
    if (last) CHECK(compare_db(last, &m));
    dl_db_release(last);
    for (int i = 0; i < nsnap; i++) {
        CHECK(compare_db(snaps[i], &snap_model[i]));
        dl_db_release(snaps[i]);
    }
    CHECK(nsnap >= 3);
    dl_conn_release(k);
    dl_db_delete(&cfg);
}

static char dir[256];

TEST(prop_memory) { run_backend("{:backend :memory :id \"prop-db\"}", 200); }

TEST(prop_file) {
    char s[400];
    snprintf(s, sizeof s, "{:backend :file :path \"%s/file\"}", dir);
    run_backend(s, 120);
}

TEST(prop_lmdb) {
    char s[400];
    int ex = 0;
    snprintf(s, sizeof s, "{:backend :lmdb :path \"%s/lmdb\"}", dir);
    edn_value v;
    if (edn_read(&A, s, strlen(s), NULL, &v) == 0 && dl_store_exists(&v, &ex) ==
                                                         DATALITH_EUNSUPPORTED) {
        fprintf(stderr, "LMDB not built; skipped\n");
        return;
    }
    run_backend(s, 200);
}

int main(int argc, char **argv) {
    if (argc > 1) rng = strtoull(argv[1], NULL, 10);
    printf("prop_db seed %llu\n", (unsigned long long)rng);
    dl_arena_init(&A, 0);
    snprintf(dir, sizeof dir, "/tmp/dl_prop_db_%d", (int)getpid());
    mkdir(dir, 0700);
    RUN(prop_memory);
    RUN(prop_file);
    RUN(prop_lmdb);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    dl_arena_free(&A);
    return test_summary();
}
