/*
** test_value.c — the EDN data model: constructors, interning, the total
** order rule by rule, equality, hashing, lookups and clone.
*/
#include "test.h"
#include "value/value.h"
#include "util/error.h"

#include <math.h>
#include <pthread.h>

static dl_arena A;

static edn_value str(const char *s) {
    edn_value v;
    edn_string(&A, s, strlen(s), &v);
    return v;
}
static edn_value bigint(const char *s) {
    edn_value v;
    if (edn_bigint(&A, s, strlen(s), &v)) return edn_nil();
    return v;
}
static edn_value bigdec(const char *s) {
    edn_value v;
    if (edn_bigdec(&A, s, strlen(s), &v)) return edn_nil();
    return v;
}
static edn_value kw(const char *s) { return edn_keyword_str(s); }
static edn_value sym(const char *s) {
    return edn_symbol(edn_intern_full(s, strlen(s)));
}
static edn_value vec2(edn_value a, edn_value b) {
    edn_value it[2] = {a, b}, v;
    edn_vector(&A, it, 2, &v);
    return v;
}


/* a < b strictly, both directions, and not equal. */
#define LT(a, b)                                                             \
    do {                                                                     \
        edn_value x_ = (a), y_ = (b);                                        \
        CHECK_EQ_INT(edn_compare(&x_, &y_), -1);                             \
        CHECK_EQ_INT(edn_compare(&y_, &x_), 1);                              \
        CHECK(!edn_equal(&x_, &y_));                                         \
    } while (0)
#define EQ(a, b)                                                             \
    do {                                                                     \
        edn_value x_ = (a), y_ = (b);                                        \
        CHECK_EQ_INT(edn_compare(&x_, &y_), 0);                              \
        CHECK(edn_equal(&x_, &y_));                                          \
        CHECK(edn_hash(&x_) == edn_hash(&y_));                               \
    } while (0)

TEST(interning_identity) {
    const edn_sym *a = edn_intern("db", 2, "ident", 5);
    const edn_sym *b = edn_intern_full("db/ident", 8);
    CHECK(a != NULL);
    CHECK(a == b);
    CHECK_STR(a->full, "db/ident");
    CHECK_EQ_INT(a->ns_len, 2);
    CHECK_EQ_INT(a->name_len, 5);
    CHECK(strncmp(a->ns, "db", 2) == 0);
    CHECK_STR(a->name, "ident");
    const edn_sym *c = edn_intern_full("ident", 5);
    CHECK(c != a);
    CHECK(c->ns == NULL);
    const edn_sym *s = edn_intern_full("/", 1);
    CHECK(s->ns == NULL);
    CHECK_STR(s->name, "/");
    CHECK(a->id != c->id);
    edn_value k1 = kw("db/ident"), k2 = edn_keyword(a);
    CHECK(k1.u.sym == k2.u.sym);
}

static void *intern_worker(void *arg) {
    char buf[32];
    long base = (long)(intptr_t)arg;
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "t%ld/k%d", base % 2, i);
        if (!edn_intern_full(buf, strlen(buf))) return (void *)1;
    }
    return NULL;
}

TEST(interning_threads) {
    pthread_t th[4];
    for (long i = 0; i < 4; i++) pthread_create(&th[i], NULL, intern_worker, (void *)(intptr_t)i);
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += r != NULL;
    }
    CHECK_EQ_INT(bad, 0);
    /* threads 0 and 2 interned the same names: one sym per name */
    const edn_sym *x = edn_intern_full("t0/k1999", 8);
    const edn_sym *y = edn_intern("t0", 2, "k1999", 5);
    CHECK(x == y);
}

TEST(constructors) {
    CHECK_EQ_INT(edn_nil().type, EDN_NIL);
    CHECK_EQ_INT(edn_bool(true).u.b, 1);
    CHECK_EQ_INT(edn_int(-5).u.i, -5);
    CHECK(edn_float(2.5).u.d == 2.5);
    CHECK_EQ_INT(edn_char(0x1F600).u.ch, 0x1F600);
    CHECK_EQ_INT(edn_inst(1234).u.ms, 1234);
    edn_value s = str("héllo");
    CHECK_EQ_INT(s.type, EDN_STRING);
    CHECK_EQ_INT(s.n, 6);
    CHECK_STR(s.u.s, "héllo");
    edn_value b;
    CHECK_EQ_INT(edn_bytes(&A, "\x00\xff", 2, &b), 0);
    CHECK_EQ_INT(b.n, 2);
    CHECK_EQ_INT((unsigned char)b.u.s[1], 0xff);
    /* bigint canonicalisation */
    edn_value bi = bigint("-000123");
    CHECK_STR(bi.u.s, "-123");
    CHECK_EQ_INT(bi.n, 4);
    CHECK_STR(bigint("-0").u.s, "0");
    CHECK_STR(bigint("+42").u.s, "42");
    edn_value bad;
    CHECK_EQ_INT(edn_bigint(&A, "12a", 3, &bad), DATALITH_EINVAL);
    CHECK_EQ_INT(edn_bigint(&A, "-", 1, &bad), DATALITH_EINVAL);
    CHECK_EQ_INT(edn_bigdec(&A, "1.5e", 4, &bad), DATALITH_EINVAL);
    CHECK_EQ_INT(edn_bigdec(&A, "x", 1, &bad), DATALITH_EINVAL);
    CHECK_EQ_INT(edn_bigdec(&A, "1.25e-3", 7, &bad), 0);
    CHECK_STR(bad.u.s, "1.25e-3");
    uint8_t u[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    edn_value uv = edn_uuid(u);
    CHECK(memcmp(uv.u.uuid, u, 16) == 0);
    edn_value t;
    const edn_sym *tag = edn_intern_full("my/tag", 6);
    edn_value one = edn_int(1);
    CHECK_EQ_INT(edn_tagged(&A, tag, &one, &t), 0);
    CHECK(t.u.tagged.tag == tag);
    CHECK_EQ_INT(t.u.tagged.val->u.i, 1);
}

TEST(collections_sorted) {
    edn_value it[3] = {edn_int(3), edn_int(1), edn_int(2)}, s;
    CHECK_EQ_INT(edn_set(&A, it, 3, &s), 0);
    CHECK_EQ_INT(s.n, 3);
    CHECK_EQ_INT(s.u.items[0].u.i, 1);
    CHECK_EQ_INT(s.u.items[2].u.i, 3);
    CHECK_EQ_INT(it[0].u.i, 3); /* input untouched */
    edn_value dup[2] = {edn_int(1), bigint("1")};
    CHECK_EQ_INT(edn_set(&A, dup, 2, &s), DATALITH_EINVAL);
    CHECK_CONTAINS(dl_err_last()->message, "duplicate");
    edn_value kv[4] = {kw("b"), edn_int(2), kw("a"), edn_int(1)}, m;
    CHECK_EQ_INT(edn_map(&A, kv, 2, &m), 0);
    CHECK_EQ_INT(m.n, 2);
    CHECK(m.u.items[0].u.sym == kw("a").u.sym);
    CHECK_EQ_INT(m.u.items[1].u.i, 1);
    edn_value kd[4] = {kw("a"), edn_int(2), kw("a"), edn_int(1)};
    CHECK_EQ_INT(edn_map(&A, kd, 2, &m), DATALITH_EINVAL);
    CHECK_CONTAINS(dl_err_last()->message, ":a");
}

TEST(map_get_and_set_contains) {
    edn_value kv[6] = {kw("db/ident"), kw("x"), kw("a"), edn_int(1), str("s"), edn_int(7)}, m;
    CHECK_EQ_INT(edn_map(&A, kv, 3, &m), 0);
    const edn_value *g = edn_map_getk(&m, "db/ident");
    CHECK(g && g->type == EDN_KEYWORD && g->u.sym == kw("x").u.sym);
    CHECK(edn_map_getk(&m, ":a") && edn_map_getk(&m, ":a")->u.i == 1);
    CHECK(edn_map_getk(&m, "never-interned-keyword-zz") == NULL);
    CHECK(edn_map_getk(&m, "b") == NULL);
    edn_value key = str("s");
    CHECK(edn_map_get(&m, &key) && edn_map_get(&m, &key)->u.i == 7);
    edn_value i1 = edn_int(1);
    CHECK(edn_map_get(&i1, &key) == NULL);
    edn_value it[3] = {edn_int(5), str("x"), kw("k")}, s;
    CHECK_EQ_INT(edn_set(&A, it, 3, &s), 0);
    edn_value probe = bigint("5");
    CHECK(edn_set_contains(&s, &probe)); /* 5N equals 5 */
    probe = edn_float(5.0);
    CHECK(!edn_set_contains(&s, &probe)); /* 5.0 does not */
    probe = kw("k");
    CHECK(edn_set_contains(&s, &probe));
}

TEST(order_nil_first_and_kind_ranks) {
    edn_value e, bytes;
    edn_bytes(&A, "", 0, &bytes);
    edn_map(&A, NULL, 0, &e);
    edn_value es, ev, tg;
    edn_set(&A, NULL, 0, &es);
    edn_vector(&A, NULL, 0, &ev);
    edn_value zero = edn_int(0);
    edn_tagged(&A, edn_intern_full("t", 1), &zero, &tg);
    uint8_t u0[16] = {0};
    /* one of each kind, in the documented order */
    edn_value order[] = {edn_nil(), bytes, kw("a"), e, es, ev, sym("a"), tg,
                         edn_bool(false), edn_char('a'), edn_int(0), str(""),
                         edn_inst(0), edn_uuid(u0)};
    size_t n = sizeof order / sizeof order[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) LT(order[i], order[j]);
    CHECK(edn_kind_rank(EDN_INT) == edn_kind_rank(EDN_FLOAT));
    CHECK(edn_kind_rank(EDN_BIGINT) == edn_kind_rank(EDN_BIGDEC));
    CHECK(edn_kind_rank(EDN_LIST) == edn_kind_rank(EDN_VECTOR));
    CHECK_EQ_INT(edn_kind_rank(EDN_NIL), 0);
    CHECK_STR(edn_type_name(EDN_KEYWORD), "keyword");
    CHECK_STR(edn_type_name(EDN_FLOAT), "double");
    /* nil below very small things */
    LT(edn_nil(), edn_int(INT64_MIN));
    LT(edn_nil(), edn_float(-INFINITY));
    EQ(edn_nil(), edn_nil());
}

TEST(order_numbers) {
    /* 1 = 1N < 1M < 1.0 ; 1.0M == 1M */
    EQ(edn_int(1), bigint("1"));
    LT(edn_int(1), bigdec("1"));
    LT(bigint("1"), bigdec("1.0"));
    LT(bigdec("1"), edn_float(1.0));
    LT(edn_int(1), edn_float(1.0));
    EQ(bigdec("1.0"), bigdec("1"));
    EQ(bigdec("1.50"), bigdec("15e-1"));
    EQ(bigdec("0.0"), bigdec("-0"));
    LT(bigdec("-0"), edn_int(1));
    /* numerically across kinds */
    LT(edn_float(0.5), edn_int(1));
    LT(edn_int(1), edn_float(1.5));
    LT(bigdec("1.4"), edn_float(1.5));
    LT(edn_float(1.5), bigdec("1.6"));
    LT(edn_int(-3), bigdec("-2.5"));
    LT(bigdec("-1e3"), edn_int(-999));
    LT(edn_int(INT64_MAX), bigint("9223372036854775808"));
    LT(bigint("-9223372036854775809"), edn_int(INT64_MIN));
    EQ(bigint("-9223372036854775808"), edn_int(INT64_MIN));
    /* 2^53+1 is not a double; the double 2^53 sits just below */
    int64_t p53 = (int64_t)1 << 53;
    LT(edn_float(9007199254740992.0), edn_int(p53 + 1));
    LT(edn_int(p53 + 1), edn_float(9007199254740994.0));
    LT(edn_int(p53), edn_float(9007199254740992.0)); /* tie → long first */
    /* INT64_MAX < 2^63 (a double) */
    LT(edn_int(INT64_MAX), edn_float(9223372036854775808.0));
    LT(edn_float(-9223372036854775808.0), edn_int(INT64_MIN + 1));
    LT(edn_int(INT64_MIN), edn_float(-9223372036854775808.0)); /* equal value, long first */
    /* bigint vs double beyond int64: 2^64 = 18446744073709551616 */
    LT(bigint("18446744073709551615"), edn_float(18446744073709551616.0));
    LT(bigint("18446744073709551616"), edn_float(18446744073709551616.0));
    LT(edn_float(18446744073709551616.0), bigint("18446744073709551617"));
    /* 0.1 as a double is 0.1000000000000000055511151231257827… */
    LT(bigdec("0.1"), edn_float(0.1));
    LT(edn_float(0.1), bigdec("0.10000000000000001"));
    LT(bigdec("0.1000000000000000055511151231257827"), edn_float(0.1));
    LT(edn_float(0.1), bigdec("0.1000000000000000055511151231257828"));
    /* tiny and huge doubles against bigdecs */
    LT(bigdec("0"), edn_float(5e-324));
    LT(edn_float(5e-324), bigdec("1e-323"));
    LT(edn_float(1.7976931348623157e308), bigdec("1e309"));
    LT(bigdec("1e308"), edn_float(1.7976931348623157e308));
    /* zeros and NaN */
    LT(edn_float(-0.0), edn_float(0.0));
    LT(edn_int(0), edn_float(-0.0));
    LT(edn_float(-1.0), edn_int(0));
    LT(edn_float(INFINITY), edn_float(NAN));
    LT(bigint("999999999999999999999999999"), edn_float(INFINITY));
    LT(edn_float(-INFINITY), bigdec("-1e999"));
    LT(bigdec("1e999"), edn_float(NAN));
    LT(edn_int(INT64_MAX), edn_float(NAN));
    EQ(edn_float(NAN), edn_float(-NAN));
    EQ(edn_float(2.5), edn_float(2.5));
    LT(edn_float(-INFINITY), edn_int(INT64_MIN));
    LT(edn_float(1.0), edn_int(2));
}

TEST(order_strings_utf16) {
    LT(str(""), str("a"));
    LT(str("a"), str("ab"));
    LT(str("ab"), str("b"));
    LT(str("B"), str("a"));
    /* U+10000 (surrogates D800 DC00) sorts below U+FFFD in UTF-16 */
    LT(str("\xF0\x90\x80\x80"), str("\xEF\xBF\xBD"));
    LT(str("x\xF0\x9F\x98\x80"), str("x\xEE\x80\x80")); /* U+1F600 < U+E000 */
    /* but above U+D7FF and everything below */
    LT(str("\xED\x9F\xBF"), str("\xF0\x90\x80\x80"));
    LT(str("\xC3\xA9"), str("\xF0\x90\x80\x80"));
    /* two supplementary characters compare by code point */
    LT(str("\xF0\x90\x80\x80"), str("\xF0\x9F\x98\x80"));
    /* BMP against BMP as code points */
    LT(str("\xC3\xA9"), str("\xE4\xB8\xAD")); /* é < 中 */
    EQ(str("héllo"), str("héllo"));
}

TEST(order_keywords_symbols) {
    LT(kw("b"), kw("a/a"));     /* no namespace first */
    LT(kw("z"), kw("a/b"));
    LT(kw("a/b"), kw("a/c"));
    LT(kw("a/z"), kw("b/a"));
    LT(kw("a"), kw("ab"));
    LT(kw("ab/c"), kw("b/a"));  /* namespace compared as a string */
    LT(sym("x"), sym("ns/x"));
    EQ(kw("a/b"), kw("a/b"));
    LT(kw("zzz"), sym("a"));    /* different kinds: keyword < symbol */
}

TEST(order_misc_scalars) {
    LT(edn_bool(false), edn_bool(true));
    LT(edn_char('A'), edn_char('a'));
    LT(edn_char(0xFFFF), edn_char(0x10000));
    LT(edn_inst(-1), edn_inst(0));
    uint8_t u1[16] = {0}, u2[16] = {0};
    u1[0] = 0x80; /* negative most-significant half */
    u2[0] = 0x7f;
    LT(edn_uuid(u1), edn_uuid(u2));
    uint8_t u3[16] = {0}, u4[16] = {0};
    u3[8] = 0xff; /* least-significant half negative */
    u4[8] = 0x01;
    LT(edn_uuid(u3), edn_uuid(u4));
    edn_value b1, b2, b3;
    edn_bytes(&A, "\x80", 1, &b1); /* -128 */
    edn_bytes(&A, "\x01", 1, &b2);
    edn_bytes(&A, "\x01\x00", 2, &b3);
    LT(b1, b2);
    LT(b2, b3);
}

TEST(order_collections) {
    edn_value v1, v2, l2, ve;
    edn_value one[1] = {edn_int(9)};
    edn_vector(&A, one, 1, &v1);
    edn_vector(&A, NULL, 0, &ve);
    v2 = vec2(edn_int(1), edn_int(2));
    LT(ve, v1);
    LT(v1, v2); /* shorter first, though 9 > 1 */
    LT(vec2(edn_int(1), edn_int(2)), vec2(edn_int(1), edn_int(3)));
    edn_value it[2] = {edn_int(1), edn_int(2)};
    edn_list(&A, it, 2, &l2);
    EQ(l2, v2); /* list and vector with equal items are equal */
    LT(vec2(edn_nil(), edn_int(5)), vec2(edn_int(0), edn_int(0)));
    /* sets by count, then items */
    edn_value s1, s2, s3;
    edn_value a1[1] = {edn_int(100)}, a2[2] = {edn_int(1), edn_int(2)},
              a3[2] = {edn_int(1), edn_int(3)};
    edn_set(&A, a1, 1, &s1);
    edn_set(&A, a2, 2, &s2);
    edn_set(&A, a3, 2, &s3);
    LT(s1, s2);
    LT(s2, s3);
    /* maps by count, then k v k v */
    edn_value m1, m2, m3;
    edn_value k1[2] = {kw("a"), edn_int(2)}, k2[2] = {kw("a"), edn_int(3)},
              k3[4] = {kw("a"), edn_int(0), kw("b"), edn_int(0)};
    edn_map(&A, k1, 1, &m1);
    edn_map(&A, k2, 1, &m2);
    edn_map(&A, k3, 2, &m3);
    LT(m1, m2);
    LT(m2, m3);
    /* tagged by tag, then value */
    edn_value t1, t2, t3, i1 = edn_int(1), i2 = edn_int(2);
    edn_tagged(&A, edn_intern_full("a", 1), &i2, &t1);
    edn_tagged(&A, edn_intern_full("b", 1), &i1, &t2);
    edn_tagged(&A, edn_intern_full("b", 1), &i2, &t3);
    LT(t1, t2);
    LT(t2, t3);
}

TEST(hash_consistency) {
    EQ(edn_int(42), bigint("42"));
    EQ(bigdec("2.50"), bigdec("2.5"));
    EQ(bigdec("25e-1"), bigdec("0.25e1"));
    EQ(bigint("123456789012345678901234567890"), bigint("0123456789012345678901234567890"));
    EQ(str("x"), str("x"));
    edn_value l, v;
    edn_value it[3] = {edn_int(1), kw("k"), str("s")};
    edn_list(&A, it, 3, &l);
    edn_vector(&A, it, 3, &v);
    EQ(l, v);
    CHECK(edn_hash(&(edn_value){0}) == edn_hash(&(edn_value){0}));
    edn_value a = edn_int(1), b = edn_int(2);
    CHECK(edn_hash(&a) != edn_hash(&b)); /* not required, but a sane hash */
}

TEST(clone_deep) {
    dl_arena b;
    dl_arena_init(&b, 0);
    edn_value inner[2] = {str("deep"), bigint("99999999999999999999")}, vec, m, c;
    edn_vector(&A, inner, 2, &vec);
    edn_value kv[2] = {kw("k"), vec};
    edn_map(&A, kv, 1, &m);
    CHECK_EQ_INT(edn_clone(&b, &m, &c), 0);
    EQ(m, c);
    CHECK(c.u.items != m.u.items);
    CHECK(c.u.items[1].u.items[0].u.s != m.u.items[1].u.items[0].u.s);
    CHECK(c.u.items[0].u.sym == m.u.items[0].u.sym); /* syms shared */
    dl_arena_free(&b);
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(interning_identity);
    RUN(interning_threads);
    RUN(constructors);
    RUN(collections_sorted);
    RUN(map_get_and_set_contains);
    RUN(order_nil_first_and_kind_ranks);
    RUN(order_numbers);
    RUN(order_strings_utf16);
    RUN(order_keywords_symbols);
    RUN(order_misc_scalars);
    RUN(order_collections);
    RUN(hash_consistency);
    RUN(clone_deep);
    dl_arena_free(&A);
    return test_summary();
}
