/*
** value.c — the EDN data model: interning, constructors, the total order,
** equality and hashing of edn_value (contract in value.h).
**
** Interning.  Keywords and symbols live in one process-wide open-addressing
** table keyed by the full name.  Every lookup and insert holds one mutex, so
** lookups are safe concurrently with inserts; syms are malloc'd once and
** never freed, so a const edn_sym * stays valid for the whole process.
**
**   intern_tab ─▶ [ NULL | sym* | NULL | sym* | sym* | NULL | … ]  (cap 2^k)
**                          │
**                          └─▶ edn_sym { ns, name, full, lens, id, hash }
**                               + the text "ns/name\0" right after it
**
** Numbers.  Comparing across representations must be exact, so a number
** that is not a plain int64 is viewed as a normalised decimal
**
**     value = sign × 0.d1 d2 … dn × 10^exp      (d1 ≠ 0, dn ≠ 0)
**
** whose digits may be split over two text segments (a bigdec's integer and
** fraction parts).  A finite double is expanded to its exact decimal (at
** most ~770 digits) only when it meets a bigint or bigdec; long vs double
** is decided with integer arithmetic.  Equal magnitudes then break ties by
** representation class: long/bigint (0) < bigdec (1) < double (2).
*/
#include "value.h"
#include "util/error.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Internal, shared with edn.c: look up an interned sym without creating it. */

/* ------------------------------------------------------------------ */
/* interning                                                           */
/* ------------------------------------------------------------------ */

static pthread_mutex_t intern_mu = PTHREAD_MUTEX_INITIALIZER;
static const edn_sym **intern_tab;
static size_t intern_cap, intern_count;
static pthread_once_t edn_once = PTHREAD_ONCE_INIT;

static uint64_t intern_hash(const char *s, size_t n) {
    return XXH3_64bits(s, n);
}

static void edn_init_once(void) {
    /* Nothing to precompute yet: the table is created on first insert.
    ** Kept as the single place where well-known syms would be interned. */
}

void edn_init(void) { pthread_once(&edn_once, edn_init_once); }

static int intern_grow(void) {
    size_t ncap = intern_cap ? intern_cap * 2 : 1024;
    const edn_sym **nt = calloc(ncap, sizeof *nt);
    if (!nt) return -1;
    for (size_t i = 0; i < intern_cap; i++) {
        const edn_sym *s = intern_tab[i];
        if (!s) continue;
        size_t j = (size_t)s->hash & (ncap - 1);
        while (nt[j]) j = (j + 1) & (ncap - 1);
        nt[j] = s;
    }
    free(intern_tab);
    intern_tab = nt;
    intern_cap = ncap;
    return 0;
}

/* Caller holds intern_mu.  Returns the slot index holding `full` or the
** empty slot where it would go. */
static size_t intern_find(const char *full, size_t len, uint64_t h) {
    size_t j = (size_t)h & (intern_cap - 1);
    for (;;) {
        const edn_sym *s = intern_tab[j];
        if (!s) return j;
        if (s->hash == h && s->full_len == len && memcmp(s->full, full, len) == 0)
            return j;
        j = (j + 1) & (intern_cap - 1);
    }
}

const edn_sym *edn_intern_lookup(const char *full, size_t len) {
    const edn_sym *r = NULL;
    uint64_t h = intern_hash(full, len);
    pthread_mutex_lock(&intern_mu);
    if (intern_cap) r = intern_tab[intern_find(full, len, h)];
    pthread_mutex_unlock(&intern_mu);
    return r;
}

const edn_sym *edn_intern(const char *ns, size_t ns_len, const char *name,
                          size_t name_len) {
    edn_init();
    if (!ns) ns_len = 0;
    size_t full_len = ns_len ? ns_len + 1 + name_len : name_len;
    if (full_len > UINT32_MAX - 1) {
        dl_err_set(DATALITH_ELIMIT, "keyword or symbol name too long");
        return NULL;
    }
    /* Build the full name on the stack when small, else on the heap. */
    char small[256];
    char *full = full_len < sizeof small ? small : malloc(full_len + 1);
    if (!full) {
        dl_err_nomem();
        return NULL;
    }
    if (ns_len) {
        memcpy(full, ns, ns_len);
        full[ns_len] = '/';
        memcpy(full + ns_len + 1, name, name_len);
    } else {
        memcpy(full, name, name_len);
    }
    full[full_len] = '\0';
    uint64_t h = intern_hash(full, full_len);

    const edn_sym *r = NULL;
    pthread_mutex_lock(&intern_mu);
    if ((intern_count + 1) * 2 > intern_cap && intern_grow() != 0) goto oom;
    size_t j = intern_find(full, full_len, h);
    if (intern_tab[j]) {
        r = intern_tab[j];
    } else {
        edn_sym *s = malloc(sizeof *s + full_len + 1);
        if (!s) goto oom;
        char *text = (char *)(s + 1);
        memcpy(text, full, full_len + 1);
        s->full = text;
        s->full_len = (uint32_t)full_len;
        s->ns = ns_len ? text : NULL;
        s->ns_len = (uint32_t)ns_len;
        s->name = ns_len ? text + ns_len + 1 : text;
        s->name_len = (uint32_t)name_len;
        s->hash = h;
        s->id = (uint32_t)(++intern_count);
        intern_tab[j] = s;
        r = s;
    }
    pthread_mutex_unlock(&intern_mu);
    if (full != small) free(full);
    return r;
oom:
    pthread_mutex_unlock(&intern_mu);
    if (full != small) free(full);
    dl_err_nomem();
    return NULL;
}

const edn_sym *edn_intern_full(const char *full, size_t len) {
    if (!(len == 1 && full[0] == '/')) {
        const char *slash = memchr(full, '/', len);
        if (slash && slash != full) {
            size_t nl = (size_t)(slash - full);
            return edn_intern(full, nl, slash + 1, len - nl - 1);
        }
    }
    return edn_intern(NULL, 0, full, len);
}

/* ------------------------------------------------------------------ */
/* constructors                                                        */
/* ------------------------------------------------------------------ */

static edn_value mk(edn_type t) {
    edn_value v;
    memset(&v, 0, sizeof v);
    v.type = (uint8_t)t;
    return v;
}

edn_value edn_nil(void) { return mk(EDN_NIL); }
edn_value edn_bool(bool b) { edn_value v = mk(EDN_BOOL); v.u.b = b; return v; }
edn_value edn_int(int64_t i) { edn_value v = mk(EDN_INT); v.u.i = i; return v; }
edn_value edn_float(double d) { edn_value v = mk(EDN_FLOAT); v.u.d = d; return v; }
edn_value edn_char(uint32_t cp) { edn_value v = mk(EDN_CHAR); v.u.ch = cp; return v; }
edn_value edn_inst(int64_t ms) { edn_value v = mk(EDN_INST); v.u.ms = ms; return v; }

edn_value edn_uuid(const uint8_t bytes[16]) {
    edn_value v = mk(EDN_UUID);
    memcpy(v.u.uuid, bytes, 16);
    return v;
}

edn_value edn_keyword(const edn_sym *sym) {
    edn_value v = mk(EDN_KEYWORD);
    v.u.sym = sym;
    return v;
}

edn_value edn_symbol(const edn_sym *sym) {
    edn_value v = mk(EDN_SYMBOL);
    v.u.sym = sym;
    return v;
}

edn_value edn_keyword_str(const char *full) {
    const edn_sym *s = edn_intern_full(full, strlen(full));
    return s ? edn_keyword(s) : edn_nil();
}

static int copy_bytes(dl_arena *a, edn_type t, const void *p, size_t n,
                      edn_value *out) {
    if (n > UINT32_MAX - 1)
        return dl_err_set(DATALITH_ELIMIT, "%s of %zu bytes is too long",
                          edn_type_name(t), n);
    char *s = dl_arena_alloc(a, n + 1);
    if (!s) return dl_err_last()->code;
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    *out = mk(t);
    out->n = (uint32_t)n;
    out->u.s = s;
    return 0;
}

int edn_string(dl_arena *a, const char *s, size_t n, edn_value *out) {
    return copy_bytes(a, EDN_STRING, s, n, out);
}

int edn_bytes(dl_arena *a, const void *p, size_t n, edn_value *out) {
    return copy_bytes(a, EDN_BYTES, p, n, out);
}

int edn_bigint(dl_arena *a, const char *text, size_t n, edn_value *out) {
    size_t i = 0;
    bool neg = false;
    if (i < n && (text[i] == '-' || text[i] == '+')) neg = text[i++] == '-';
    if (i == n) return dl_err_set(DATALITH_EINVAL, "bigint without digits");
    for (size_t j = i; j < n; j++)
        if (text[j] < '0' || text[j] > '9')
            return dl_err_set(DATALITH_EINVAL, "bad digit in bigint \"%.*s\"",
                              (int)(n > 64 ? 64 : n), text);
    while (i + 1 < n && text[i] == '0') i++;
    if (text[i] == '0') neg = false;
    size_t len = n - i + (neg ? 1 : 0);
    if (len > UINT32_MAX - 1)
        return dl_err_set(DATALITH_ELIMIT, "bigint too long");
    char *s = dl_arena_alloc(a, len + 1);
    if (!s) return dl_err_last()->code;
    char *p = s;
    if (neg) *p++ = '-';
    memcpy(p, text + i, n - i);
    s[len] = '\0';
    *out = mk(EDN_BIGINT);
    out->n = (uint32_t)len;
    out->u.s = s;
    return 0;
}

/* Exponents beyond this are rejected (Java's BigDecimal scale is an int). */
#define BIGDEC_MAX_EXP 999999999LL

/* A bigdec's text split into parts.  Returns false when malformed. */
typedef struct dec_parts {
    bool neg;
    const char *ip; size_t in;   /* integer digits */
    const char *fp; size_t fn;   /* fraction digits */
    int64_t e;                   /* written exponent */
} dec_parts;

static bool bigdec_split(const char *t, size_t n, dec_parts *p) {
    size_t i = 0;
    memset(p, 0, sizeof *p);
    if (i < n && (t[i] == '-' || t[i] == '+')) p->neg = t[i++] == '-';
    p->ip = t + i;
    while (i < n && t[i] >= '0' && t[i] <= '9') i++, p->in++;
    if (i < n && t[i] == '.') {
        i++;
        p->fp = t + i;
        while (i < n && t[i] >= '0' && t[i] <= '9') i++, p->fn++;
    }
    if (p->in + p->fn == 0) return false;
    if (p->in == 0) return false; /* EDN needs an integer part: ".5" is not a number */
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (t[i] == '-' || t[i] == '+')) eneg = t[i++] == '-';
        if (i == n) return false;
        int64_t e = 0;
        for (; i < n; i++) {
            if (t[i] < '0' || t[i] > '9') return false;
            e = e * 10 + (t[i] - '0');
            if (e > BIGDEC_MAX_EXP) return false;
        }
        p->e = eneg ? -e : e;
    }
    return i == n;
}

int edn_bigdec(dl_arena *a, const char *text, size_t n, edn_value *out) {
    dec_parts p;
    if (!bigdec_split(text, n, &p))
        return dl_err_set(DATALITH_EINVAL, "malformed bigdec \"%.*s\"",
                          (int)(n > 64 ? 64 : n), text);
    if (n > 0xFFFFFFF)
        return dl_err_set(DATALITH_ELIMIT, "bigdec too long");
    int rc = copy_bytes(a, EDN_BIGDEC, text, n, out);
    return rc;
}

static int sort_unique(dl_arena *a, edn_value *items, size_t n, size_t width,
                       const char *what);

static int copy_items(dl_arena *a, const edn_value *items, size_t count,
                      edn_value **out) {
    if (count > (SIZE_MAX / sizeof(edn_value)))
        return dl_err_set(DATALITH_ELIMIT, "collection too large");
    *out = NULL;
    if (count == 0) return 0;
    edn_value *p = dl_arena_alloc(a, count * sizeof *p);
    if (!p) return dl_err_last()->code;
    memcpy(p, items, count * sizeof *p);
    *out = p;
    return 0;
}

static int mk_coll(dl_arena *a, edn_type t, const edn_value *items, size_t n,
                   size_t width, edn_value *out) {
    if (n > UINT32_MAX - 1)
        return dl_err_set(DATALITH_ELIMIT, "collection of %zu items is too large", n);
    edn_value *p;
    int rc = copy_items(a, items, n * width, &p);
    if (rc) return rc;
    if (t == EDN_SET || t == EDN_MAP) {
        rc = sort_unique(a, p, n, width, t == EDN_SET ? "set element" : "map key");
        if (rc) return rc;
    }
    *out = mk(t);
    out->n = (uint32_t)n;
    out->u.items = p;
    return 0;
}

int edn_list(dl_arena *a, const edn_value *items, size_t n, edn_value *out) {
    return mk_coll(a, EDN_LIST, items, n, 1, out);
}
int edn_vector(dl_arena *a, const edn_value *items, size_t n, edn_value *out) {
    return mk_coll(a, EDN_VECTOR, items, n, 1, out);
}
int edn_set(dl_arena *a, const edn_value *items, size_t n, edn_value *out) {
    return mk_coll(a, EDN_SET, items, n, 1, out);
}
int edn_map(dl_arena *a, const edn_value *kvs, size_t n, edn_value *out) {
    return mk_coll(a, EDN_MAP, kvs, n, 2, out);
}

int edn_tagged(dl_arena *a, const edn_sym *tag, const edn_value *val,
               edn_value *out) {
    if (!tag) return dl_err_set(DATALITH_EINVAL, "tagged value without a tag");
    edn_value *p = dl_arena_alloc(a, sizeof *p);
    if (!p) return dl_err_last()->code;
    *p = *val;
    *out = mk(EDN_TAGGED);
    out->u.tagged.tag = tag;
    out->u.tagged.val = p;
    return 0;
}

int edn_clone(dl_arena *a, const edn_value *v, edn_value *out) {
    int rc;
    switch ((edn_type)v->type) {
    case EDN_STRING: case EDN_BYTES: case EDN_BIGINT: case EDN_BIGDEC:
        return copy_bytes(a, (edn_type)v->type, v->u.s, v->n, out);
    case EDN_LIST: case EDN_VECTOR: case EDN_SET: case EDN_MAP: {
        size_t cnt = (size_t)v->n * (v->type == EDN_MAP ? 2 : 1);
        edn_value *p = NULL;
        if (cnt) {
            p = dl_arena_alloc(a, cnt * sizeof *p);
            if (!p) return dl_err_last()->code;
            for (size_t i = 0; i < cnt; i++)
                if ((rc = edn_clone(a, &v->u.items[i], &p[i])) != 0) return rc;
        }
        *out = *v;
        out->u.items = p;
        return 0;
    }
    case EDN_TAGGED: {
        edn_value *p = dl_arena_alloc(a, sizeof *p);
        if (!p) return dl_err_last()->code;
        if ((rc = edn_clone(a, v->u.tagged.val, p)) != 0) return rc;
        *out = *v;
        out->u.tagged.val = p;
        return 0;
    }
    default:
        *out = *v;
        return 0;
    }
}

/* ------------------------------------------------------------------ */
/* kinds                                                               */
/* ------------------------------------------------------------------ */

int edn_kind_rank(edn_type t) {
    switch (t) {
    case EDN_NIL: return 0;
    case EDN_BYTES: return 1;
    case EDN_KEYWORD: return 2;
    case EDN_MAP: return 3;
    case EDN_SET: return 4;
    case EDN_LIST: case EDN_VECTOR: return 5;
    case EDN_SYMBOL: return 6;
    case EDN_TAGGED: return 7;
    case EDN_BOOL: return 8;
    case EDN_CHAR: return 9;
    case EDN_INT: case EDN_BIGINT: case EDN_FLOAT: case EDN_BIGDEC: return 10;
    case EDN_STRING: return 11;
    case EDN_INST: return 12;
    case EDN_UUID: return 13;
    default: return 14;
    }
}

const char *edn_type_name(edn_type t) {
    static const char *names[EDN_TYPE_COUNT] = {
        "nil", "boolean", "long", "bigint", "double", "bigdec", "string",
        "char", "keyword", "symbol", "uuid", "inst", "bytes", "list",
        "vector", "map", "set", "tagged"};
    return (unsigned)t < EDN_TYPE_COUNT ? names[t] : "unknown";
}

/* ------------------------------------------------------------------ */
/* numbers                                                             */
/* ------------------------------------------------------------------ */

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

/* Parse canonical bigint text into an int64 when it fits. */
static bool bigint_i64(const char *s, size_t n, int64_t *out) {
    bool neg = n && s[0] == '-';
    size_t i = neg ? 1 : 0;
    if (n - i > 19) return false;
    uint64_t m = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (m > (UINT64_MAX - d) / 10) return false;
        m = m * 10 + d;
    }
    if (neg) {
        if (m > (uint64_t)INT64_MAX + 1) return false;
        *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)m;
    }
    return true;
}

/* A normalised decimal view (see the file comment).  Digits are the
** concatenation a[0..an) b[0..bn) after dropping `skip` leading chars and
** keeping `nd` digits. */
typedef struct dec {
    int sign;           /* -1, 0, 1 */
    const char *a, *b;
    size_t an, bn;
    size_t skip, nd;
    int64_t exp;
} dec;

static inline char dec_digit(const dec *d, size_t i) {
    i += d->skip;
    return i < d->an ? d->a[i] : d->b[i - d->an];
}

/* Normalise: strip leading and trailing zeros.  `exp` on entry is the
** exponent for the digits as given (value = 0.<all digits> × 10^exp). */
static void dec_norm(dec *d) {
    size_t total = d->an + d->bn;
    d->skip = 0;
    d->nd = total;
    while (d->nd && dec_digit(d, 0) == '0') d->skip++, d->nd--, d->exp--;
    while (d->nd && dec_digit(d, d->nd - 1) == '0') d->nd--;
    if (d->nd == 0) {
        d->sign = 0;
        d->exp = 0;
    }
}

static void dec_from_text(dec *d, bool neg, const char *a, size_t an,
                          const char *b, size_t bn, int64_t exp) {
    d->sign = neg ? -1 : 1;
    d->a = a; d->an = an;
    d->b = b; d->bn = bn;
    d->exp = exp;
    dec_norm(d);
}

static void dec_from_bigint(dec *d, const char *s, size_t n) {
    bool neg = n && s[0] == '-';
    if (neg) s++, n--;
    dec_from_text(d, neg, s, n, NULL, 0, (int64_t)n);
}

static void dec_from_bigdec(dec *d, const char *s, size_t n) {
    dec_parts p;
    if (!bigdec_split(s, n, &p)) { /* constructors validate; be safe */
        memset(d, 0, sizeof *d);
        return;
    }
    dec_from_text(d, p.neg, p.ip, p.in, p.fp, p.fn, (int64_t)p.in + p.e);
}

/* buf must hold 24 chars. */
static void dec_from_i64(dec *d, int64_t v, char *buf) {
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    dec_from_text(d, v < 0, buf, n, NULL, 0, (int64_t)n);
}

/* Exact decimal expansion of a finite double.  buf must hold DBL_DIGITS. */
#define DBL_DIGITS 1120
#define LIMBS 130
static void dec_from_double(dec *d, double x, char *buf) {
    if (x == 0) {
        memset(d, 0, sizeof *d);
        return;
    }
    bool neg = signbit(x);
    int e;
    double f = frexp(fabs(x), &e);            /* x = f × 2^e, f in [0.5,1) */
    uint64_t m = (uint64_t)ldexp(f, 53);      /* exact */
    int e2 = e - 53;
    while (!(m & 1)) m >>= 1, e2++;
    /* big = m × 2^e2 (e2 ≥ 0) or m × 5^-e2 (then × 10^e2), base 1e9 limbs */
    uint32_t limb[LIMBS];
    size_t nl = 0;
    while (m) {
        limb[nl++] = (uint32_t)(m % 1000000000u);
        m /= 1000000000u;
    }
    int k = e2 >= 0 ? e2 : -e2;
    while (k > 0) {
        uint64_t mul;
        int step;
        if (e2 >= 0) {
            step = k > 29 ? 29 : k;
            mul = (uint64_t)1 << step;
        } else {
            step = k > 13 ? 13 : k;
            mul = 1;
            for (int i = 0; i < step; i++) mul *= 5;
        }
        uint64_t carry = 0;
        for (size_t i = 0; i < nl; i++) {
            uint64_t t = (uint64_t)limb[i] * mul + carry;
            limb[i] = (uint32_t)(t % 1000000000u);
            carry = t / 1000000000u;
        }
        while (carry && nl < LIMBS) {
            limb[nl++] = (uint32_t)(carry % 1000000000u);
            carry /= 1000000000u;
        }
        k -= step;
    }
    size_t n = 0;
    for (size_t i = nl; i-- > 0;) {
        uint32_t v = limb[i];
        for (int j = 8; j >= 0; j--) {
            buf[n + (size_t)j] = (char)('0' + v % 10);
            v /= 10;
        }
        n += 9;
    }
    /* buf holds n digits of an integer big; value = big × 10^(e2<0 ? e2 : 0) */
    int64_t exp = (int64_t)n + (e2 < 0 ? e2 : 0);
    dec_from_text(d, neg, buf, n, NULL, 0, exp);
}

static int dec_cmp(const dec *x, const dec *y) {
    if (x->sign != y->sign) return CMP(x->sign, y->sign);
    if (x->sign == 0) return 0;
    int mag;
    if (x->exp != y->exp) {
        mag = CMP(x->exp, y->exp);
    } else {
        mag = 0;
        size_t n = x->nd < y->nd ? x->nd : y->nd;
        for (size_t i = 0; i < n && !mag; i++)
            mag = CMP(dec_digit(x, i), dec_digit(y, i));
        if (!mag) mag = CMP(x->nd, y->nd);
    }
    return x->sign < 0 ? -mag : mag;
}

/* Representation class for ties. */
static int num_class(edn_type t) {
    return t == EDN_FLOAT ? 2 : t == EDN_BIGDEC ? 1 : 0;
}

/* Compare an int64 with a double exactly; NaN is above every number. */
static int cmp_i64_double(int64_t v, double d) {
    if (isnan(d)) return -1;
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    int64_t t = (int64_t)d; /* truncation, exact for |d| < 2^63 */
    if (v != t) return CMP(v, t);
    double frac = d - (double)t;
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

/* Double.compare. */
static int cmp_double(double x, double y) {
    if (x < y) return -1;
    if (x > y) return 1;
    bool xn = isnan(x), yn = isnan(y);
    if (xn || yn) return xn && yn ? 0 : xn ? 1 : -1;
    /* equal, maybe ±0 */
    bool xs = signbit(x), ys = signbit(y);
    return xs == ys ? 0 : xs ? -1 : 1;
}

/* View any number as int64 when it is one (INT or a fitting BIGINT). */
static bool num_as_i64(const edn_value *v, int64_t *out) {
    if (v->type == EDN_INT) { *out = v->u.i; return true; }
    if (v->type == EDN_BIGINT) return bigint_i64(v->u.s, v->n, out);
    return false;
}

static void num_as_dec(const edn_value *v, dec *d, char *buf) {
    switch (v->type) {
    case EDN_INT: dec_from_i64(d, v->u.i, buf); break;
    case EDN_BIGINT: dec_from_bigint(d, v->u.s, v->n); break;
    case EDN_BIGDEC: dec_from_bigdec(d, v->u.s, v->n); break;
    default: dec_from_double(d, v->u.d, buf); break;
    }
}

/* Numeric magnitude comparison ignoring representation (NaN greatest). */
static int num_cmp_value(const edn_value *a, const edn_value *b) {
    int64_t ia, ib;
    bool ai = num_as_i64(a, &ia), bi = num_as_i64(b, &ib);
    if (ai && bi) return CMP(ia, ib);
    if (a->type == EDN_FLOAT && b->type == EDN_FLOAT) {
        double x = a->u.d, y = b->u.d;
        if (isnan(x) || isnan(y)) return isnan(x) && isnan(y) ? 0 : isnan(x) ? 1 : -1;
        return CMP(x, y); /* -0.0 == 0.0 here */
    }
    if (ai && b->type == EDN_FLOAT) return cmp_i64_double(ia, b->u.d);
    if (bi && a->type == EDN_FLOAT) return -cmp_i64_double(ib, a->u.d);
    /* specials of doubles against bigint/bigdec */
    if (a->type == EDN_FLOAT && !isfinite(a->u.d))
        return isnan(a->u.d) || a->u.d > 0 ? 1 : -1;
    if (b->type == EDN_FLOAT && !isfinite(b->u.d))
        return isnan(b->u.d) || b->u.d > 0 ? -1 : 1;
    char ba[DBL_DIGITS], bb[DBL_DIGITS];
    dec da, db;
    num_as_dec(a, &da, ba);
    num_as_dec(b, &db, bb);
    return dec_cmp(&da, &db);
}

static int num_cmp(const edn_value *a, const edn_value *b) {
    int c = num_cmp_value(a, b);
    if (c) return c;
    int ca = num_class((edn_type)a->type), cb = num_class((edn_type)b->type);
    if (ca != cb) return CMP(ca, cb);
    if (ca == 2) return cmp_double(a->u.d, b->u.d);
    return 0;
}

/* ------------------------------------------------------------------ */
/* strings                                                             */
/* ------------------------------------------------------------------ */

/* Decode the UTF-8 code point at s[i..n); returns -1 when malformed. */
static int32_t utf8_at(const unsigned char *s, size_t n, size_t i) {
    unsigned c = s[i];
    if (c < 0x80) return (int32_t)c;
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (!len || i + (size_t)len > n) return -1;
    uint32_t cp = c & (0x3Fu >> (len - 1));
    for (int k = 1; k < len; k++) {
        if ((s[i + (size_t)k] & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (s[i + (size_t)k] & 0x3F);
    }
    return (int32_t)cp;
}

/* A key whose order equals UTF-16 code-unit order of single code points:
** supplementary characters (surrogate pairs D800–DBFF…) sort below
** U+E000–U+FFFF. */
static uint32_t utf16_key(uint32_t cp) {
    return cp >= 0xE000 && cp <= 0xFFFF ? cp + 0x100000 : cp;
}

/* Java String.compareTo over UTF-8 text. */
static int str_cmp(const char *as, size_t an, const char *bs, size_t bn) {
    const unsigned char *a = (const unsigned char *)as;
    const unsigned char *b = (const unsigned char *)bs;
    size_t n = an < bn ? an : bn;
    size_t i = 0;
    while (i < n && a[i] == b[i]) i++;
    if (i == n) return CMP(an, bn);
    /* Bytewise order is code-point order; UTF-16 order differs only for
    ** characters beyond U+FFFF against U+E000–U+FFFF, so decode there. */
    if (a[i] < 0x80 && b[i] < 0x80) return CMP(a[i], b[i]);
    /* back up to the start of the character containing byte i */
    size_t st = i;
    while (st > 0 && (a[st] & 0xC0) == 0x80) st--;
    int32_t ca = utf8_at(a, an, st), cb = utf8_at(b, bn, st);
    if (ca < 0 || cb < 0) return CMP(a[i], b[i]);
    return CMP(utf16_key((uint32_t)ca), utf16_key((uint32_t)cb));
}

static int sym_cmp(const edn_sym *a, const edn_sym *b) {
    if (a == b) return 0;
    if (!a->ns != !b->ns) return a->ns ? 1 : -1;
    if (a->ns) {
        int c = str_cmp(a->ns, a->ns_len, b->ns, b->ns_len);
        if (c) return c;
    }
    return str_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* ------------------------------------------------------------------ */
/* compare / equal / hash                                              */
/* ------------------------------------------------------------------ */

static int64_t be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return (int64_t)v;
}

static int items_cmp(const edn_value *a, const edn_value *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int c = edn_compare(&a[i], &b[i]);
        if (c) return c;
    }
    return 0;
}

int edn_compare(const edn_value *a, const edn_value *b) {
    if (a == b) return 0;
    int ra = edn_kind_rank((edn_type)a->type), rb = edn_kind_rank((edn_type)b->type);
    if (ra != rb) return CMP(ra, rb);
    switch ((edn_type)a->type) {
    case EDN_NIL: return 0;
    case EDN_BOOL: return CMP(a->u.b, b->u.b);
    case EDN_INT: case EDN_BIGINT: case EDN_FLOAT: case EDN_BIGDEC:
        if (a->type == EDN_INT && b->type == EDN_INT) return CMP(a->u.i, b->u.i);
        return num_cmp(a, b);
    case EDN_STRING: return str_cmp(a->u.s, a->n, b->u.s, b->n);
    case EDN_CHAR: return CMP(a->u.ch, b->u.ch);
    case EDN_KEYWORD: case EDN_SYMBOL: return sym_cmp(a->u.sym, b->u.sym);
    case EDN_UUID: {
        int64_t x = be64(a->u.uuid), y = be64(b->u.uuid);
        if (x != y) return CMP(x, y);
        return CMP(be64(a->u.uuid + 8), be64(b->u.uuid + 8));
    }
    case EDN_INST: return CMP(a->u.ms, b->u.ms);
    case EDN_BYTES: {
        size_t n = a->n < b->n ? a->n : b->n;
        for (size_t i = 0; i < n; i++) {
            int8_t x = (int8_t)a->u.s[i], y = (int8_t)b->u.s[i];
            if (x != y) return CMP(x, y);
        }
        return CMP(a->n, b->n);
    }
    case EDN_LIST: case EDN_VECTOR: case EDN_SET:
        if (a->n != b->n) return CMP(a->n, b->n);
        return items_cmp(a->u.items, b->u.items, a->n);
    case EDN_MAP:
        if (a->n != b->n) return CMP(a->n, b->n);
        return items_cmp(a->u.items, b->u.items, (size_t)a->n * 2);
    case EDN_TAGGED: {
        int c = sym_cmp(a->u.tagged.tag, b->u.tagged.tag);
        return c ? c : edn_compare(a->u.tagged.val, b->u.tagged.val);
    }
    default: return 0;
    }
}

bool edn_equal(const edn_value *a, const edn_value *b) {
    if (a->type == b->type) {
        switch ((edn_type)a->type) {
        case EDN_NIL: return true;
        case EDN_BOOL: return a->u.b == b->u.b;
        case EDN_INT: return a->u.i == b->u.i;
        case EDN_KEYWORD: case EDN_SYMBOL: return a->u.sym == b->u.sym;
        case EDN_STRING: case EDN_BYTES:
            return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
        default: break;
        }
    }
    return edn_compare(a, b) == 0;
}

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t hcomb(uint64_t h, uint64_t x) {
    return mix64(h * 31 + x + 0x9e3779b97f4a7c15ULL);
}

static uint64_t hash_bytes(const void *p, size_t n, uint64_t seed) {
    return XXH3_64bits_withSeed(p, n, seed);
}

static uint64_t hash_dec(const dec *d) {
    uint64_t h = hcomb((uint64_t)(int64_t)d->sign, (uint64_t)d->exp);
    uint64_t acc = 0;
    for (size_t i = 0; i < d->nd; i++) {
        acc = acc * 10 + (uint64_t)(dec_digit(d, i) - '0');
        if ((i % 18) == 17) {
            h = hcomb(h, acc);
            acc = 0;
        }
    }
    return hcomb(h, acc ^ d->nd);
}

uint64_t edn_hash(const edn_value *v) {
    uint64_t t = (uint64_t)edn_kind_rank((edn_type)v->type) << 56;
    switch ((edn_type)v->type) {
    case EDN_NIL: return mix64(t);
    case EDN_BOOL: return mix64(t | v->u.b);
    case EDN_INT: return mix64(t ^ (uint64_t)v->u.i);
    case EDN_BIGINT: {
        int64_t i;
        if (bigint_i64(v->u.s, v->n, &i)) return mix64(t ^ (uint64_t)i);
        return hash_bytes(v->u.s, v->n, t | 1);
    }
    case EDN_BIGDEC: {
        dec d;
        dec_from_bigdec(&d, v->u.s, v->n);
        return hcomb(t | 2, hash_dec(&d));
    }
    case EDN_FLOAT: {
        double d = v->u.d;
        uint64_t bits;
        if (isnan(d)) bits = 0x7ff8000000000000ULL;
        else memcpy(&bits, &d, 8);
        return hcomb(t | 3, bits);
    }
    case EDN_STRING: return hash_bytes(v->u.s, v->n, t);
    case EDN_BYTES: return hash_bytes(v->u.s, v->n, t);
    case EDN_CHAR: return mix64(t ^ v->u.ch);
    case EDN_KEYWORD: case EDN_SYMBOL: return hcomb(t, v->u.sym->hash);
    case EDN_UUID: return hash_bytes(v->u.uuid, 16, t);
    case EDN_INST: return mix64(t ^ (uint64_t)v->u.ms);
    case EDN_LIST: case EDN_VECTOR: case EDN_SET: case EDN_MAP: {
        size_t cnt = (size_t)v->n * (v->type == EDN_MAP ? 2 : 1);
        uint64_t h = hcomb(t, v->n);
        for (size_t i = 0; i < cnt; i++) h = hcomb(h, edn_hash(&v->u.items[i]));
        return h;
    }
    case EDN_TAGGED:
        return hcomb(hcomb(t, v->u.tagged.tag->hash), edn_hash(v->u.tagged.val));
    default: return 0;
    }
}

/* ------------------------------------------------------------------ */
/* sorting and lookup                                                  */
/* ------------------------------------------------------------------ */

static int cmp_first(const void *x, const void *y) {
    return edn_compare((const edn_value *)x, (const edn_value *)y);
}

/* Sort n entries of `width` values each by their first value; reject
** duplicates with DATALITH_EINVAL naming the value. */
static int sort_unique(dl_arena *a, edn_value *items, size_t n, size_t width,
                       const char *what) {
    size_t w = width;
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        if (edn_compare(&items[(i - 1) * w], &items[i * w]) >= 0) sorted = false;
    if (sorted) return 0;
    qsort(items, n, w * sizeof(edn_value), cmp_first);
    for (size_t i = 1; i < n; i++) {
        if (edn_compare(&items[(i - 1) * w], &items[i * w]) == 0) {
            dl_buf b = DL_BUF_INIT;
            b.limit = 200;
            edn_write(&b, &items[i * w]);
            int rc = dl_err_set(DATALITH_EINVAL, "duplicate %s: %s", what,
                                b.data ? b.data : "?");
            dl_buf_free(&b);
            return rc;
        }
    }
    return 0;
}

static const edn_value *bsearch_items(const edn_value *items, size_t n,
                                      size_t w, const edn_value *key) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = edn_compare(&items[mid * w], key);
        if (c == 0) return &items[mid * w];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const edn_value *edn_map_get(const edn_value *m, const edn_value *key) {
    if (!m || m->type != EDN_MAP) return NULL;
    const edn_value *k = bsearch_items(m->u.items, m->n, 2, key);
    return k ? k + 1 : NULL;
}

const edn_value *edn_map_getk(const edn_value *m, const char *kw_full) {
    if (!m || m->type != EDN_MAP) return NULL;
    size_t len = strlen(kw_full);
    if (len && kw_full[0] == ':') kw_full++, len--;
    const edn_sym *s = edn_intern_lookup(kw_full, len);
    if (!s) return NULL;
    edn_value k = edn_keyword(s);
    return edn_map_get(m, &k);
}

bool edn_set_contains(const edn_value *s, const edn_value *v) {
    if (!s || s->type != EDN_SET) return false;
    return bsearch_items(s->u.items, s->n, 1, v) != NULL;
}

bool edn_sym_name_ok(const char *full, size_t n) {
    if (n && full[0] == ':') return false;
    const char *sl = n > 1 ? memchr(full, '/', n) : NULL;
    return !(sl && sl + 1 < full + n && sl[1] == ':');
}
