/*
** prop_query.c — query results against a naive evaluator.
**
** Random small databases (entities 20..27, card-one longs :a :b in 0..5,
** card-many ref :r between entities) and random queries over ?x ?y ?z:
** two or three data patterns with variables and constants, optionally a
** comparison predicate (< > <= >=, either argument order), a fully
** bound (not …) and an (or …) of two
** patterns on one bound variable; :find is a random subset of the bound
** variables; the predicate's constant comes half the time as a scalar
** :in input (range pushdown through a bound input).  The reference
** evaluator, written here independently of core/query, tries every assignment of the variables
** over the value domain and keeps those for which every clause holds.
** Both sides' result sets must be equal.  Deterministic seed.
*/
#include "db/config.h"
#include "db/db.h"
#include "db/tx.h"
#include "query/query.h"
#include "test.h"
#include "util/error.h"
#include "value/value.h"

#include <stdio.h>

#define NE 8
#define E0 20
#define NV 6

typedef struct fact { int e, a, v; } fact; /* a: 0 :a, 1 :b, 2 :r */
static fact F[256];
static int nf;
static const char *AN[3] = {":a", ":b", ":r"};

static unsigned long long rs = 88172645463325252ull;
static unsigned rnd(unsigned n) {
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (unsigned)(rs % n);
}

static int has(int e, int a, int v) {
    for (int i = 0; i < nf; i++)
        if (F[i].e == e && F[i].a == a && F[i].v == v) return 1;
    return 0;
}

/* A term: var 0..2 (?x ?y ?z) or a constant (is_const). */
typedef struct term { int is_const, var, c; } term;
typedef struct pat { term e; int a; term v; } pat;

static int tval(const term *t, const int *asg) { return t->is_const ? t->c : asg[t->var]; }
static int pat_holds(const pat *p, const int *asg) { return has(tval(&p->e, asg), p->a, tval(&p->v, asg)); }

static void tstr(char *b, const term *t) {
    static const char *vn[3] = {"?x", "?y", "?z"};
    if (t->is_const) sprintf(b, "%d", t->c);
    else strcpy(b, vn[t->var]);
}
static void pstr(char *b, const pat *p) {
    char e[16], v[16];
    tstr(e, &p->e);
    tstr(v, &p->v);
    sprintf(b, "[%s %s %s]", e, AN[p->a], v);
}

static term rand_term(int entity_pos, int attr) {
    term t = {0, 0, 0};
    if (rnd(4) == 0) {
        t.is_const = 1;
        t.c = (entity_pos || attr == 2) ? E0 + (int)rnd(NE) : (int)rnd(NV);
    } else {
        t.var = (int)rnd(3);
    }
    return t;
}

static dl_db *build_db(dl_arena *a) {
    static const char *cfg = "{:store {:backend :memory :id \"prop-query\"}}";
    edn_value v;
    dl_config c;
    dl_db *db = NULL;
    dl_tx_report r;
    memset(&c, 0, sizeof c);
    if (edn_read(a, cfg, strlen(cfg), NULL, &v) || dl_config_parse(a, &v, &c) || dl_db_empty(&c, &db))
        return NULL;
    const char *schema =
        "[{:db/ident :a :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}"
        " {:db/ident :b :db/valueType :db.type/long :db/cardinality :db.cardinality/one}"
        " {:db/ident :r :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}]";
    if (edn_read(a, schema, strlen(schema), NULL, &v) || dl_tx_run(db, &v, NULL, 1000, a, &r)) return NULL;
    dl_db_release(db);
    db = r.db_after;
    /* facts */
    char tx[8192];
    size_t n = 0;
    nf = 0;
    n += (size_t)sprintf(tx + n, "[");
    for (int e = E0; e < E0 + NE; e++) {
        if (rnd(5)) { F[nf++] = (fact){e, 0, (int)rnd(NV)}; n += (size_t)sprintf(tx + n, "[:db/add %d :a %d]", e, F[nf - 1].v); }
        if (rnd(3)) { F[nf++] = (fact){e, 1, (int)rnd(NV)}; n += (size_t)sprintf(tx + n, "[:db/add %d :b %d]", e, F[nf - 1].v); }
        int k = (int)rnd(3);
        for (int j = 0; j < k; j++) {
            int t = E0 + (int)rnd(NE);
            if (has(e, 2, t)) continue;
            F[nf++] = (fact){e, 2, t};
            n += (size_t)sprintf(tx + n, "[:db/add %d :r %d]", e, t);
        }
    }
    n += (size_t)sprintf(tx + n, "]");
    if (nf == 0) return db;
    if (edn_read(a, tx, n, NULL, &v) || dl_tx_run(db, &v, NULL, 1000, a, &r)) {
        fprintf(stderr, "tx failed: %s\n", dl_err_last()->message);
        dl_db_release(db);
        return NULL;
    }
    dl_db_release(db);
    return r.db_after;
}

static int one_case(int it) {
    dl_arena a;
    dl_arena_init(&a, 0);
    dl_db *db = build_db(&a);
    if (!db) {
        dl_arena_free(&a);
        return 0;
    }
    int ok = 1;
    for (int qi = 0; qi < 10 && ok; qi++) {
        pat P[3];
        int np = 2 + (int)rnd(2), used[3] = {0};
        for (int i = 0; i < np; i++) {
            P[i].a = (int)rnd(3);
            P[i].e = rand_term(1, P[i].a);
            P[i].v = rand_term(0, P[i].a);
            if (!P[i].e.is_const) used[P[i].e.var] = 1;
            if (!P[i].v.is_const) used[P[i].v.var] = 1;
        }
        int bound[3], nb = 0;
        for (int v = 0; v < 3; v++)
            if (used[v]) bound[nb++] = v;
        if (nb == 0) continue;
        /* optional extras on bound variables */
        int pred = rnd(2), pv = bound[rnd((unsigned)nb)], pc = (int)rnd(NV + 2) + (rnd(2) ? E0 : 0);
        int pop = (int)rnd(4), pflip = (int)rnd(2), pin = (int)rnd(2); /* pin: constant as :in ?k */
        static const char *pops[4] = {"<", ">", "<=", ">="};
        /* :find a random non-empty subset of the bound variables, so
        ** variables the planner may project away early occur */
        unsigned fmask = 1u + rnd((1u << nb) - 1u);
        int fv[3], nfv = 0;
        for (int i = 0; i < nb; i++)
            if (fmask & (1u << i)) fv[nfv++] = bound[i];
        int neg = rnd(2);
        pat N = {{0, bound[rnd((unsigned)nb)], 0}, (int)rnd(2), {1, 0, (int)rnd(NV)}};
        int orc = rnd(2), ov = bound[rnd((unsigned)nb)], o1 = (int)rnd(NV), o2 = (int)rnd(NV);
        char qs[1024], buf[64];
        size_t n = 0;
        static const char *vn[3] = {"?x", "?y", "?z"};
        n += (size_t)sprintf(qs + n, "[:find");
        for (int i = 0; i < nfv; i++) n += (size_t)sprintf(qs + n, " %s", vn[fv[i]]);
        if (pred && pin) n += (size_t)sprintf(qs + n, " :in $ ?k");
        n += (size_t)sprintf(qs + n, " :where");
        for (int i = 0; i < np; i++) {
            pstr(buf, &P[i]);
            n += (size_t)sprintf(qs + n, " %s", buf);
        }
        char pcs[16];
        if (pin) strcpy(pcs, "?k");
        else sprintf(pcs, "%d", pc);
        if (pred && !pflip) n += (size_t)sprintf(qs + n, " [(%s %s %s)]", pops[pop], vn[pv], pcs);
        if (pred && pflip) n += (size_t)sprintf(qs + n, " [(%s %s %s)]", pops[pop], pcs, vn[pv]);
        if (neg) {
            pstr(buf, &N);
            n += (size_t)sprintf(qs + n, " (not %s)", buf);
        }
        if (orc) n += (size_t)sprintf(qs + n, " (or [%s :a %d] [%s :b %d])", vn[ov], o1, vn[ov], o2);
        n += (size_t)sprintf(qs + n, "]");
        /* reference */
        int dom[NE + NV], nd = 0;
        for (int i = 0; i < NV; i++) dom[nd++] = i;
        for (int i = 0; i < NE; i++) dom[nd++] = E0 + i;
        char exp[65536];
        size_t en = 0;
        en += (size_t)sprintf(exp + en, "#{");
        int asg[3];
        int seen_rows[4096][3], nseen = 0;
        for (int i0 = 0; i0 < nd; i0++)
            for (int i1 = 0; i1 < nd; i1++)
                for (int i2 = 0; i2 < nd; i2++) {
                    asg[0] = dom[i0];
                    asg[1] = dom[i1];
                    asg[2] = dom[i2];
                    int hold = 1;
                    for (int i = 0; i < np && hold; i++) hold = pat_holds(&P[i], asg);
                    if (hold && pred) {
                        int l = pflip ? pc : asg[pv], r = pflip ? asg[pv] : pc;
                        hold = pop == 0 ? l < r : pop == 1 ? l > r : pop == 2 ? l <= r : l >= r;
                    }
                    if (hold && neg) hold = !pat_holds(&N, asg);
                    if (hold && orc) hold = has(asg[ov], 0, o1) || has(asg[ov], 1, o2);
                    if (!hold) continue;
                    int row[3] = {0, 0, 0}, dup = 0;
                    for (int k = 0; k < nfv; k++) row[k] = asg[fv[k]];
                    for (int s = 0; s < nseen && !dup; s++)
                        dup = !memcmp(seen_rows[s], row, sizeof row);
                    if (dup || nseen >= 4096) continue;
                    memcpy(seen_rows[nseen++], row, sizeof row);
                    en += (size_t)sprintf(exp + en, "[");
                    for (int k = 0; k < nfv; k++) en += (size_t)sprintf(exp + en, "%d ", row[k]);
                    en += (size_t)sprintf(exp + en, "]");
                }
        en += (size_t)sprintf(exp + en, "}");
        edn_value qv, got, want, inv;
        dl_db *dbs[1] = {db};
        char ins[32];
        int inl = sprintf(ins, "[%d]", pc);
        if (edn_read(&a, qs, n, NULL, &qv) || edn_read(&a, ins, (size_t)inl, NULL, &inv) ||
            q_run(&a, &qv, dbs, 1, pred && pin ? &inv : NULL, NULL, &got, NULL)) {
            fprintf(stderr, "case %d: %s failed: %s\n", it, qs, dl_err_last()->message);
            ok = 0;
            break;
        }
        if (edn_read(&a, exp, en, NULL, &want) || !edn_equal(&got, &want)) {
            dl_buf b = DL_BUF_INIT;
            edn_write(&b, &got);
            fprintf(stderr, "case %d: %s\n  got %.*s\n  expected %s\n", it, qs, (int)b.len, b.data, exp);
            dl_buf_free(&b);
            ok = 0;
        }
    }
    dl_db_release(db);
    dl_arena_free(&a);
    return ok;
}

TEST(query_matches_naive_evaluator) {
    for (int it = 0; it < 150; it++)
        if (!one_case(it)) {
            CHECK(0);
            break;
        }
}

int main(void) {
    RUN(query_matches_naive_evaluator);
    return test_summary();
}
