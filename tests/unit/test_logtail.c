/*
** test_logtail.c — the write fast paths of core/db: the log tail of durable
** stores (commits that record their changes instead of flushing index
** nodes, replayed by other connections; docs/format.md "The log tail") and
** memory branches kept in the process.  Snapshots handed out before a
** commit must never change.
**
** Every commit i (1-based) asserts [i :age 10*i] in tx TX0+i and, from
** i = 3 on, retracts [i-2 :age 10*(i-2)], so after n >= 2 commits the
** current datoms are exactly entities n-1 and n, and the history holds n
** assertions and n-2 retractions.
*/
#include "db/db.h"
#include "db/db_internal.h"
#include "store/object.h"
#include "test.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static dl_arena A;
static char tmpdir[128];

static const char *msg(void) { return dl_err_last()->message; }

static dl_config cfg_of(const char *edn) {
    dl_config c;
    edn_value v;
    memset(&c, 0, sizeof c);
    if (edn_read(&A, edn, strlen(edn), NULL, &v) != 0 ||
        dl_config_parse(&A, &v, &c) != 0)
        fprintf(stderr, "bad test config %s: %s\n", edn, msg());
    return c;
}

static const char *store_cfg(const char *backend, const char *name) {
    static char buf[512];
    if (strcmp(backend, "memory") == 0)
        snprintf(buf, sizeof buf, "{:store {:backend :memory :id \"%s\"}}", name);
    else
        snprintf(buf, sizeof buf, "{:store {:backend :%s :path \"%s/%s\"}}",
                 backend, tmpdir, name);
    return buf;
}

/* Commit number i (see the file comment) on top of the newest value. */
static int commit_i(dl_conn *c, uint64_t i) {
    dl_db *cur = NULL, *next = NULL;
    dl_change ch[2];
    size_t n = 0;
    const edn_sym *age = edn_intern_full("age", 3);
    int rc = dl_conn_db(c, &cur);
    if (rc) return rc;
    memset(ch, 0, sizeof ch);
    ch[n].d = (dl_datom){i, age, edn_int((int64_t)(10 * i)), DL_TX0 + i, true};
    n++;
    if (i >= 3) {
        ch[n].d = (dl_datom){i - 2, age, edn_int((int64_t)(10 * (i - 2))),
                             DL_TX0 + i, false};
        n++;
    }
    rc = dl_db_apply(cur, ch, n, NULL, i, DL_TX0 + i, (int64_t)i, &next);
    if (rc == 0) rc = dl_conn_commit(c, next);
    dl_db_release(next);
    dl_db_release(cur);
    return rc;
}

/* "[e v tx]…" of a tree's datoms (all :age longs). */
static const char *dump(const bt_tree *t) {
    static char buf[4096];
    size_t len = 0;
    bt_cursor *c;
    buf[0] = 0;
    if (bt_cursor_open(t, &c) != 0) return "<error>";
    for (bt_cursor_first(c); bt_cursor_valid(c); bt_cursor_next(c)) {
        dl_datom d;
        bt_cursor_get(c, &d);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "[%llu %lld %llu]",
                                (unsigned long long)d.e, (long long)d.v.u.i,
                                (unsigned long long)(d.tx - DL_TX0));
        if (len >= sizeof buf) break;
    }
    bt_cursor_close(c);
    return buf;
}

/* The head commit record's :format and :log-count (0 when absent). */
static void head_info(const dl_config *cfg, int64_t *format, int64_t *count) {
    dl_store *st = NULL;
    uint8_t *p = NULL, *q = NULL;
    size_t len, qlen;
    char key[64];
    edn_value m;
    *format = *count = -1;
    if (dl_store_open(&cfg->store, 0, &st) != 0) return;
    if (dl_head_get(st, "db", &p, &len) == 0 && len < sizeof key) {
        memcpy(key, p, len);
        key[len] = 0;
        if (dl_obj_get(st, key, DL_OBJ_COMMIT, &q, &qlen) == 0 &&
            cbor_read(&A, q, qlen, NULL, &m) == 0) {
            const edn_value *f = edn_map_getk(&m, "format");
            const edn_value *n = edn_map_getk(&m, "log-count");
            *format = f && f->type == EDN_INT ? f->u.i : -1;
            *count = n && n->type == EDN_INT ? n->u.i : 0;
        }
    }
    free(p);
    free(q);
    st->vt->close(st);
}

static void logtail_roundtrip(const char *backend) {
    char name[64];
    snprintf(name, sizeof name, "rt-%s", backend);
    dl_config c = cfg_of(store_cfg(backend, name));
    dl_conn *w = NULL, *r = NULL;
    dl_store *raw = NULL;
    dl_db *d2 = NULL, *d3 = NULL, *dw = NULL;
    int64_t fmt, cnt;
    CHECK_EQ_INT(dl_db_create(&c), 0);
    CHECK_EQ_INT(dl_conn_open(&c, &w), 0);
    if (!w) return;
    CHECK_EQ_INT(commit_i(w, 1), 0);
    CHECK_EQ_INT(commit_i(w, 2), 0);
    head_info(&c, &fmt, &cnt);
    CHECK_EQ_INT(fmt, 2);
    CHECK_EQ_INT(cnt, 2);
    /* a second, private connection replays the two logged commits */
    CHECK_EQ_INT(dl_store_open(&c.store, 0, &raw), 0);
    CHECK_EQ_INT(dl_conn_open_store(&c, raw, &r), 0);
    if (!r) return;
    CHECK_EQ_INT(dl_conn_db(r, &d2), 0);
    if (!d2) return;
    CHECK_STR(dump(&d2->idx[DL_EAVT]), "[1 10 1][2 20 2]");
    CHECK_EQ_INT(d2->max_tx, DL_TX0 + 2);
    CHECK_EQ_INT(bt_tree_count(&d2->idx[DL_TEAVT]), 2);
    /* the writer commits once more: the reader replays only that one and
    ** its earlier snapshot is unchanged */
    CHECK_EQ_INT(commit_i(w, 3), 0);
    CHECK_EQ_INT(dl_conn_db(r, &d3), 0);
    if (!d3) return;
    CHECK_STR(dump(&d3->idx[DL_EAVT]), "[2 20 2][3 30 3]");
    CHECK_STR(dump(&d3->idx[DL_TEAVT]), "[1 10 1][1 10 3][2 20 2][3 30 3]");
    CHECK_STR(dump(&d2->idx[DL_EAVT]), "[1 10 1][2 20 2]");
    CHECK_EQ_INT(dl_conn_db(w, &dw), 0);
    if (!dw) return;
    CHECK_STR(d3->commit_key, dw->commit_key);
    CHECK(memcmp(d3->commit_id, dw->commit_id, 16) == 0);
    CHECK(d3->hash == dw->hash);
    CHECK_EQ_INT(d3->max_eid, 3);
    dl_db_release(dw);
    dl_db_release(d3);
    dl_db_release(d2);
    dl_conn_release(r);
    /* the writer flushes its tail when it closes; a fresh connection
    ** reads everything */
    dl_conn_release(w);
    head_info(&c, &fmt, &cnt);
    CHECK_EQ_INT(fmt, 1);
    CHECK_EQ_INT(dl_conn_open(&c, &w), 0);
    if (!w) return;
    CHECK_EQ_INT(dl_conn_db(w, &d3), 0);
    if (d3) CHECK_STR(dump(&d3->idx[DL_AVET]), "");
    if (d3) CHECK_STR(dump(&d3->idx[DL_AEVT]), "[2 20 2][3 30 3]");
    dl_db_release(d3);
    dl_conn_release(w);
    CHECK_EQ_INT(dl_db_delete(&c), 0);
}

TEST(logtail_file) { logtail_roundtrip("file"); }
TEST(logtail_lmdb) { logtail_roundtrip("lmdb"); }

/* The tail is flushed when it would reach DL_LOG_MAX_COMMITS: commits
** 1 … MAX-1 after a flush are logged, commit MAX flushes (format 1). */
TEST(logtail_flush_limit) {
    dl_config c = cfg_of(store_cfg("lmdb", "limit"));
    dl_conn *w = NULL;
    dl_db *d = NULL;
    int64_t fmt, cnt;
    CHECK_EQ_INT(dl_db_create(&c), 0);
    CHECK_EQ_INT(dl_conn_open(&c, &w), 0);
    if (!w) return;
    uint64_t i = 1;
    for (; i < DL_LOG_MAX_COMMITS; i++)
        if (commit_i(w, i) != 0) break;
    CHECK_EQ_INT(i, DL_LOG_MAX_COMMITS);
    head_info(&c, &fmt, &cnt);
    CHECK_EQ_INT(fmt, 2);
    CHECK_EQ_INT(cnt, DL_LOG_MAX_COMMITS - 1);
    {
        /* a fresh reader replays the whole tail from the create commit */
        dl_store *raw0 = NULL;
        dl_conn *r0 = NULL;
        dl_db *d0 = NULL;
        CHECK_EQ_INT(dl_store_open(&c.store, 0, &raw0), 0);
        CHECK_EQ_INT(dl_conn_open_store(&c, raw0, &r0), 0);
        if (!r0) return;
        CHECK_EQ_INT(dl_conn_db(r0, &d0), 0);
        if (d0) {
            CHECK_EQ_INT(d0->max_tx, DL_TX0 + i - 1);
            CHECK_EQ_INT(bt_tree_count(&d0->idx[DL_EAVT]), 2);
            CHECK_EQ_INT(bt_tree_count(&d0->idx[DL_TEAVT]), 2 * (i - 1) - 2);
        }
        dl_db_release(d0);
        dl_conn_release(r0);
    }
    CHECK_EQ_INT(commit_i(w, i), 0);
    head_info(&c, &fmt, &cnt);
    CHECK_EQ_INT(fmt, 1);
    CHECK_EQ_INT(cnt, 0);
    CHECK_EQ_INT(commit_i(w, i + 1), 0);
    head_info(&c, &fmt, &cnt);
    CHECK_EQ_INT(fmt, 2);
    CHECK_EQ_INT(cnt, 1);
    /* read by a private connection: flushed roots + one logged commit */
    dl_store *raw = NULL;
    dl_conn *r = NULL;
    CHECK_EQ_INT(dl_store_open(&c.store, 0, &raw), 0);
    CHECK_EQ_INT(dl_conn_open_store(&c, raw, &r), 0);
    if (!r) return;
    CHECK_EQ_INT(dl_conn_db(r, &d), 0);
    if (d) CHECK_EQ_INT(bt_tree_count(&d->idx[DL_TEAVT]), 2 * (i + 1) - 2);
    dl_db_release(d);
    d = NULL;
    dl_conn_release(r);
    dl_conn_release(w);
    /* a fresh connection after the writer flushed on close */
    CHECK_EQ_INT(dl_conn_open(&c, &w), 0);
    if (!w) return;
    CHECK_EQ_INT(dl_conn_db(w, &d), 0);
    if (d) {
        char want[64];
        snprintf(want, sizeof want, "[%llu %llu %llu][%llu %llu %llu]",
                 (unsigned long long)i, (unsigned long long)(10 * i),
                 (unsigned long long)i, (unsigned long long)(i + 1),
                 (unsigned long long)(10 * (i + 1)), (unsigned long long)(i + 1));
        CHECK_STR(dump(&d->idx[DL_EAVT]), want);
        CHECK_EQ_INT(bt_tree_count(&d->idx[DL_TEAVT]), 2 * (i + 1) - 2);
    }
    dl_db_release(d);
    dl_conn_release(w);
    CHECK_EQ_INT(dl_db_delete(&c), 0);
}

/* Memory branches: no objects after create, the value survives the last
** connection, a snapshot held across commits never changes, and delete
** drops the branch. */
TEST(memory_branch) {
    dl_config c = cfg_of(store_cfg("memory", "wp-mem"));
    dl_conn *k = NULL;
    dl_db *d1 = NULL, *d = NULL;
    CHECK_EQ_INT(dl_db_create(&c), 0);
    CHECK_EQ_INT(dl_conn_open(&c, &k), 0);
    if (!k) return;
    CHECK_EQ_INT(commit_i(k, 1), 0);
    CHECK_EQ_INT(dl_conn_db(k, &d1), 0);
    if (!d1) return;
    CHECK(d1->commit_key[0] == 'c');
    CHECK_EQ_INT(commit_i(k, 2), 0);
    CHECK_EQ_INT(commit_i(k, 3), 0);
    CHECK_STR(dump(&d1->idx[DL_EAVT]), "[1 10 1]");
    CHECK_STR(dump(&d1->idx[DL_TEAVT]), "[1 10 1]");
    dl_conn_release(k);
    CHECK_EQ_INT(dl_conn_open(&c, &k), 0);
    if (!k) return;
    CHECK_EQ_INT(dl_conn_db(k, &d), 0);
    if (d) CHECK_STR(dump(&d->idx[DL_EAVT]), "[2 20 2][3 30 3]");
    /* the parent check still refuses a value built on a stale base */
    dl_db *stale = NULL;
    dl_change ch = {{9, edn_intern_full("age", 3), edn_int(1), DL_TX0 + 9, true}};
    CHECK_EQ_INT(dl_db_apply(d1, &ch, 1, NULL, 9, DL_TX0 + 9, 9, &stale), 0);
    CHECK_EQ_INT(dl_conn_commit(k, stale), DATALITH_ECONFLICT);
    dl_db_release(stale);
    dl_db_release(d);
    dl_conn_release(k);
    CHECK_EQ_INT(dl_db_delete(&c), 0);
    CHECK_STR(dump(&d1->idx[DL_EAVT]), "[1 10 1]");
    dl_db_release(d1);
    /* recreated: empty again */
    CHECK_EQ_INT(dl_db_create(&c), 0);
    CHECK_EQ_INT(dl_conn_open(&c, &k), 0);
    if (!k) return;
    d = NULL;
    CHECK_EQ_INT(dl_conn_db(k, &d), 0);
    if (d) CHECK_EQ_INT(bt_tree_count(&d->idx[DL_EAVT]), 0);
    dl_db_release(d);
    dl_conn_release(k);
    CHECK_EQ_INT(dl_db_delete(&c), 0);
}

/* ---- bulk apply ---- */

/* Schema: 100 :name string indexed (AVET), 101 :tag string many noHistory. */
static dl_schema *bulk_schema(const dl_schema *base) {
    static const char *defs =
        "[[100 :db/ident :name] [100 :db/valueType :db.type/string]"
        " [100 :db/cardinality :db.cardinality/one] [100 :db/index true]"
        " [101 :db/ident :tag] [101 :db/valueType :db.type/string]"
        " [101 :db/cardinality :db.cardinality/many] [101 :db/noHistory true]]";
    dl_schema_builder *b;
    dl_schema *out = NULL;
    edn_value d;
    if (edn_read(&A, defs, strlen(defs), NULL, &d) != 0) return NULL;
    if (dl_schema_edit(base, &b) != 0) return NULL;
    for (uint32_t i = 0; i < d.n; i++) {
        const edn_value *t = d.u.items[i].u.items;
        if (dl_schema_builder_assert(b, (uint64_t)t[0].u.i, t[1].u.sym, &t[2]) != 0) {
            dl_schema_builder_free(b);
            return NULL;
        }
    }
    if (dl_schema_builder_finish(b, &out) != 0) return NULL;
    return out;
}

/* Whether two trees hold the same datoms (all five components). */
static int same_tree(const bt_tree *x, const bt_tree *y, dl_index o) {
    bt_cursor *a = NULL, *b = NULL;
    int same = bt_tree_count(x) == bt_tree_count(y);
    if (bt_cursor_open(x, &a) != 0 || bt_cursor_open(y, &b) != 0) same = 0;
    if (same) {
        bt_cursor_first(a);
        bt_cursor_first(b);
        while (same && bt_cursor_valid(a) && bt_cursor_valid(b)) {
            dl_datom p, q;
            bt_cursor_get(a, &p);
            bt_cursor_get(b, &q);
            same = dl_datom_cmp(o, &p, &q, 5) == 0 && p.added == q.added;
            bt_cursor_next(a);
            bt_cursor_next(b);
        }
        same = same && !bt_cursor_valid(a) && !bt_cursor_valid(b);
    }
    if (a) bt_cursor_close(a);
    if (b) bt_cursor_close(b);
    return same;
}

/* A large list of assertions (the bulk path) gives exactly what applying
** it in small pieces (the per-change path) gives, including a datom
** already present and one repeated in the list, AVET membership and
** :db/noHistory. */
TEST(bulk_apply_matches_per_change) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"bulk\"} :keep-history? true}");
    dl_db *empty = NULL, *base = NULL, *bulk = NULL, *ref = NULL;
    const edn_sym *name = edn_intern_full("name", 4), *tag = edn_intern_full("tag", 3),
                  *age = edn_intern_full("age", 3);
    enum { N = 900 };
    dl_change *ch = calloc(N, sizeof *ch);
    char sbuf[32];
    CHECK_EQ_INT(dl_db_empty(&c, &empty), 0);
    if (!empty || !ch) return;
    dl_schema *s = bulk_schema(empty->schema);
    CHECK(s != NULL);
    edn_value ann;
    edn_string(&A, "ann", 3, &ann);
    dl_change first[2] = {{{1, name, ann, DL_TX0 + 1, true}},
                          {{1, age, edn_int(7), DL_TX0 + 1, true}}};
    CHECK_EQ_INT(dl_db_apply(empty, first, 2, s, 1, DL_TX0 + 1, 1, &base), 0);
    if (!base) return;
    size_t n = 0;
    for (uint64_t e = 500; n + 3 <= N - 2; e++) {
        edn_value v;
        snprintf(sbuf, sizeof sbuf, "n%llu", (unsigned long long)(e % 37));
        edn_string(&A, sbuf, strlen(sbuf), &v);
        ch[n++].d = (dl_datom){e, name, v, DL_TX0 + 2, true};
        ch[n++].d = (dl_datom){e, tag, v, DL_TX0 + 2, true};
        ch[n++].d = (dl_datom){e, age, edn_int((int64_t)(e * 3 % 101)), DL_TX0 + 2, true};
    }
    ch[n++].d = first[1].d; /* already present: changes nothing */
    ch[n++] = ch[4];        /* repeated within the list */
    CHECK_EQ_INT(dl_db_apply(base, ch, n, NULL, 2000, DL_TX0 + 2, 2, &bulk), 0);
    /* the same list in pieces of 100 */
    dl_db *cur = base;
    dl_db_retain(cur);
    for (size_t i = 0; i < n; i += 100) {
        dl_db *nx = NULL;
        size_t m = n - i < 100 ? n - i : 100;
        CHECK_EQ_INT(dl_db_apply(cur, ch + i, m, NULL, 2000, DL_TX0 + 2, 2, &nx), 0);
        dl_db_release(cur);
        cur = nx;
        if (!cur) return;
    }
    ref = cur;
    if (!bulk) return;
    /* independently: 2 + 3 * 299 current datoms, :tag not in history */
    CHECK_EQ_INT(bt_tree_count(&bulk->idx[DL_EAVT]), 2 + 3 * 299);
    CHECK_EQ_INT(bt_tree_count(&bulk->idx[DL_AVET]), 1 + 299);
    CHECK_EQ_INT(bt_tree_count(&bulk->idx[DL_TEAVT]), 2 + 2 * 299);
    CHECK_EQ_INT(bt_tree_count(&bulk->idx[DL_TAVET]), 1 + 299);
    for (int i = 0; i < DL_INDEX_COUNT; i++)
        CHECK(same_tree(&bulk->idx[i], &ref->idx[i], (dl_index)i));
    CHECK(bulk->hash == ref->hash);
    /* the base is unchanged */
    CHECK_EQ_INT(bt_tree_count(&base->idx[DL_EAVT]), 2);
    dl_db_release(ref);
    dl_db_release(bulk);
    dl_db_release(base);
    dl_db_release(empty);
    dl_schema_release(s);
    free(ch);
}

/* ---- corrupt tails ---- */

/* Replace field `field` of the head commit record by `val`, store the
** result under a new key and move the head to it. */
static int forge_head(const dl_config *cfg, const char *field, const edn_value *val,
                      const char *newkey) {
    dl_store *st = NULL;
    uint8_t *p = NULL, *q = NULL;
    size_t len, qlen;
    char key[64];
    edn_value m, out;
    dl_buf b = DL_BUF_INIT;
    int rc = dl_store_open(&cfg->store, 0, &st);
    if (rc) return rc;
    if ((rc = dl_head_get(st, "db", &p, &len)) != 0 || len >= sizeof key) goto done;
    memcpy(key, p, len);
    key[len] = 0;
    if ((rc = dl_obj_get(st, key, DL_OBJ_COMMIT, &q, &qlen)) != 0) goto done;
    if ((rc = cbor_read(&A, q, qlen, NULL, &m)) != 0) goto done;
    edn_value *kv = dl_arena_alloc(&A, 2 * m.n * sizeof *kv);
    for (uint32_t i = 0; i < m.n; i++) {
        kv[2 * i] = m.u.items[2 * i];
        kv[2 * i + 1] = m.u.items[2 * i + 1];
        if (kv[2 * i].type == EDN_KEYWORD && strcmp(kv[2 * i].u.sym->full, field) == 0)
            kv[2 * i + 1] = *val;
    }
    if ((rc = edn_map(&A, kv, m.n, &out)) != 0) goto done;
    if ((rc = cbor_write(&b, &out)) != 0) goto done;
    if ((rc = dl_obj_put(st, newkey, DL_OBJ_COMMIT, (const uint8_t *)b.data, b.len)) != 0)
        goto done;
    rc = dl_head_cas(st, "db", p, len, (const uint8_t *)newkey, strlen(newkey));
done:
    dl_buf_free(&b);
    free(p);
    free(q);
    st->vt->close(st);
    return rc;
}

/* A tail whose :tx-data is not a change list, does not apply, or does not
** give the recorded hash is DATALITH_ECORRUPT naming the commit; nothing
** crashes. */
TEST(logtail_corrupt) {
    /* names_forged: the message names the forged record (a broken chain
    ** is reported at the first record that does not fit: its parent) */
    static const struct { const char *field, *edn, *want; int names_forged; } cases[] = {
        {"tx-data", "#bytes \"\"", "bad :tx-data", 1},
        {"tx-data", "42", "lacks :tx-data", 1},
        {"hash", "12345", "another datom hash", 1},
        {"log-count", "7", "does not continue the log tail", 0},
        {"log-count", "-1", "bad :log-count", 1},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        char name[32], newkey[40];
        snprintf(name, sizeof name, "corrupt-%zu", ci);
        dl_config c = cfg_of(store_cfg("file", name));
        dl_conn *w = NULL, *r = NULL;
        dl_store *raw = NULL;
        edn_value v;
        CHECK_EQ_INT(dl_db_create(&c), 0);
        CHECK_EQ_INT(dl_conn_open(&c, &w), 0);
        if (!w) return;
        CHECK_EQ_INT(commit_i(w, 1), 0);
        CHECK_EQ_INT(commit_i(w, 2), 0);
        CHECK_EQ_INT(commit_i(w, 3), 0);
        /* a private reader holding commit 2 */
        CHECK_EQ_INT(dl_store_open(&c.store, 0, &raw), 0);
        CHECK_EQ_INT(dl_conn_open_store(&c, raw, &r), 0);
        if (!r) return;
        if (strcmp(cases[ci].edn, "#bytes \"\"") == 0) {
            uint8_t junk[3] = {0xff, 0x00, 0x13};
            edn_bytes(&A, junk, sizeof junk, &v);
        } else {
            edn_read(&A, cases[ci].edn, strlen(cases[ci].edn), NULL, &v);
        }
        snprintf(newkey, sizeof newkey, "c%032zx", ci + 1);
        CHECK_EQ_INT(forge_head(&c, cases[ci].field, &v, newkey), 0);
        dl_db *d = NULL;
        CHECK_EQ_INT(dl_conn_db(r, &d), DATALITH_ECORRUPT);
        if (cases[ci].names_forged) CHECK_CONTAINS(msg(), newkey);
        CHECK_CONTAINS(msg(), cases[ci].want);
        dl_db_release(d);
        dl_conn_release(r);
        /* the writer cannot read the forged head either, and closing it
        ** does not flush over it (the head CAS expects its own head) */
        CHECK_EQ_INT(commit_i(w, 4), DATALITH_ECORRUPT);
        dl_conn_release(w);
        {
            dl_store *st = NULL;
            uint8_t *hp = NULL;
            size_t hl = 0;
            CHECK_EQ_INT(dl_store_open(&c.store, 0, &st), 0);
            if (st) {
                CHECK_EQ_INT(dl_head_get(st, "db", &hp, &hl), 0);
                CHECK(hp && hl == strlen(newkey) && memcmp(hp, newkey, hl) == 0);
                free(hp);
                st->vt->close(st);
            }
        }
        CHECK_EQ_INT(dl_db_delete(&c), 0);
    }
}

int main(void) {
    dl_arena_init(&A, 0);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dl_test_logtail_%d", (int)getpid());
    mkdir(tmpdir, 0700);
    RUN(logtail_file);
    RUN(logtail_lmdb);
    RUN(logtail_flush_limit);
    RUN(memory_branch);
    RUN(bulk_apply_matches_per_change);
    RUN(logtail_corrupt);
    dl_arena_free(&A);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
