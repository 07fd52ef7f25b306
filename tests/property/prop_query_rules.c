/*
** prop_query_rules.c — recursive rules against a naive fixpoint.
**
** Random small graphs (entities 20..28, card-many refs :r and :s, a
** card-one long :a in 0..2) and one of eleven rule programs (right-, left-
** and non-linear transitive closure, mutual recursion, same generation,
** a filter and an or inside the recursion, a recursive rule calling
** another recursive rule, a head with swapped arguments, a right-linear
** shape whose passed-through variable is also filtered).  The query
** calls the rule with a random mix of constants, variables bound earlier
** by a pattern, unbound and repeated variables, sometimes twice.  The
** reference computes the rule relations here, independently of
** core/query, by naive iteration over adjacency matrices until nothing
** changes, then enumerates every assignment of ?x ?y ?z.  Result sets
** must be equal.  This is what the demand-driven evaluation (only the
** part reachable from the bound arguments) must not change.
*/
#include "db/config.h"
#include "db/db.h"
#include "db/tx.h"
#include "query/query.h"
#include "test.h"
#include "util/error.h"
#include "value/value.h"

#include <stdio.h>

#define NE 9
#define E0 20

static int R[NE][NE], S[NE][NE], A[NE]; /* A: :a value, -1 none */
static int P[NE][NE], Qr[NE][NE];

static unsigned long long rs = 0x2545F4914F6CDD1Dull;
static unsigned rnd(unsigned n) {
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (unsigned)(rs % n);
}

static const char *RULES[] = {
    /* 0 right-linear */
    "[[(p ?x ?y) [?x :r ?y]] [(p ?x ?y) [?x :r ?z] (p ?z ?y)]]",
    /* 1 left-linear */
    "[[(p ?x ?y) [?x :r ?y]] [(p ?x ?y) (p ?x ?z) [?z :r ?y]]]",
    /* 2 non-linear */
    "[[(p ?x ?y) [?x :r ?y]] [(p ?x ?y) (p ?x ?z) (p ?z ?y)]]",
    /* 3 mutual: alternating r / s paths */
    "[[(p ?x ?y) [?x :r ?y]] [(p ?x ?y) [?x :r ?z] (q ?z ?y)]"
    " [(q ?x ?y) [?x :s ?y]] [(q ?x ?y) [?x :s ?z] (p ?z ?y)]]",
    /* 4 same generation */
    "[[(p ?x ?y) [?x :r ?z] [?y :r ?z]] [(p ?x ?y) [?x :r ?a] (p ?a ?b) [?y :r ?b]]]",
    /* 5 filter inside the recursion */
    "[[(p ?x ?y) [?x :r ?y]] [(p ?x ?y) [?x :s ?z] [?z :a 1] (p ?z ?y)]]",
    /* 6 or inside the recursion */
    "[[(p ?x ?y) (or [?x :r ?y] [?x :s ?y])] [(p ?x ?y) (or [?x :r ?z] [?x :s ?z]) (p ?z ?y)]]",
    /* 7 recursive rule over another recursive rule */
    "[[(q ?x ?y) [?x :r ?y]] [(q ?x ?y) [?x :r ?z] (q ?z ?y)]"
    " [(p ?x ?y) [?x :s ?y]] [(p ?x ?y) (q ?x ?z) (p ?z ?y)]]",
    /* 8 head arguments swapped against the pattern */
    "[[(p ?y ?x) [?x :r ?y]] [(p ?y ?x) (p ?z ?x) [?z :r ?y]]]",
    /* 9 two bodies each recursive, a constant argument in a body call */
    "[[(p ?x ?y) [?x :r ?y]] [(p ?x ?y) [?x :s ?z] (p ?z ?y)] [(p ?x ?y) (p ?x ?z) [?z :s ?y]]"
    " [(p ?x ?y) [?x :a 2] (p 20 ?y)]]",
    /* 10 right-linear shape, but the passed-through variable is also
    ** filtered in the body */
    "[[(p ?x ?y) [?x :r ?y]] [(p ?x ?y) [?x :r ?z] (p ?z ?y) [?y :a 1]]]",
};
#define NRULES ((int)(sizeof RULES / sizeof RULES[0]))

/* One round of immediate consequence of program t into nP / nQ. */
static void step(int t, int nP[NE][NE], int nQ[NE][NE]) {
    memset(nP, 0, sizeof(int) * NE * NE);
    memset(nQ, 0, sizeof(int) * NE * NE);
    for (int x = 0; x < NE; x++)
        for (int y = 0; y < NE; y++) {
            int v = 0, w = 0;
            switch (t) {
            case 0: v = R[x][y]; for (int z = 0; z < NE && !v; z++) v = R[x][z] && P[z][y]; break;
            case 1: v = R[x][y]; for (int z = 0; z < NE && !v; z++) v = P[x][z] && R[z][y]; break;
            case 2: v = R[x][y]; for (int z = 0; z < NE && !v; z++) v = P[x][z] && P[z][y]; break;
            case 3:
                v = R[x][y];
                for (int z = 0; z < NE && !v; z++) v = R[x][z] && Qr[z][y];
                w = S[x][y];
                for (int z = 0; z < NE && !w; z++) w = S[x][z] && P[z][y];
                break;
            case 4:
                for (int z = 0; z < NE && !v; z++) v = R[x][z] && R[y][z];
                for (int a = 0; a < NE && !v; a++)
                    for (int b = 0; b < NE && !v; b++) v = R[x][a] && P[a][b] && R[y][b];
                break;
            case 5: v = R[x][y]; for (int z = 0; z < NE && !v; z++) v = S[x][z] && A[z] == 1 && P[z][y]; break;
            case 6: v = R[x][y] || S[x][y]; for (int z = 0; z < NE && !v; z++) v = (R[x][z] || S[x][z]) && P[z][y]; break;
            case 7:
                w = R[x][y];
                for (int z = 0; z < NE && !w; z++) w = R[x][z] && Qr[z][y];
                v = S[x][y];
                for (int z = 0; z < NE && !v; z++) v = Qr[x][z] && P[z][y];
                break;
            case 8: /* p(y,x): r(x,y) or (p(z,x) and r(z,y)); here (x,y) index p(x,y) */
                v = R[y][x];
                for (int z = 0; z < NE && !v; z++) v = P[z][y] && R[z][x];
                break;
            case 9:
                v = R[x][y];
                for (int z = 0; z < NE && !v; z++) v = (S[x][z] && P[z][y]) || (P[x][z] && S[z][y]);
                if (!v) v = A[x] == 2 && P[0][y];
                break;
            case 10: v = R[x][y]; for (int z = 0; z < NE && !v; z++) v = R[x][z] && P[z][y] && A[y] == 1; break;
            }
            nP[x][y] = v;
            nQ[x][y] = w;
        }
}

static void fixpoint(int t) {
    static int nP[NE][NE], nQ[NE][NE];
    memset(P, 0, sizeof P);
    memset(Qr, 0, sizeof Qr);
    for (;;) {
        step(t, nP, nQ);
        if (!memcmp(nP, P, sizeof P) && !memcmp(nQ, Qr, sizeof Qr)) return;
        memcpy(P, nP, sizeof P);
        memcpy(Qr, nQ, sizeof Qr);
    }
}

static dl_db *build_db(dl_arena *a) {
    static const char *cfg = "{:store {:backend :memory :id \"prop-query-rules\"}}";
    edn_value v;
    dl_config c;
    dl_db *db = NULL;
    dl_tx_report r;
    memset(&c, 0, sizeof c);
    if (edn_read(a, cfg, strlen(cfg), NULL, &v) || dl_config_parse(a, &v, &c) || dl_db_empty(&c, &db))
        return NULL;
    const char *schema =
        "[{:db/ident :a :db/valueType :db.type/long :db/cardinality :db.cardinality/one}"
        " {:db/ident :r :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
        " {:db/ident :s :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}]";
    if (edn_read(a, schema, strlen(schema), NULL, &v) || dl_tx_run(db, &v, NULL, 1000, a, &r)) return NULL;
    dl_db_release(db);
    db = r.db_after;
    static char tx[16384];
    size_t n = 0;
    memset(R, 0, sizeof R);
    memset(S, 0, sizeof S);
    n += (size_t)sprintf(tx + n, "[");
    unsigned dens = 6 + rnd(10); /* edges per 100 pairs */
    for (int x = 0; x < NE; x++) {
        A[x] = rnd(4) ? (int)rnd(3) : -1;
        if (A[x] >= 0) n += (size_t)sprintf(tx + n, "[:db/add %d :a %d]", E0 + x, A[x]);
        for (int y = 0; y < NE; y++) {
            if (rnd(100) < dens) {
                R[x][y] = 1;
                n += (size_t)sprintf(tx + n, "[:db/add %d :r %d]", E0 + x, E0 + y);
            }
            if (rnd(100) < dens / 2) {
                S[x][y] = 1;
                n += (size_t)sprintf(tx + n, "[:db/add %d :s %d]", E0 + x, E0 + y);
            }
        }
    }
    n += (size_t)sprintf(tx + n, "]");
    if (n == 2) return db;
    if (edn_read(a, tx, n, NULL, &v) || dl_tx_run(db, &v, NULL, 1000, a, &r)) {
        fprintf(stderr, "tx failed: %s\n", dl_err_last()->message);
        dl_db_release(db);
        return NULL;
    }
    dl_db_release(db);
    return r.db_after;
}

/* A call argument: -1..-3 the variables ?x ?y ?z, else an entity index. */
static void arg_str(char *b, int a) {
    static const char *vn[3] = {"?x", "?y", "?z"};
    if (a < 0) strcpy(b, vn[-1 - a]);
    else sprintf(b, "%d", E0 + a);
}
static int arg_val(int a, const int *asg) { return a < 0 ? asg[-1 - a] : a; }
static int rand_arg(void) { return rnd(3) ? -1 - (int)rnd(3) : (int)rnd(NE); }

static int one_case(int it) {
    dl_arena a;
    dl_arena_init(&a, 0);
    dl_db *db = build_db(&a);
    if (!db) {
        dl_arena_free(&a);
        return 0;
    }
    int ok = 1;
    int t = (int)rnd(NRULES);
    fixpoint(t);
    for (int qi = 0; qi < 12 && ok; qi++) {
        /* which relation: q exists in programs 3 and 7 */
        int useq = (t == 3 || t == 7) && rnd(3) == 0;
        int c1[2] = {rand_arg(), rand_arg()};
        int two = rnd(3) == 0, c2[2] = {rand_arg(), rand_arg()};
        int pre = rnd(2), pa = (int)rnd(3); /* [?x :a pa] first */
        int used[3] = {0};
        for (int i = 0; i < 2; i++) {
            if (c1[i] < 0) used[-1 - c1[i]] = 1;
            if (two && c2[i] < 0) used[-1 - c2[i]] = 1;
        }
        if (pre) used[0] = 1;
        int fv[3], nfv = 0;
        for (int v = 0; v < 3; v++)
            if (used[v]) fv[nfv++] = v;
        if (nfv == 0) { /* find ?x over entities with :a */
            pre = 2;
            used[0] = 1;
            fv[nfv++] = 0;
        }
        char qs[512], b1[16], b2[16];
        size_t n = 0;
        static const char *vn[3] = {"?x", "?y", "?z"};
        n += (size_t)sprintf(qs + n, "[:find");
        for (int i = 0; i < nfv; i++) n += (size_t)sprintf(qs + n, " %s", vn[fv[i]]);
        n += (size_t)sprintf(qs + n, " :in $ %% :where");
        if (pre == 1) n += (size_t)sprintf(qs + n, " [?x :a %d]", pa);
        if (pre == 2) n += (size_t)sprintf(qs + n, " [?x :a _]");
        arg_str(b1, c1[0]);
        arg_str(b2, c1[1]);
        n += (size_t)sprintf(qs + n, " (%s %s %s)", useq ? "q" : "p", b1, b2);
        if (two) {
            arg_str(b1, c2[0]);
            arg_str(b2, c2[1]);
            n += (size_t)sprintf(qs + n, " (p %s %s)", b1, b2);
        }
        n += (size_t)sprintf(qs + n, "]");
        /* reference */
        static char exp[65536];
        size_t en = 0;
        en += (size_t)sprintf(exp + en, "#{");
        int asg[3];
        static int seen[NE * NE * NE][3];
        int nseen = 0;
        for (asg[0] = 0; asg[0] < NE; asg[0]++)
            for (asg[1] = 0; asg[1] < NE; asg[1]++)
                for (asg[2] = 0; asg[2] < NE; asg[2]++) {
                    int hold = 1;
                    if (pre == 1) hold = A[asg[0]] == pa;
                    if (pre == 2) hold = A[asg[0]] >= 0;
                    int (*M)[NE] = useq ? Qr : P;
                    if (hold) hold = M[arg_val(c1[0], asg)][arg_val(c1[1], asg)];
                    if (hold && two) hold = P[arg_val(c2[0], asg)][arg_val(c2[1], asg)];
                    if (!hold) continue;
                    int row[3] = {0, 0, 0}, dup = 0;
                    for (int k = 0; k < nfv; k++) row[k] = asg[fv[k]];
                    for (int s = 0; s < nseen && !dup; s++) dup = !memcmp(seen[s], row, sizeof row);
                    if (dup) continue;
                    memcpy(seen[nseen++], row, sizeof row);
                    en += (size_t)sprintf(exp + en, "[");
                    for (int k = 0; k < nfv; k++) en += (size_t)sprintf(exp + en, "%d ", E0 + row[k]);
                    en += (size_t)sprintf(exp + en, "]");
                }
        en += (size_t)sprintf(exp + en, "}");
        edn_value qv, in, got, want;
        dl_db *dbs[1] = {db};
        char ins[1024];
        int inl = snprintf(ins, sizeof ins, "[$ %s]", RULES[t]);
        if (edn_read(&a, qs, n, NULL, &qv) || edn_read(&a, ins, (size_t)inl, NULL, &in)) {
            fprintf(stderr, "case %d: cannot read %s\n", it, qs);
            ok = 0;
            break;
        }
        /* inputs: the db placeholder is replaced by the source list */
        edn_value rules_only = in.u.items[1];
        edn_value inputs;
        if (edn_vector(&a, &rules_only, 1, &inputs) ||
            q_run(&a, &qv, dbs, 1, &inputs, NULL, &got, NULL)) {
            fprintf(stderr, "case %d: program %d: %s failed: %s\n", it, t, qs, dl_err_last()->message);
            ok = 0;
            break;
        }
        if (edn_read(&a, exp, en, NULL, &want) || !edn_equal(&got, &want)) {
            dl_buf b = DL_BUF_INIT;
            edn_write(&b, &got);
            fprintf(stderr, "case %d: program %d: %s\n  got %.*s\n  expected %s\n", it, t, qs,
                    (int)b.len, b.data, exp);
            dl_buf_free(&b);
            ok = 0;
        }
    }
    dl_db_release(db);
    dl_arena_free(&a);
    return ok;
}

TEST(rules_match_naive_fixpoint) {
    for (int it = 0; it < 300; it++)
        if (!one_case(it)) {
            CHECK(0);
            break;
        }
}

int main(void) {
    RUN(rules_match_naive_fixpoint);
    return test_summary();
}
