/*
** test_edn.c — the EDN reader and writer: every literal, escape and
** character name, #inst variants, canonical printing, error positions and
** limits.  Expected values are worked out by hand (see the comments).
*/
#include "test.h"
#include "value/value.h"
#include "util/error.h"

#include <math.h>

static dl_arena A;

static int rd(const char *s, edn_value *v) {
    return edn_read(&A, s, strlen(s), NULL, v);
}

/* Read then print; returns a static buffer (or an error description). */
static const char *rt(const char *s) {
    static char out[4096];
    edn_value v;
    if (rd(s, &v)) {
        snprintf(out, sizeof out, "ERR %s", dl_err_last()->message);
        return out;
    }
    dl_buf b = DL_BUF_INIT;
    if (edn_write(&b, &v)) {
        snprintf(out, sizeof out, "WERR %s", dl_err_last()->message);
    } else {
        snprintf(out, sizeof out, "%s", b.data);
    }
    dl_buf_free(&b);
    return out;
}

static const char *pr(edn_value v) {
    static char out[256];
    dl_buf b = DL_BUF_INIT;
    if (edn_write(&b, &v)) snprintf(out, sizeof out, "WERR");
    else snprintf(out, sizeof out, "%s", b.data);
    dl_buf_free(&b);
    return out;
}

/* Expect a parse failure with code, line, column and a message fragment. */
#define ERR_AT(text, code_, line_, col_, frag)                               \
    do {                                                                     \
        edn_value v_;                                                        \
        CHECK_EQ_INT(rd(text, &v_), code_);                                  \
        CHECK_EQ_INT(dl_err_last()->line, line_);                            \
        CHECK_EQ_INT(dl_err_last()->column, col_);                           \
        CHECK_CONTAINS(dl_err_last()->message, frag);                        \
    } while (0)

TEST(scalars) {
    edn_value v;
    CHECK_EQ_INT(rd("nil", &v), 0); CHECK_EQ_INT(v.type, EDN_NIL);
    CHECK_EQ_INT(rd("true", &v), 0); CHECK(v.type == EDN_BOOL && v.u.b);
    CHECK_EQ_INT(rd(" false ", &v), 0); CHECK(v.type == EDN_BOOL && !v.u.b);
    CHECK_EQ_INT(rd("nilx", &v), 0); CHECK_EQ_INT(v.type, EDN_SYMBOL);
}

TEST(integers) {
    edn_value v;
    CHECK_EQ_INT(rd("42", &v), 0); CHECK(v.type == EDN_INT && v.u.i == 42);
    CHECK_EQ_INT(rd("-0", &v), 0); CHECK(v.type == EDN_INT && v.u.i == 0);
    CHECK_EQ_INT(rd("+7", &v), 0); CHECK(v.type == EDN_INT && v.u.i == 7);
    CHECK_EQ_INT(rd("9223372036854775807", &v), 0);
    CHECK(v.type == EDN_INT && v.u.i == INT64_MAX);
    CHECK_EQ_INT(rd("-9223372036854775808", &v), 0);
    CHECK(v.type == EDN_INT && v.u.i == INT64_MIN);
    CHECK_EQ_INT(rd("9223372036854775808", &v), 0);
    CHECK(v.type == EDN_BIGINT); CHECK_STR(v.u.s, "9223372036854775808");
    CHECK_EQ_INT(rd("-9223372036854775809", &v), 0);
    CHECK(v.type == EDN_BIGINT); CHECK_STR(v.u.s, "-9223372036854775809");
    CHECK_EQ_INT(rd("12N", &v), 0); CHECK(v.type == EDN_BIGINT); CHECK_STR(v.u.s, "12");
    CHECK_EQ_INT(rd("-0N", &v), 0); CHECK_STR(v.u.s, "0");
    CHECK_EQ_INT(rd("0x1F", &v), 0); CHECK(v.type == EDN_INT && v.u.i == 31);
    CHECK_EQ_INT(rd("-0xff", &v), 0); CHECK(v.type == EDN_INT && v.u.i == -255);
    CHECK_EQ_INT(rd("2r101", &v), 0); CHECK(v.type == EDN_INT && v.u.i == 5);
    CHECK_EQ_INT(rd("36rZZ", &v), 0); CHECK(v.type == EDN_INT && v.u.i == 1295);
    CHECK_EQ_INT(rd("017", &v), 0); CHECK(v.type == EDN_INT && v.u.i == 15);
    /* 16^16 = 2^64 = 18446744073709551616 */
    CHECK_EQ_INT(rd("0x10000000000000000", &v), 0);
    CHECK(v.type == EDN_BIGINT); CHECK_STR(v.u.s, "18446744073709551616");
    CHECK_STR(rt("123456789012345678901234567890"), "123456789012345678901234567890N");
    CHECK_STR(rt("5N"), "5N");
    CHECK_STR(rt("-17"), "-17");
    ERR_AT("1/2", DATALITH_EPARSE, 1, 1, "ratios are not supported");
    ERR_AT("[1 08]", DATALITH_EPARSE, 1, 4, "invalid digit '8'");
    ERR_AT("12abc", DATALITH_EPARSE, 1, 1, "invalid number");
    ERR_AT("37r1", DATALITH_EPARSE, 1, 1, "radix out of range");
}

TEST(floats) {
    edn_value v;
    CHECK_EQ_INT(rd("1.5", &v), 0); CHECK(v.type == EDN_FLOAT && v.u.d == 1.5);
    CHECK_EQ_INT(rd("1e3", &v), 0); CHECK(v.type == EDN_FLOAT && v.u.d == 1000.0);
    CHECK_EQ_INT(rd("-2.5E-2", &v), 0); CHECK(v.type == EDN_FLOAT && v.u.d == -0.025);
    CHECK_EQ_INT(rd("1.", &v), 0); CHECK(v.type == EDN_FLOAT && v.u.d == 1.0);
    CHECK_EQ_INT(rd("1.5M", &v), 0); CHECK(v.type == EDN_BIGDEC); CHECK_STR(v.u.s, "1.5");
    CHECK_EQ_INT(rd("2M", &v), 0); CHECK(v.type == EDN_BIGDEC); CHECK_STR(v.u.s, "2");
    CHECK_EQ_INT(rd("##Inf", &v), 0); CHECK(v.type == EDN_FLOAT && isinf(v.u.d) && v.u.d > 0);
    CHECK_EQ_INT(rd("##-Inf", &v), 0); CHECK(isinf(v.u.d) && v.u.d < 0);
    CHECK_EQ_INT(rd("##NaN", &v), 0); CHECK(isnan(v.u.d));
    CHECK_EQ_INT(rd("-0.0", &v), 0); CHECK(v.u.d == 0 && signbit(v.u.d));
    ERR_AT("##Foo", DATALITH_EPARSE, 1, 1, "unknown symbolic value");
    ERR_AT("1.5e", DATALITH_EPARSE, 1, 1, "invalid number");
    ERR_AT("1.5N", DATALITH_EPARSE, 1, 1, "invalid number");
    /* printing: Java Double.toString layout, shortest digits */
    CHECK_STR(pr(edn_float(1.0)), "1.0");
    CHECK_STR(pr(edn_float(0.1)), "0.1");
    CHECK_STR(pr(edn_float(-2.5)), "-2.5");
    CHECK_STR(pr(edn_float(100.0)), "100.0");
    CHECK_STR(pr(edn_float(123.456)), "123.456");
    CHECK_STR(pr(edn_float(1234567.0)), "1234567.0");
    CHECK_STR(pr(edn_float(1e7)), "1.0E7");
    CHECK_STR(pr(edn_float(1e21)), "1.0E21");
    CHECK_STR(pr(edn_float(0.001)), "0.001");
    CHECK_STR(pr(edn_float(0.0001)), "1.0E-4");
    CHECK_STR(pr(edn_float(1.5e-5)), "1.5E-5");
    CHECK_STR(pr(edn_float(12345678.9)), "1.23456789E7");
    CHECK_STR(pr(edn_float(0.1 + 0.2)), "0.30000000000000004");
    CHECK_STR(pr(edn_float(0.0)), "0.0");
    CHECK_STR(pr(edn_float(-0.0)), "-0.0");
    CHECK_STR(pr(edn_float(INFINITY)), "##Inf");
    CHECK_STR(pr(edn_float(-INFINITY)), "##-Inf");
    CHECK_STR(pr(edn_float(NAN)), "##NaN");
    CHECK_STR(rt("1.50M"), "1.50M");
    CHECK_STR(rt("1e-3M"), "1e-3M");
}

TEST(strings_and_escapes) {
    edn_value v;
    CHECK_EQ_INT(rd("\"a\\tb\\nc\\rd\\be\\ff\\\\g\\\"h\\'i\"", &v), 0);
    CHECK_EQ_INT(v.n, 17);
    CHECK(memcmp(v.u.s, "a\tb\nc\rd\be\ff\\g\"h'i", 17) == 0);
    CHECK_EQ_INT(rd("\"\\u00e9\"", &v), 0); CHECK_STR(v.u.s, "\xC3\xA9");
    CHECK_EQ_INT(rd("\"\\uD83D\\uDE00\"", &v), 0); CHECK_STR(v.u.s, "\xF0\x9F\x98\x80");
    CHECK_EQ_INT(rd("\"\\101\\0\"", &v), 0);
    CHECK_EQ_INT(v.n, 2); CHECK(v.u.s[0] == 'A' && v.u.s[1] == 0);
    CHECK_EQ_INT(rd("\"\\377\"", &v), 0); CHECK_STR(v.u.s, "\xC3\xBF"); /* U+00FF */
    CHECK_EQ_INT(rd("\"multi\nline\"", &v), 0); CHECK_STR(v.u.s, "multi\nline");
    CHECK_EQ_INT(rd("\"\xE4\xB8\xAD\"", &v), 0); CHECK_EQ_INT(v.n, 3);
    ERR_AT("\"\\400\"", DATALITH_EPARSE, 1, 2, "range [0, 377]");
    ERR_AT("\"\\8\"", DATALITH_EPARSE, 1, 2, "invalid digit");
    ERR_AT("[1 \"\\q\"]", DATALITH_EPARSE, 1, 5, "unsupported escape character \\q");
    ERR_AT("\"\\u12\"", DATALITH_EPARSE, 1, 2, "4 hex digits");
    ERR_AT("\"\\uD800x\"", DATALITH_EPARSE, 1, 2, "unpaired surrogate");
    ERR_AT("\"\\uDC00\"", DATALITH_EPARSE, 1, 2, "unpaired surrogate");
    ERR_AT("\"abc", DATALITH_EPARSE, 1, 1, "unterminated string");
    ERR_AT("\"a\xff\"", DATALITH_EPARSE, 1, 3, "invalid UTF-8");
    ERR_AT("\"\xED\xA0\x80\"", DATALITH_EPARSE, 1, 2, "invalid UTF-8"); /* raw surrogate */
    ERR_AT("\"\xC0\xAF\"", DATALITH_EPARSE, 1, 2, "invalid UTF-8");     /* overlong '/' */
    /* printing */
    CHECK_STR(rt("\"a\\tb\\nc\\rd\\be\\ff\\\\g\\\"h\\'i\""),
              "\"a\\tb\\nc\\rd\\be\\ff\\\\g\\\"h'i\"");
    CHECK_STR(rt("\"\\u0001\\u007f\\u001F\""), "\"\\u0001\\u007F\\u001F\"");
    CHECK_STR(rt("\"\\u00e9\\u4e2d\""), "\"\xC3\xA9\xE4\xB8\xAD\"");
}

TEST(characters) {
    static const struct { const char *in; uint32_t cp; const char *out; } c[] = {
        {"\\a", 'a', "\\a"},
        {"\\newline", '\n', "\\newline"},
        {"\\space", ' ', "\\space"},
        {"\\tab", '\t', "\\tab"},
        {"\\return", '\r', "\\return"},
        {"\\backspace", '\b', "\\backspace"},
        {"\\formfeed", '\f', "\\formfeed"},
        {"\\u00e9", 0xE9, "\\\xC3\xA9"},
        {"\\u0001", 1, "\\u0001"},
        {"\\o101", 'A', "\\A"},
        {"\\o7", 7, "\\u0007"},
        {"\\\xC3\xA9", 0xE9, "\\\xC3\xA9"},
        {"\\\xF0\x9F\x98\x80", 0x1F600, "\\\xF0\x9F\x98\x80"},
        {"\\(", '(', "\\("},
        {"\\\\", '\\', "\\\\"},
        {"\\u", 'u', "\\u"},
        {"\\o", 'o', "\\o"},
        {"\\\"", '"', "\\\""},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        edn_value v;
        CHECK_EQ_INT(rd(c[i].in, &v), 0);
        CHECK_EQ_INT(v.type, EDN_CHAR);
        CHECK_EQ_INT(v.u.ch, c[i].cp);
        CHECK_STR(pr(v), c[i].out);
    }
    edn_value v;
    CHECK_EQ_INT(rd("[\\a \\b]", &v), 0);
    CHECK_EQ_INT(v.n, 2);
    CHECK_EQ_INT(v.u.items[1].u.ch, 'b');
    CHECK_EQ_INT(rd("(\\))", &v), 0);
    CHECK_EQ_INT(v.n, 1);
    CHECK_EQ_INT(v.u.items[0].u.ch, ')');
    ERR_AT("\\foo", DATALITH_EPARSE, 1, 1, "unsupported character \\foo");
    ERR_AT("\\uD800", DATALITH_EPARSE, 1, 1, "surrogate");
    ERR_AT("\\o400", DATALITH_EPARSE, 1, 1, "range");
    ERR_AT("\\", DATALITH_EPARSE, 1, 1, "end of input");
}

TEST(keywords_and_symbols) {
    edn_value v;
    CHECK_EQ_INT(rd(":a", &v), 0);
    CHECK(v.type == EDN_KEYWORD && v.u.sym == edn_intern(NULL, 0, "a", 1));
    CHECK_EQ_INT(rd(":db/ident", &v), 0);
    CHECK(v.u.sym == edn_intern("db", 2, "ident", 5));
    CHECK_EQ_INT(rd("foo.bar/baz*", &v), 0);
    CHECK(v.type == EDN_SYMBOL && v.u.sym == edn_intern("foo.bar", 7, "baz*", 4));
    CHECK_EQ_INT(rd("/", &v), 0); CHECK(v.type == EDN_SYMBOL); CHECK_STR(v.u.sym->name, "/");
    CHECK_EQ_INT(rd("-", &v), 0); CHECK(v.type == EDN_SYMBOL);
    CHECK_EQ_INT(rd("-a", &v), 0); CHECK(v.type == EDN_SYMBOL);
    CHECK_EQ_INT(rd("+", &v), 0); CHECK(v.type == EDN_SYMBOL);
    CHECK_EQ_INT(rd(":1", &v), 0); CHECK(v.type == EDN_KEYWORD);
    CHECK_EQ_INT(rd("a#b", &v), 0); CHECK(v.type == EDN_SYMBOL);
    CHECK_EQ_INT(rd("\xC3\xA9t\xC3\xA9", &v), 0); CHECK(v.type == EDN_SYMBOL);
    CHECK_STR(rt(":a/b"), ":a/b");
    CHECK_STR(rt("ns/name"), "ns/name");
    ERR_AT("  ::x", DATALITH_EPARSE, 1, 3, "auto-resolved keywords are not supported");
    ERR_AT("a/b/c", DATALITH_EPARSE, 1, 1, "more than one '/'");
    ERR_AT(":a:", DATALITH_EPARSE, 1, 1, "invalid keyword");
    ERR_AT(":", DATALITH_EPARSE, 1, 1, "empty keyword");
    ERR_AT("a/", DATALITH_EPARSE, 1, 1, "invalid symbol");
    ERR_AT("[@x]", DATALITH_EPARSE, 1, 2, "unexpected character '@'");
}

TEST(collections) {
    CHECK_STR(rt("(1 [2] {})"), "(1 [2] {})");
    CHECK_STR(rt("{:b 2, :a 1}"), "{:a 1 :b 2}");
    CHECK_STR(rt("#{3 1 2}"), "#{1 2 3}");
    CHECK_STR(rt("#{}"), "#{}");
    CHECK_STR(rt("[ ]"), "[]");
    CHECK_STR(rt("( )"), "()");
    CHECK_STR(rt("{\"b\" 1 :z 2 nil 3 1 4}"), "{nil 3 :z 2 1 4 \"b\" 1}");
    CHECK_STR(rt("[1,2,,3]"), "[1 2 3]");
    CHECK_STR(rt("#{[1 2] (1 3)}"), "#{[1 2] (1 3)}");
    ERR_AT("{:a 1 :b}", DATALITH_EPARSE, 1, 9, "even number of forms");
    ERR_AT("{:a 1 :a 2}", DATALITH_EPARSE, 1, 1, "duplicate map key: :a");
    ERR_AT("#{1 1N}", DATALITH_EPARSE, 1, 1, "duplicate set element");
    ERR_AT("(1 2", DATALITH_EPARSE, 1, 5, "'(' at line 1, column 1 is not closed");
    ERR_AT("[1 2\n  ]]", DATALITH_EPARSE, 2, 4, "unexpected content");
    ERR_AT("[1 2)", DATALITH_EPARSE, 1, 5, "mismatched ')'");
    ERR_AT(")", DATALITH_EPARSE, 1, 1, "unmatched ')'");
    ERR_AT("\xC3\xA9 ]", DATALITH_EPARSE, 1, 3, "unexpected content"); /* columns count chars */
    ERR_AT("[1\n 2\n   #{3 4 \"x]", DATALITH_EPARSE, 3, 10, "unterminated string");
}

TEST(dispatch_forms) {
    CHECK_STR(rt("[1 #_ 2 3]"), "[1 3]");
    CHECK_STR(rt("#_ 1 2"), "2");
    CHECK_STR(rt("[#_ #_ 1 2 3]"), "[3]");
    CHECK_STR(rt("^:foo [1]"), "[1]");
    CHECK_STR(rt("^{:a 1} x"), "x");
    CHECK_STR(rt("[^\"tag\" y]"), "[y]");
    CHECK_STR(rt("#:person{:name \"a\" :_/id 1 :other/x 2 b 3}"),
              "{:id 1 :other/x 2 :person/name \"a\" person/b 3}");
    CHECK_STR(rt("#my/tag [1 2]"), "#my/tag [1 2]");
    CHECK_STR(rt("#foo #bar 1"), "#foo #bar 1");
    CHECK_STR(rt("; comment\n 1 ; trailing"), "1");
    ERR_AT("[#_]", DATALITH_EPARSE, 1, 4, "missing value after #_");
    ERR_AT("^1 x", DATALITH_EPARSE, 1, 1, "metadata must be");
    ERR_AT("#!x", DATALITH_EPARSE, 1, 1, "unsupported dispatch #!");
    ERR_AT("#::{:a 1}", DATALITH_EPARSE, 1, 1, "auto-resolved namespaced maps");
    ERR_AT("#:a [1]", DATALITH_EPARSE, 1, 5, "followed by '{'");
    CHECK_STR(rt("#:p{/ 1 :/ 2}"), "{:/ 2 / 1}"); /* fuzz finding: no p// */
    ERR_AT("#:3a{b 1}", DATALITH_EPARSE, 1, 3, "invalid namespace"); /* fuzz finding */
    ERR_AT("#", DATALITH_EPARSE, 1, 1, "end of input after '#'");
}

TEST(uuid_and_bytes) {
    edn_value v;
    CHECK_EQ_INT(rd("#uuid \"550E8400-e29b-41d4-a716-446655440000\"", &v), 0);
    CHECK_EQ_INT(v.type, EDN_UUID);
    CHECK_EQ_INT(v.u.uuid[0], 0x55);
    CHECK_EQ_INT(v.u.uuid[1], 0x0E);
    CHECK_EQ_INT(v.u.uuid[15], 0x00);
    CHECK_EQ_INT(v.u.uuid[14], 0x00);
    CHECK_EQ_INT(v.u.uuid[12], 0x55);
    CHECK_STR(pr(v), "#uuid \"550e8400-e29b-41d4-a716-446655440000\"");
    ERR_AT("#uuid \"550e8400e29b-41d4-a716-4466554400000\"", DATALITH_EPARSE, 1, 1, "invalid #uuid");
    ERR_AT("#uuid \"g50e8400-e29b-41d4-a716-446655440000\"", DATALITH_EPARSE, 1, 1, "invalid #uuid");
    ERR_AT("#uuid 12", DATALITH_EPARSE, 1, 1, "expects a string");
    CHECK_EQ_INT(rd("#bytes \"AAEC/w==\"", &v), 0);
    CHECK_EQ_INT(v.type, EDN_BYTES);
    CHECK_EQ_INT(v.n, 4);
    CHECK(memcmp(v.u.s, "\x00\x01\x02\xff", 4) == 0);
    CHECK_STR(pr(v), "#bytes \"AAEC/w==\"");
    CHECK_EQ_INT(rd("#bytes \"QQ\"", &v), 0);
    CHECK(v.n == 1 && v.u.s[0] == 'A');
    CHECK_STR(rt("#bytes \"\""), "#bytes \"\"");
    CHECK_STR(rt("#bytes \"YWI=\""), "#bytes \"YWI=\""); /* "ab" */
    ERR_AT("#bytes \"a*==\"", DATALITH_EPARSE, 1, 1, "invalid base64");
}

TEST(inst) {
    static const struct { const char *in; int64_t ms; } c[] = {
        {"1970-01-01", 0},
        {"1970", 0},
        {"1970-01-02", 86400000},
        {"2000-01-01T00:00:00Z", 946684800000LL},
        {"2000-01-01T00:00:00.123456Z", 946684800123LL},   /* truncated */
        {"2000-01-01T00:00:00.5Z", 946684800500LL},
        {"2000-01-01T01:00:00+01:00", 946684800000LL},
        {"1999-12-31T19:00:00-05:00", 946684800000LL},
        {"1999-12-31T18:30:00.000-05:30", 946684800000LL},
        {"2000-01-01T00:00:00.000-00:00", 946684800000LL},
        {"1969-12-31T23:59:59.999Z", -1},
        {"2024-03-01T12:30:45.5Z", 1709296245500LL},
        {"2000-02-29", 951782400000LL},
        {"2000-01-01T10:20", 946722000000LL},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "#inst \"%s\"", c[i].in);
        edn_value v;
        CHECK_EQ_INT(rd(text, &v), 0);
        CHECK_EQ_INT(v.type, EDN_INST);
        CHECK_EQ_INT(v.u.ms, c[i].ms);
    }
    CHECK_STR(pr(edn_inst(946684800000LL)), "#inst \"2000-01-01T00:00:00.000-00:00\"");
    CHECK_STR(pr(edn_inst(-1)), "#inst \"1969-12-31T23:59:59.999-00:00\"");
    CHECK_STR(pr(edn_inst(1709296245500LL)), "#inst \"2024-03-01T12:30:45.500-00:00\"");
    ERR_AT("#inst \"1900-02-29\"", DATALITH_EPARSE, 1, 1, "day out of range");
    ERR_AT("#inst \"2001-02-29\"", DATALITH_EPARSE, 1, 1, "day out of range");
    ERR_AT("#inst \"2000-13-01\"", DATALITH_EPARSE, 1, 1, "month out of range");
    ERR_AT("#inst \"2000-01-01T24:00:00Z\"", DATALITH_EPARSE, 1, 1, "hour out of range");
    ERR_AT("#inst \"2000-01-01T00:00:00+5\"", DATALITH_EPARSE, 1, 1, "offset");
    ERR_AT("#inst \"2000-01-01 00:00\"", DATALITH_EPARSE, 1, 1, "unexpected characters");
    ERR_AT("[\n #inst \"20\"]", DATALITH_EPARSE, 2, 2, "four-digit year");
}

TEST(limits) {
    edn_codec_opts o = EDN_CODEC_OPTS_INIT;
    o.max_depth = 3;
    edn_value v;
    CHECK_EQ_INT(edn_read(&A, "[[[1]]]", 7, &o, &v), 0);
    CHECK_EQ_INT(edn_read(&A, "[[[[1]]]]", 9, &o, &v), DATALITH_ELIMIT);
    CHECK_CONTAINS(dl_err_last()->message, "nesting deeper than 3");
    CHECK_EQ_INT(dl_err_last()->column, 4);
    o.max_depth = 0;
    o.max_bytes = 4;
    CHECK_EQ_INT(edn_read(&A, "12345", 5, &o, &v), DATALITH_ELIMIT);
    CHECK_EQ_INT(edn_read(&A, "1234", 4, &o, &v), 0);
    /* 100 000 '[' with the default limit: an error, not a stack overflow */
    size_t n = 100000;
    char *deep = malloc(n);
    memset(deep, '[', n);
    CHECK_EQ_INT(edn_read(&A, deep, n, NULL, &v), DATALITH_ELIMIT);
    CHECK_CONTAINS(dl_err_last()->message, "nesting deeper than 512");
    memset(deep, '{', n);
    CHECK_EQ_INT(edn_read(&A, deep, n, NULL, &v), DATALITH_ELIMIT);
    for (size_t i = 0; i < n; i += 2) deep[i] = '#', deep[i + 1] = '_';
    CHECK_EQ_INT(edn_read(&A, deep, n, NULL, &v), DATALITH_ELIMIT);
    free(deep);
    /* the arena limit turns a huge allocation into ELIMIT */
    dl_arena small;
    dl_arena_init(&small, 64 * 1024);
    size_t big = 200000;
    char *s = malloc(big);
    memset(s, 'x', big);
    s[0] = '"';
    s[big - 1] = '"';
    CHECK_EQ_INT(edn_read(&small, s, big, NULL, &v), DATALITH_ELIMIT);
    free(s);
    dl_arena_free(&small);
}

TEST(read_all_and_empty) {
    edn_value v;
    CHECK_EQ_INT(edn_read_all(&A, "1 2 [3] ; end", 13, NULL, &v), 0);
    CHECK_EQ_INT(v.type, EDN_VECTOR);
    CHECK_EQ_INT(v.n, 3);
    CHECK_EQ_INT(v.u.items[2].type, EDN_VECTOR);
    CHECK_EQ_INT(edn_read_all(&A, "", 0, NULL, &v), 0);
    CHECK_EQ_INT(v.n, 0);
    CHECK_EQ_INT(edn_read_all(&A, "1 (", 3, NULL, &v), DATALITH_EPARSE);
    ERR_AT("", DATALITH_EPARSE, 1, 1, "no value");
    ERR_AT("  ; only a comment", DATALITH_EPARSE, 1, 19, "no value");
    ERR_AT("1 2", DATALITH_EPARSE, 1, 3, "unexpected content");
}

TEST(write_scalars) {
    CHECK_STR(pr(edn_nil()), "nil");
    CHECK_STR(pr(edn_bool(true)), "true");
    CHECK_STR(pr(edn_int(INT64_MIN)), "-9223372036854775808");
    CHECK_STR(pr(edn_keyword_str("a/b")), ":a/b");
    CHECK_STR(pr(edn_char(0x85)), "\\u0085");
    CHECK_STR(pr(edn_char(0x4E2D)), "\\\xE4\xB8\xAD");
    CHECK_STR(rt("(a \"x\" \\y :z 1.5 2N 3M nil)"), "(a \"x\" \\y :z 1.5 2N 3M nil)");
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(scalars);
    RUN(integers);
    RUN(floats);
    RUN(strings_and_escapes);
    RUN(characters);
    RUN(keywords_and_symbols);
    RUN(collections);
    RUN(dispatch_forms);
    RUN(uuid_and_bytes);
    RUN(inst);
    RUN(limits);
    RUN(read_all_and_empty);
    RUN(write_scalars);
    dl_arena_free(&A);
    return test_summary();
}
