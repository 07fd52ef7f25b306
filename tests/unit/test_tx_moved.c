/*
** test_tx_moved.c — dl_tx_run hands its working EAVT and AVET trees to
** dl_db_apply_moved instead of applying the changes twice (core/db/tx.c,
** db.h).  Check that this gives exactly what the plain path gives: for a
** few hundred random transactions (assertions, card-one replacements,
** card-many adds, retractions, retractEntity with refs and components,
** raw datoms), the value dl_tx_run returns must equal dl_db_apply of the
** report's datoms on the same base — all six trees datom by datom, the
** hash and the counters.
*/
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

static uint32_t rng = 12345;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng % n;
}

/* Same datoms in the same order in both trees. */
static int same_tree(const bt_tree *x, const bt_tree *y, dl_index o) {
    bt_cursor *cx, *cy;
    int same = 1;
    if (bt_cursor_open(x, &cx) != 0) return 0;
    if (bt_cursor_open(y, &cy) != 0) {
        bt_cursor_close(cx);
        return 0;
    }
    bt_cursor_first(cx);
    bt_cursor_first(cy);
    while (same && bt_cursor_valid(cx) && bt_cursor_valid(cy)) {
        dl_datom a, b;
        bt_cursor_get(cx, &a);
        bt_cursor_get(cy, &b);
        if (dl_datom_cmp(o, &a, &b, 5) != 0) same = 0;
        bt_cursor_next(cx);
        bt_cursor_next(cy);
    }
    if (bt_cursor_valid(cx) || bt_cursor_valid(cy)) same = 0;
    bt_cursor_close(cx);
    bt_cursor_close(cy);
    return same;
}

static const char *SCHEMA =
    "[{:db/ident :name :db/valueType :db.type/string"
    "  :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}"
    " {:db/ident :age :db/valueType :db.type/long"
    "  :db/cardinality :db.cardinality/one :db/index true}"
    " {:db/ident :note :db/valueType :db.type/string"
    "  :db/cardinality :db.cardinality/one}"
    " {:db/ident :tags :db/valueType :db.type/keyword"
    "  :db/cardinality :db.cardinality/many}"
    " {:db/ident :friend :db/valueType :db.type/ref"
    "  :db/cardinality :db.cardinality/many}"
    " {:db/ident :part :db/valueType :db.type/ref"
    "  :db/cardinality :db.cardinality/many :db/isComponent true}"
    " {:db/ident :quiet :db/valueType :db.type/long"
    "  :db/cardinality :db.cardinality/one :db/noHistory true}]";

static void random_tx(char *buf, size_t cap, uint64_t tx) {
    size_t n = 0;
    int ops = 1 + (int)rnd(6);
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < ops && n < cap - 200; i++) {
        int e = 100 + (int)rnd(30), f = 100 + (int)rnd(30);
        switch (rnd(9)) {
        case 0:
            n += (size_t)snprintf(buf + n, cap - n, "[:db/add %d :age %u] ", e,
                                  rnd(5));
            break;
        case 1:
            n += (size_t)snprintf(buf + n, cap - n,
                                  "{:db/id %d :note \"n%u\" :tags [:t%u :t%u]} ",
                                  e, rnd(4), rnd(4), rnd(4));
            break;
        case 2:
            n += (size_t)snprintf(buf + n, cap - n, "[:db/retract %d :tags :t%u] ",
                                  e, rnd(4));
            break;
        case 3:
            n += (size_t)snprintf(buf + n, cap - n, "[:db/add %d :friend %d] ", e,
                                  f);
            break;
        case 4:
            n += (size_t)snprintf(buf + n, cap - n, "[:db/retractEntity %d] ", e);
            break;
        case 5:
            n += (size_t)snprintf(buf + n, cap - n,
                                  "{:db/id %d :part [{:note \"p%u\"}]} ", e,
                                  rnd(3));
            break;
        case 6:
            n += (size_t)snprintf(buf + n, cap - n, "[:db/add %d :quiet %u] ", e,
                                  rnd(3));
            break;
        case 7:
            n += (size_t)snprintf(buf + n, cap - n,
                                  "#datahike/Datom [%d :age %u %llu true] ", e,
                                  rnd(5), (unsigned long long)tx);
            break;
        default:
            n += (size_t)snprintf(buf + n, cap - n, "[:db/retract %d :age] ", e);
            break;
        }
    }
    snprintf(buf + n, cap - n, "]");
}

TEST(moved_trees_equal_plain_apply) {
    for (int hist = 0; hist < 2; hist++) {
        dl_config c;
        edn_value cv = rd(hist ? "{:store {:backend :memory :id \"mv1\"}}"
                               : "{:store {:backend :memory :id \"mv0\"}"
                                 " :keep-history? false}");
        dl_db *db = NULL;
        dl_tx_report r;
        edn_value s = rd(SCHEMA);
        memset(&c, 0, sizeof c);
        CHECK_EQ_INT(dl_config_parse(&A, &cv, &c), 0);
        CHECK_EQ_INT(dl_db_empty(&c, &db), 0);
        CHECK_EQ_INT(dl_tx_run(db, &s, NULL, 1000, &A, &r), 0);
        dl_db_release(db);
        int ok = 0;
        db = r.db_after;
        for (int i = 0; i < 300 && db; i++) {
            char buf[2048];
            edn_value tx;
            dl_db *ref = NULL;
            dl_change *ch;
            int rc;
            random_tx(buf, sizeof buf, db->max_tx);
            tx = rd(buf);
            rc = dl_tx_run(db, &tx, NULL, 2000 + i, &A, &r);
            if (rc != 0) continue; /* e.g. a unique or ref conflict */
            ok++;
            ch = malloc((r.n_datoms + 1) * sizeof *ch);
            for (size_t k = 0; k < r.n_datoms; k++) ch[k].d = r.datoms[k];
            CHECK_EQ_INT(dl_db_apply(db, ch, r.n_datoms, NULL, r.db_after->max_eid,
                                     r.db_after->max_tx, r.tx_instant, &ref),
                         0);
            free(ch);
            if (ref) {
                for (int t = 0; t < DL_INDEX_COUNT; t++) {
                    int same = same_tree(&r.db_after->idx[t], &ref->idx[t],
                                         (dl_index)t);
                    CHECK(same);
                    if (!same)
                        fprintf(stderr, "tree %d differs after %s\n", t, buf);
                }
                CHECK(r.db_after->hash == ref->hash);
                dl_db_release(ref);
            }
            dl_db_release(db);
            db = r.db_after;
        }
        CHECK(ok >= 200); /* the comparison really ran */
        dl_db_release(db);
        dl_arena_free(&A);
        dl_arena_init(&A, 0);
    }
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(moved_trees_equal_plain_apply);
    dl_arena_free(&A);
    return test_summary();
}
