/*
** test_view.c — the view-aware scan (core/db/view.h): the as-of fold's edge
** cases (assert+retract in one tx, retract-then-assert in one tx, many txs),
** reverse scans, history merging, since and filters, built with dl_db_apply
** directly (schema-on-read, so no schema entities are involved).
*/
#include "db/db.h"
#include "db/view.h"
#include "test.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

static dl_arena A;

#define TX(n) (DL_TX0 + (n))

static dl_config cfg_of(const char *edn) {
    dl_config c;
    edn_value v;
    memset(&c, 0, sizeof c);
    if (edn_read(&A, edn, strlen(edn), NULL, &v) != 0 ||
        dl_config_parse(&A, &v, &c) != 0)
        fprintf(stderr, "bad test config %s: %s\n", edn, dl_err_last()->message);
    return c;
}

static dl_change ch(uint64_t e, const char *a, int64_t v, uint64_t tx,
                    bool added) {
    dl_change c;
    memset(&c, 0, sizeof c);
    c.d.e = e;
    c.d.a = edn_intern_full(a, strlen(a));
    c.d.v = edn_int(v);
    c.d.tx = tx;
    c.d.added = added;
    return c;
}

/* Apply changes of one tx to *db (replacing it). */
static void step(dl_db **db, const dl_change *c, size_t n, uint64_t tx) {
    dl_db *next = NULL;
    int rc = dl_db_apply(*db, c, n, NULL, 1000, tx, (int64_t)tx, &next);
    CHECK_EQ_INT(rc, 0);
    if (rc) return;
    dl_db_release(*db);
    *db = next;
}

/* The scan of EAVT for entity e as "v@tx+ v@tx- …". */
static void scan_str(const dl_db *db, uint64_t e, bool reverse, char *out,
                     size_t cap) {
    dl_datom key, d;
    dl_scan *s;
    size_t n = 0;
    memset(&key, 0, sizeof key);
    key.e = e;
    out[0] = '\0';
    if (dl_scan_open(db, DL_EAVT, &key, 1, &key, 1, reverse, &s) != 0) {
        snprintf(out, cap, "open failed");
        return;
    }
    int rc;
    while ((rc = dl_scan_next(s, &d)) == 1 && n + 40 < cap)
        n += (size_t)snprintf(out + n, cap - n, "%s%lld@%llu%c", n ? " " : "",
                              (long long)d.v.u.i,
                              (unsigned long long)(d.tx - DL_TX0),
                              d.added ? '+' : '-');
    if (rc < 0) snprintf(out, cap, "error");
    dl_scan_close(s);
}

static dl_db *fresh(void) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"test-view\"}"
                         " :schema-flexibility :read :keep-history? true}");
    dl_db *db = NULL;
    CHECK_EQ_INT(dl_db_empty(&c, &db), 0);
    return db;
}

static dl_db *as_of(const dl_db *db, uint64_t tx) {
    edn_value t = edn_int((int64_t)tx);
    dl_db *v = NULL;
    CHECK_EQ_INT(dl_view_as_of(db, &t, &v), 0);
    return v;
}

TEST(assert_and_retract_in_one_tx_is_absent) {
    dl_db *db = fresh();
    char buf[256];
    dl_change c[] = {ch(1, "a", 5, TX(1), true), ch(1, "a", 5, TX(1), false)};
    step(&db, c, 2, TX(1));
    dl_db *v = as_of(db, TX(1));
    scan_str(v, 1, false, buf, sizeof buf);
    CHECK_STR(buf, "");
    dl_view_release(v);
    dl_db *h = NULL;
    CHECK_EQ_INT(dl_view_history(db, &h), 0);
    scan_str(h, 1, false, buf, sizeof buf);
    CHECK_STR(buf, "5@1- 5@1+");
    dl_view_release(h);
    dl_db_release(db);
}

TEST(retract_then_assert_in_one_tx_is_present) {
    dl_db *db = fresh();
    char buf[256];
    dl_change c1[] = {ch(1, "a", 5, TX(1), true)};
    dl_change c2[] = {ch(1, "a", 5, TX(2), false), ch(1, "a", 5, TX(2), true)};
    step(&db, c1, 1, TX(1));
    step(&db, c2, 2, TX(2));
    dl_db *v = as_of(db, TX(2));
    scan_str(v, 1, false, buf, sizeof buf);
    CHECK_STR(buf, "5@2+");
    dl_view_release(v);
    v = as_of(db, TX(1));
    scan_str(v, 1, false, buf, sizeof buf);
    CHECK_STR(buf, "5@1+");
    dl_view_release(v);
    dl_db_release(db);
}

TEST(many_transactions_and_reverse) {
    dl_db *db = fresh();
    char buf[256];
    /* tx1: 1 2 3; tx2: -2 4; tx3: -1 2; tx4: -4 */
    dl_change c1[] = {ch(1, "a", 1, TX(1), true), ch(1, "a", 2, TX(1), true),
                      ch(1, "a", 3, TX(1), true)};
    dl_change c2[] = {ch(1, "a", 2, TX(2), false), ch(1, "a", 4, TX(2), true)};
    dl_change c3[] = {ch(1, "a", 1, TX(3), false), ch(1, "a", 2, TX(3), true)};
    dl_change c4[] = {ch(1, "a", 4, TX(4), false)};
    step(&db, c1, 3, TX(1));
    step(&db, c2, 2, TX(2));
    step(&db, c3, 2, TX(3));
    step(&db, c4, 1, TX(4));
    static const char *want[] = {"", "1@1+ 2@1+ 3@1+", "1@1+ 3@1+ 4@2+",
                                 "2@3+ 3@1+ 4@2+", "2@3+ 3@1+"};
    static const char *rwant[] = {"", "3@1+ 2@1+ 1@1+", "4@2+ 3@1+ 1@1+",
                                  "4@2+ 3@1+ 2@3+", "3@1+ 2@3+"};
    for (int t = 0; t <= 4; t++) {
        dl_db *v = as_of(db, TX(t));
        scan_str(v, 1, false, buf, sizeof buf);
        CHECK_STR(buf, want[t]);
        scan_str(v, 1, true, buf, sizeof buf);
        CHECK_STR(buf, rwant[t]);
        dl_view_release(v);
    }
    /* the current value equals as-of the last tx */
    scan_str(db, 1, false, buf, sizeof buf);
    CHECK_STR(buf, "2@3+ 3@1+");
    /* history, forward and reverse */
    dl_db *h = NULL;
    CHECK_EQ_INT(dl_view_history(db, &h), 0);
    scan_str(h, 1, false, buf, sizeof buf);
    CHECK_STR(buf, "1@1+ 1@3- 2@1+ 2@2- 2@3+ 3@1+ 4@2+ 4@4-");
    scan_str(h, 1, true, buf, sizeof buf);
    CHECK_STR(buf, "4@4- 4@2+ 3@1+ 2@3+ 2@2- 2@1+ 1@3- 1@1+");
    /* since 2: current datoms of later txs */
    edn_value t2 = edn_int((int64_t)TX(2));
    dl_db *s = NULL;
    CHECK_EQ_INT(dl_view_since(db, &t2, &s), 0);
    scan_str(s, 1, false, buf, sizeof buf);
    CHECK_STR(buf, "2@3+");
    dl_view_release(s);
    dl_view_release(h);
    dl_db_release(db);
}

static int drop_value(void *ctx, const dl_datom *d) {
    return d->v.u.i != *(int64_t *)ctx;
}

static int freed;
static void count_free(void *ctx) { (void)ctx; freed++; }

TEST(filters_compose_and_are_freed) {
    dl_db *db = fresh();
    char buf[256];
    dl_change c1[] = {ch(1, "a", 1, TX(1), true), ch(1, "a", 2, TX(1), true),
                      ch(1, "a", 3, TX(1), true)};
    step(&db, c1, 3, TX(1));
    static int64_t two = 2, three = 3;
    dl_db *f1 = NULL, *f2 = NULL;
    freed = 0;
    CHECK_EQ_INT(dl_view_filter(db, drop_value, &two, count_free, &f1), 0);
    CHECK_EQ_INT(dl_view_filter(f1, drop_value, &three, count_free, &f2), 0);
    CHECK(dl_view_is_filtered(f2) && !dl_view_is_filtered(db));
    scan_str(f1, 1, false, buf, sizeof buf);
    CHECK_STR(buf, "1@1+ 3@1+");
    scan_str(f2, 1, true, buf, sizeof buf);
    CHECK_STR(buf, "1@1+");
    dl_view_release(f1);
    CHECK_EQ_INT(freed, 0); /* f2 still holds the inner link */
    dl_view_release(f2);
    CHECK_EQ_INT(freed, 2);
    dl_db_release(db);
}

TEST(errors) {
    dl_config c = cfg_of("{:store {:backend :memory :id \"test-view-nh\"}"
                         " :keep-history? false}");
    dl_db *db = NULL, *v = NULL;
    edn_value t = edn_int((int64_t)TX(1));
    CHECK_EQ_INT(dl_db_empty(&c, &db), 0);
    CHECK_EQ_INT(dl_view_history(db, &v), DATALITH_EUNSUPPORTED);
    CHECK_STR(dl_err_last()->message,
              "history is only allowed on temporal indexed databases.");
    CHECK_EQ_INT(dl_view_as_of(db, &t, &v), DATALITH_EUNSUPPORTED);
    CHECK_EQ_INT(dl_view_since(db, &t, &v), DATALITH_EUNSUPPORTED);
    dl_db_release(db);
    db = fresh();
    t = edn_int(536870911);
    CHECK_EQ_INT(dl_view_as_of(db, &t, &v), DATALITH_EINVAL);
    CHECK_STR(dl_err_last()->message,
              "Invalid transaction ID. Must be bigger than 536870912.");
    t = edn_int(536870912);
    CHECK_EQ_INT(dl_view_as_of(db, &t, &v), 0);
    dl_view_release(v);
    dl_db_release(db);
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(assert_and_retract_in_one_tx_is_absent);
    RUN(retract_then_assert_in_one_tx_is_present);
    RUN(many_transactions_and_reverse);
    RUN(filters_compose_and_are_freed);
    RUN(errors);
    dl_arena_free(&A);
    return test_summary();
}
