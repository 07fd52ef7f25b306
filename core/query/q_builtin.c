/*
** q_builtin.c — the built-in functions and predicates a query may call
** (docs/query.md lists them with their rules).  Datahike allows any
** clojure.core function on the JVM; Datalith offers this fixed set, and an
** unknown name is rejected when the query is parsed.
**
** Every function takes its arguments as values (a $ argument arrives as a
** source index), returns 0 and a value, or DATALITH_EQUERY naming the
** problem.  Comparisons use the index's total order (edn_compare) except
** that numbers compare numerically.
*/
#define _POSIX_C_SOURCE 200809L
#include "q_internal.h"
#include "query.h"
#include "q_scan.h"

#include "db/schema.h"
#include "util/buf.h"
#include "util/error.h"

#include <math.h>
#include <stdio.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define FN(name) static int name(dl_arena *a, const q_src *srcs, const q_arg *x, int n, edn_value *out)
#define UNUSED (void)a, (void)srcs, (void)x, (void)n

static int bad(const char *fn, const char *what) {
    return dl_err_set(DATALITH_EQUERY, "%s: %s", fn, what);
}
static int arity(const char *fn, int n, int lo, int hi) {
    if (n < lo || (hi >= 0 && n > hi))
        return dl_err_set(DATALITH_EQUERY, "Wrong number of arguments (%d) passed to %s", n, fn);
    return 0;
}
static int isnum(const edn_value *v) { return v->type == EDN_INT || v->type == EDN_FLOAT; }

/* ---- comparison ---- */

static int vcmp(const edn_value *p, const edn_value *q) {
    if (isnum(p) && isnum(q) && (p->type == EDN_FLOAT || q->type == EDN_FLOAT)) {
        double a = p->type == EDN_INT ? (double)p->u.i : p->u.d;
        double b = q->type == EDN_INT ? (double)q->u.i : q->u.d;
        return (a > b) - (a < b);
    }
    return edn_compare(p, q);
}
/* numeric equality for == (1 == 1.0) */
static int numeq(const edn_value *p, const edn_value *q) {
    if (isnum(p) && isnum(q)) return vcmp(p, q) == 0;
    return edn_equal(p, q);
}

#define CHAIN(fname, label, test)                                          \
    FN(fname) {                                                            \
        UNUSED;                                                            \
        int rc = arity(label, n, 1, -1);                                   \
        if (rc) return rc;                                                 \
        for (int i = 0; i + 1 < n; i++) {                                  \
            const edn_value *p = &x[i].v, *q = &x[i + 1].v;                \
            if (!(test)) {                                                 \
                *out = edn_bool(false);                                    \
                return 0;                                                  \
            }                                                              \
        }                                                                  \
        *out = edn_bool(true);                                             \
        return 0;                                                          \
    }

CHAIN(f_eq, "=", edn_equal(p, q))
CHAIN(f_numeq, "==", numeq(p, q))
CHAIN(f_lt, "<", vcmp(p, q) < 0)
CHAIN(f_gt, ">", vcmp(p, q) > 0)
CHAIN(f_le, "<=", vcmp(p, q) <= 0)
CHAIN(f_ge, ">=", vcmp(p, q) >= 0)

FN(f_neq) {
    int rc = f_eq(a, srcs, x, n, out);
    if (!rc) *out = edn_bool(!out->u.b);
    return rc;
}

FN(f_compare) {
    UNUSED;
    int rc = arity("compare", n, 2, 2);
    if (rc) return rc;
    *out = edn_int(vcmp(&x[0].v, &x[1].v));
    return 0;
}

/* ---- arithmetic ---- */

static int arith(const char *fn, char op, const q_arg *x, int n, edn_value *out) {
    int64_t acc = op == '*' ? 1 : 0;
    double dacc = (double)acc;
    int fl = 0;
    if (n == 0) {
        if (op == '-' || op == '/') return arity(fn, n, 1, -1);
        *out = edn_int(acc);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!isnum(&x[i].v)) {
            char b[200];
            return dl_err_set(DATALITH_EQUERY, "%s: not a number: %s", fn, q_show(&x[i].v, b, sizeof b));
        }
    if ((op == '-' || op == '/') && n == 1) {
        q_arg two[2];
        two[0].v = edn_int(op == '-' ? 0 : 1);
        two[0].src = -1;
        two[1] = x[0];
        return arith(fn, op, two, 2, out);
    }
    for (int i = 0; i < n; i++) {
        const edn_value *v = &x[i].v;
        if (v->type == EDN_FLOAT && !fl) {
            fl = 1;
            dacc = (double)acc;
        }
        double d = v->type == EDN_INT ? (double)v->u.i : v->u.d;
        if (i == 0) {
            if (fl) dacc = d;
            else acc = v->u.i;
            continue;
        }
        if (fl) {
            switch (op) {
            case '+': dacc += d; break;
            case '-': dacc -= d; break;
            case '*': dacc *= d; break;
            case '/':
                if (d == 0 && v->type == EDN_INT) return bad(fn, "Divide by zero");
                dacc /= d;
                break;
            }
            continue;
        }
        int64_t b = v->u.i, r;
        int ov = 0;
        switch (op) {
        case '+': ov = __builtin_add_overflow(acc, b, &r); break;
        case '-': ov = __builtin_sub_overflow(acc, b, &r); break;
        case '*': ov = __builtin_mul_overflow(acc, b, &r); break;
        default:
            if (b == 0) return bad(fn, "Divide by zero");
            if (b == -1 && acc == INT64_MIN) { ov = 1; r = 0; break; }
            if (acc % b == 0) r = acc / b;
            else {
                fl = 1;
                dacc = (double)acc / (double)b;
                continue;
            }
        }
        if (ov) return bad(fn, "integer overflow");
        acc = r;
    }
    *out = fl ? edn_float(dacc) : edn_int(acc);
    return 0;
}

FN(f_add) { UNUSED; return arith("+", '+', x, n, out); }
FN(f_sub) { UNUSED; return arith("-", '-', x, n, out); }
FN(f_mul) { UNUSED; return arith("*", '*', x, n, out); }
FN(f_div) { UNUSED; return arith("/", '/', x, n, out); }

static int int2(const char *fn, const q_arg *x, int n, int64_t *p, int64_t *q) {
    int rc = arity(fn, n, 2, 2);
    if (rc) return rc;
    if (x[0].v.type != EDN_INT || x[1].v.type != EDN_INT) return bad(fn, "arguments must be integers");
    *p = x[0].v.u.i;
    *q = x[1].v.u.i;
    if (*q == 0) return bad(fn, "Divide by zero");
    if (*q == -1) *q = -1; /* INT64_MIN / -1 handled by callers */
    return 0;
}
FN(f_quot) {
    UNUSED;
    int64_t p, q;
    int rc = int2("quot", x, n, &p, &q);
    if (rc) return rc;
    if (p == INT64_MIN && q == -1) return bad("quot", "integer overflow");
    *out = edn_int(p / q);
    return 0;
}
FN(f_rem) {
    UNUSED;
    int64_t p, q;
    int rc = int2("rem", x, n, &p, &q);
    if (rc) return rc;
    *out = edn_int(q == -1 ? 0 : p % q);
    return 0;
}
FN(f_mod) {
    UNUSED;
    int64_t p, q;
    int rc = int2("mod", x, n, &p, &q);
    if (rc) return rc;
    int64_t m = q == -1 ? 0 : p % q;
    if (m != 0 && ((m < 0) != (q < 0))) m += q;
    *out = edn_int(m);
    return 0;
}
FN(f_inc) {
    UNUSED;
    int rc = arity("inc", n, 1, 1);
    if (rc) return rc;
    q_arg y[2] = {x[0], {edn_int(1), -1}};
    return arith("inc", '+', y, 2, out);
}
FN(f_dec) {
    UNUSED;
    int rc = arity("dec", n, 1, 1);
    if (rc) return rc;
    q_arg y[2] = {x[0], {edn_int(1), -1}};
    return arith("dec", '-', y, 2, out);
}
static int minmax(const char *fn, int sign, const q_arg *x, int n, edn_value *out) {
    int rc = arity(fn, n, 1, -1);
    if (rc) return rc;
    for (int i = 0; i < n; i++)
        if (!isnum(&x[i].v)) return bad(fn, "arguments must be numbers");
    *out = x[0].v;
    for (int i = 1; i < n; i++)
        if (vcmp(&x[i].v, out) * sign > 0) *out = x[i].v;
    return 0;
}
FN(f_max) { UNUSED; return minmax("max", 1, x, n, out); }
FN(f_min) { UNUSED; return minmax("min", -1, x, n, out); }

#define NUMPRED(fname, label, test)                                        \
    FN(fname) {                                                            \
        UNUSED;                                                            \
        int rc = arity(label, n, 1, 1);                                    \
        if (rc) return rc;                                                 \
        const edn_value *v = &x[0].v;                                      \
        if (!isnum(v)) return bad(label, "argument must be a number");     \
        double d = v->type == EDN_INT ? (double)v->u.i : v->u.d;           \
        (void)d;                                                           \
        *out = edn_bool(test);                                             \
        return 0;                                                          \
    }
NUMPRED(f_zero, "zero?", d == 0)
NUMPRED(f_pos, "pos?", d > 0)
NUMPRED(f_neg, "neg?", d < 0)
#define INTPRED(fname, label, test)                                        \
    FN(fname) {                                                            \
        UNUSED;                                                            \
        int rc = arity(label, n, 1, 1);                                    \
        if (rc) return rc;                                                 \
        if (x[0].v.type != EDN_INT) return bad(label, "argument must be an integer"); \
        int64_t i = x[0].v.u.i;                                            \
        *out = edn_bool(test);                                             \
        return 0;                                                          \
    }
INTPRED(f_even, "even?", i % 2 == 0)
INTPRED(f_odd, "odd?", i % 2 != 0)

/* ---- type predicates and identity ---- */

#define TYPEPRED(fname, label, test)                                       \
    FN(fname) {                                                            \
        UNUSED;                                                            \
        int rc = arity(label, n, 1, 1);                                    \
        if (rc) return rc;                                                 \
        const edn_value *v = &x[0].v;                                      \
        *out = edn_bool(test);                                             \
        return 0;                                                          \
    }
TYPEPRED(f_nilp, "nil?", v->type == EDN_NIL)
TYPEPRED(f_somep, "some?", v->type != EDN_NIL)
TYPEPRED(f_truep, "true?", v->type == EDN_BOOL && v->u.b)
TYPEPRED(f_falsep, "false?", v->type == EDN_BOOL && !v->u.b)
TYPEPRED(f_not, "not", !q_truthy(v))

FN(f_identity) {
    UNUSED;
    int rc = arity("identity", n, 1, 1);
    if (!rc) *out = x[0].v;
    return rc;
}
FN(f_ground) {
    UNUSED;
    int rc = arity("ground", n, 1, 1);
    if (!rc) *out = x[0].v;
    return rc;
}

/* ---- collections ---- */

static int gather(dl_arena *a, const q_arg *x, int n, edn_value **items) {
    *items = dl_arena_alloc(a, sizeof(edn_value) * (size_t)(n + 1));
    if (!*items) return DATALITH_ENOMEM;
    for (int i = 0; i < n; i++) (*items)[i] = x[i].v;
    return 0;
}
FN(f_vector) {
    (void)srcs;
    edn_value *it;
    int rc = gather(a, x, n, &it);
    return rc ? rc : edn_vector(a, it, (size_t)n, out);
}
FN(f_list) {
    (void)srcs;
    edn_value *it;
    int rc = gather(a, x, n, &it);
    return rc ? rc : edn_list(a, it, (size_t)n, out);
}
FN(f_set) {
    (void)srcs;
    int rc = arity("set", n, 1, 1);
    if (rc) return rc;
    const edn_value *c = &x[0].v;
    if (c->type == EDN_NIL) return edn_set(a, NULL, 0, out);
    if (c->type != EDN_VECTOR && c->type != EDN_LIST && c->type != EDN_SET)
        return bad("set", "argument must be a collection");
    edn_value *it = dl_arena_alloc(a, sizeof(edn_value) * (c->n + 1));
    if (!it) return DATALITH_ENOMEM;
    size_t m = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        size_t j;
        for (j = 0; j < m; j++)
            if (edn_equal(&it[j], &c->u.items[i])) break;
        if (j == m) it[m++] = c->u.items[i];
    }
    return edn_set(a, it, m, out);
}
FN(f_hashmap) {
    (void)srcs;
    if (n % 2) return bad("hash-map", "needs an even number of arguments");
    edn_value *it;
    int rc = gather(a, x, n, &it);
    if (rc) return rc;
    rc = edn_map(a, it, (size_t)n / 2, out);
    if (rc) return bad("hash-map", "duplicate key");
    return 0;
}
FN(f_tuple) { return f_vector(a, srcs, x, n, out); }
FN(f_untuple) { return f_identity(a, srcs, x, n, out); }

static size_t utf8_len(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

FN(f_count) {
    UNUSED;
    int rc = arity("count", n, 1, 1);
    if (rc) return rc;
    const edn_value *v = &x[0].v;
    switch (v->type) {
    case EDN_NIL: *out = edn_int(0); return 0;
    case EDN_STRING: *out = edn_int((int64_t)utf8_len(v->u.s, v->n)); return 0;
    case EDN_BYTES: case EDN_VECTOR: case EDN_LIST: case EDN_SET: case EDN_MAP:
        *out = edn_int(v->n);
        return 0;
    default: return bad("count", "not supported on this type");
    }
}
static int is_coll(const edn_value *v) {
    return v->type == EDN_VECTOR || v->type == EDN_LIST || v->type == EDN_SET ||
           v->type == EDN_MAP || v->type == EDN_STRING || v->type == EDN_NIL;
}
FN(f_empty) {
    UNUSED;
    int rc = arity("empty?", n, 1, 1);
    if (rc) return rc;
    if (!is_coll(&x[0].v)) return bad("empty?", "argument must be a collection");
    *out = edn_bool(x[0].v.type == EDN_NIL || x[0].v.n == 0);
    return 0;
}
FN(f_notempty) {
    UNUSED;
    int rc = arity("not-empty", n, 1, 1);
    if (rc) return rc;
    if (!is_coll(&x[0].v)) return bad("not-empty", "argument must be a collection");
    *out = (x[0].v.type == EDN_NIL || x[0].v.n == 0) ? edn_nil() : x[0].v;
    return 0;
}
FN(f_contains) {
    UNUSED;
    int rc = arity("contains?", n, 2, 2);
    if (rc) return rc;
    const edn_value *c = &x[0].v, *k = &x[1].v;
    if (c->type == EDN_SET) *out = edn_bool(edn_set_contains(c, k));
    else if (c->type == EDN_MAP) *out = edn_bool(edn_map_get(c, k) != NULL);
    else if (c->type == EDN_VECTOR)
        *out = edn_bool(k->type == EDN_INT && k->u.i >= 0 && k->u.i < (int64_t)c->n);
    else if (c->type == EDN_NIL) *out = edn_bool(false);
    else return bad("contains?", "not supported on this type");
    return 0;
}

/* ---- strings and keywords ---- */

static int str_append(dl_buf *b, const edn_value *v) {
    switch (v->type) {
    case EDN_NIL: return 0;
    case EDN_STRING: return dl_buf_append(b, v->u.s, v->n);
    case EDN_CHAR: {
        edn_value s;
        char tmp[8];
        uint32_t c = v->u.ch;
        size_t k = 0;
        if (c < 0x80) tmp[k++] = (char)c;
        else if (c < 0x800) { tmp[k++] = (char)(0xC0 | (c >> 6)); tmp[k++] = (char)(0x80 | (c & 0x3F)); }
        else if (c < 0x10000) { tmp[k++] = (char)(0xE0 | (c >> 12)); tmp[k++] = (char)(0x80 | ((c >> 6) & 0x3F)); tmp[k++] = (char)(0x80 | (c & 0x3F)); }
        else { tmp[k++] = (char)(0xF0 | (c >> 18)); tmp[k++] = (char)(0x80 | ((c >> 12) & 0x3F)); tmp[k++] = (char)(0x80 | ((c >> 6) & 0x3F)); tmp[k++] = (char)(0x80 | (c & 0x3F)); }
        (void)s;
        return dl_buf_append(b, tmp, k);
    }
    default: return edn_write(b, v);
    }
}

FN(f_str) {
    (void)srcs;
    dl_buf b = DL_BUF_INIT;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) rc = str_append(&b, &x[i].v);
    if (!rc) rc = edn_string(a, b.data ? b.data : "", b.len, out);
    dl_buf_free(&b);
    return rc;
}

/* byte offset of the cp-th code point */
static size_t cp_off(const char *s, size_t n, size_t cp) {
    size_t i = 0, c = 0;
    while (i < n && c < cp) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
        c++;
    }
    return i;
}

FN(f_subs) {
    (void)srcs;
    int rc = arity("subs", n, 2, 3);
    if (rc) return rc;
    const edn_value *s = &x[0].v;
    if (s->type != EDN_STRING) return bad("subs", "first argument must be a string");
    if (x[1].v.type != EDN_INT || (n == 3 && x[2].v.type != EDN_INT))
        return bad("subs", "indexes must be integers");
    int64_t len = (int64_t)utf8_len(s->u.s, s->n);
    int64_t st = x[1].v.u.i, en = n == 3 ? x[2].v.u.i : len;
    if (st < 0 || en > len || st > en) return bad("subs", "String index out of range");
    size_t bo = cp_off(s->u.s, s->n, (size_t)st), eo = cp_off(s->u.s, s->n, (size_t)en);
    return edn_string(a, s->u.s + bo, eo - bo, out);
}

static int kw_part(dl_arena *a, const char *fn, const q_arg *x, int n, int ns, edn_value *out) {
    int rc = arity(fn, n, 1, 1);
    if (rc) return rc;
    const edn_value *v = &x[0].v;
    if (v->type == EDN_STRING && !ns) return edn_string(a, v->u.s, v->n, out);
    if (v->type != EDN_KEYWORD && v->type != EDN_SYMBOL) return bad(fn, "argument must be a keyword or symbol");
    if (ns) {
        if (!v->u.sym->ns) {
            *out = edn_nil();
            return 0;
        }
        return edn_string(a, v->u.sym->ns, v->u.sym->ns_len, out);
    }
    return edn_string(a, v->u.sym->name, v->u.sym->name_len, out);
}
FN(f_name) { (void)srcs; return kw_part(a, "name", x, n, 0, out); }
FN(f_namespace) { (void)srcs; return kw_part(a, "namespace", x, n, 1, out); }
FN(f_keyword) {
    UNUSED;
    int rc = arity("keyword", n, 1, 2);
    if (rc) return rc;
    for (int i = 0; i < n; i++)
        if (x[i].v.type != EDN_STRING && !(i == 0 && n == 2 && x[i].v.type == EDN_NIL))
            return bad("keyword", "arguments must be strings");
    const edn_sym *s = n == 1 ? edn_intern_full(x[0].v.u.s, x[0].v.n)
                              : edn_intern(x[0].v.type == EDN_NIL ? NULL : x[0].v.u.s,
                                           x[0].v.type == EDN_NIL ? 0 : x[0].v.n,
                                           x[1].v.u.s, x[1].v.n);
    if (!s) return DATALITH_ENOMEM;
    *out = edn_keyword(s);
    return 0;
}

/* ---- regular expressions (POSIX extended) ---- */

static int re_compile(const char *fn, const edn_value *p, regex_t *re) {
    if (p->type != EDN_STRING) return bad(fn, "pattern must be a string");
    int e = regcomp(re, p->u.s, REG_EXTENDED);
    if (e) {
        char msg[128];
        regerror(e, re, msg, sizeof msg);
        return dl_err_set(DATALITH_EQUERY, "%s: bad regular expression \"%s\": %s", fn, p->u.s, msg);
    }
    return 0;
}

/* The match (and groups) at m as re-find returns it. */
static int re_result(dl_arena *a, const regex_t *re, const char *s, const regmatch_t *m, edn_value *out) {
    size_t ng = re->re_nsub;
    if (ng == 0) return edn_string(a, s + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so), out);
    edn_value *it = dl_arena_alloc(a, sizeof(edn_value) * (ng + 1));
    if (!it) return DATALITH_ENOMEM;
    for (size_t g = 0; g <= ng; g++) {
        if (m[g].rm_so < 0) it[g] = edn_nil();
        else {
            int rc = edn_string(a, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so), &it[g]);
            if (rc) return rc;
        }
    }
    return edn_vector(a, it, ng + 1, out);
}

static int re_run(dl_arena *a, const char *fn, const q_arg *x, int n, int mode, edn_value *out) {
    int rc = arity(fn, n, 2, 2);
    if (rc) return rc;
    if (x[1].v.type != EDN_STRING) return bad(fn, "second argument must be a string");
    regex_t re;
    rc = re_compile(fn, &x[0].v, &re);
    if (rc) return rc;
    regmatch_t m[10];
    const char *s = x[1].v.u.s;
    size_t nm = re.re_nsub + 1 < 10 ? re.re_nsub + 1 : 10;
    *out = edn_nil();
    if (mode == 2) { /* re-seq */
        edn_value items[256];
        size_t k = 0, off = 0, len = x[1].v.n;
        while (off <= len && k < 256 && regexec(&re, s + off, nm, m, off ? REG_NOTBOL : 0) == 0) {
            for (size_t g = 0; g < nm; g++)
                if (m[g].rm_so >= 0) {
                    m[g].rm_so += (regoff_t)off;
                    m[g].rm_eo += (regoff_t)off;
                }
            rc = re_result(a, &re, s, m, &items[k++]);
            if (rc) break;
            off = m[0].rm_eo > m[0].rm_so ? (size_t)m[0].rm_eo : (size_t)m[0].rm_eo + 1;
        }
        if (!rc && k) rc = edn_list(a, items, k, out);
    } else if (regexec(&re, s, nm, m, 0) == 0) {
        if (mode == 0 || (m[0].rm_so == 0 && (size_t)m[0].rm_eo == x[1].v.n))
            rc = re_result(a, &re, s, m, out);
    }
    regfree(&re);
    return rc;
}
FN(f_re_find) { (void)srcs; return re_run(a, "re-find", x, n, 0, out); }
FN(f_re_matches) { (void)srcs; return re_run(a, "re-matches", x, n, 1, out); }
FN(f_re_seq) { (void)srcs; return re_run(a, "re-seq", x, n, 2, out); }
FN(f_re_pattern) {
    UNUSED;
    int rc = arity("re-pattern", n, 1, 1);
    if (rc) return rc;
    regex_t re;
    rc = re_compile("re-pattern", &x[0].v, &re);
    if (rc) return rc;
    regfree(&re);
    *out = x[0].v;
    return 0;
}

/* ---- database functions ---- */

int q_entity(const q_src *src, const edn_value *v, edn_value *out) {
    *out = edn_nil();
    if (v->type == EDN_INT) {
        *out = *v;
        return 0;
    }
    if (!src->db) return 0;
    edn_value av, vv;
    if (v->type == EDN_KEYWORD) {
        av = edn_keyword_str("db/ident");
        vv = *v;
        uint64_t sys = dl_schema_system_eid(v->u.sym);
        const dl_attr *at = dl_schema_attr(src->db->schema, v->u.sym);
        if (at && at->eid) {
            *out = edn_int((int64_t)at->eid);
            return 0;
        }
        if (sys && dl_schema_attribute_refs(src->db->schema)) {
            *out = edn_int((int64_t)sys);
            return 0;
        }
    } else if (v->type == EDN_VECTOR && v->n == 2 && v->u.items[0].type == EDN_KEYWORD) {
        av = v->u.items[0];
        vv = v->u.items[1];
    } else {
        return 0;
    }
    q_bound b = {0};
    b.a = &av;
    b.v = &vv;
    q_scan s;
    int rc = q_scan_open(src->db, &b, &s);
    if (rc) return rc;
    dl_datom d;
    int got;
    while ((got = q_scan_next(&s, &d)) == 1) {
        if (d.a == av.u.sym && edn_equal(&d.v, &vv)) {
            *out = edn_int((int64_t)d.e);
            break;
        }
    }
    q_scan_close(&s);
    return got < 0 ? got : 0;
}

/* First value of attribute attr of entity e in source s, or nil. */
static int first_value(dl_arena *a, const q_src *src, const edn_value *e, const edn_value *attr, edn_value *out) {
    *out = edn_nil();
    edn_value eid;
    int rc = q_entity(src, e, &eid);
    if (rc || eid.type != EDN_INT) return rc;
    if (!src->db) {
        const edn_value *c = &src->coll;
        for (uint32_t i = 0; i < c->n; i++) {
            const edn_value *t = &c->u.items[i];
            if (edn_is_seq(t) && t->n >= 3 && edn_equal(&t->u.items[0], &eid) &&
                edn_equal(&t->u.items[1], attr)) {
                *out = t->u.items[2];
                return 0;
            }
        }
        return 0;
    }
    q_bound b = {0};
    b.e = &eid;
    b.a = attr;
    q_scan s;
    rc = q_scan_open(src->db, &b, &s);
    if (rc) return rc;
    dl_datom d;
    int got = q_scan_next(&s, &d);
    if (got == 1) rc = edn_clone(a, &d.v, out);
    else if (got < 0) rc = got;
    q_scan_close(&s);
    return rc;
}

static int need_src(const char *fn, const q_arg *x) {
    if (x[0].src < 0) return bad(fn, "first argument must be a source such as $");
    return 0;
}

FN(f_get_else) {
    int rc = arity("get-else", n, 4, 4);
    if (!rc) rc = need_src("get-else", x);
    if (rc) return rc;
    if (x[3].v.type == EDN_NIL)
        return dl_err_set(DATALITH_EQUERY, "get-else: nil default value is not supported");
    if (x[2].v.type != EDN_KEYWORD) return bad("get-else", "attribute must be a keyword");
    rc = first_value(a, &srcs[x[0].src], &x[1].v, &x[2].v, out);
    if (!rc && out->type == EDN_NIL) *out = x[3].v;
    return rc;
}
FN(f_get_some) {
    int rc = arity("get-some", n, 3, -1);
    if (!rc) rc = need_src("get-some", x);
    if (rc) return rc;
    *out = edn_nil();
    for (int i = 2; i < n; i++) {
        edn_value v;
        if (x[i].v.type != EDN_KEYWORD) return bad("get-some", "attributes must be keywords");
        rc = first_value(a, &srcs[x[0].src], &x[1].v, &x[i].v, &v);
        if (rc) return rc;
        if (v.type != EDN_NIL) {
            edn_value pair[2] = {x[i].v, v};
            return edn_vector(a, pair, 2, out);
        }
    }
    return 0;
}
FN(f_missing) {
    int rc = arity("missing?", n, 3, 3);
    if (!rc) rc = need_src("missing?", x);
    if (rc) return rc;
    if (x[2].v.type != EDN_KEYWORD) return bad("missing?", "attribute must be a keyword");
    edn_value v;
    rc = first_value(a, &srcs[x[0].src], &x[1].v, &x[2].v, &v);
    if (!rc) *out = edn_bool(v.type == EDN_NIL);
    return rc;
}

/* (q query src-or-value …): a nested query.  Database sources become the
** nested query's databases, in order; every other argument (values, and
** collection sources as their tuples) its other inputs, in order — so the
** nested :in lists its $ databases before the rest, or only collections. */
FN(f_q) {
    int rc = arity("q", n, 1, 65);
    if (rc) return rc;
    dl_db *dbs[64];
    edn_value in[64], inv;
    size_t nd = 0, ni = 0;
    for (int i = 1; i < n; i++) {
        if (x[i].src >= 0 && srcs[x[i].src].db) dbs[nd++] = srcs[x[i].src].db;
        else in[ni++] = x[i].src >= 0 ? srcs[x[i].src].coll : x[i].v;
    }
    if ((rc = edn_vector(a, in, ni, &inv))) return rc;
    return q_run(a, &x[0].v, dbs, nd, &inv, NULL, out, NULL);
}

static const q_builtin builtins[] = {
    {"=", f_eq}, {"==", f_numeq}, {"not=", f_neq}, {"!=", f_neq},
    {"<", f_lt}, {">", f_gt}, {"<=", f_le}, {">=", f_ge},
    {"before?", f_lt}, {"after?", f_gt}, {"compare", f_compare},
    {"+", f_add}, {"-", f_sub}, {"*", f_mul}, {"/", f_div},
    {"quot", f_quot}, {"rem", f_rem}, {"mod", f_mod}, {"inc", f_inc}, {"dec", f_dec},
    {"max", f_max}, {"min", f_min},
    {"zero?", f_zero}, {"pos?", f_pos}, {"neg?", f_neg}, {"even?", f_even}, {"odd?", f_odd},
    {"nil?", f_nilp}, {"some?", f_somep}, {"true?", f_truep}, {"false?", f_falsep},
    {"not", f_not}, {"identity", f_identity}, {"ground", f_ground},
    {"vector", f_vector}, {"list", f_list}, {"set", f_set}, {"hash-map", f_hashmap},
    {"tuple", f_tuple}, {"untuple", f_untuple},
    {"count", f_count}, {"empty?", f_empty}, {"not-empty", f_notempty}, {"contains?", f_contains},
    {"str", f_str}, {"subs", f_subs}, {"name", f_name}, {"namespace", f_namespace},
    {"keyword", f_keyword},
    {"re-find", f_re_find}, {"re-matches", f_re_matches}, {"re-seq", f_re_seq},
    {"re-pattern", f_re_pattern},
    {"get-else", f_get_else}, {"get-some", f_get_some}, {"missing?", f_missing},
    {"q", f_q},
    {NULL, NULL}};

const q_builtin *q_builtin_find(const char *name) {
    for (const q_builtin *b = builtins; b->name; b++)
        if (!strcmp(b->name, name)) return b;
    return NULL;
}
