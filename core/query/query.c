/*
** query.c — the Datalog engine: parser, planner and executor (query.h).
**
** RELATIONS.  Every intermediate result is a q_rel: a set of variables (the
** columns) and rows stored row-major as edn_values (24 bytes each, entity
** ids and numbers inline, strings pointing into the query arena):
**
**   vars  [ ?e  ?n      ?a ]
**   rows  [ 12  "Ivan"  31 ]   row 0
**         [ 17  "Ivan"  40 ]   row 1       rows: malloc'd, freed by q_run
**
** Joins hash the shared columns (edn_hash, edn_equal), building on the
** smaller side; relations without shared columns are crossed.
**
** PLANNING.  Clauses are not run in the order written.  At each step the
** scheduler picks, among the clauses that can run:
**   1. a filter whose inputs are bound (predicate, not, not-join),
**   2. a function binding whose inputs are bound,
**   3. the cheapest data pattern connected to the bound variables, costed
**      by an exact O(log n) count of its constant prefix (q_scan.h) or, if
**      it shares bound variables, by the rows that will probe it,
**   4. an or / or-join / rule call connected to the bound variables,
**   5. the cheapest unconnected pattern, then any or / rule call.
** A pattern sharing bound variables runs as an index nested loop (one seek
** per bound row) when the bound side is small against the pattern's count,
** else as one scan hash-joined with the bound relation.  Nothing runnable
** but clauses left: "Cannot resolve any more clauses — insufficient
** bindings".
**
** RULES.  A non-recursive rule call is expanded in place, seeded with the
** caller's bound arguments.  A recursive one (or a member of a mutually
** recursive group) called with bound arguments is evaluated on demand
** (dm_fixpoint, "demand-driven rules" below): only what those bindings
** reach.  Called with none, it is computed bottom-up over whole relations
** by semi-naive iteration: each round evaluates every body once per
** recursive call in it, that call reading the previous round's new tuples
** (delta) and the others the whole relation, until no new tuple appears.
*/
#define _POSIX_C_SOURCE 200809L
#include "query.h"

#include "q_internal.h"
#include "q_scan.h"

#include "db/schema.h"
#include "pull/pull.h"
#include "util/buf.h"
#include "util/error.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* AST                                                                 */

enum { T_VAR, T_CONST, T_BLANK, T_SRC };
typedef struct q_term {
    int kind;
    int var;
    int src;
    edn_value c;
} q_term;

enum { B_VAR, B_BLANK, B_TUPLE, B_COLL };
typedef struct q_bind {
    int kind;
    int var;
    struct q_bind *el;
    int n;
    edn_value form;
} q_bind;

enum { C_PAT, C_PRED, C_FN, C_NOT, C_OR, C_RULE };
typedef struct q_rule q_rule;
typedef struct q_clause q_clause;

typedef struct q_branch {
    q_clause *cl;
    int n;
} q_branch;

struct q_clause {
    int kind;
    int src;            /* source index */
    edn_value form;
    q_term *t;          /* pattern terms, fn args, rule args */
    int nt;
    const q_builtin *fn;
    q_bind out;         /* C_FN */
    q_branch *br;       /* C_NOT: one; C_OR: branches */
    int nbr;
    int *join;          /* not-join / or-join vars */
    int njoin, nreq, has_join;
    int *vars;          /* every var inside, distinct */
    int nvars;
    q_rule *rule;
    /* pattern constants resolved per query */
    int resolved, never;
    edn_value rc[5];
    uint64_t count;
};

typedef struct q_rbody {
    int *head;  /* head vars */
    q_branch body;
} q_rbody;

struct q_rule {
    const edn_sym *name;
    int arity;
    q_rbody *b;
    int nb;
    int recursive;
    int computing;
    int *reach; /* reach[j]: this rule can call rule j */
    struct q_rel *full, *delta;
};

enum { F_VAR, F_AGG, F_PULL };
typedef struct q_felem {
    int kind;
    int var;
    const edn_sym *agg;
    const edn_value *consts;
    int nconsts;
    edn_value form;
    int psrc;      /* F_PULL: source index, -1 default */
    int pvar;      /* F_PULL: pattern variable, or -1 */
    edn_value pat; /* F_PULL: constant pattern */
} q_felem;

enum { FIND_REL, FIND_COLL, FIND_TUPLE, FIND_SCALAR };

typedef struct q_rel {
    int w;
    int distinct; /* rows known distinct (set only where it is cheap to know) */
    int *vars;
    size_t n, cap;
    edn_value *rows;
    struct q_rel *next;
} q_rel;

typedef struct Q {
    dl_arena *a;
    size_t row_limit;
    const edn_sym **varname;
    int nvar, capvar;
    q_src *src;
    int nsrc;
    q_rule *rules;
    int nrules;
    q_rel *rels; /* every relation, for freeing */
    const q_clause *delta_occ;
    struct dm_ctx *dm; /* demand-driven group being computed, or NULL */
    const q_clause *first; /* run this clause first in its branch (dm_body_delta) */
    int left;              /* clauses of the branch still to run after this one */
    edn_value *plan;
    size_t nplan, capplan;
    int depth;
    /* AVET value range for the next constant-only scan (pat_range) */
    const edn_value *rlo, *rhi;
    /* top-level branch and the variables its result must keep */
    const struct q_branch *top;
    const int *keep;
    int nkeep;
    /* arg-map options (argmap_split); offset/limit < 0: none */
    int64_t offset, limit;
    const edn_value *order_by;
    const char *via;   /* how the last pattern ran, for the plan */
    edn_value *consts; /* scalar :in bindings, ?var value pairs (plan) */
    size_t nconsts;
} Q;

static const edn_sym *S_ELLIPSIS, *S_DOT, *S_BLANK, *S_NOT, *S_NOTJOIN,
    *S_OR, *S_ORJOIN, *S_AND, *S_QUOTE, *S_PULL;

static void q_syms(void) {
    S_ELLIPSIS = edn_intern_full("...", 3);
    S_DOT = edn_intern_full(".", 1);
    S_BLANK = edn_intern_full("_", 1);
    S_NOT = edn_intern_full("not", 3);
    S_NOTJOIN = edn_intern_full("not-join", 8);
    S_OR = edn_intern_full("or", 2);
    S_ORJOIN = edn_intern_full("or-join", 7);
    S_AND = edn_intern_full("and", 3);
    S_QUOTE = edn_intern_full("quote", 5);
    S_PULL = edn_intern_full("pull", 4);
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */

const char *q_show(const edn_value *v, char *buf, size_t size) {
    dl_buf b = DL_BUF_INIT;
    if (edn_write(&b, v) || !b.data) {
        dl_buf_free(&b);
        snprintf(buf, size, "<form>");
        return buf;
    }
    size_t len = b.len;
    if (len >= size) {
        memcpy(buf, b.data, size - 4);
        memcpy(buf + size - 4, "...", 4);
    } else {
        memcpy(buf, b.data, len);
        buf[len] = 0;
    }
    dl_buf_free(&b);
    return buf;
}

#define SHOW(v) q_show((v), (char[200]){0}, 200)

static int qerr(const char *fmt, const edn_value *form) {
    return dl_err_set(DATALITH_EQUERY, fmt, SHOW(form));
}

static int is_sym(const edn_value *v) { return v->type == EDN_SYMBOL; }
static int is_var_sym(const edn_value *v) {
    return v->type == EDN_SYMBOL && v->u.sym->full[0] == '?';
}
static int is_src_sym(const edn_value *v) {
    return v->type == EDN_SYMBOL && v->u.sym->full[0] == '$';
}
static int is_blank(const edn_value *v) {
    return v->type == EDN_SYMBOL && v->u.sym == S_BLANK;
}

static int var_id(Q *q, const edn_sym *s) {
    for (int i = 0; i < q->nvar; i++)
        if (q->varname[i] == s) return i;
    if (q->nvar == q->capvar) {
        int nc = q->capvar ? q->capvar * 2 : 32;
        const edn_sym **nv =
            dl_arena_realloc(q->a, q->varname, sizeof *nv * (size_t)q->capvar,
                             sizeof *nv * (size_t)nc);
        if (!nv) return -1;
        q->varname = nv;
        q->capvar = nc;
    }
    q->varname[q->nvar] = s;
    return q->nvar++;
}

/* A small growable int set in the arena. */
typedef struct iset {
    int *v;
    int n, cap;
} iset;

static int iset_has(const iset *s, int x) {
    for (int i = 0; i < s->n; i++)
        if (s->v[i] == x) return 1;
    return 0;
}
static int iset_add(Q *q, iset *s, int x) {
    if (iset_has(s, x)) return 0;
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 8;
        int *nv = dl_arena_realloc(q->a, s->v, sizeof(int) * (size_t)s->cap,
                                   sizeof(int) * (size_t)nc);
        if (!nv) return DATALITH_ENOMEM;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = x;
    return 0;
}

static edn_value var_value(Q *q, int var) {
    return edn_symbol(q->varname[var]);
}

static int vars_show(Q *q, const int *vars, int n, int set, char *buf,
                     size_t size) {
    edn_value *items = dl_arena_alloc(q->a, sizeof(edn_value) * (size_t)(n + 1));
    edn_value v;
    if (!items) return DATALITH_ENOMEM;
    for (int i = 0; i < n; i++) items[i] = var_value(q, vars[i]);
    int rc = set ? edn_set(q->a, items, (size_t)n, &v)
                 : edn_vector(q->a, items, (size_t)n, &v);
    if (rc) return rc;
    q_show(&v, buf, size);
    return 0;
}

/* ------------------------------------------------------------------ */
/* relations                                                           */

static q_rel *rel_new(Q *q, int w, const int *vars) {
    q_rel *r = dl_arena_calloc(q->a, 1, sizeof *r);
    if (!r) return NULL;
    r->w = w;
    r->vars = dl_arena_alloc(q->a, sizeof(int) * (size_t)(w + 1));
    if (!r->vars) return NULL;
    if (w) memcpy(r->vars, vars, sizeof(int) * (size_t)w);
    r->next = q->rels;
    q->rels = r;
    return r;
}

static void rels_free(Q *q) {
    for (q_rel *r = q->rels; r; r = r->next) {
        free(r->rows);
        r->rows = NULL;
    }
    q->rels = NULL;
}

static int rel_col(const q_rel *r, int var) {
    for (int i = 0; i < r->w; i++)
        if (r->vars[i] == var) return i;
    return -1;
}

/* Append a row slot; returns a pointer to w values to fill. */
/* Make room for n rows up front (an upper bound the caller knows), so
** rel_push does not regrow and copy; failure is left to rel_push. */
static void rel_reserve(Q *q, q_rel *r, size_t n) {
    if (n <= r->cap || n > q->row_limit) return;
    size_t w = r->w ? (size_t)r->w : 1;
    edn_value *nr = realloc(r->rows, n * w * sizeof(edn_value));
    if (!nr) return;
    r->rows = nr;
    r->cap = n;
}

static edn_value *rel_push(Q *q, q_rel *r) {
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        if (r->n >= q->row_limit) {
            dl_err_set(DATALITH_ELIMIT,
                       "Query exceeded the limit of %zu intermediate rows",
                       q->row_limit);
            return NULL;
        }
        size_t w = r->w ? (size_t)r->w : 1;
        edn_value *nr = realloc(r->rows, nc * w * sizeof(edn_value));
        if (!nr) {
            dl_err_nomem();
            return NULL;
        }
        r->rows = nr;
        r->cap = nc;
    }
    if (r->n >= q->row_limit) {
        dl_err_set(DATALITH_ELIMIT,
                   "Query exceeded the limit of %zu intermediate rows",
                   q->row_limit);
        return NULL;
    }
    return r->rows + (r->n++) * (size_t)r->w;
}

static const edn_value *rel_row(const q_rel *r, size_t i) {
    return r->rows + i * (size_t)r->w;
}

static uint64_t hash_cols(const edn_value *row, const int *cols, int k) {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < k; i++) {
        h ^= edn_hash(&row[cols[i]]) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    }
    return h;
}

static int eq_cols(const edn_value *x, const int *xc, const edn_value *y,
                   const int *yc, int k) {
    for (int i = 0; i < k; i++)
        if (!edn_equal(&x[xc[i]], &y[yc[i]])) return 0;
    return 1;
}

/* A chained hash index over rows of r keyed by columns cols. */
typedef struct hidx {
    size_t mask;
    size_t *head, *next;
    uint64_t *h;
} hidx;
#define HNONE ((size_t)-1)

static int hidx_build(const q_rel *r, const int *cols, int k, hidx *x) {
    size_t sz = 16;
    while (sz < r->n * 2) sz <<= 1;
    x->mask = sz - 1;
    x->head = malloc(sz * sizeof(size_t));
    x->next = malloc((r->n + 1) * sizeof(size_t));
    x->h = malloc((r->n + 1) * sizeof(uint64_t));
    if (!x->head || !x->next || !x->h) {
        free(x->head);
        free(x->next);
        free(x->h);
        return dl_err_nomem();
    }
    for (size_t i = 0; i < sz; i++) x->head[i] = HNONE;
    for (size_t i = r->n; i-- > 0;) {
        uint64_t h = hash_cols(rel_row(r, i), cols, k);
        x->h[i] = h;
        x->next[i] = x->head[h & x->mask];
        x->head[h & x->mask] = i;
    }
    return 0;
}
static void hidx_free(hidx *x) {
    free(x->head);
    free(x->next);
    free(x->h);
}

/* Remove duplicate rows in place. */
static int rel_dedupe(Q *q, q_rel *r) {
    (void)q;
    if (r->n < 2) return 0;
    if (r->w == 0) {
        r->n = 1;
        return 0;
    }
    int *cols = malloc(sizeof(int) * (size_t)r->w);
    if (!cols) return dl_err_nomem();
    for (int i = 0; i < r->w; i++) cols[i] = i;
    size_t sz = 16;
    while (sz < r->n * 2) sz <<= 1;
    size_t *head = malloc(sz * sizeof(size_t)), *next = malloc(r->n * sizeof(size_t));
    if (!head || !next) {
        free(cols);
        free(head);
        free(next);
        return dl_err_nomem();
    }
    for (size_t i = 0; i < sz; i++) head[i] = HNONE;
    size_t out = 0;
    for (size_t i = 0; i < r->n; i++) {
        const edn_value *row = rel_row(r, i);
        uint64_t h = hash_cols(row, cols, r->w);
        size_t b = h & (sz - 1), j;
        for (j = head[b]; j != HNONE; j = next[j])
            if (eq_cols(rel_row(r, j), cols, row, cols, r->w)) break;
        if (j != HNONE) continue;
        if (out != i)
            memmove(r->rows + out * (size_t)r->w, row, sizeof(edn_value) * (size_t)r->w);
        next[out] = head[b];
        head[b] = out;
        out++;
    }
    r->n = out;
    free(cols);
    free(head);
    free(next);
    return 0;
}

/* Project onto vars (all must be columns of r), distinct rows. */
static int rel_project(Q *q, const q_rel *r, const int *vars, int k,
                       q_rel **out) {
    q_rel *p = rel_new(q, k, vars);
    if (!p) return DATALITH_ENOMEM;
    int cols[64];
    if (k > 64) return dl_err_set(DATALITH_EQUERY, "Too many variables");
    for (int i = 0; i < k; i++) cols[i] = rel_col(r, vars[i]);
    rel_reserve(q, p, r->n);
    for (size_t i = 0; i < r->n; i++) {
        const edn_value *row = rel_row(r, i);
        edn_value *o = rel_push(q, p);
        if (!o) return dl_err_last()->code;
        for (int j = 0; j < k; j++) o[j] = row[cols[j]];
    }
    /* every column of a distinct relation: nothing to remove */
    int rc = r->distinct && k == r->w ? 0 : rel_dedupe(q, p);
    if (rc) return rc;
    p->distinct = 1;
    *out = p;
    return 0;
}

/* Natural join (cross product when no variable is shared). */
static int rel_join(Q *q, const q_rel *x, const q_rel *y, q_rel **out) {
    int xs[64], ys[64], k = 0, extra[64], ne = 0, vars[128];
    if (x->w + y->w > 128) return dl_err_set(DATALITH_EQUERY, "Too many variables");
    for (int j = 0; j < y->w; j++) {
        int c = rel_col(x, y->vars[j]);
        if (c >= 0) {
            xs[k] = c;
            ys[k++] = j;
        } else {
            extra[ne++] = j;
        }
    }
    memcpy(vars, x->vars, sizeof(int) * (size_t)x->w);
    for (int i = 0; i < ne; i++) vars[x->w + i] = y->vars[extra[i]];
    q_rel *r = rel_new(q, x->w + ne, vars);
    if (!r) return DATALITH_ENOMEM;
    *out = r;
    if (!x->n || !y->n) return 0;
    if (k == 0) {
        for (size_t i = 0; i < x->n; i++)
            for (size_t j = 0; j < y->n; j++) {
                edn_value *o = rel_push(q, r);
                if (!o) return dl_err_last()->code;
                memcpy(o, rel_row(x, i), sizeof(edn_value) * (size_t)x->w);
                const edn_value *yr = rel_row(y, j);
                for (int e = 0; e < ne; e++) o[x->w + e] = yr[extra[e]];
            }
        return 0;
    }
    /* build on the smaller side */
    int build_y = y->n <= x->n;
    const q_rel *b = build_y ? y : x, *p = build_y ? x : y;
    const int *bc = build_y ? ys : xs, *pc = build_y ? xs : ys;
    hidx hx;
    int rc = hidx_build(b, bc, k, &hx);
    if (rc) return rc;
    for (size_t i = 0; i < p->n; i++) {
        const edn_value *pr = rel_row(p, i);
        uint64_t h = hash_cols(pr, pc, k);
        for (size_t j = hx.head[h & hx.mask]; j != HNONE; j = hx.next[j]) {
            if (hx.h[j] != h) continue;
            const edn_value *br = rel_row(b, j);
            if (!eq_cols(pr, pc, br, bc, k)) continue;
            const edn_value *xr = build_y ? pr : br, *yr = build_y ? br : pr;
            edn_value *o = rel_push(q, r);
            if (!o) {
                hidx_free(&hx);
                return dl_err_last()->code;
            }
            memcpy(o, xr, sizeof(edn_value) * (size_t)x->w);
            for (int e = 0; e < ne; e++) o[x->w + e] = yr[extra[e]];
        }
    }
    hidx_free(&hx);
    return 0;
}

/* Rows of x with no match in y on the shared variables. */
static int rel_antijoin(Q *q, const q_rel *x, const q_rel *y, q_rel **out) {
    int xs[64], ys[64], k = 0;
    for (int j = 0; j < y->w && k < 64; j++) {
        int c = rel_col(x, y->vars[j]);
        if (c >= 0) {
            xs[k] = c;
            ys[k++] = j;
        }
    }
    q_rel *r = rel_new(q, x->w, x->vars);
    if (!r) return DATALITH_ENOMEM;
    *out = r;
    if (k == 0) {
        if (y->n) return 0;
    }
    hidx hx;
    int rc = 0;
    if (k) {
        rc = hidx_build(y, ys, k, &hx);
        if (rc) return rc;
    }
    for (size_t i = 0; i < x->n; i++) {
        const edn_value *xr = rel_row(x, i);
        int found = 0;
        if (k) {
            uint64_t h = hash_cols(xr, xs, k);
            for (size_t j = hx.head[h & hx.mask]; j != HNONE; j = hx.next[j])
                if (hx.h[j] == h && eq_cols(xr, xs, rel_row(y, j), ys, k)) {
                    found = 1;
                    break;
                }
        }
        if (found) continue;
        edn_value *o = rel_push(q, r);
        if (!o) {
            rc = dl_err_last()->code;
            break;
        }
        memcpy(o, xr, sizeof(edn_value) * (size_t)x->w);
    }
    if (k) hidx_free(&hx);
    return rc;
}

/* Append y's rows (same variables, any column order) to x. */
static int rel_append(Q *q, q_rel *x, const q_rel *y) {
    int map[64];
    for (int i = 0; i < x->w; i++) {
        map[i] = rel_col(y, x->vars[i]);
        if (map[i] < 0) return dl_err_set(DATALITH_EINTERNAL, "union of different relations");
    }
    for (size_t i = 0; i < y->n; i++) {
        edn_value *o = rel_push(q, x);
        if (!o) return dl_err_last()->code;
        const edn_value *yr = rel_row(y, i);
        for (int c = 0; c < x->w; c++) o[c] = yr[map[c]];
    }
    return 0;
}

static q_rel *rel_unit(Q *q) {
    q_rel *r = rel_new(q, 0, NULL);
    if (r && !rel_push(q, r)) return NULL;
    return r;
}

/* ------------------------------------------------------------------ */
/* parser                                                              */

static int src_index(Q *q, const edn_value *sym, const edn_value *form) {
    for (int i = 0; i < q->nsrc; i++)
        if (q->src[i].name == sym->u.sym) return i;
    char b1[200];
    return dl_err_set(DATALITH_EQUERY, "Source %s is not declared in :in, in %s",
                      sym->u.sym->full, q_show(form, b1, sizeof b1));
}

static int parse_term(Q *q, const edn_value *v, q_term *t) {
    memset(t, 0, sizeof *t);
    t->src = -1;
    if (is_blank(v)) {
        t->kind = T_BLANK;
    } else if (is_var_sym(v)) {
        t->kind = T_VAR;
        t->var = var_id(q, v->u.sym);
        if (t->var < 0) return DATALITH_ENOMEM;
    } else if (is_src_sym(v)) {
        t->kind = T_SRC;
        int s = src_index(q, v, v);
        if (s < 0) return s;
        t->src = s;
    } else if (v->type == EDN_LIST && v->n == 2 && is_sym(&v->u.items[0]) &&
               v->u.items[0].u.sym == S_QUOTE) {
        t->kind = T_CONST;
        t->c = v->u.items[1];
    } else if (is_sym(v)) {
        return qerr("Unsupported symbol in query: %s", v);
    } else {
        t->kind = T_CONST;
        t->c = *v;
    }
    return 0;
}

static int parse_bind(Q *q, const edn_value *v, q_bind *b) {
    memset(b, 0, sizeof *b);
    b->form = *v;
    if (is_blank(v)) {
        b->kind = B_BLANK;
        return 0;
    }
    if (is_var_sym(v)) {
        b->kind = B_VAR;
        b->var = var_id(q, v->u.sym);
        return b->var < 0 ? DATALITH_ENOMEM : 0;
    }
    if (v->type == EDN_VECTOR && v->n == 2 && is_sym(&v->u.items[1]) &&
        v->u.items[1].u.sym == S_ELLIPSIS) {
        b->kind = B_COLL;
        b->n = 1;
        b->el = dl_arena_calloc(q->a, 1, sizeof *b->el);
        if (!b->el) return DATALITH_ENOMEM;
        return parse_bind(q, &v->u.items[0], b->el);
    }
    if (v->type == EDN_VECTOR && v->n == 1 && v->u.items[0].type == EDN_VECTOR) {
        /* relation [[?a ?b]] = collection of tuples */
        b->kind = B_COLL;
        b->n = 1;
        b->el = dl_arena_calloc(q->a, 1, sizeof *b->el);
        if (!b->el) return DATALITH_ENOMEM;
        return parse_bind(q, &v->u.items[0], b->el);
    }
    if (v->type == EDN_VECTOR && v->n >= 1) {
        b->kind = B_TUPLE;
        b->n = (int)v->n;
        b->el = dl_arena_calloc(q->a, v->n, sizeof *b->el);
        if (!b->el) return DATALITH_ENOMEM;
        for (uint32_t i = 0; i < v->n; i++) {
            int rc = parse_bind(q, &v->u.items[i], &b->el[i]);
            if (rc) return rc;
        }
        return 0;
    }
    return qerr("Cannot parse binding form %s", v);
}

static int bind_vars(Q *q, const q_bind *b, iset *s) {
    int rc = 0;
    if (b->kind == B_VAR) return iset_add(q, s, b->var);
    for (int i = 0; i < b->n && !rc; i++) rc = bind_vars(q, &b->el[i], s);
    return rc;
}

static q_rule *rule_find(Q *q, const edn_sym *name) {
    for (int i = 0; i < q->nrules; i++)
        if (q->rules[i].name == name) return &q->rules[i];
    return NULL;
}

static int parse_clause(Q *q, const edn_value *v, q_clause *c);

static int parse_branch(Q *q, const edn_value *items, size_t n, q_branch *br) {
    br->n = (int)n;
    br->cl = dl_arena_calloc(q->a, n ? n : 1, sizeof(q_clause));
    if (!br->cl) return DATALITH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = parse_clause(q, &items[i], &br->cl[i]);
        if (rc) return rc;
    }
    return 0;
}

static int clause_vars(Q *q, const q_clause *c, iset *s);

static int branch_vars(Q *q, const q_branch *b, iset *s) {
    for (int i = 0; i < b->n; i++) {
        int rc = clause_vars(q, &b->cl[i], s);
        if (rc) return rc;
    }
    return 0;
}

static int clause_vars(Q *q, const q_clause *c, iset *s) {
    for (int i = 0; i < c->nvars; i++) {
        int rc = iset_add(q, s, c->vars[i]);
        if (rc) return rc;
    }
    return 0;
}

/* Fill c->vars with every var inside c. */
static int finish_vars(Q *q, q_clause *c) {
    iset s = {0};
    int rc = 0;
    for (int i = 0; i < c->nt && !rc; i++)
        if (c->t[i].kind == T_VAR) rc = iset_add(q, &s, c->t[i].var);
    if (!rc && c->kind == C_FN) rc = bind_vars(q, &c->out, &s);
    for (int i = 0; i < c->nbr && !rc; i++) rc = branch_vars(q, &c->br[i], &s);
    for (int i = 0; i < c->njoin && !rc; i++) rc = iset_add(q, &s, c->join[i]);
    c->vars = s.v;
    c->nvars = s.n;
    return rc;
}

static int parse_join_vars(Q *q, const edn_value *v, q_clause *c) {
    /* [?a ?b] or [[?req] ?b] */
    if (v->type != EDN_VECTOR) return qerr("Cannot parse rule-vars in %s", &c->form);
    int n = 0;
    c->join = dl_arena_alloc(q->a, sizeof(int) * (v->n + 8) * 2);
    if (!c->join) return DATALITH_ENOMEM;
    for (uint32_t i = 0; i < v->n; i++) {
        const edn_value *x = &v->u.items[i];
        if (x->type == EDN_VECTOR && i == 0) {
            for (uint32_t j = 0; j < x->n; j++) {
                if (!is_var_sym(&x->u.items[j]) || n >= (int)(v->n + 8) * 2)
                    return qerr("Cannot parse rule-vars in %s", &c->form);
                c->join[n++] = var_id(q, x->u.items[j].u.sym);
            }
            c->nreq = n;
        } else if (is_var_sym(x)) {
            if (n >= (int)(v->n + 8) * 2) return qerr("Cannot parse rule-vars in %s", &c->form);
            c->join[n++] = var_id(q, x->u.sym);
        } else {
            return qerr("Cannot parse rule-vars in %s", &c->form);
        }
    }
    c->njoin = n;
    c->has_join = 1;
    return 0;
}

static int check_join_declared(Q *q, q_clause *c, const q_branch *b) {
    iset s = {0};
    int rc = branch_vars(q, b, &s);
    if (rc) return rc;
    for (int i = 0; i < c->njoin; i++)
        if (!iset_has(&s, c->join[i])) {
            char b1[200];
            return dl_err_set(DATALITH_EQUERY,
                              "Join variable not declared inside clauses: %s in %s",
                              q->varname[c->join[i]]->full,
                              q_show(&c->form, b1, sizeof b1));
        }
    return 0;
}

static int parse_list_clause(Q *q, const edn_value *v, q_clause *c) {
    const edn_value *it = v->u.items;
    size_t n = v->n;
    if (n && is_src_sym(&it[0])) {
        int s = src_index(q, &it[0], v);
        if (s < 0) return s;
        c->src = s;
        it++;
        n--;
    }
    if (!n || !is_sym(&it[0])) return qerr("Cannot parse clause %s", v);
    const edn_sym *h = it[0].u.sym;
    int rc;
    if (h == S_NOT || h == S_NOTJOIN) {
        c->kind = C_NOT;
        size_t start = 1;
        if (h == S_NOTJOIN) {
            if (n < 2) return qerr("Cannot parse not-join %s", v);
            rc = parse_join_vars(q, &it[1], c);
            if (rc) return rc;
            start = 2;
        }
        if (n <= start) return qerr("Cannot parse %s: no clauses", v);
        c->nbr = 1;
        c->br = dl_arena_calloc(q->a, 1, sizeof(q_branch));
        if (!c->br) return DATALITH_ENOMEM;
        rc = parse_branch(q, it + start, n - start, &c->br[0]);
        if (rc) return rc;
        if (c->has_join) {
            rc = check_join_declared(q, c, &c->br[0]);
            if (rc) return rc;
        }
        return finish_vars(q, c);
    }
    if (h == S_OR || h == S_ORJOIN) {
        c->kind = C_OR;
        size_t start = 1;
        if (h == S_ORJOIN) {
            if (n < 2) return qerr("Cannot parse or-join %s", v);
            rc = parse_join_vars(q, &it[1], c);
            if (rc) return rc;
            start = 2;
        }
        if (n <= start) return qerr("Cannot parse %s: no clauses", v);
        c->nbr = (int)(n - start);
        c->br = dl_arena_calloc(q->a, n - start, sizeof(q_branch));
        if (!c->br) return DATALITH_ENOMEM;
        for (size_t i = start; i < n; i++) {
            const edn_value *b = &it[i];
            q_branch *br = &c->br[i - start];
            if (b->type == EDN_LIST && b->n >= 1 && is_sym(&b->u.items[0]) &&
                b->u.items[0].u.sym == S_AND)
                rc = parse_branch(q, b->u.items + 1, b->n - 1, br);
            else
                rc = parse_branch(q, b, 1, br);
            if (rc) return rc;
            if (c->has_join) {
                rc = check_join_declared(q, c, br);
                if (rc) return rc;
            }
        }
        if (!c->has_join) {
            /* every branch must use the same vars */
            iset first = {0};
            rc = branch_vars(q, &c->br[0], &first);
            for (int b = 1; b < c->nbr && !rc; b++) {
                iset s = {0};
                rc = branch_vars(q, &c->br[b], &s);
                if (rc) return rc;
                int same = s.n == first.n;
                for (int i = 0; same && i < s.n; i++) same = iset_has(&first, s.v[i]);
                if (!same)
                    return qerr("All clauses in 'or' must use same set of free vars, in %s", v);
            }
            if (rc) return rc;
            c->join = first.v;
            c->njoin = first.n;
        }
        return finish_vars(q, c);
    }
    if (h == S_AND) return qerr("'and' is only allowed inside 'or': %s", v);
    /* rule call */
    q_rule *r = rule_find(q, h);
    if (!r) {
        if (h->full[0] == '?' )
            return qerr("Cannot parse clause %s", v);
        char b1[200];
        return dl_err_set(DATALITH_EQUERY, "Unknown rule '%s in %s", h->full,
                          q_show(v, b1, sizeof b1));
    }
    if ((int)n - 1 != r->arity) {
        char b1[200];
        return dl_err_set(DATALITH_EQUERY,
                          "Rule %s called with %d arguments, defined with %d, in %s",
                          h->full, (int)n - 1, r->arity, q_show(v, b1, sizeof b1));
    }
    c->kind = C_RULE;
    c->rule = r;
    c->nt = (int)n - 1;
    c->t = dl_arena_calloc(q->a, n, sizeof(q_term));
    if (!c->t) return DATALITH_ENOMEM;
    for (size_t i = 1; i < n; i++) {
        rc = parse_term(q, &it[i], &c->t[i - 1]);
        if (rc) return rc;
        if (c->t[i - 1].kind == T_SRC) return qerr("Cannot parse rule call %s", v);
    }
    return finish_vars(q, c);
}

static int parse_clause(Q *q, const edn_value *v, q_clause *c) {
    memset(c, 0, sizeof *c);
    c->form = *v;
    c->src = -1;
    int rc;
    if (v->type == EDN_LIST) {
        if (v->n == 0) return qerr("Cannot parse clause %s", v);
        return parse_list_clause(q, v, c);
    }
    if (v->type != EDN_VECTOR || v->n == 0) return qerr("Cannot parse clause %s", v);
    const edn_value *it = v->u.items;
    if (it[0].type == EDN_LIST) {
        /* predicate or function */
        const edn_value *call = &it[0];
        if (v->n > 2) return qerr("Cannot parse clause %s", v);
        if (call->n == 0 || !is_sym(&call->u.items[0]))
            return qerr("Cannot parse function call in %s", v);
        const edn_sym *fname = call->u.items[0].u.sym;
        c->fn = q_builtin_find(fname->full);
        if (!c->fn) {
            char b1[200];
            return dl_err_set(DATALITH_EQUERY, "Unknown function '%s in %s",
                              fname->full, q_show(v, b1, sizeof b1));
        }
        c->nt = (int)call->n - 1;
        c->t = dl_arena_calloc(q->a, call->n, sizeof(q_term));
        if (!c->t) return DATALITH_ENOMEM;
        for (uint32_t i = 1; i < call->n; i++) {
            rc = parse_term(q, &call->u.items[i], &c->t[i - 1]);
            if (rc) return rc;
        }
        if (v->n == 2) {
            c->kind = C_FN;
            rc = parse_bind(q, &it[1], &c->out);
            if (rc) return rc;
        } else {
            c->kind = C_PRED;
        }
        return finish_vars(q, c);
    }
    /* data pattern */
    c->kind = C_PAT;
    size_t start = 0;
    if (is_src_sym(&it[0])) {
        int s = src_index(q, &it[0], v);
        if (s < 0) return s;
        c->src = s;
        start = 1;
    }
    size_t n = v->n - start;
    if (n == 0 || n > 5) return qerr("Cannot parse data pattern %s", v);
    c->nt = (int)n;
    c->t = dl_arena_calloc(q->a, n, sizeof(q_term));
    if (!c->t) return DATALITH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        rc = parse_term(q, &it[start + i], &c->t[i]);
        if (rc) return rc;
        if (c->t[i].kind == T_SRC) return qerr("Cannot parse data pattern %s", v);
    }
    return finish_vars(q, c);
}

/* Rules: a vector of [(name ?a ?b) clause …]. */
static int parse_rules(Q *q, const edn_value *rv) {
    edn_value tmp;
    if (rv->type == EDN_STRING) {
        int rc = edn_read(q->a, rv->u.s, rv->n, NULL, &tmp);
        if (rc) return rc;
        rv = &tmp;
    }
    if (!edn_is_seq(rv)) return qerr("Cannot parse rules, expected a vector: %s", rv);
    /* pass 1: names and arities */
    q->rules = dl_arena_calloc(q->a, rv->n + 1, sizeof(q_rule));
    if (!q->rules) return DATALITH_ENOMEM;
    for (uint32_t i = 0; i < rv->n; i++) {
        const edn_value *r = &rv->u.items[i];
        if (r->type != EDN_VECTOR || r->n < 2 || r->u.items[0].type != EDN_LIST ||
            r->u.items[0].n < 1 || !is_sym(&r->u.items[0].u.items[0]))
            return qerr("Cannot parse rule %s", r);
        const edn_value *head = &r->u.items[0];
        const edn_sym *name = head->u.items[0].u.sym;
        int arity = 0;
        for (uint32_t j = 1; j < head->n; j++)
            arity += head->u.items[j].type == EDN_VECTOR ? (int)head->u.items[j].n : 1;
        q_rule *ru = rule_find(q, name);
        if (!ru) {
            ru = &q->rules[q->nrules++];
            ru->name = name;
            ru->arity = arity;
        } else if (ru->arity != arity) {
            return qerr("Rule arity mismatch in %s", r);
        }
        ru->nb++;
    }
    for (int i = 0; i < q->nrules; i++) {
        q->rules[i].b = dl_arena_calloc(q->a, (size_t)q->rules[i].nb, sizeof(q_rbody));
        if (!q->rules[i].b) return DATALITH_ENOMEM;
        q->rules[i].nb = 0;
    }
    /* pass 2: bodies */
    for (uint32_t i = 0; i < rv->n; i++) {
        const edn_value *r = &rv->u.items[i];
        const edn_value *head = &r->u.items[0];
        q_rule *ru = rule_find(q, head->u.items[0].u.sym);
        q_rbody *b = &ru->b[ru->nb++];
        b->head = dl_arena_alloc(q->a, sizeof(int) * (size_t)(ru->arity + 1));
        if (!b->head) return DATALITH_ENOMEM;
        int k = 0;
        for (uint32_t j = 1; j < head->n; j++) {
            const edn_value *x = &head->u.items[j];
            if (x->type == EDN_VECTOR) {
                for (uint32_t m = 0; m < x->n; m++) {
                    if (!is_var_sym(&x->u.items[m])) return qerr("Cannot parse rule head %s", head);
                    b->head[k++] = var_id(q, x->u.items[m].u.sym);
                }
            } else if (is_var_sym(x)) {
                b->head[k++] = var_id(q, x->u.sym);
            } else {
                return qerr("Cannot parse rule head %s", head);
            }
        }
        int rc = parse_branch(q, r->u.items + 1, r->n - 1, &b->body);
        if (rc) return rc;
    }
    return 0;
}

/* Which rules call which (transitively); marks recursive rules. */
static void rule_calls(Q *q, const q_branch *b, int *row) {
    for (int i = 0; i < b->n; i++) {
        const q_clause *c = &b->cl[i];
        if (c->kind == C_RULE) row[c->rule - q->rules] = 1;
        for (int j = 0; j < c->nbr; j++) rule_calls(q, &c->br[j], row);
    }
}

static int rules_analyse(Q *q) {
    int n = q->nrules;
    for (int i = 0; i < n; i++) {
        q->rules[i].reach = dl_arena_calloc(q->a, (size_t)n + 1, sizeof(int));
        if (!q->rules[i].reach) return DATALITH_ENOMEM;
        for (int j = 0; j < q->rules[i].nb; j++)
            rule_calls(q, &q->rules[i].b[j].body, q->rules[i].reach);
    }
    for (int k = 0; k < n; k++)
        for (int i = 0; i < n; i++)
            if (q->rules[i].reach[k])
                for (int j = 0; j < n; j++)
                    if (q->rules[k].reach[j]) q->rules[i].reach[j] = 1;
    for (int i = 0; i < n; i++) q->rules[i].recursive = q->rules[i].reach[i];
    return 0;
}

/* ------------------------------------------------------------------ */
/* data patterns                                                       */

static int value_inline(const edn_value *v) {
    switch (v->type) {
    case EDN_NIL: case EDN_BOOL: case EDN_INT: case EDN_FLOAT: case EDN_CHAR:
    case EDN_KEYWORD: case EDN_SYMBOL: case EDN_UUID: case EDN_INST:
        return 1;
    default:
        return 0;
    }
}

static int coll_len(const edn_value *c) {
    return (c->type == EDN_LIST || c->type == EDN_VECTOR || c->type == EDN_SET) ? (int)c->n : 0;
}

/* Resolve a pattern's constants for source s (once per clause). */
static int pat_resolve(Q *q, q_clause *c, int s) {
    if (c->resolved == s + 1) return 0;
    c->resolved = s + 1;
    c->never = 0;
    for (int i = 0; i < 5; i++) c->rc[i] = edn_nil();
    const q_src *src = &q->src[s];
    for (int i = 0; i < c->nt; i++)
        if (c->t[i].kind == T_CONST) c->rc[i] = c->t[i].c;
    if (!src->db) {
        c->count = (uint64_t)coll_len(&src->coll);
        return 0;
    }
    int rc;
    if (c->nt > 0 && c->t[0].kind == T_CONST) {
        rc = q_entity(src, &c->t[0].c, &c->rc[0]);
        if (rc) return rc;
        if (c->rc[0].type != EDN_INT) c->never = 1;
    }
    const dl_attr *at = NULL;
    if (c->nt > 1 && c->t[1].kind == T_CONST) {
        edn_value a = c->t[1].c;
        if (a.type == EDN_INT) {
            const dl_attr *x = dl_schema_attr_by_eid(src->db->schema, (uint64_t)a.u.i);
            if (x && x->ident) a = edn_keyword(x->ident);
        }
        if (a.type != EDN_KEYWORD) c->never = 1;
        else at = dl_schema_attr(src->db->schema, a.u.sym);
        c->rc[1] = a;
    }
    if (c->nt > 2 && c->t[2].kind == T_CONST && at && at->ref &&
        (c->t[2].c.type == EDN_KEYWORD || c->t[2].c.type == EDN_VECTOR)) {
        rc = q_entity(src, &c->t[2].c, &c->rc[2]);
        if (rc) return rc;
        if (c->rc[2].type != EDN_INT) c->never = 1;
    }
    if (c->never) {
        c->count = 0;
        return 0;
    }
    q_bound b = {0};
    if (c->nt > 0 && c->t[0].kind == T_CONST) b.e = &c->rc[0];
    if (c->nt > 1 && c->t[1].kind == T_CONST) b.a = &c->rc[1];
    if (c->nt > 2 && c->t[2].kind == T_CONST) b.v = &c->rc[2];
    return q_count(src->db, &b, &c->count);
}

enum { M_SKIP, M_CONST, M_BOUND, M_NEW, M_REP };

typedef struct pmode {
    int m[5];
    int arg[5];      /* M_BOUND: column of R; M_NEW/M_REP: output slot */
    int nnew;
    int newvar[5];
} pmode;

static void pat_modes(const q_clause *c, const q_rel *R, pmode *pm) {
    memset(pm, 0, sizeof *pm);
    for (int i = 0; i < 5; i++) pm->m[i] = M_SKIP;
    for (int i = 0; i < c->nt; i++) {
        const q_term *t = &c->t[i];
        if (t->kind == T_CONST) {
            pm->m[i] = M_CONST;
        } else if (t->kind == T_VAR) {
            int col = R ? rel_col(R, t->var) : -1;
            if (col >= 0) {
                pm->m[i] = M_BOUND;
                pm->arg[i] = col;
            } else {
                int k;
                for (k = 0; k < pm->nnew; k++)
                    if (pm->newvar[k] == t->var) break;
                if (k < pm->nnew) {
                    pm->m[i] = M_REP;
                    pm->arg[i] = k;
                } else {
                    pm->m[i] = M_NEW;
                    pm->arg[i] = pm->nnew;
                    pm->newvar[pm->nnew++] = t->var;
                }
            }
        }
    }
}

/* Check one fact (5 positions, n of them present) and fill new values. */
static int pat_match(const q_clause *c, const pmode *pm, const edn_value *row,
                     const edn_value *f, int nf, edn_value *nv) {
    for (int i = 0; i < c->nt; i++) {
        if (pm->m[i] == M_SKIP) continue;
        if (i >= nf) return 0;
        switch (pm->m[i]) {
        case M_CONST:
            if (!edn_equal(&f[i], &c->rc[i])) return 0;
            break;
        case M_BOUND:
            if (!edn_equal(&f[i], &row[pm->arg[i]])) return 0;
            break;
        case M_NEW: nv[pm->arg[i]] = f[i]; break;
        case M_REP:
            if (!edn_equal(&f[i], &nv[pm->arg[i]])) return 0;
            break;
        }
    }
    return 1;
}

static int emit(Q *q, q_rel *out, const edn_value *row, int w,
                const pmode *pm, const edn_value *nv) {
    edn_value *o = rel_push(q, out);
    if (!o) return dl_err_last()->code;
    if (w) memcpy(o, row, sizeof(edn_value) * (size_t)w);
    for (int k = 0; k < pm->nnew; k++) {
        o[w + k] = nv[k];
        if (!value_inline(&nv[k])) {
            int rc = edn_clone(q->a, &nv[k], &o[w + k]);
            if (rc) return rc;
        }
    }
    return 0;
}

/* Join R with pattern c on source s.  Each row of R probes the index with
** its bound values (R == NULL: one scan with the constants only). */
static int pat_probe(Q *q, q_clause *c, int s, const q_rel *R, q_rel **out) {
    pmode pm;
    pat_modes(c, R, &pm);
    int w = R ? R->w : 0;
    int vars[128];
    if (R) memcpy(vars, R->vars, sizeof(int) * (size_t)w);
    for (int k = 0; k < pm.nnew; k++) vars[w + k] = pm.newvar[k];
    q_rel *r = rel_new(q, w + pm.nnew, vars);
    if (!r) return DATALITH_ENOMEM;
    *out = r;
    if (c->never) return 0;
    if (!R && c->count <= 1000000) rel_reserve(q, r, (size_t)c->count);
    const q_src *src = &q->src[s];
    size_t nrows = R ? R->n : 1;
    edn_value nv[5], f[5];
    int rc = 0, use[5];
    /* datom fields are boxed only where the pattern looks at them */
    for (int k = 0; k < 5; k++) use[k] = k < c->nt && pm.m[k] != M_SKIP;
    f[0] = edn_int(0);
    f[1] = edn_keyword(NULL);
    f[3] = edn_int(0);
    f[4] = edn_bool(false);
    /* one scan for every row: re-aimed per row without allocating */
    q_scan sc;
    sc.sc = NULL;
    for (size_t i = 0; i < nrows && !rc; i++) {
        const edn_value *row = R ? rel_row(R, i) : NULL;
        if (!src->db) {
            const edn_value *cv = &src->coll;
            for (int j = 0; j < coll_len(cv) && !rc; j++) {
                const edn_value *tu = &cv->u.items[j];
                if (!edn_is_seq(tu)) continue;
                int nf = tu->n < 5 ? (int)tu->n : 5;
                for (int k = 0; k < nf; k++) f[k] = tu->u.items[k];
                if (pat_match(c, &pm, row, f, nf, nv)) rc = emit(q, r, row, w, &pm, nv);
            }
            continue;
        }
        edn_value bv[5];
        q_bound b = {0};
        for (int k = 0; k < 4 && k < c->nt; k++) {
            if (pm.m[k] == M_CONST) bv[k] = c->rc[k];
            else if (pm.m[k] == M_BOUND) bv[k] = row[pm.arg[k]];
            else continue;
            if (k == 0) b.e = &bv[0];
            if (k == 1) b.a = &bv[1];
            if (k == 2) b.v = &bv[2];
            if (k == 3) b.tx = &bv[3];
        }
        if (b.e && (b.e->type != EDN_INT || b.e->u.i < 0)) continue;
        if (b.a && b.a->type != EDN_KEYWORD) continue;
        if (!row && (q->rlo || q->rhi) && b.a && !b.e && !b.v) {
            q_scan_close(&sc);
            rc = q_scan_open_range(src->db, b.a->u.sym, q->rlo, q->rhi, &sc);
        } else {
            rc = q_scan_reopen(src->db, &b, &sc);
        }
        if (rc) break;
        /* components the scan's equality prefix guarantees need no check */
        pmode mm = pm;
        static const int cover[3][3] = {{0, 1, 2}, {1, 0, 2}, {1, 2, 0}};
        int oi = sc.order == DL_EAVT ? 0 : sc.order == DL_AEVT ? 1 : sc.order == DL_AVET ? 2 : -1;
        unsigned eqn = (q->rlo || q->rhi) && !row ? 1 : sc.nf;
        for (unsigned k = 0; oi >= 0 && k < eqn && k < 3; k++)
            if (mm.m[cover[oi][k]] == M_CONST || mm.m[cover[oi][k]] == M_BOUND)
                mm.m[cover[oi][k]] = M_SKIP;
        dl_datom d;
        int got = 0;
        /* nothing left to check (the scan's prefix covers the constants
        ** and bound values, no repeated variable): the new values go
        ** straight from the datom into the row */
        int direct = 1;
        for (int k = 0; k < c->nt && k < 5; k++) direct &= mm.m[k] == M_SKIP || mm.m[k] == M_NEW;
        while (direct && (got = q_scan_next(&sc, &d)) == 1) {
            edn_value *o;
            if (r->n < r->cap && r->n < q->row_limit) o = r->rows + (r->n++) * (size_t)r->w;
            else if (!(o = rel_push(q, r))) {
                rc = dl_err_last()->code;
                break;
            }
            if (w) memcpy(o, row, sizeof(edn_value) * (size_t)w);
            for (int k = 0; k < c->nt && k < 5; k++) {
                if (mm.m[k] != M_NEW) continue;
                edn_value *x = &o[w + mm.arg[k]];
                switch (k) {
                case 0: *x = edn_int((int64_t)d.e); break;
                case 1: *x = edn_keyword(d.a); break;
                case 2:
                    if (value_inline(&d.v)) *x = d.v;
                    else if ((rc = edn_clone(q->a, &d.v, x))) break;
                    break;
                case 3: *x = edn_int((int64_t)d.tx); break;
                default: *x = edn_bool(d.added); break;
                }
                if (rc) break;
            }
            if (rc) break;
        }
        while (!direct && (got = q_scan_next(&sc, &d)) == 1) {
            if (use[0]) f[0].u.i = (int64_t)d.e;
            if (use[1]) f[1].u.sym = d.a;
            f[2] = d.v;
            if (use[3]) f[3].u.i = (int64_t)d.tx;
            if (use[4]) f[4].u.b = d.added;
            if (pat_match(c, &mm, row, f, 5, nv)) {
                rc = emit(q, r, row, w, &pm, nv);
                if (rc) break;
            }
        }
        if (got < 0 && !rc) rc = got;
    }
    q_scan_close(&sc);
    return rc;
}

static int pat_has_bound(const q_clause *c, const q_rel *R) {
    for (int i = 0; i < c->nt; i++)
        if (c->t[i].kind == T_VAR && rel_col(R, c->t[i].var) >= 0) return 1;
    return 0;
}

static int eval_pattern(Q *q, q_clause *c, int s, q_rel *R, q_rel **out) {
    int rc = pat_resolve(q, c, s);
    if (rc) return rc;
    int blanks = 0;
    for (int i = 0; i < c->nt; i++) blanks |= c->t[i].kind == T_BLANK;
    if (pat_has_bound(c, R) && (R->n * 8 < c->count || !q->src[s].db)) {
        q->via = q->src[s].db ? "index nested loop: one seek per bound row"
                              : "nested loop over the collection";
        rc = pat_probe(q, c, s, R, out);
    } else {
        q->via = !q->src[s].db ? "collection scan, hash join"
               : q->rlo || q->rhi ? "AVET range scan (pushed-down predicate), hash join"
               : pat_has_bound(c, R) ? "index scan, hash join on the bound variables"
               : R->w ? "index scan, cross product" : "index scan";
        q_rel *P;
        rc = pat_probe(q, c, s, NULL, &P);
        if (!rc && blanks) rc = rel_dedupe(q, P);
        /* one row per datom of a plain snapshot (unique e a v), each
        ** keeping every position that varies: distinct */
        if (!rc && c->nt == 3 && q->src[s].db && q->src[s].db->view == 0) {
            int d = 1;
            for (int i = 0; i < 3; i++) d &= c->t[i].kind == T_CONST || c->t[i].kind == T_VAR;
            P->distinct = d;
        }
        if (!rc && R->w == 0 && R->n == 1) *out = P; /* joining the unit relation */
        else if (!rc) rc = rel_join(q, R, P, out);
    }
    if (!rc && blanks) rc = rel_dedupe(q, *out);
    return rc;
}

/* ------------------------------------------------------------------ */
/* binding forms                                                       */

static void bind_varlist(const q_bind *b, int *vars, int *n) {
    if (b->kind == B_VAR) {
        for (int i = 0; i < *n; i++)
            if (vars[i] == b->var) return;
        if (*n < 64) vars[(*n)++] = b->var;
        return;
    }
    for (int i = 0; i < b->n; i++) bind_varlist(&b->el[i], vars, n);
}

/* Bind value v to form b: a relation over b's variables. */
static int bind_value(Q *q, const q_bind *b, const edn_value *v, q_rel **out) {
    int rc;
    char b1[200], b2[200];
    switch (b->kind) {
    case B_BLANK: {
        q_rel *r = rel_unit(q);
        if (!r) return dl_err_last()->code;
        *out = r;
        return 0;
    }
    case B_VAR: {
        q_rel *r = rel_new(q, 1, &b->var);
        if (!r) return DATALITH_ENOMEM;
        edn_value *o = rel_push(q, r);
        if (!o) return dl_err_last()->code;
        o[0] = *v;
        *out = r;
        return 0;
    }
    case B_TUPLE: {
        if (!edn_is_seq(v))
            return dl_err_set(DATALITH_EQUERY, "Cannot bind value %s to tuple %s",
                              q_show(v, b1, sizeof b1), q_show(&b->form, b2, sizeof b2));
        if ((int)v->n < b->n)
            return dl_err_set(DATALITH_EQUERY,
                              "Not enough elements in a collection %s to bind tuple %s",
                              q_show(v, b1, sizeof b1), q_show(&b->form, b2, sizeof b2));
        q_rel *acc = rel_unit(q);
        if (!acc) return dl_err_last()->code;
        for (int i = 0; i < b->n; i++) {
            q_rel *x, *j;
            rc = bind_value(q, &b->el[i], &v->u.items[i], &x);
            if (!rc) rc = rel_join(q, acc, x, &j);
            if (rc) return rc;
            acc = j;
        }
        *out = acc;
        return 0;
    }
    case B_COLL: {
        int vars[64], nv = 0;
        bind_varlist(b, vars, &nv);
        q_rel *acc = rel_new(q, nv, vars);
        if (!acc) return DATALITH_ENOMEM;
        edn_value pair[2], pv;
        if (v->type == EDN_MAP) {
            for (uint32_t i = 0; i < v->n; i++) {
                pair[0] = v->u.items[2 * i];
                pair[1] = v->u.items[2 * i + 1];
                q_rel *x;
                rc = edn_vector(q->a, pair, 2, &pv);
                if (!rc) rc = bind_value(q, &b->el[0], &pv, &x);
                if (!rc) rc = rel_append(q, acc, x);
                if (rc) return rc;
            }
        } else if (v->type == EDN_LIST || v->type == EDN_VECTOR || v->type == EDN_SET) {
            for (uint32_t i = 0; i < v->n; i++) {
                q_rel *x;
                rc = bind_value(q, &b->el[0], &v->u.items[i], &x);
                if (!rc) rc = rel_append(q, acc, x);
                if (rc) return rc;
            }
        } else {
            return dl_err_set(DATALITH_EQUERY, "Cannot bind value %s to collection %s",
                              q_show(v, b1, sizeof b1), q_show(&b->form, b2, sizeof b2));
        }
        *out = acc;
        return 0;
    }
    }
    return dl_err_set(DATALITH_EINTERNAL, "bad binding form");
}

/* ------------------------------------------------------------------ */
/* functions and predicates                                            */

static int call_fn(Q *q, const q_clause *c, const edn_value *row,
                   const q_rel *R, int dsrc, edn_value *res) {
    q_arg args[32];
    if (c->nt > 32) return qerr("Too many arguments in %s", &c->form);
    for (int i = 0; i < c->nt; i++) {
        const q_term *t = &c->t[i];
        args[i].src = -1;
        args[i].v = edn_nil();
        if (t->kind == T_VAR) args[i].v = row[rel_col(R, t->var)];
        else if (t->kind == T_CONST) args[i].v = t->c;
        else if (t->kind == T_SRC) args[i].src = t->src;
        else return qerr("'_' is not allowed as an argument: %s", &c->form);
    }
    (void)dsrc;
    int rc = c->fn->fn(q->a, q->src, args, c->nt, res);
    if (rc && dl_err_last()->code == rc && rc == DATALITH_EQUERY) {
        char b1[200];
        dl_err_prefix("%s: ", q_show(&c->form, b1, sizeof b1));
    }
    return rc;
}

static int eval_pred(Q *q, const q_clause *c, q_rel *R, int dsrc, q_rel **out) {
    q_rel *r = rel_new(q, R->w, R->vars);
    if (!r) return DATALITH_ENOMEM;
    r->distinct = R->distinct; /* a filter keeps rows distinct */
    rel_reserve(q, r, R->n);
    /* < > <= >= of two longs is compared here; anything else (and any row
    ** whose values are not both longs) goes through the built-in */
    int op = -1, col[2] = {-1, -1};
    if (c->nt == 2) {
        const char *nm = c->fn->name;
        op = !strcmp(nm, "<") ? 0 : !strcmp(nm, ">") ? 1 : !strcmp(nm, "<=") ? 2
           : !strcmp(nm, ">=") ? 3 : -1;
        for (int k = 0; k < 2 && op >= 0; k++) {
            if (c->t[k].kind == T_VAR) col[k] = rel_col(R, c->t[k].var);
            else if (c->t[k].kind != T_CONST) op = -1;
        }
    }
    for (size_t i = 0; i < R->n; i++) {
        const edn_value *row = rel_row(R, i);
        if (op >= 0) {
            const edn_value *x = col[0] >= 0 ? &row[col[0]] : &c->t[0].c;
            const edn_value *y = col[1] >= 0 ? &row[col[1]] : &c->t[1].c;
            if (x->type == EDN_INT && y->type == EDN_INT) {
                int64_t a = x->u.i, b = y->u.i;
                int keep = op == 0 ? a < b : op == 1 ? a > b : op == 2 ? a <= b : a >= b;
                if (!keep) continue;
                edn_value *o = rel_push(q, r);
                if (!o) return dl_err_last()->code;
                memcpy(o, row, sizeof(edn_value) * (size_t)R->w);
                continue;
            }
        }
        edn_value res;
        int rc = call_fn(q, c, row, R, dsrc, &res);
        if (rc) return rc;
        if (!q_truthy(&res)) continue;
        edn_value *o = rel_push(q, r);
        if (!o) return dl_err_last()->code;
        memcpy(o, rel_row(R, i), sizeof(edn_value) * (size_t)R->w);
    }
    *out = r;
    return 0;
}

static int eval_fn(Q *q, const q_clause *c, q_rel *R, int dsrc, q_rel **out) {
    int vars[128], nv = 0, bvars[64], nb = 0;
    bind_varlist(&c->out, bvars, &nb);
    memcpy(vars, R->vars, sizeof(int) * (size_t)R->w);
    nv = R->w;
    int map[64];
    for (int i = 0; i < nb; i++) {
        map[i] = rel_col(R, bvars[i]);
        if (map[i] < 0) vars[nv++] = bvars[i];
    }
    q_rel *r = rel_new(q, nv, vars);
    if (!r) return DATALITH_ENOMEM;
    for (size_t i = 0; i < R->n; i++) {
        const edn_value *row = rel_row(R, i);
        edn_value res;
        int rc = call_fn(q, c, row, R, dsrc, &res);
        if (rc) return rc;
        if (res.type == EDN_NIL) continue;
        q_rel *x;
        rc = bind_value(q, &c->out, &res, &x);
        if (rc) return rc;
        for (size_t j = 0; j < x->n; j++) {
            const edn_value *xr = rel_row(x, j);
            int ok = 1;
            for (int k = 0; k < nb && ok; k++)
                if (map[k] >= 0) ok = edn_equal(&row[map[k]], &xr[rel_col(x, bvars[k])]);
            if (!ok) continue;
            edn_value *o = rel_push(q, r);
            if (!o) return dl_err_last()->code;
            memcpy(o, row, sizeof(edn_value) * (size_t)R->w);
            int w = R->w;
            for (int k = 0; k < nb; k++)
                if (map[k] < 0) o[w++] = xr[rel_col(x, bvars[k])];
        }
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------------ */
/* scheduler                                                           */

static int eval_branch(Q *q, const q_branch *b, q_rel *seed, int dsrc, q_rel **out);

static int bound_vars(const q_rel *R, const int *vars, int n, int *outv) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (rel_col(R, vars[i]) >= 0) outv[k++] = vars[i];
    return k;
}

static int insufficient(Q *q, const q_clause *c, const int *vars, int n) {
    char b1[200], b2[200];
    int rc = vars_show(q, vars, n, 1, b1, sizeof b1);
    if (rc) return rc;
    return dl_err_set(DATALITH_EQUERY,
                      "Cannot resolve any more clauses — insufficient bindings: %s not bound in %s",
                      b1, q_show(&c->form, b2, sizeof b2));
}

static int eval_not(Q *q, const q_clause *c, q_rel *R, int dsrc, q_rel **out) {
    int jv[64], nj;
    if (c->has_join) {
        nj = bound_vars(R, c->join, c->njoin, jv);
        if (nj < c->njoin) return insufficient(q, c, c->join, c->njoin);
    } else {
        nj = bound_vars(R, c->vars, c->nvars < 64 ? c->nvars : 64, jv);
        if (nj == 0) {
            char b1[200], b2[200];
            int rc = vars_show(q, c->vars, c->nvars, 1, b1, sizeof b1);
            if (rc) return rc;
            return dl_err_set(DATALITH_EQUERY,
                              "Insufficient bindings: none of %s is bound in %s", b1,
                              q_show(&c->form, b2, sizeof b2));
        }
    }
    q_rel *seed, *res, *proj;
    int rc = rel_project(q, R, jv, nj, &seed);
    if (!rc) rc = eval_branch(q, &c->br[0], seed, c->src >= 0 ? c->src : dsrc, &res);
    if (!rc) rc = rel_project(q, res, jv, nj, &proj);
    if (!rc) rc = rel_antijoin(q, R, proj, out);
    return rc;
}

static int eval_or(Q *q, const q_clause *c, q_rel *R, int dsrc, q_rel **out) {
    int jv[64], nj;
    int n = c->njoin < 64 ? c->njoin : 64;
    for (int i = 0; i < c->nreq; i++)
        if (rel_col(R, c->join[i]) < 0) return insufficient(q, c, c->join, c->nreq);
    nj = bound_vars(R, c->join, n, jv);
    q_rel *seed, *u = rel_new(q, n, c->join);
    if (!u) return DATALITH_ENOMEM;
    int rc = rel_project(q, R, jv, nj, &seed);
    for (int b = 0; b < c->nbr && !rc; b++) {
        q_rel *res, *p;
        rc = eval_branch(q, &c->br[b], seed, c->src >= 0 ? c->src : dsrc, &res);
        if (rc) break;
        for (int i = 0; i < n; i++)
            if (rel_col(res, c->join[i]) < 0) return insufficient(q, c, &c->join[i], 1);
        rc = rel_project(q, res, c->join, n, &p);
        if (!rc) rc = rel_append(q, u, p);
    }
    if (!rc) rc = rel_dedupe(q, u);
    if (!rc) rc = rel_join(q, R, u, out);
    return rc;
}

/* A positional rule relation (columns -1 … -arity) seen through call args:
** constants filter, repeated vars unify, blanks drop. */
static int rule_view(Q *q, const q_clause *c, const q_rel *pos, q_rel **out) {
    int vars[64], nv = 0, colof[64];
    for (int i = 0; i < c->nt; i++) {
        colof[i] = -1;
        if (c->t[i].kind != T_VAR) continue;
        int k;
        for (k = 0; k < nv; k++)
            if (vars[k] == c->t[i].var) break;
        if (k == nv) vars[nv++] = c->t[i].var;
        colof[i] = k;
    }
    q_rel *r = rel_new(q, nv, vars);
    if (!r) return DATALITH_ENOMEM;
    edn_value tmp[64];
    for (size_t i = 0; i < pos->n; i++) {
        const edn_value *row = rel_row(pos, i);
        int ok = 1;
        int set[64] = {0};
        for (int a = 0; a < c->nt && ok; a++) {
            const q_term *t = &c->t[a];
            if (t->kind == T_CONST) ok = edn_equal(&row[a], &t->c);
            else if (t->kind == T_VAR) {
                int k = colof[a];
                if (set[k]) ok = edn_equal(&tmp[k], &row[a]);
                else {
                    tmp[k] = row[a];
                    set[k] = 1;
                }
            }
        }
        if (!ok) continue;
        edn_value *o = rel_push(q, r);
        if (!o) return dl_err_last()->code;
        memcpy(o, tmp, sizeof(edn_value) * (size_t)nv);
    }
    *out = r;
    return 0;
}

/* Evaluate one body of rule ru from seed and project onto its head as a
** positional relation, appended to acc. */
static int rule_body(Q *q, q_rule *ru, int bi, q_rel *seed, int dsrc, q_rel *acc) {
    q_rbody *b = &ru->b[bi];
    q_rel *res;
    int rc = eval_branch(q, &b->body, seed, dsrc, &res);
    if (rc) return rc;
    int cols[64];
    for (int i = 0; i < ru->arity; i++) {
        cols[i] = rel_col(res, b->head[i]);
        if (cols[i] < 0) {
            char b1[200];
            edn_value hv = var_value(q, b->head[i]);
            return dl_err_set(DATALITH_EQUERY,
                              "Cannot resolve any more clauses — insufficient bindings: rule %s does not bind %s",
                              ru->name->full, q_show(&hv, b1, sizeof b1));
        }
    }
    for (size_t i = 0; i < res->n; i++) {
        edn_value *o = rel_push(q, acc);
        if (!o) return dl_err_last()->code;
        const edn_value *row = rel_row(res, i);
        for (int k = 0; k < ru->arity; k++) o[k] = row[cols[k]];
    }
    return 0;
}

static int positional(Q *q, int arity, q_rel **out) {
    int vars[64];
    for (int i = 0; i < arity; i++) vars[i] = -(i + 1);
    *out = rel_new(q, arity, vars);
    return *out ? 0 : DATALITH_ENOMEM;
}

static void collect_occ(Q *q, const q_rule *ru, const q_branch *b,
                        const q_clause **occ, int *n) {
    for (int i = 0; i < b->n; i++) {
        const q_clause *c = &b->cl[i];
        if (c->kind == C_RULE && c->rule->computing && *n < 32 &&
            (c->rule == ru || (ru->reach[c->rule - q->rules] && c->rule->reach[ru - q->rules])))
            occ[(*n)++] = c;
        if (c->kind == C_OR)
            for (int j = 0; j < c->nbr; j++) collect_occ(q, ru, &c->br[j], occ, n);
    }
}

/* Semi-naive fixpoint for ru and every rule mutually recursive with it. */
static int rule_fixpoint(Q *q, q_rule *ru, int dsrc) {
    int n = q->nrules, rc = 0;
    q_rule *grp[64];
    int ng = 0;
    for (int i = 0; i < n && ng < 64; i++) {
        q_rule *x = &q->rules[i];
        if (x == ru || (ru->reach[i] && x->reach[ru - q->rules])) grp[ng++] = x;
    }
    for (int i = 0; i < ng; i++) {
        grp[i]->computing = 1;
        if ((rc = positional(q, grp[i]->arity, &grp[i]->full))) return rc;
        if ((rc = positional(q, grp[i]->arity, &grp[i]->delta))) return rc;
    }
    const q_clause *saved = q->delta_occ;
    struct dm_ctx *saved_dm = q->dm;
    q->dm = NULL;
    for (int iter = 0; !rc; iter++) {
        q_rel *nw[64];
        int any = 0;
        for (int g = 0; g < ng && !rc; g++) {
            q_rule *x = grp[g];
            rc = positional(q, x->arity, &nw[g]);
            for (int bi = 0; bi < x->nb && !rc; bi++) {
                const q_clause *occ[32];
                int no = 0;
                collect_occ(q, x, &x->b[bi].body, occ, &no);
                q_rel *seed = rel_unit(q);
                if (!seed) return dl_err_last()->code;
                if (iter == 0) {
                    q->delta_occ = NULL;
                    rc = rule_body(q, x, bi, seed, dsrc, nw[g]);
                } else {
                    for (int o = 0; o < no && !rc; o++) {
                        q->delta_occ = occ[o];
                        rc = rule_body(q, x, bi, seed, dsrc, nw[g]);
                    }
                }
            }
            if (!rc) rc = rel_dedupe(q, nw[g]);
        }
        if (rc) break;
        for (int g = 0; g < ng && !rc; g++) {
            q_rel *fresh;
            rc = rel_antijoin(q, nw[g], grp[g]->full, &fresh);
            if (rc) break;
            if (fresh->n) any = 1;
            rc = rel_append(q, grp[g]->full, fresh);
            grp[g]->delta = fresh;
        }
        if (!any) break;
    }
    q->delta_occ = saved;
    q->dm = saved_dm;
    for (int i = 0; i < ng; i++) grp[i]->computing = 0;
    return rc;
}

/* ------------------------------------------------------------------ */
/* demand-driven rules                                                 */
/*
** A call into a recursive group with bound arguments (constants, or
** variables bound earlier in the body) computes only the part of the
** rule relations those bindings can reach: the magic-set idea, run on the
** planner's own clause order instead of a rewritten program.
**
** A table is one (rule, mask) pair, mask the argument positions bound at
** the call.  It holds its demand D (distinct tuples of the bound
** positions) and its answers A (distinct positional rows of the rule,
** all true facts, found for the demanded values), each with incremental
** hash indexes: D and A on whole rows (dedupe), A on the bound positions
** (a call probes it once per row of R).  Evaluating a body for table t
** seeds it with t's demand on the head variables; a call to a group rule
** inside it adds R projected on the positions it binds to the callee's
** demand and joins the callee's answers.  Rounds are semi-naive in both
** directions: a body runs once seeded with the demand new since the last
** round (every call reading all answers) and, seeded with the older
** demand, once per group call reading that callee's answers new in the
** last round (delta).  Until no round adds demand or answers.
**
** The order the planner picks may depend on relation sizes, so the mask
** of each call site is fixed (per caller table) on its first evaluation
** and the scheduler waits until those arguments are bound (dm_prio).
*/

/* An incremental chained hash index over rows 0..n-1 of a relation. */
typedef struct hset {
    size_t mask, n, cap;
    size_t *head, *next;
    uint64_t *h;
} hset;

static void hset_free(hset *s) {
    free(s->head);
    free(s->next);
    free(s->h);
    memset(s, 0, sizeof *s);
}

/* Index row s->n with hash h. */
static int hset_add(hset *s, uint64_t h) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        size_t *nx = realloc(s->next, nc * sizeof *nx);
        if (!nx) return dl_err_nomem();
        s->next = nx;
        uint64_t *nh = realloc(s->h, nc * sizeof *nh);
        if (!nh) return dl_err_nomem();
        s->h = nh;
        s->cap = nc;
    }
    if (!s->head || s->n * 2 >= s->mask + 1) {
        size_t sz = s->head ? (s->mask + 1) * 4 : 64;
        size_t *hd = malloc(sz * sizeof *hd);
        if (!hd) return dl_err_nomem();
        for (size_t i = 0; i < sz; i++) hd[i] = HNONE;
        for (size_t i = s->n; i-- > 0;) {
            s->next[i] = hd[s->h[i] & (sz - 1)];
            hd[s->h[i] & (sz - 1)] = i;
        }
        free(s->head);
        s->head = hd;
        s->mask = sz - 1;
    }
    s->h[s->n] = h;
    s->next[s->n] = s->head[h & s->mask];
    s->head[h & s->mask] = s->n;
    s->n++;
    return 0;
}

static size_t hset_first(const hset *s, uint64_t h) {
    return s->head ? s->head[h & s->mask] : HNONE;
}

typedef struct dm_table {
    q_rule *ru;
    uint64_t mask;
    int nk, kpos[64];   /* the bound positions */
    q_rel *D;           /* demand: nk columns */
    size_t dold, dcur;  /* D[0,dold) old, D[dold,dcur) new this round */
    hset Dall;
    q_rel *A, *delta, *nw;
    hset Aall, Akey;
} dm_table;

typedef struct dm_site {
    const q_clause *c;
    int caller;
    uint64_t mask;
    int last; /* every evaluation ran it last in its branch */
} dm_site;

typedef struct dm_ctx {
    dm_table *t;
    int nt, capt;
    dm_site *s;
    int ns, caps;
    int cur;    /* the table whose body is being evaluated */
    int dfirst; /* the delta occurrence runs first (dm_body_delta) */
    int rl;     /* right-linear mode: group calls run last (dm_right_linear) */
} dm_ctx;

static const int dm_id[64] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
    22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
    44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

static int dm_table_get(Q *q, dm_ctx *d, q_rule *ru, uint64_t mask) {
    for (int i = 0; i < d->nt; i++)
        if (d->t[i].ru == ru && d->t[i].mask == mask) return i;
    if (d->nt == d->capt) {
        int nc = d->capt ? d->capt * 2 : 8;
        dm_table *nt = dl_arena_realloc(q->a, d->t, sizeof *nt * (size_t)d->capt,
                                        sizeof *nt * (size_t)nc);
        if (!nt) return DATALITH_ENOMEM;
        d->t = nt;
        d->capt = nc;
    }
    dm_table *t = &d->t[d->nt];
    memset(t, 0, sizeof *t);
    t->ru = ru;
    t->mask = mask;
    int vars[64];
    for (int i = 0; i < ru->arity; i++)
        if (mask >> i & 1) {
            vars[t->nk] = -(i + 1);
            t->kpos[t->nk++] = i;
        }
    int rc;
    if (!(t->D = rel_new(q, t->nk, vars))) return DATALITH_ENOMEM;
    if ((rc = positional(q, ru->arity, &t->A)) || (rc = positional(q, ru->arity, &t->delta)))
        return rc;
    return d->nt++;
}

static void dm_free(dm_ctx *d) {
    for (int i = 0; i < d->nt; i++) {
        hset_free(&d->t[i].Dall);
        hset_free(&d->t[i].Aall);
        hset_free(&d->t[i].Akey);
    }
}

/* The arguments of call c bound by R (or constant), as a mask. */
static uint64_t dm_call_mask(const q_clause *c, const q_rel *R) {
    uint64_t m = 0;
    for (int i = 0; i < c->nt && i < 64; i++) {
        const q_term *t = &c->t[i];
        if (t->kind == T_CONST || (t->kind == T_VAR && rel_col(R, t->var) >= 0))
            m |= (uint64_t)1 << i;
    }
    return m;
}

/* Where call c finds the value of each bound position of t: a column of
** R (>= 0) or constant argument i (-1 - i). */
static void dm_key_cols(const dm_table *t, const q_clause *c, const q_rel *R, int *cols) {
    for (int j = 0; j < t->nk; j++) {
        const q_term *a = &c->t[t->kpos[j]];
        cols[j] = a->kind == T_CONST ? -1 - t->kpos[j] : rel_col(R, a->var);
    }
}

static void dm_key(const dm_table *t, const q_clause *c, const int *cols,
                   const edn_value *row, edn_value *key) {
    for (int j = 0; j < t->nk; j++)
        key[j] = cols[j] >= 0 ? row[cols[j]] : c->t[-1 - cols[j]].c;
}

/* Add the bound arguments of call c, for each row of R, to t's demand. */
static int dm_demand(Q *q, dm_table *t, const q_clause *c, const q_rel *R) {
    int cols[64];
    edn_value key[64];
    dm_key_cols(t, c, R, cols);
    for (size_t r = 0; r < R->n; r++) {
        dm_key(t, c, cols, rel_row(R, r), key);
        uint64_t h = hash_cols(key, dm_id, t->nk);
        size_t j;
        for (j = hset_first(&t->Dall, h); j != HNONE; j = t->Dall.next[j])
            if (t->Dall.h[j] == h && eq_cols(rel_row(t->D, j), dm_id, key, dm_id, t->nk)) break;
        if (j != HNONE) continue;
        edn_value *o = rel_push(q, t->D);
        if (!o) return dl_err_last()->code;
        memcpy(o, key, sizeof(edn_value) * (size_t)t->nk);
        int rc = hset_add(&t->Dall, h);
        if (rc) return rc;
    }
    return 0;
}

/* R joined with t's answers through call c's arguments (natural join on
** the variables; constants filter; a repeated variable unifies). */
static int dm_join(Q *q, const dm_table *t, const q_clause *c, const q_rel *R, q_rel **out) {
    int vars[128], colR[64], newk[64], nn = 0, cols[64];
    memcpy(vars, R->vars, sizeof(int) * (size_t)R->w);
    for (int i = 0; i < c->nt; i++) {
        colR[i] = -1;
        newk[i] = -1;
        const q_term *a = &c->t[i];
        if (a->kind != T_VAR || (t->mask >> i & 1)) continue;
        colR[i] = rel_col(R, a->var);
        if (colR[i] >= 0) continue;
        int k;
        for (k = 0; k < nn; k++)
            if (vars[R->w + k] == a->var) break;
        if (k == nn) vars[R->w + nn++] = a->var;
        newk[i] = k;
    }
    q_rel *r = rel_new(q, R->w + nn, vars);
    if (!r) return DATALITH_ENOMEM;
    *out = r;
    dm_key_cols(t, c, R, cols);
    edn_value key[64], nv[64];
    for (size_t ri = 0; ri < R->n; ri++) {
        const edn_value *row = rel_row(R, ri);
        dm_key(t, c, cols, row, key);
        uint64_t h = hash_cols(key, dm_id, t->nk);
        for (size_t j = hset_first(&t->Akey, h); j != HNONE; j = t->Akey.next[j]) {
            if (t->Akey.h[j] != h) continue;
            const edn_value *ar = rel_row(t->A, j);
            if (!eq_cols(ar, t->kpos, key, dm_id, t->nk)) continue;
            int ok = 1;
            char set[64];
            memset(set, 0, (size_t)nn);
            for (int i = 0; i < c->nt && ok; i++) {
                const q_term *a = &c->t[i];
                if (t->mask >> i & 1) continue;
                if (a->kind == T_CONST) ok = edn_equal(&ar[i], &a->c);
                else if (colR[i] >= 0) ok = edn_equal(&ar[i], &row[colR[i]]);
                else if (newk[i] >= 0) {
                    if (set[newk[i]]) ok = edn_equal(&nv[newk[i]], &ar[i]);
                    else {
                        nv[newk[i]] = ar[i];
                        set[newk[i]] = 1;
                    }
                }
            }
            if (!ok) continue;
            edn_value *o = rel_push(q, r);
            if (!o) return dl_err_last()->code;
            memcpy(o, row, sizeof(edn_value) * (size_t)R->w);
            memcpy(o + R->w, nv, sizeof(edn_value) * (size_t)nn);
        }
    }
    return 0;
}

/* Add t->nw's rows not yet in A to A; they become t->delta. */
static int dm_absorb(Q *q, dm_table *t) {
    int rc = positional(q, t->ru->arity, &t->delta);
    if (rc) return rc;
    int w = t->ru->arity;
    for (size_t i = 0; i < t->nw->n; i++) {
        const edn_value *row = rel_row(t->nw, i);
        uint64_t h = hash_cols(row, dm_id, w);
        size_t j;
        for (j = hset_first(&t->Aall, h); j != HNONE; j = t->Aall.next[j])
            if (t->Aall.h[j] == h && eq_cols(rel_row(t->A, j), dm_id, row, dm_id, w)) break;
        if (j != HNONE) continue;
        edn_value *o = rel_push(q, t->A);
        if (!o) return dl_err_last()->code;
        memcpy(o, row, sizeof(edn_value) * (size_t)w);
        if ((rc = hset_add(&t->Aall, h)) || (rc = hset_add(&t->Akey, hash_cols(row, t->kpos, t->nk))))
            return rc;
        if (!(o = rel_push(q, t->delta))) return dl_err_last()->code;
        memcpy(o, row, sizeof(edn_value) * (size_t)w);
    }
    return 0;
}

static const dm_site *dm_site_find(const dm_ctx *d, const q_clause *c) {
    for (int i = 0; i < d->ns; i++)
        if (d->s[i].c == c && d->s[i].caller == d->cur) return &d->s[i];
    return NULL;
}

/* Scheduler priority of a call into the group being computed: runnable
** once the arguments of its recorded mask are bound; before its first
** evaluation, preferred when it has a bound argument. */
static int dm_prio(const Q *q, const q_clause *c, const q_rel *R, int left, uint64_t *cost) {
    const dm_ctx *d = q->dm;
    const dm_site *st = dm_site_find(d, c);
    uint64_t m = dm_call_mask(c, R);
    *cost = R->n;
    if (d->rl && left) return 99;
    if (st) return (m & st->mask) == st->mask ? 3 : 99;
    return m ? 3 : 6;
}

/* Call c inside the group: record its demand, join the callee's answers
** (the delta ones when c is the occurrence reading the delta). */
static int dm_call(Q *q, const q_clause *c, const q_rel *R, q_rel **out) {
    dm_ctx *d = q->dm;
    dm_site *st = (dm_site *)dm_site_find(d, c);
    uint64_t mask;
    if (st) {
        mask = st->mask;
        st->last &= q->left == 0;
    } else {
        mask = dm_call_mask(c, R);
        if (d->ns == d->caps) {
            int nc = d->caps ? d->caps * 2 : 8;
            dm_site *ns = dl_arena_realloc(q->a, d->s, sizeof *ns * (size_t)d->caps,
                                           sizeof *ns * (size_t)nc);
            if (!ns) return DATALITH_ENOMEM;
            d->s = ns;
            d->caps = nc;
        }
        d->s[d->ns++] = (dm_site){c, d->cur, mask, q->left == 0};
    }
    int ti = dm_table_get(q, d, c->rule, mask);
    if (ti < 0) return ti;
    dm_table *t = &d->t[ti];
    int rc = d->dfirst && q->delta_occ == c ? 0 : dm_demand(q, t, c, R);
    if (rc) return rc;
    if (q->delta_occ != c) return dm_join(q, t, c, R, out);
    q_rel *view;
    rc = rule_view(q, c, t->delta, &view);
    if (!rc) rc = rel_join(q, R, view, out);
    return rc;
}

/* Seed for body bi of table t from demand rows D[from,to): the head
** variables of the bound positions (a repeated head variable needs equal
** values). */
static int dm_seed(Q *q, const dm_table *t, int bi, size_t from, size_t to, q_rel **out) {
    const int *head = t->ru->b[bi].head;
    int hv[64], col[64], k = 0;
    int chk[64][2], nchk = 0;
    for (int j = 0; j < t->nk; j++) {
        int v = head[t->kpos[j]], dup = -1;
        for (int m = 0; m < k; m++)
            if (hv[m] == v) dup = m;
        if (dup >= 0) {
            chk[nchk][0] = col[dup];
            chk[nchk++][1] = j;
        } else {
            hv[k] = v;
            col[k++] = j;
        }
    }
    q_rel *s = rel_new(q, k, hv);
    if (!s) return DATALITH_ENOMEM;
    rel_reserve(q, s, to - from);
    for (size_t r = from; r < to; r++) {
        const edn_value *row = rel_row(t->D, r);
        int ok = 1;
        for (int m = 0; m < nchk && ok; m++) ok = edn_equal(&row[chk[m][0]], &row[chk[m][1]]);
        if (!ok) continue;
        edn_value *o = rel_push(q, s);
        if (!o) return dl_err_last()->code;
        for (int m = 0; m < k; m++) o[m] = row[col[m]];
    }
    *out = s;
    return nchk ? rel_dedupe(q, s) : 0;
}

/* The delta variant of body bi of table t for its only group call occ,
** driven by the delta: occ runs first (its answers new in the last round),
** the rest of the body follows from its bindings, and the rows are kept
** when their bound head values are old demand of t.  Work follows the
** delta instead of the whole old demand.  The demand the other variants
** record at occ is not recorded here: a prefix of old facts only recorded
** it in an earlier round. */
static int dm_body_delta(Q *q, dm_table *t, int bi, const q_clause *occ, int dsrc, q_rel *acc) {
    const q_rbody *b = &t->ru->b[bi];
    q_rel *unit = rel_unit(q), *res;
    if (!unit) return dl_err_last()->code;
    q->delta_occ = occ;
    q->first = occ;
    q->dm->dfirst = 1;
    int rc = eval_branch(q, &b->body, unit, dsrc, &res);
    q->first = NULL;
    q->dm->dfirst = 0;
    if (rc) return rc;
    int cols[64], w = t->ru->arity;
    for (int i = 0; i < w; i++) {
        cols[i] = rel_col(res, b->head[i]);
        if (cols[i] < 0) {
            char b1[200];
            edn_value hv = var_value(q, b->head[i]);
            return dl_err_set(DATALITH_EQUERY,
                              "Cannot resolve any more clauses — insufficient bindings: rule %s does not bind %s",
                              t->ru->name->full, q_show(&hv, b1, sizeof b1));
        }
    }
    int kc[64];
    for (int j = 0; j < t->nk; j++) kc[j] = cols[t->kpos[j]];
    for (size_t r = 0; r < res->n; r++) {
        const edn_value *row = rel_row(res, r);
        uint64_t h = hash_cols(row, kc, t->nk);
        size_t j;
        for (j = hset_first(&t->Dall, h); j != HNONE; j = t->Dall.next[j])
            if (j < t->dold && t->Dall.h[j] == h && eq_cols(rel_row(t->D, j), dm_id, row, kc, t->nk))
                break;
        if (j == HNONE) continue;
        edn_value *o = rel_push(q, acc);
        if (!o) return dl_err_last()->code;
        for (int k = 0; k < w; k++) o[k] = row[cols[k]];
    }
    return 0;
}

/* Can the delta variant of body bi of t run delta-first?  When occ is its
** only group call, a clause of the body itself (not inside or), already
** evaluated for t (its mask known), and every head variable of a bound
** position occurs in the body. */
static int dm_delta_first(Q *q, const dm_table *t, int bi, const q_clause *occ) {
    const q_branch *b = &t->ru->b[bi].body;
    if (occ < b->cl || occ >= b->cl + b->n || !dm_site_find(q->dm, occ)) return 0;
    for (int j = 0; j < t->nk; j++) {
        int v = t->ru->b[bi].head[t->kpos[j]], found = 0;
        for (int i = 0; i < b->n && !found; i++)
            for (int k = 0; k < b->cl[i].nvars && !found; k++) found = b->cl[i].vars[k] == v;
        if (!found) return 0;
    }
    return 1;
}

/* Is table t right-linear?  Every body of its rule either calls no group
** rule, or calls only the rule itself once, as a clause of the body, with
** the same bound positions (its recorded mask is t's), run after every
** other clause of the body (so the demand it records is exactly the
** body's relation between the head's and its bound values; the scheduler
** keeps it last from then on, dm_prio) and, at each free
** position, the head's variable, found nowhere else in the body or head.
** Then p(o, y) holds iff some demand d' reachable from o by the recursive
** bodies has an exit answer (d', y): the answers of the intermediate
** demand are not needed (dm_fixpoint). */
static int dm_right_linear(Q *q, const dm_table *t) {
    const q_rule *ru = t->ru;
    for (int bi = 0; bi < ru->nb; bi++) {
        const q_rbody *rb = &ru->b[bi];
        const q_clause *occ[32];
        int no = 0;
        collect_occ(q, ru, &rb->body, occ, &no);
        if (no == 0) continue;
        const q_clause *c = occ[0];
        if (no != 1 || c->rule != ru || c < rb->body.cl || c >= rb->body.cl + rb->body.n)
            return 0;
        const dm_site *st = dm_site_find(q->dm, c);
        if (!st || st->mask != t->mask || !st->last) return 0;
        for (int i = 0; i < ru->arity; i++) {
            if (t->mask >> i & 1) continue;
            int v = rb->head[i];
            if (c->t[i].kind != T_VAR || c->t[i].var != v) return 0;
            for (int j = 0; j < ru->arity; j++)
                if (j != i && (rb->head[j] == v || (c->t[j].kind == T_VAR && c->t[j].var == v)))
                    return 0;
            for (int k = 0; k < rb->body.n; k++) {
                const q_clause *o = &rb->body.cl[k];
                if (o == c) continue;
                for (int m = 0; m < o->nvars; m++)
                    if (o->vars[m] == v) return 0;
            }
        }
    }
    return 1;
}

/* Does a call into ru's group occur under a not / not-join in b? */
static int dm_negated(Q *q, const q_rule *ru, const q_branch *b, int neg) {
    for (int i = 0; i < b->n; i++) {
        const q_clause *c = &b->cl[i];
        if (neg && c->kind == C_RULE &&
            (c->rule == ru || (ru->reach[c->rule - q->rules] && c->rule->reach[ru - q->rules])))
            return 1;
        for (int j = 0; j < c->nbr; j++)
            if (dm_negated(q, ru, &c->br[j], neg || c->kind == C_NOT)) return 1;
    }
    return 0;
}

/* Can ru's group be computed on demand?  Not when a group call sits under
** negation (not stratified; the whole-relation path keeps its behaviour)
** or past the fixed limits. */
static int dm_ok(Q *q, const q_rule *ru) {
    if (ru->arity > 64) return 0;
    for (int i = 0; i < q->nrules; i++) {
        const q_rule *x = &q->rules[i];
        if (x != ru && !(ru->reach[i] && x->reach[ru - q->rules])) continue;
        if (x->arity > 64) return 0;
        for (int bi = 0; bi < x->nb; bi++)
            if (dm_negated(q, ru, &x->b[bi].body, 0)) return 0;
    }
    return 1;
}

/* Outer call c of recursive rule ru with the arguments of mask bound by
** R: compute the group on demand and join its answers into *out. */
static int dm_fixpoint(Q *q, const q_clause *c, q_rel *R, uint64_t mask, int dsrc, q_rel **out) {
    q_rule *ru = c->rule, *grp[64];
    int n = q->nrules, rc = 0, ng = 0;
    for (int i = 0; i < n && ng < 64; i++) {
        q_rule *x = &q->rules[i];
        if (x == ru || (ru->reach[i] && x->reach[ru - q->rules])) grp[ng++] = x;
    }
    dm_ctx d, *saved_dm = q->dm;
    memset(&d, 0, sizeof d);
    const q_clause *saved_occ = q->delta_occ;
    q->dm = &d;
    for (int i = 0; i < ng; i++) grp[i]->computing = 2;
    int root = dm_table_get(q, &d, ru, mask);
    if (root < 0) rc = root;
    if (!rc) rc = dm_demand(q, &d.t[root], c, R);
    /* rl: one origin into a right-linear table; only the demand closure
    ** and the exit answers are computed (dm_right_linear) */
    int rl = 0;
    q_rel *ex = NULL;
    for (int iter = 0; !rc; iter++) {
        int any = 0;
        for (int i = 0; i < d.nt; i++) {
            d.t[i].dcur = d.t[i].D->n;
            any |= d.t[i].dcur > d.t[i].dold || d.t[i].delta->n;
        }
        if (!any) break;
        int nt0 = d.nt;
        for (int i = 0; i < nt0 && !rc; i++) {
            q_rule *x = d.t[i].ru;
            rc = positional(q, x->arity, &d.t[i].nw);
            for (int bi = 0; bi < x->nb && !rc; bi++) {
                const q_clause *occ[32];
                int no = 0;
                collect_occ(q, x, &x->b[bi].body, occ, &no);
                q_rel *seed;
                d.cur = i;
                if (d.t[i].dcur > d.t[i].dold) {
                    q->delta_occ = NULL;
                    rc = dm_seed(q, &d.t[i], bi, d.t[i].dold, d.t[i].dcur, &seed);
                    if (!rc) rc = rule_body(q, x, bi, seed, dsrc, d.t[i].nw);
                }
                if (rc || !d.t[i].dold || !no) continue;
                if (no == 1 && dm_delta_first(q, &d.t[i], bi, occ[0])) {
                    const dm_site *st = dm_site_find(&d, occ[0]);
                    int ci = dm_table_get(q, &d, occ[0]->rule, st->mask);
                    if (ci < 0) rc = ci;
                    else if (d.t[ci].delta->n)
                        rc = dm_body_delta(q, &d.t[i], bi, occ[0], dsrc, d.t[i].nw);
                    continue;
                }
                seed = NULL;
                for (int o = 0; o < no && !rc; o++) {
                    const dm_site *st = dm_site_find(&d, occ[o]);
                    if (st) {
                        int ci = dm_table_get(q, &d, occ[o]->rule, st->mask);
                        if (ci < 0) {
                            rc = ci;
                            break;
                        }
                        if (!d.t[ci].delta->n) continue;
                    }
                    if (!seed && (rc = dm_seed(q, &d.t[i], bi, 0, d.t[i].dold, &seed))) break;
                    q->delta_occ = occ[o];
                    rc = rule_body(q, x, bi, seed, dsrc, d.t[i].nw);
                }
            }
        }
        if (!rc && iter == 0 && ng == 1 && d.nt == 1 && d.t[0].dcur == 1 &&
            dm_right_linear(q, &d.t[0])) {
            rl = d.rl = 1;
            rc = positional(q, ru->arity, &ex);
        }
        if (rl) {
            if (!rc) rc = rel_append(q, ex, d.t[0].nw);
            d.t[0].dold = d.t[0].dcur;
            continue;
        }
        for (int i = 0; i < nt0 && !rc; i++) {
            rc = dm_absorb(q, &d.t[i]);
            d.t[i].dold = d.t[i].dcur;
        }
    }
    if (rl && !rc) {
        /* the exit answers of every reachable demand are the origin's */
        dm_table *t = &d.t[0];
        const edn_value *o = rel_row(t->D, 0);
        for (size_t i = 0; i < ex->n; i++) {
            edn_value *row = ex->rows + i * (size_t)ex->w;
            for (int j = 0; j < t->nk; j++) row[t->kpos[j]] = o[j];
        }
        t->nw = ex;
        rc = dm_absorb(q, t);
    }
    q->delta_occ = saved_occ;
    q->dm = saved_dm;
    for (int i = 0; i < ng; i++) grp[i]->computing = 0;
    if (!rc) rc = dm_join(q, &d.t[root], c, R, out);
    dm_free(&d);
    return rc;
}

static int eval_rule(Q *q, const q_clause *c, q_rel *R, int dsrc, q_rel **out) {
    q_rule *ru = c->rule;
    int s = c->src >= 0 ? c->src : dsrc;
    q_rel *pos, *view;
    int rc;
    if (++q->depth > 200) {
        q->depth--;
        return dl_err_set(DATALITH_ELIMIT, "Rule nesting too deep at %s", ru->name->full);
    }
    uint64_t mask;
    if ((ru->computing == 2 && q->dm) ||
        (!ru->computing && ru->recursive && (mask = dm_call_mask(c, R)) != 0 && dm_ok(q, ru))) {
        rc = ru->computing ? dm_call(q, c, R, out) : dm_fixpoint(q, c, R, mask, s, out);
        q->depth--;
        return rc;
    }
    if (ru->computing) {
        pos = (q->delta_occ == c) ? ru->delta : ru->full;
        rc = 0;
    } else if (ru->recursive) {
        rc = rule_fixpoint(q, ru, s);
        pos = ru->full;
    } else {
        /* inline: seed each body with the caller's bound arguments */
        rc = positional(q, ru->arity, &pos);
        for (int bi = 0; bi < ru->nb && !rc; bi++) {
            int hv[64], cols[64], isc[64], k = 0;
            for (int i = 0; i < c->nt; i++) {
                const q_term *t = &c->t[i];
                int col = t->kind == T_VAR ? rel_col(R, t->var) : -1;
                if (t->kind == T_CONST || col >= 0) {
                    int dup = 0;
                    for (int j = 0; j < k; j++) dup |= hv[j] == ru->b[bi].head[i];
                    if (dup) continue;
                    hv[k] = ru->b[bi].head[i];
                    cols[k] = col;
                    isc[k] = i;
                    k++;
                }
            }
            q_rel *seed = rel_new(q, k, hv);
            if (!seed) return DATALITH_ENOMEM;
            for (size_t i = 0; i < R->n; i++) {
                edn_value *o = rel_push(q, seed);
                if (!o) return dl_err_last()->code;
                for (int j = 0; j < k; j++)
                    o[j] = cols[j] >= 0 ? rel_row(R, i)[cols[j]] : c->t[isc[j]].c;
            }
            rc = rel_dedupe(q, seed);
            if (!rc) rc = rule_body(q, ru, bi, seed, s, pos);
        }
        if (!rc) rc = rel_dedupe(q, pos);
    }
    q->depth--;
    if (!rc) rc = rule_view(q, c, pos, &view);
    if (!rc) rc = rel_join(q, R, view, out);
    return rc;
}

/* Is var v mentioned by a pending positive clause other than skip? */
static int pending_binds(const q_branch *b, const char *done, int skip, int v) {
    for (int i = 0; i < b->n; i++) {
        if (done[i] || i == skip) continue;
        const q_clause *c = &b->cl[i];
        if (c->kind == C_NOT || c->kind == C_PRED) continue;
        for (int j = 0; j < c->nvars; j++)
            if (c->vars[j] == v) return 1;
    }
    return 0;
}

static int all_bound(const q_clause *c, const q_rel *R) {
    for (int i = 0; i < c->nt; i++)
        if (c->t[i].kind == T_VAR && rel_col(R, c->t[i].var) < 0) return 0;
    return 1;
}

static int connected(const q_clause *c, const q_rel *R) {
    if (R->w == 0) return 1;
    for (int i = 0; i < c->nvars; i++)
        if (rel_col(R, c->vars[i]) >= 0) return 1;
    return 0;
}

static const char *clause_type(const q_clause *c) {
    switch (c->kind) {
    case C_PAT: return "lookup";
    case C_PRED: return "pred";
    case C_FN: return "fn";
    case C_NOT: return "not";
    case C_OR: return "or";
    default: return "rule";
    }
}

/* One :stats entry for a top-level clause (plan_out; docs/query.md):
** {:clause form :type t :rels [{:bound #{?vars} :rows n}] :est n :t ms
**  :via "…"}. */
static int plan_log(Q *q, const q_branch *b, const q_clause *c, uint64_t est,
                    const q_rel *nr, double ms) {
    if (!q->plan || b != q->top) return 0;
    if (q->nplan == q->capplan) {
        size_t nc = q->capplan ? q->capplan * 2 : 16;
        edn_value *np = dl_arena_realloc(q->a, q->plan, q->capplan * sizeof *np, nc * sizeof *np);
        if (!np) return DATALITH_ENOMEM;
        q->plan = np;
        q->capplan = nc;
    }
    edn_value *vs = dl_arena_alloc(q->a, sizeof(edn_value) * (size_t)(nr->w + 1));
    if (!vs) return DATALITH_ENOMEM;
    for (int i = 0; i < nr->w; i++) vs[i] = var_value(q, nr->vars[i]);
    edn_value rel[4], relm, rels, kv[12];
    rel[0] = edn_keyword_str("bound");
    int rc = edn_set(q->a, vs, (size_t)nr->w, &rel[1]);
    if (rc) return rc;
    rel[2] = edn_keyword_str("rows");
    rel[3] = edn_int((int64_t)nr->n);
    if ((rc = edn_map(q->a, rel, 2, &relm)) || (rc = edn_vector(q->a, &relm, 1, &rels))) return rc;
    int k = 0;
    kv[k++] = edn_keyword_str("clause");
    kv[k++] = c->form;
    kv[k++] = edn_keyword_str("type");
    kv[k++] = edn_keyword_str(clause_type(c));
    kv[k++] = edn_keyword_str("rels");
    kv[k++] = rels;
    kv[k++] = edn_keyword_str("est");
    kv[k++] = edn_int((int64_t)est);
    kv[k++] = edn_keyword_str("t");
    kv[k++] = edn_float(ms);
    if (c->kind == C_PAT && q->via) {
        kv[k++] = edn_keyword_str("via");
        if ((rc = edn_string(q->a, q->via, strlen(q->via), &kv[k++]))) return rc;
    }
    return edn_map(q->a, kv, (size_t)k / 2, &q->plan[q->nplan++]);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* A predicate argument usable as a range bound: a constant, or a
** variable R binds to one value (a scalar :in input). */
static const edn_value *range_const(const q_rel *R, const q_term *t) {
    if (t->kind == T_CONST) return &t->c;
    if (t->kind != T_VAR || R->n != 1) return NULL;
    int col = rel_col(R, t->var);
    return col >= 0 ? &rel_row(R, 0)[col] : NULL;
}

/* Range pushdown.  For a pattern [?e :a ?v …] about to be scanned with ?v
** unbound, :a in AVET with long (or double) values, the pending predicates
** (< > <= >=) comparing ?v with a constant of that same type (or a
** variable bound to one such value, as a scalar :in input) bound an AVET
** range scan (inclusive; the predicates still run afterwards, so this only
** skips datoms they would reject).  Sets *lo / *hi or leaves them NULL. */
static void pat_range(Q *q, const q_branch *b, const char *done, const q_clause *c,
                      int s, const q_rel *R, edn_value *lov, edn_value *hiv,
                      const edn_value **lo, const edn_value **hi) {
    *lo = *hi = NULL;
    const q_src *src = &q->src[s];
    if (!src->db || c->never || c->nt < 3 || c->t[1].kind != T_CONST ||
        c->t[0].kind == T_CONST || c->t[2].kind != T_VAR || c->rc[1].type != EDN_KEYWORD)
        return;
    int v = c->t[2].var;
    if (rel_col(R, v) >= 0 || (c->t[0].kind == T_VAR && rel_col(R, c->t[0].var) >= 0)) return;
    const dl_attr *at = dl_schema_attr(src->db->schema, c->rc[1].u.sym);
    if (!at || !at->avet) return;
    int ty = at->vtype == DL_VT_LONG ? EDN_INT : at->vtype == DL_VT_DOUBLE ? EDN_FLOAT : -1;
    if (ty < 0) return;
    for (int i = 0; i < b->n; i++) {
        const q_clause *p = &b->cl[i];
        if (done[i] || p->kind != C_PRED || p->nt != 2 || p->src >= 0) continue;
        const char *nm = p->fn->name;
        int gt = !strcmp(nm, ">") || !strcmp(nm, ">="), lt = !strcmp(nm, "<") || !strcmp(nm, "<=");
        if (!gt && !lt) continue;
        const q_term *x = &p->t[0], *y = &p->t[1];
        const edn_value *k;
        if (x->kind == T_VAR && x->var == v && (k = range_const(R, y))) ;
        else if (y->kind == T_VAR && y->var == v && (k = range_const(R, x))) gt = !gt;
        else continue;
        if (k->type != ty || (ty == EDN_FLOAT && isnan(k->u.d))) continue;
        if (gt && (!*lo || edn_compare(k, *lo) > 0)) *lov = *k, *lo = lov;
        if (!gt && (!*hi || edn_compare(k, *hi) < 0)) *hiv = *k, *hi = hiv;
    }
}

/* Early projection of the top-level branch: a column no pending clause
** and no :find / :with element mentions is dropped and the rows
** deduplicated, so a join through it (?e in [?e :name "Ivan"] [?e :age ?a]
** [?e1 :age ?a] …) continues as a semi-join on the distinct values left. */
static int drop_dead(Q *q, const q_branch *b, const char *done, q_rel **R) {
    int live[128], nl = 0, dead = 0;
    for (int j = 0; j < (*R)->w; j++) {
        int v = (*R)->vars[j], need = 0;
        for (int k = 0; k < q->nkeep && !need; k++) need = q->keep[k] == v;
        for (int i = 0; i < b->n && !need; i++) {
            if (done[i]) continue;
            for (int k = 0; k < b->cl[i].nvars && !need; k++) need = b->cl[i].vars[k] == v;
        }
        if (need && nl < 128) live[nl++] = v;
        else dead = 1;
    }
    if (!dead || nl > 64) return 0;
    q_rel *p;
    int rc = rel_project(q, *R, live, nl, &p);
    if (rc) return rc;
    *R = p;
    return 0;
}

static int eval_branch(Q *q, const q_branch *b, q_rel *seed, int dsrc, q_rel **out) {
    char dflt[16], *done = b->n <= 16 ? dflt : dl_arena_calloc(q->a, (size_t)b->n, 1);
    if (!done) return DATALITH_ENOMEM;
    memset(done, 0, (size_t)b->n);
    q_rel *R = seed;
    int rc = 0;
    for (int step = 0; step < b->n; step++) {
        int pick = -1, prio = 99;
        uint64_t best = UINT64_MAX, est = 0;
        for (int i = 0; i < b->n; i++) {
            if (done[i]) continue;
            q_clause *c = &b->cl[i];
            int p = 99;
            uint64_t cost = 0;
            switch (c->kind) {
            case C_PRED:
                if (all_bound(c, R)) p = 1;
                break;
            case C_NOT: {
                int ready = 1;
                if (c->has_join) {
                    for (int j = 0; j < c->njoin; j++)
                        if (rel_col(R, c->join[j]) < 0) ready = 0;
                } else {
                    for (int j = 0; j < c->nvars; j++)
                        if (rel_col(R, c->vars[j]) < 0 && pending_binds(b, done, i, c->vars[j]))
                            ready = 0;
                }
                if (ready) p = 1;
                break;
            }
            case C_FN:
                if (all_bound(c, R)) p = 2;
                break;
            case C_PAT: {
                int s = c->src >= 0 ? c->src : dsrc;
                rc = pat_resolve(q, c, s);
                if (rc) return rc;
                cost = c->count;
                int con = connected(c, R);
                if (con && R->w && pat_has_bound(c, R) && R->n < cost) cost = R->n;
                p = con ? 3 : 5;
                break;
            }
            case C_OR: {
                int ready = 1;
                for (int j = 0; j < c->nreq; j++)
                    if (rel_col(R, c->join[j]) < 0) ready = 0;
                if (ready) p = connected(c, R) ? 4 : 6;
                break;
            }
            case C_RULE:
                if (c->rule->computing == 2 && q->dm) {
                    int left = 0;
                    for (int j = 0; j < b->n; j++) left += !done[j] && j != i;
                    p = dm_prio(q, c, R, left, &cost);
                } else if (c->rule->computing) {
                    const q_rel *pr = q->delta_occ == c ? c->rule->delta : c->rule->full;
                    cost = pr ? pr->n : 0;
                    p = connected(c, R) ? 3 : 5;
                } else {
                    p = connected(c, R) ? 4 : 6;
                }
                break;
            }
            if (p < prio || (p == prio && cost < best)) {
                prio = p;
                best = cost;
                pick = i;
                est = cost;
            }
        }
        if (q->first) {
            for (int i = 0; i < b->n; i++)
                if (!done[i] && &b->cl[i] == q->first) {
                    pick = i;
                    prio = 0;
                    est = 0;
                }
            q->first = NULL;
        }
        if (pick < 0 || prio == 99) {
            for (int i = 0; i < b->n; i++) {
                if (done[i]) continue;
                const q_clause *c = &b->cl[i];
                int miss[64], nm = 0;
                for (int j = 0; j < c->nvars && nm < 64; j++)
                    if (rel_col(R, c->vars[j]) < 0) miss[nm++] = c->vars[j];
                if (c->kind == C_FN) {
                    nm = 0;
                    for (int j = 0; j < c->nt && nm < 64; j++)
                        if (c->t[j].kind == T_VAR && rel_col(R, c->t[j].var) < 0)
                            miss[nm++] = c->t[j].var;
                }
                return insufficient(q, c, miss, nm);
            }
            return dl_err_set(DATALITH_EINTERNAL, "scheduler stuck");
        }
        q_clause *c = &b->cl[pick];
        q->left = b->n - step - 1;
        done[pick] = 1;
        double t0 = q->plan && b == q->top ? now_ms() : 0;
        size_t rows_in = R->n;
        q->via = NULL;
        q_rel *nr = NULL;
        int s = c->src >= 0 ? c->src : dsrc;
        switch (c->kind) {
        case C_PAT: {
            edn_value lov, hiv;
            pat_range(q, b, done, c, s, R, &lov, &hiv, &q->rlo, &q->rhi);
            rc = eval_pattern(q, c, s, R, &nr);
            q->rlo = q->rhi = NULL;
            break;
        }
        case C_PRED: rc = eval_pred(q, c, R, s, &nr); break;
        case C_FN: rc = eval_fn(q, c, R, s, &nr); break;
        case C_NOT: rc = eval_not(q, c, R, dsrc, &nr); break;
        case C_OR: rc = eval_or(q, c, R, dsrc, &nr); break;
        case C_RULE: rc = eval_rule(q, c, R, dsrc, &nr); break;
        }
        if (rc) return rc;
        if (c->kind == C_PAT) est = c->count;
        else est = rows_in;
        rc = plan_log(q, b, c, est, nr, q->plan ? now_ms() - t0 : 0);
        if (rc) return rc;
        R = nr;
        if (b == q->top && q->keep) {
            rc = drop_dead(q, b, done, &R);
            if (rc) return rc;
        }
    }
    *out = R;
    return 0;
}

/* ------------------------------------------------------------------ */
/* aggregates                                                          */

static int is_num(const edn_value *v) { return v->type == EDN_INT || v->type == EDN_FLOAT; }
static double num(const edn_value *v) { return v->type == EDN_INT ? (double)v->u.i : v->u.d; }

static int cmp_vals(const void *x, const void *y) {
    return edn_compare((const edn_value *)x, (const edn_value *)y);
}

static int agg_names(const edn_sym *s) {
    static const char *names[] = {"count", "count-distinct", "sum", "avg", "median",
                                  "variance", "stddev", "min", "max", "distinct",
                                  "rand", "sample", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(s->full, names[i])) return i;
    return -1;
}

static int agg_run(Q *q, const q_felem *fe, edn_value *vals, size_t n, edn_value *out) {
    int which = agg_names(fe->agg);
    const char *name = fe->agg->full;
    int64_t k = -1;
    if (fe->nconsts) {
        if (fe->consts[0].type != EDN_INT || fe->consts[0].u.i < 0)
            return qerr("Aggregate argument must be a non-negative integer: %s", &fe->form);
        k = fe->consts[0].u.i;
    }
    size_t i;
    switch (which) {
    case 0: *out = edn_int((int64_t)n); return 0;
    case 1: {
        qsort(vals, n, sizeof *vals, cmp_vals);
        int64_t d = 0;
        for (i = 0; i < n; i++) d += i == 0 || !edn_equal(&vals[i], &vals[i - 1]);
        *out = edn_int(d);
        return 0;
    }
    case 2: case 3: case 5: case 6: {
        int all_int = 1;
        int64_t isum = 0;
        double dsum = 0;
        for (i = 0; i < n; i++) {
            if (!is_num(&vals[i]))
                return dl_err_set(DATALITH_EQUERY, "Aggregate %s expects numbers, got %s in %s",
                                  name, SHOW(&vals[i]), SHOW(&fe->form));
            if (vals[i].type != EDN_INT) all_int = 0;
            else if (all_int && __builtin_add_overflow(isum, vals[i].u.i, &isum))
                return dl_err_set(DATALITH_EQUERY, "integer overflow in %s", name);
            dsum += num(&vals[i]);
        }
        if (which == 2) {
            *out = all_int ? edn_int(isum) : edn_float(dsum);
            return 0;
        }
        if (n == 0) {
            *out = edn_nil();
            return 0;
        }
        double mean = dsum / (double)n;
        if (which == 3) {
            *out = edn_float(mean);
            return 0;
        }
        double var = 0;
        for (i = 0; i < n; i++) var += (num(&vals[i]) - mean) * (num(&vals[i]) - mean);
        var /= (double)n;
        *out = edn_float(which == 5 ? var : sqrt(var));
        return 0;
    }
    case 4: {
        if (n == 0) {
            *out = edn_nil();
            return 0;
        }
        qsort(vals, n, sizeof *vals, cmp_vals);
        const edn_value *m = &vals[n / 2];
        if (!is_num(m)) {
            *out = *m;
            return 0;
        }
        if (n % 2) *out = edn_float(num(m));
        else if (is_num(&vals[n / 2 - 1])) *out = edn_float((num(&vals[n / 2 - 1]) + num(m)) / 2.0);
        else *out = *m;
        return 0;
    }
    case 7: case 8: {
        qsort(vals, n, sizeof *vals, cmp_vals);
        /* distinct values only */
        size_t d = 0;
        for (i = 0; i < n; i++)
            if (d == 0 || !edn_equal(&vals[i], &vals[d - 1])) vals[d++] = vals[i];
        if (k < 0) {
            *out = d ? vals[which == 7 ? 0 : d - 1] : edn_nil();
            return 0;
        }
        size_t take = (size_t)k < d ? (size_t)k : d;
        return edn_vector(q->a, which == 7 ? vals : vals + (d - take), take, out);
    }
    case 9: return edn_set(q->a, vals, n, out) ? edn_set(q->a, NULL, 0, out) : 0;
    case 10: case 11: {
        if (k < 0) {
            if (which == 11) return qerr("sample needs a count: %s", &fe->form);
            *out = n ? vals[(size_t)rand() % n] : edn_nil();
            return 0;
        }
        edn_value *pick = dl_arena_alloc(q->a, sizeof(edn_value) * ((size_t)k + 1));
        if (!pick) return DATALITH_ENOMEM;
        size_t m = 0;
        if (which == 10) {
            for (m = 0; n && m < (size_t)k; m++) pick[m] = vals[(size_t)rand() % n];
        } else {
            for (i = 0; i < n; i++) { /* partial Fisher-Yates */
                size_t j = i + (size_t)rand() % (n - i);
                edn_value t = vals[i];
                vals[i] = vals[j];
                vals[j] = t;
            }
            for (m = 0; m < n && m < (size_t)k; m++) pick[m] = vals[m];
        }
        return edn_vector(q->a, pick, m, out);
    }
    }
    return qerr("Unknown aggregate %s", &fe->form);
}

/* ------------------------------------------------------------------ */
/* query form                                                          */

typedef struct qform {
    const edn_value *find, *in, *with, *where, *keys;
    size_t nfind, nin, nwith, nwhere, nkeys;
    int keys_kind; /* 0 none, 1 keys, 2 syms, 3 strs */
    edn_value findform;
} qform;

static int split_query(Q *q, const edn_value *v, qform *f) {
    memset(f, 0, sizeof *f);
    static const char *secs[] = {"find", "in", "with", "where", "keys", "syms", "strs"};
    if (v->type == EDN_MAP) {
        for (uint32_t i = 0; i < v->n; i++) {
            const edn_value *k = &v->u.items[2 * i], *x = &v->u.items[2 * i + 1];
            int s = -1;
            if (k->type == EDN_KEYWORD)
                for (int j = 0; j < 7; j++)
                    if (!strcmp(k->u.sym->full, secs[j])) s = j;
            if (s < 0) {
                if (k->type == EDN_KEYWORD && (!strcmp(k->u.sym->full, "offset") ||
                    !strcmp(k->u.sym->full, "limit") || !strcmp(k->u.sym->full, "order-by")))
                    return dl_err_set(DATALITH_EQUERY,
                                      "Query option :%s belongs in the arg-map form "
                                      "{:query … :%s …}, not in the query map",
                                      k->u.sym->full, k->u.sym->full);
                return qerr("Query contains unknown key %s", k);
            }
            if (!edn_is_seq(x)) return qerr("Query section must be a vector: %s", x);
            const edn_value **p = s == 0 ? &f->find : s == 1 ? &f->in : s == 2 ? &f->with
                                : s == 3 ? &f->where : &f->keys;
            size_t *np = s == 0 ? &f->nfind : s == 1 ? &f->nin : s == 2 ? &f->nwith
                       : s == 3 ? &f->nwhere : &f->nkeys;
            *p = x->u.items;
            *np = x->n;
            if (s >= 4) f->keys_kind = s - 3;
        }
    } else if (v->type == EDN_VECTOR) {
        int cur = -1;
        size_t start = 0;
        for (uint32_t i = 0; i <= v->n; i++) {
            const edn_value *x = i < v->n ? &v->u.items[i] : NULL;
            if (x && x->type != EDN_KEYWORD) {
                if (cur < 0) return qerr("Query must start with a keyword such as :find: %s", v);
                continue;
            }
            if (cur >= 0) {
                const edn_value **p = cur == 0 ? &f->find : cur == 1 ? &f->in : cur == 2 ? &f->with
                                    : cur == 3 ? &f->where : &f->keys;
                size_t *np = cur == 0 ? &f->nfind : cur == 1 ? &f->nin : cur == 2 ? &f->nwith
                           : cur == 3 ? &f->nwhere : &f->nkeys;
                if (*p) return qerr("Query has a repeated section in %s", v);
                *p = v->u.items + start;
                *np = i - start;
                if (cur >= 4) f->keys_kind = cur - 3;
            }
            if (!x) break;
            cur = -1;
            for (int j = 0; j < 7; j++)
                if (!strcmp(x->u.sym->full, secs[j])) cur = j;
            if (cur < 0) return qerr("Query contains unknown section %s", x);
            start = i + 1;
        }
    } else {
        return qerr("Query must be a vector or a map: %s", v);
    }
    if (!f->find || f->nfind == 0) return qerr("Query should have a :find clause: %s", v);
    if (f->where && f->nwhere == 0) return qerr("Query has an empty :where clause: %s", v);
    return 0;
}

static int parse_find(Q *q, const qform *f, int *kind, q_felem **els, int *nel) {
    const edn_value *it = f->find;
    size_t n = f->nfind;
    *kind = FIND_REL;
    if (n == 2 && is_sym(&it[1]) && it[1].u.sym == S_DOT) {
        *kind = FIND_SCALAR;
        n = 1;
    } else if (n == 1 && it[0].type == EDN_VECTOR) {
        const edn_value *v = &it[0];
        if (v->n == 2 && is_sym(&v->u.items[1]) && v->u.items[1].u.sym == S_ELLIPSIS) {
            *kind = FIND_COLL;
            it = v->u.items;
            n = 1;
        } else {
            *kind = FIND_TUPLE;
            it = v->u.items;
            n = v->n;
            if (!n) return qerr("Cannot parse :find, empty tuple %s", v);
        }
    }
    *els = dl_arena_calloc(q->a, n + 1, sizeof(q_felem));
    if (!*els) return DATALITH_ENOMEM;
    *nel = (int)n;
    for (size_t i = 0; i < n; i++) {
        q_felem *fe = &(*els)[i];
        const edn_value *x = &it[i];
        fe->form = *x;
        if (is_var_sym(x)) {
            fe->kind = F_VAR;
            fe->var = var_id(q, x->u.sym);
        } else if (x->type == EDN_LIST && x->n >= 2 && is_sym(&x->u.items[0])) {
            const edn_sym *h = x->u.items[0].u.sym;
            if (h == S_PULL) {
                size_t k = 1;
                fe->psrc = -1;
                fe->pvar = -1;
                if (x->n == 4 && is_src_sym(&x->u.items[1])) {
                    fe->psrc = src_index(q, &x->u.items[1], x);
                    if (fe->psrc < 0) return fe->psrc;
                    k = 2;
                }
                if (x->n != k + 2 || !is_var_sym(&x->u.items[k]))
                    return qerr("Cannot parse pull expression %s", x);
                fe->kind = F_PULL;
                fe->var = var_id(q, x->u.items[k].u.sym);
                const edn_value *pt = &x->u.items[k + 1];
                if (is_var_sym(pt)) fe->pvar = var_id(q, pt->u.sym);
                else if (pt->type == EDN_VECTOR) fe->pat = *pt;
                else return qerr("Cannot parse pull pattern in %s", x);
                continue;
            }
            if (agg_names(h) < 0) {
                char b1[200];
                return dl_err_set(DATALITH_EQUERY, "Unknown aggregate function '%s in %s",
                                  h->full, q_show(x, b1, sizeof b1));
            }
            const edn_value *last = &x->u.items[x->n - 1];
            if (!is_var_sym(last)) return qerr("Cannot parse :find element %s", x);
            fe->kind = F_AGG;
            fe->agg = h;
            fe->var = var_id(q, last->u.sym);
            fe->nconsts = (int)x->n - 2;
            fe->consts = x->u.items + 1;
            for (int j = 0; j < fe->nconsts; j++)
                if (is_sym(&fe->consts[j])) return qerr("Cannot parse :find element %s", x);
        } else {
            return qerr("Cannot parse :find element %s", x);
        }
    }
    return 0;
}

static _Thread_local int cmp_rows_w;
static int cmp_row_w(const edn_value *a, const edn_value *b, int w) {
    for (int i = 0; i < w; i++) {
        int c;
        if (a[i].type == EDN_INT && b[i].type == EDN_INT)
            c = (a[i].u.i > b[i].u.i) - (a[i].u.i < b[i].u.i);
        else
            c = edn_compare(&a[i], &b[i]);
        if (c) return c;
    }
    return 0;
}

static int cmp_rows(const void *x, const void *y) {
    return cmp_row_w(x, y, cmp_rows_w);
}

/* When every first column is an EDN_INT: LSD radix sort on it (16-bit
** digits of the sign-flipped value, constant digits skipped), rows moved
** once, then runs of an equal first column sorted on the rest.  Returns
** nonzero (rows untouched) when it does not apply or memory is short. */
static int radix_rows(q_rel *r) {
    size_t n = r->n, w = (size_t)r->w;
    if (n > UINT32_MAX) return 1;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        const edn_value *v = &r->rows[i * w];
        if (v->type != EDN_INT) return 1;
        if (v->u.i < mn) mn = v->u.i;
        if (v->u.i > mx) mx = v->u.i;
    }
    /* sort by the offset from the smallest key, 11 bits a pass, only as
    ** many passes as the key range needs (entity ids: two) */
    uint64_t range = (uint64_t)mx - (uint64_t)mn;
    int bits = 0;
    while (bits < 64 && (range >> bits)) bits++;
    enum { RB = 11, RN = 1 << RB };
    uint64_t *k = malloc(n * sizeof *k * 2);
    uint32_t *ix = malloc(n * sizeof *ix * 2);
    size_t *cnt = malloc(RN * sizeof *cnt);
    edn_value *nr = malloc(n * w * sizeof *nr);
    if (!k || !ix || !cnt || !nr) {
        free(k), free(ix), free(cnt), free(nr);
        return 1;
    }
    uint64_t *k2 = k + n;
    uint32_t *ix2 = ix + n;
    for (size_t i = 0; i < n; i++) {
        k[i] = (uint64_t)r->rows[i * w].u.i - (uint64_t)mn;
        ix[i] = (uint32_t)i;
    }
    for (int sh = 0; sh < bits; sh += RB) {
        memset(cnt, 0, RN * sizeof *cnt);
        for (size_t i = 0; i < n; i++) cnt[(k[i] >> sh) & (RN - 1)]++;
        if (cnt[(k[0] >> sh) & (RN - 1)] == n) continue;
        size_t sum = 0;
        for (size_t d = 0; d < RN; d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t d = cnt[(k[i] >> sh) & (RN - 1)]++;
            k2[d] = k[i];
            ix2[d] = ix[i];
        }
        uint64_t *tk = k; k = k2; k2 = tk;
        uint32_t *ti = ix; ix = ix2; ix2 = ti;
    }
    for (size_t i = 0; i < n; i++) {
        const edn_value *src = r->rows + (size_t)ix[i] * w;
        edn_value *dst = nr + i * w;
        for (size_t c = 0; c < w; c++) dst[c] = src[c];
    }
    free(r->rows);
    r->rows = nr;
    r->cap = n;
    if (w > 1) {
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && k[j] == k[i]) j++;
            if (j - i > 1) qsort(r->rows + i * w, j - i, w * sizeof *nr, cmp_rows);
            i = j;
        }
    }
    free(k < k2 ? k : k2), free(ix < ix2 ? ix : ix2), free(cnt);
    return 0;
}

/* Canonical (edn_compare) row order.  Scans often deliver rows already in
** order (q1's entity ids from AVET), so a linear check comes first. */
static void sort_rel(q_rel *r) {
    if (r->n < 2 || r->w == 0) return;
    size_t i;
    for (i = 1; i < r->n; i++)
        if (cmp_row_w(rel_row(r, i - 1), rel_row(r, i), r->w) > 0) break;
    if (i == r->n) return;
    cmp_rows_w = r->w;
    if (r->n >= 256 && radix_rows(r) == 0) return;
    qsort(r->rows, r->n, sizeof(edn_value) * (size_t)r->w, cmp_rows);
}

/* ------------------------------------------------------------------ */
/* results                                                             */

/* :order-by keys: a column of the find and a direction. */
typedef struct q_okey {
    int col, desc;
} q_okey;

static int cmp_ordered(const q_okey *keys, int nk, const edn_value *a, const edn_value *b) {
    for (int i = 0; i < nk; i++) {
        int c = edn_compare(&a[keys[i].col], &b[keys[i].col]);
        if (c) return keys[i].desc ? -c : c;
    }
    return 0;
}

/* Parse :order-by against the find elements: ?v, [?a :desc ?b], [1 :desc]. */
static int parse_order_by(Q *q, const q_felem *els, int nel, q_okey *keys, int *nk) {
    const edn_value *ob = q->order_by;
    const edn_value *it = ob;
    size_t n = 1;
    if (ob->type == EDN_VECTOR || ob->type == EDN_LIST) {
        it = ob->u.items;
        n = ob->n;
    }
    *nk = 0;
    if (!n) return qerr("Invalid :order-by %s: no columns", ob);
    for (size_t i = 0; i < n; i++) {
        const edn_value *x = &it[i];
        int col = -1;
        if (is_var_sym(x)) {
            for (int j = 0; j < nel && col < 0; j++)
                if (els[j].kind == F_VAR && q->varname[els[j].var] == x->u.sym) col = j;
            if (col < 0) return qerr("Unknown variable %s in :order-by (not in :find)", x);
        } else if (x->type == EDN_INT) {
            if (x->u.i < 0 || x->u.i >= nel)
                return qerr("Invalid :order-by column index %s", x);
            col = (int)x->u.i;
        } else {
            return qerr("Invalid :order-by element %s (a :find variable or column index)", x);
        }
        int desc = 0;
        if (i + 1 < n && it[i + 1].type == EDN_KEYWORD) {
            const char *d = it[i + 1].u.sym->full;
            if (!strcmp(d, "desc")) desc = 1;
            else if (strcmp(d, "asc")) return qerr("Invalid :order-by direction %s (:asc or :desc)", &it[i + 1]);
            i++;
        }
        if (*nk >= 64) return qerr("Too many :order-by columns in %s", ob);
        keys[(*nk)++] = (q_okey){col, desc};
    }
    return 0;
}

/* :order-by (stable sort over the canonical order), then :offset, :limit. */
static int result_transforms(Q *q, int kind, const q_felem *els, int nel, q_rel *res) {
    if (q->order_by) {
        if (kind != FIND_REL)
            return qerr(":order-by only applies to relation finds (:find ?a ?b), not %s",
                        q->order_by);
        q_okey keys[64];
        int nk;
        int rc = parse_order_by(q, els, nel, keys, &nk);
        if (rc) return rc;
        /* rows are already in canonical order; merge sort keeps ties there */
        size_t rb = sizeof(edn_value) * (size_t)res->w;
        edn_value *tmp = malloc(rb * (res->n + 1));
        if (!tmp) return dl_err_nomem();
        for (size_t width = 1; width < res->n; width *= 2) {
            for (size_t lo = 0; lo < res->n; lo += 2 * width) {
                size_t mid = lo + width < res->n ? lo + width : res->n;
                size_t hi = lo + 2 * width < res->n ? lo + 2 * width : res->n;
                size_t i = lo, j = mid, k = lo;
                while (i < mid || j < hi) {
                    const edn_value *src;
                    if (j >= hi || (i < mid && cmp_ordered(keys, nk, rel_row(res, i), rel_row(res, j)) <= 0))
                        src = rel_row(res, i++);
                    else
                        src = rel_row(res, j++);
                    memcpy(tmp + k++ * (size_t)res->w, src, rb);
                }
            }
            memcpy(res->rows, tmp, rb * res->n);
        }
        free(tmp);
    }
    size_t off = q->offset > 0 ? (size_t)q->offset : 0;
    if (off > res->n) off = res->n;
    if (off) {
        memmove(res->rows, res->rows + off * (size_t)res->w,
                sizeof(edn_value) * (size_t)res->w * (res->n - off));
        res->n -= off;
    }
    if (q->limit >= 0 && (uint64_t)q->limit < res->n) res->n = (size_t)q->limit;
    return 0;
}

/* The set of res's rows as vectors, built in place when sort_rel left the
** rows strictly ascending (the order edn_set would sort them into, so its
** sort-and-dedupe pass is skipped): one arena block for every cell, one
** vector value per row pointing into it.  Returns 1 (nothing built) when
** two neighbours compare equal, so that edn_set decides. */
static int set_direct(Q *q, const q_rel *res, edn_value *items, edn_value *out) {
    size_t w = (size_t)res->w;
    for (size_t i = 1; i < res->n; i++)
        if (cmp_row_w(rel_row(res, i - 1), rel_row(res, i), res->w) >= 0) return 1;
    if (res->n > UINT32_MAX - 1) return 1;
    edn_value *cells = res->n ? dl_arena_alloc(q->a, sizeof(edn_value) * res->n * w) : NULL;
    if (res->n && !cells) return dl_err_last()->code;
    if (res->n) memcpy(cells, res->rows, sizeof(edn_value) * res->n * w);
    for (size_t i = 0; i < res->n; i++) {
        memset(&items[i], 0, sizeof items[i]);
        items[i].type = EDN_VECTOR;
        items[i].n = (uint32_t)w;
        items[i].u.items = cells + i * w;
    }
    memset(out, 0, sizeof *out);
    out->type = EDN_SET;
    out->n = (uint32_t)res->n;
    out->u.items = res->n ? items : NULL;
    return 0;
}

static int make_result(Q *q, const qform *f, int kind, q_felem *els, int nel,
                       const int *with, int nwith, q_rel *R, int dsrc, edn_value *out) {
    int pv[128], np = 0, has_agg = 0, rc;
    for (int i = 0; i < nel; i++) {
        if (els[i].kind == F_AGG) has_agg = 1;
        int dup = 0;
        for (int j = 0; j < np; j++) dup |= pv[j] == els[i].var;
        if (!dup && np < 64) pv[np++] = els[i].var;
    }
    for (int i = 0; i < nwith && np < 128; i++) {
        int dup = 0;
        for (int j = 0; j < np; j++) dup |= pv[j] == with[i];
        if (!dup) pv[np++] = with[i];
    }
    int miss[128], nm = 0;
    for (int i = 0; i < np; i++)
        if (rel_col(R, pv[i]) < 0) miss[nm++] = pv[i];
    if (nm) {
        char b1[200];
        rc = vars_show(q, miss, nm, 0, b1, sizeof b1);
        if (rc) return rc;
        return dl_err_set(DATALITH_EQUERY, "Query for unknown vars: %s", b1);
    }
    q_rel *P;
    rc = rel_project(q, R, pv, np, &P);
    if (rc) return rc;
    /* rows of the find elements */
    int fcol[64];
    for (int i = 0; i < nel; i++) fcol[i] = rel_col(P, els[i].var);
    q_rel *res;
    int vec = has_agg || nwith || f->keys_kind;
    if (!has_agg) {
        int fv[64];
        for (int i = 0; i < nel; i++) fv[i] = -(i + 1);
        res = rel_new(q, nel, fv);
        if (!res) return DATALITH_ENOMEM;
        for (size_t i = 0; i < P->n; i++) {
            edn_value *o = rel_push(q, res);
            if (!o) return dl_err_last()->code;
            for (int j = 0; j < nel; j++) o[j] = rel_row(P, i)[fcol[j]];
        }
        /* no dedupe: without :with, P's columns are exactly the distinct
        ** find variables, each copied into res, so P's distinct rows stay
        ** distinct */
    } else {
        /* group by the non-aggregate elements */
        int gcols[64], ng = 0;
        for (int i = 0; i < nel; i++)
            if (els[i].kind != F_AGG) gcols[ng++] = fcol[i];
        sort_rel(P);
        int gv[64];
        for (int i = 0; i < ng; i++) gv[i] = P->vars[gcols[i]];
        q_rel *G;
        rc = rel_project(q, P, gv, ng, &G);
        if (rc) return rc;
        int fv[64];
        for (int i = 0; i < nel; i++) fv[i] = -(i + 1);
        res = rel_new(q, nel, fv);
        if (!res) return DATALITH_ENOMEM;
        edn_value *vals = malloc(sizeof(edn_value) * (P->n + 1));
        if (!vals) return dl_err_nomem();
        for (size_t g = 0; g < G->n && !rc; g++) {
            const edn_value *grow = rel_row(G, g);
            edn_value *o = rel_push(q, res);
            if (!o) {
                rc = dl_err_last()->code;
                break;
            }
            for (int i = 0; i < nel && !rc; i++) {
                if (els[i].kind != F_AGG) {
                    o[i] = edn_nil();
                    for (int k = 0; k < ng; k++)
                        if (gcols[k] == fcol[i]) o[i] = grow[k];
                    continue;
                }
                size_t nv = 0;
                for (size_t r = 0; r < P->n; r++) {
                    const edn_value *row = rel_row(P, r);
                    int same = 1;
                    for (int k = 0; k < ng && same; k++) same = edn_equal(&row[gcols[k]], &grow[k]);
                    if (same) vals[nv++] = row[fcol[i]];
                }
                rc = agg_run(q, &els[i], vals, nv, &o[i]);
            }
        }
        free(vals);
        if (rc) return rc;
    }
    sort_rel(res);
    if (q->order_by || q->offset >= 0 || q->limit >= 0) {
        rc = result_transforms(q, kind, els, nel, res);
        if (rc) return rc;
        if (q->order_by) vec = 1;
    }
    for (int i = 0; i < nel; i++) {
        if (els[i].kind != F_PULL) continue;
        int s = els[i].psrc >= 0 ? els[i].psrc : dsrc;
        if (s < 0 || !q->src[s].db)
            return qerr("pull needs a database source: %s", &els[i].form);
        edn_value pat = els[i].pat;
        if (els[i].pvar >= 0) {
            int pc = rel_col(R, els[i].pvar);
            if (pc < 0 || !R->n) {
                if (pc < 0) return qerr("Pull pattern variable is not bound: %s", &els[i].form);
            } else {
                pat = rel_row(R, 0)[pc];
            }
        }
        dl_pull_pattern *pp = NULL;
        if (res->n) {
            rc = dl_pull_parse(q->a, &pat, q->src[s].db, &pp);
            if (rc) return rc;
        }
        for (size_t r = 0; r < res->n; r++) {
            edn_value *cell = &res->rows[r * (size_t)res->w + (size_t)i];
            if (cell->type != EDN_INT || cell->u.i < 0) {
                *cell = edn_nil();
                continue;
            }
            rc = dl_pull(q->a, q->src[s].db, pp, (uint64_t)cell->u.i, cell);
            if (rc) return rc;
        }
    }
    /* shape */
    if (kind == FIND_SCALAR) {
        *out = res->n ? rel_row(res, 0)[0] : edn_nil();
        return 0;
    }
    if (kind == FIND_TUPLE) {
        if (!res->n) {
            *out = edn_nil();
            return 0;
        }
        return edn_vector(q->a, rel_row(res, 0), (size_t)nel, out);
    }
    if (kind == FIND_COLL) {
        edn_value *items = dl_arena_alloc(q->a, sizeof(edn_value) * (res->n + 1));
        if (!items) return DATALITH_ENOMEM;
        for (size_t i = 0; i < res->n; i++) items[i] = rel_row(res, i)[0];
        return edn_vector(q->a, items, res->n, out);
    }
    if (f->keys_kind && (int)f->nkeys != nel)
        return dl_err_set(DATALITH_EQUERY, "Count of :keys/:strs/:syms must match count of :find");
    edn_value *items = dl_arena_alloc(q->a, sizeof(edn_value) * (res->n + 1));
    if (!items) return DATALITH_ENOMEM;
    if (!vec && !f->keys_kind && nel > 0 && set_direct(q, res, items, out) == 0) return 0;
    edn_value keys[64];
    for (int i = 0; f->keys_kind && i < nel; i++) {
        const edn_value *k = &f->keys[i];
        const char *txt = k->type == EDN_SYMBOL || k->type == EDN_KEYWORD ? k->u.sym->full
                        : k->type == EDN_STRING ? k->u.s : NULL;
        if (!txt) return qerr("Cannot parse :keys element %s", k);
        size_t len = strlen(txt);
        if (f->keys_kind == 1) keys[i] = edn_keyword(edn_intern_full(txt, len));
        else if (f->keys_kind == 2) keys[i] = edn_symbol(edn_intern_full(txt, len));
        else if ((rc = edn_string(q->a, txt, len, &keys[i]))) return rc;
    }
    for (size_t i = 0; i < res->n; i++) {
        const edn_value *row = rel_row(res, i);
        if (f->keys_kind) {
            edn_value kv[128];
            for (int j = 0; j < nel; j++) {
                kv[2 * j] = keys[j];
                kv[2 * j + 1] = row[j];
            }
            rc = edn_map(q->a, kv, (size_t)nel, &items[i]);
        } else {
            rc = edn_vector(q->a, row, (size_t)nel, &items[i]);
        }
        if (rc) return rc;
    }
    if (vec) return edn_vector(q->a, items, res->n, out);
    return edn_set(q->a, items, res->n, out);
}

/* ------------------------------------------------------------------ */
/* entry                                                               */

static int unwrap(Q *q, const edn_value *v, edn_value *out) {
    *out = *v;
    for (int guard = 0; guard < 8; guard++) {
        if (out->type == EDN_STRING) {
            const char *s = out->u.s;
            size_t n = out->n;
            while (n && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')) s++, n--;
            if (n && *s == '\'') s++, n--;
            int rc = edn_read(q->a, s, n, NULL, out);
            if (rc) return dl_err_prefix("query: ");
        } else if (out->type == EDN_LIST && out->n == 2 && is_sym(&out->u.items[0]) &&
                   out->u.items[0].u.sym == S_QUOTE) {
            *out = out->u.items[1];
        } else {
            return 0;
        }
    }
    return 0;
}

static int argmap_int(Q *q, const edn_value *v, const char *key, int64_t *out) {
    if (v->type == EDN_NIL) return 0;
    if (v->type != EDN_INT)
        return dl_err_set(DATALITH_EQUERY, "Query arg-map :%s must be an integer or nil, got %s",
                          key, q_show(v, (char[120]){0}, 120));
    (void)q;
    if (v->u.i >= 0) *out = v->u.i; /* negative: ignored, as Datahike */
    return 0;
}

/* The arg-map form {:query … :args […] :offset n :limit n :order-by …}:
** *qv becomes the inner query and, when :args is given, *inputs the args
** (the positional inputs are then ignored, as in Datahike).  A map without
** :query is a plain query map and is left alone. */
static int argmap_split(Q *q, edn_value *qv, const edn_value **inputs) {
    if (qv->type != EDN_MAP || !edn_map_getk(qv, "query")) return 0;
    const edn_value *inner = NULL;
    for (uint32_t i = 0; i < qv->n; i++) {
        const edn_value *k = &qv->u.items[2 * i], *x = &qv->u.items[2 * i + 1];
        const char *nm = k->type == EDN_KEYWORD ? k->u.sym->full : "";
        int rc = 0;
        if (!strcmp(nm, "query")) inner = x;
        else if (!strcmp(nm, "args")) {
            if (x->type != EDN_NIL && !edn_is_seq(x))
                return qerr("Query arg-map :args must be a vector, got %s", x);
            *inputs = x;
        } else if (!strcmp(nm, "offset")) rc = argmap_int(q, x, nm, &q->offset);
        else if (!strcmp(nm, "limit")) rc = argmap_int(q, x, nm, &q->limit);
        else if (!strcmp(nm, "order-by")) q->order_by = x->type == EDN_NIL ? NULL : x;
        else if (!strcmp(nm, "stats?") || !strcmp(nm, "count-fns?") || !strcmp(nm, "settings") ||
                 !strcmp(nm, "cancel"))
            ; /* accepted and ignored: datalith_query_stats gives statistics */
        else return qerr("Query arg-map contains unknown key %s", k);
        if (rc) return rc;
    }
    edn_value in = *inner;
    int rc = unwrap(q, &in, qv);
    if (rc) return rc;
    if (qv->type == EDN_MAP && edn_map_getk(qv, "query"))
        return qerr("Query arg-map nested in a query arg-map: %s", qv);
    return 0;
}

int q_run(dl_arena *a, const edn_value *query, dl_db *const *dbs, size_t ndbs,
          const edn_value *inputs, const q_opts *opts, edn_value *out,
          edn_value *plan_out) {
    Q q;
    memset(&q, 0, sizeof q);
    q.a = a;
    q.row_limit = opts && opts->row_limit ? opts->row_limit : Q_ROW_LIMIT;
    if (!S_DOT) q_syms();
    if (plan_out) {
        q.plan = dl_arena_alloc(a, sizeof(edn_value));
        q.capplan = q.plan ? 1 : 0;
        if (!q.plan) return DATALITH_ENOMEM;
    }
    edn_value qv;
    qform f;
    q.offset = q.limit = -1;
    int rc = unwrap(&q, query, &qv);
    if (rc) return rc;
    rc = argmap_split(&q, &qv, &inputs);
    if (rc) return rc;
    rc = split_query(&q, &qv, &f);
    if (rc) return rc;
    static const edn_value dollar_in[1];
    edn_value dflt_in;
    const edn_value *in = f.in;
    size_t nin = f.nin;
    if (!in) {
        dflt_in = edn_symbol(edn_intern_full("$", 1));
        in = &dflt_in;
        nin = 1;
    }
    (void)dollar_in;
    size_t ninputs = 0;
    const edn_value *inv = NULL;
    if (inputs && inputs->type != EDN_NIL) {
        if (!edn_is_seq(inputs)) return dl_err_set(DATALITH_EINVAL, "inputs must be a vector");
        ninputs = inputs->n;
        inv = inputs->u.items;
    }
    /* count what :in needs */
    size_t need_db = 0, need_in = 0, nsrcs = 0;
    for (size_t i = 0; i < nin; i++) {
        if (is_src_sym(&in[i])) {
            nsrcs++;
            if (need_db < ndbs) need_db++;
            else need_in++;
        } else {
            need_in++;
        }
    }
    if (need_db != ndbs || need_in != ninputs) {
        char b1[200];
        edn_value iv;
        rc = edn_vector(a, in, nin, &iv);
        if (rc) return rc;
        return dl_err_set(DATALITH_EQUERY,
                          "Wrong number of arguments for bindings %s, %zu required, %zu provided",
                          q_show(&iv, b1, sizeof b1), nin, ndbs + ninputs);
    }
    q.src = dl_arena_calloc(a, nsrcs + 1, sizeof(q_src));
    if (!q.src) return DATALITH_ENOMEM;
    size_t di = 0, ii = 0;
    const edn_value *rules_v = NULL;
    /* pass 1: sources and rules */
    for (size_t i = 0; i < nin; i++) {
        const edn_value *x = &in[i];
        if (is_src_sym(x)) {
            q_src *s = &q.src[q.nsrc++];
            s->name = x->u.sym;
            if (di < ndbs) {
                s->db = dbs[di++];
                if (!s->db) return dl_err_set(DATALITH_EINVAL, "NULL database handle");
            } else {
                s->coll = inv[ii++];
                if (s->coll.type != EDN_VECTOR && s->coll.type != EDN_LIST &&
                    s->coll.type != EDN_SET)
                    return qerr("Source must be a database or a collection of tuples, got %s",
                                &s->coll);
            }
        } else if (is_sym(x) && !strcmp(x->u.sym->full, "%")) {
            rules_v = &inv[ii++];
        } else {
            ii++;
        }
    }
    if (rules_v) {
        rc = parse_rules(&q, rules_v);
        if (!rc) rc = rules_analyse(&q);
        if (rc) return rc;
    }
    int dsrc = -1;
    for (int i = 0; i < q.nsrc; i++)
        if (!strcmp(q.src[i].name->full, "$")) dsrc = i;
    /* where */
    q_branch top = {0};
    if (f.where) {
        rc = parse_branch(&q, f.where, f.nwhere, &top);
        if (rc) return rc;
        for (int i = 0; i < top.n; i++) {
            if (top.cl[i].src < 0 && dsrc < 0 &&
                (top.cl[i].kind == C_PAT || top.cl[i].kind == C_RULE))
                return qerr("No default source $ for clause %s (add $ to :in)", &top.cl[i].form);
        }
    }
    /* find, with */
    int kind, nel;
    q_felem *els;
    rc = parse_find(&q, &f, &kind, &els, &nel);
    if (rc) return rc;
    int with[64], nwith = 0;
    for (size_t i = 0; i < f.nwith; i++) {
        if (!is_var_sym(&f.with[i]) || nwith >= 64) return qerr("Cannot parse :with element %s", &f.with[i]);
        with[nwith++] = var_id(&q, f.with[i].u.sym);
    }
    /* pass 2: bind inputs */
    q_rel *seed = rel_unit(&q);
    if (!seed) return dl_err_last()->code;
    ii = 0;
    di = 0;
    for (size_t i = 0; i < nin && !rc; i++) {
        const edn_value *x = &in[i];
        if (is_src_sym(x)) {
            if (di < ndbs) di++;
            else ii++;
            continue;
        }
        if (is_sym(x) && !strcmp(x->u.sym->full, "%")) {
            ii++;
            continue;
        }
        q_bind b;
        q_rel *r, *j;
        rc = parse_bind(&q, x, &b);
        int seen = 0;
        for (size_t k = 0; !rc && k < q.nconsts && b.kind == B_VAR; k++)
            seen |= q.consts[2 * k].u.sym == q.varname[b.var];
        if (!rc && plan_out && b.kind == B_VAR && !seen) {
            edn_value *cv = dl_arena_realloc(a, q.consts, q.nconsts * 2 * sizeof *cv,
                                             (q.nconsts + 1) * 2 * sizeof *cv);
            if (!cv) return DATALITH_ENOMEM;
            q.consts = cv;
            cv[2 * q.nconsts] = var_value(&q, b.var);
            cv[2 * q.nconsts++ + 1] = inv[ii];
        }
        if (!rc) rc = bind_value(&q, &b, &inv[ii++], &r);
        if (!rc) rc = rel_dedupe(&q, r);
        if (!rc) rc = rel_join(&q, seed, r, &j);
        if (!rc) seed = j;
    }
    q_rel *R = seed;
    int keep[160], nkeep = 0;
    for (int i = 0; i < nel && nkeep < 128; i++) {
        keep[nkeep++] = els[i].var;
        if (els[i].kind == F_PULL && els[i].pvar >= 0) keep[nkeep++] = els[i].pvar;
    }
    for (int i = 0; i < nwith && nkeep < 160; i++) keep[nkeep++] = with[i];
    q.top = &top;
    q.keep = keep;
    q.nkeep = nkeep;
    if (!rc && top.n) rc = eval_branch(&q, &top, seed, dsrc, &R);
    if (!rc) rc = make_result(&q, &f, kind, els, nel, with, nwith, R, dsrc, out);
    if (!rc && plan_out) {
        edn_value kv[8];
        kv[0] = edn_keyword_str("query");
        kv[1] = qv;
        kv[2] = edn_keyword_str("consts");
        rc = edn_map(a, q.consts, q.nconsts, &kv[3]);
        kv[4] = edn_keyword_str("rules");
        kv[5] = rules_v ? *rules_v : edn_nil();
        kv[6] = edn_keyword_str("stats");
        if (!rc) rc = edn_vector(a, q.plan, q.nplan, &kv[7]);
        if (!rc) rc = edn_map(a, kv, 4, plan_out);
    }
    rels_free(&q);
    return rc;
}
