/*
** test_json.c — the JSON codec: exact text for every value type (worked out
** by hand from the mapping in core/value/json.c and RFC 8259 / RFC 4648),
** reading JSON written by others, round trips, and every error path with
** its message and position.
*/
#include "test.h"
#include "util/error.h"
#include "value/value.h"

#include <math.h>

static dl_arena A;

/* Write v as JSON; returns a static copy of the text ("<error>" on failure). */
static const char *jw(edn_value v) {
    static char out[4096];
    dl_buf b = DL_BUF_INIT;
    if (json_write(&b, &v) != 0) {
        dl_buf_free(&b);
        return "<error>";
    }
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data ? b.data : "");
    dl_buf_free(&b);
    return out;
}

static int jr(const char *text, edn_value *out) {
    return json_read(&A, text, strlen(text), NULL, out);
}

static edn_value str(const char *s) {
    edn_value v;
    edn_string(&A, s, strlen(s), &v);
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

/* Reads `text`, expects success and a value equal to `want`. */
static int reads_as(const char *text, edn_value want) {
    edn_value v;
    int rc = jr(text, &v);
    if (rc) {
        fprintf(stderr, "  read of %s failed: %s\n", text,
                dl_err_last()->message);
        return 0;
    }
    return edn_equal(&v, &want) && v.type == want.type;
}

/* Writes v, reads it back, checks type and equality. */
static int round_trips(edn_value v) {
    dl_buf b = DL_BUF_INIT;
    edn_value back;
    int ok = json_write(&b, &v) == 0 &&
             json_read(&A, b.data, b.len, NULL, &back) == 0 &&
             back.type == v.type && edn_equal(&back, &v);
    if (!ok)
        fprintf(stderr, "  round trip failed for %.*s: %s\n", (int)b.len,
                b.data ? b.data : "", dl_err_last()->message);
    dl_buf_free(&b);
    return ok;
}

TEST(write_scalars) {
    CHECK_STR(jw(edn_nil()), "null");
    CHECK_STR(jw(edn_bool(true)), "true");
    CHECK_STR(jw(edn_bool(false)), "false");
    CHECK_STR(jw(edn_int(0)), "0");
    CHECK_STR(jw(edn_int(-42)), "-42");
    CHECK_STR(jw(edn_int(INT64_MAX)), "9223372036854775807");
    CHECK_STR(jw(edn_int(INT64_MIN)), "-9223372036854775808");
}

TEST(write_doubles) {
    CHECK_STR(jw(edn_float(1.5)), "1.5");
    CHECK_STR(jw(edn_float(1.0)), "1.0");
    CHECK_STR(jw(edn_float(-2.0)), "-2.0");
    CHECK_STR(jw(edn_float(100.0)), "100.0");
    CHECK_STR(jw(edn_float(0.1)), "0.1");
    CHECK_STR(jw(edn_float(0.0)), "0.0");
    CHECK_STR(jw(edn_float(-0.0)), "-0.0");
    CHECK_STR(jw(edn_float(123456.789)), "123456.789");
    CHECK_STR(jw(edn_float(0.00001)), "0.00001");
    CHECK_STR(jw(edn_float(1e-6)), "1e-6");
    CHECK_STR(jw(edn_float(1.5e-7)), "1.5e-7");
    CHECK_STR(jw(edn_float(1e16)), "10000000000000000.0");
    CHECK_STR(jw(edn_float(1e17)), "1e17");
    CHECK_STR(jw(edn_float(1e300)), "1e300");
    CHECK_STR(jw(edn_float(-2.5e-300)), "-2.5e-300");
    CHECK_STR(jw(edn_float(0.30000000000000004)), "0.30000000000000004");
    CHECK_STR(jw(edn_float(5e-324)), "5e-324");
    CHECK_STR(jw(edn_float(1.7976931348623157e308)),
              "1.7976931348623157e308");
    CHECK_STR(jw(edn_float(INFINITY)), "[\"!double\",\"Infinity\"]");
    CHECK_STR(jw(edn_float(-INFINITY)), "[\"!double\",\"-Infinity\"]");
    CHECK_STR(jw(edn_float(NAN)), "[\"!double\",\"NaN\"]");
}

TEST(write_strings) {
    CHECK_STR(jw(str("")), "\"\"");
    CHECK_STR(jw(str("hi")), "\"hi\"");
    CHECK_STR(jw(str("a\"b\\c")), "\"a\\\"b\\\\c\"");
    CHECK_STR(jw(str("\n\r\t\b\f")), "\"\\n\\r\\t\\b\\f\"");
    CHECK_STR(jw(str("\x01\x1f")), "\"\\u0001\\u001f\"");
    CHECK_STR(jw(str("/")), "\"/\"");
    CHECK_STR(jw(str("caf\xc3\xa9 \xf0\x9f\x98\x80")),
              "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    edn_value nul;
    edn_string(&A, "a\0b", 3, &nul);
    CHECK_STR(jw(nul), "\"a\\u0000b\"");
}

TEST(write_tagged_scalars) {
    CHECK_STR(jw(kw("db/ident")), "[\"!kw\",\"db/ident\"]");
    CHECK_STR(jw(kw("name")), "[\"!kw\",\"name\"]");
    CHECK_STR(jw(sym("?e")), "[\"!sym\",\"?e\"]");
    CHECK_STR(jw(sym("clojure.core/inc")), "[\"!sym\",\"clojure.core/inc\"]");
    uint8_t u[16] = {0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4,
                     0xa7, 0x16, 0x44, 0x66, 0x55, 0x44, 0x00, 0x00};
    CHECK_STR(jw(edn_uuid(u)),
              "[\"!uuid\",\"550e8400-e29b-41d4-a716-446655440000\"]");
    CHECK_STR(jw(edn_inst(1700000000123LL)), "[\"!date\",\"1700000000123\"]");
    CHECK_STR(jw(edn_inst(-1)), "[\"!date\",\"-1\"]");
    edn_value bi, bd;
    edn_bigint(&A, "123456789012345678901234567890", 30, &bi);
    CHECK_STR(jw(bi), "[\"!bigint\",\"123456789012345678901234567890\"]");
    edn_bigdec(&A, "1.50", 4, &bd);
    CHECK_STR(jw(bd), "[\"!bigdec\",\"1.50\"]");
    CHECK_STR(jw(edn_char('x')), "[\"!char\",\"x\"]");
    CHECK_STR(jw(edn_char(0xE9)), "[\"!char\",\"\xc3\xa9\"]");
    CHECK_STR(jw(edn_char('"')), "[\"!char\",\"\\\"\"]");
}

TEST(write_bytes_base64) {
    /* RFC 4648 §10 test vectors. */
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *want[] = {
        "[\"!bytes\",\"\"]",         "[\"!bytes\",\"Zg==\"]",
        "[\"!bytes\",\"Zm8=\"]",     "[\"!bytes\",\"Zm9v\"]",
        "[\"!bytes\",\"Zm9vYg==\"]", "[\"!bytes\",\"Zm9vYmE=\"]",
        "[\"!bytes\",\"Zm9vYmFy\"]"};
    for (int i = 0; i < 7; i++) {
        edn_value v;
        edn_bytes(&A, in[i], strlen(in[i]), &v);
        CHECK_STR(jw(v), want[i]);
        CHECK(reads_as(want[i], v));
    }
    edn_value hi;
    edn_bytes(&A, "\xff\xfe\x00", 3, &hi);
    CHECK_STR(jw(hi), "[\"!bytes\",\"//4A\"]");
}

TEST(write_collections) {
    edn_value it[4], v;
    it[0] = edn_int(1), it[1] = edn_int(2);
    edn_vector(&A, it, 0, &v);
    CHECK_STR(jw(v), "[]");
    edn_vector(&A, it, 2, &v);
    CHECK_STR(jw(v), "[1,2]");
    edn_list(&A, it, 2, &v);
    CHECK_STR(jw(v), "[\"!list\",[1,2]]");
    edn_list(&A, it, 0, &v);
    CHECK_STR(jw(v), "[\"!list\",[]]");
    it[0] = edn_int(2), it[1] = edn_int(1);
    edn_set(&A, it, 2, &v); /* sorted on construction */
    CHECK_STR(jw(v), "[\"!set\",[1,2]]");
    /* A vector whose first element looks like a tag is escaped. */
    it[0] = str("!kw"), it[1] = str("x");
    edn_vector(&A, it, 2, &v);
    CHECK_STR(jw(v), "[\"!vector\",[\"!kw\",\"x\"]]");
    CHECK(reads_as("[\"!vector\",[\"!kw\",\"x\"]]", v));
    it[0] = str("x"), it[1] = str("!kw");
    edn_vector(&A, it, 2, &v);
    CHECK_STR(jw(v), "[\"x\",\"!kw\"]");
    it[0] = str("");
    edn_vector(&A, it, 1, &v);
    CHECK_STR(jw(v), "[\"\"]");
}

TEST(write_maps) {
    edn_value kv[4] = {{0}}, m;
    edn_map(&A, kv, 0, &m);
    CHECK_STR(jw(m), "{}");
    kv[0] = kw("b/c"), kv[1] = str("x"), kv[2] = kw("a"), kv[3] = edn_int(1);
    edn_map(&A, kv, 2, &m);
    /* :a (no namespace) sorts before :b/c. */
    CHECK_STR(jw(m), "{\"a\":1,\"b/c\":\"x\"}");
    kv[0] = edn_int(1), kv[1] = edn_int(2);
    edn_map(&A, kv, 1, &m);
    CHECK_STR(jw(m), "[\"!map\",[1,2]]");
    /* Mixed keys: keyword sorts before string (kind rank). */
    kv[0] = str("s"), kv[1] = edn_int(2), kv[2] = kw("a"), kv[3] = edn_int(1);
    edn_map(&A, kv, 2, &m);
    CHECK_STR(jw(m), "[\"!map\",[[\"!kw\",\"a\"],1,\"s\",2]]");
}

TEST(write_tagged) {
    edn_value v, t;
    const edn_sym *tag = edn_intern_full("datahike/Datom", 14);
    v = vec2(edn_int(1), kw("name"));
    edn_tagged(&A, tag, &v, &t);
    CHECK_STR(jw(t), "[\"!tag\",\"datahike/Datom\",[1,[\"!kw\",\"name\"]]]");
    CHECK(reads_as("[\"!tag\",\"datahike/Datom\",[1,[\"!kw\",\"name\"]]]", t));
}

TEST(read_plain_json) {
    edn_value v;
    CHECK(reads_as("null", edn_nil()));
    CHECK(reads_as(" true ", edn_bool(true)));
    CHECK(reads_as("\tfalse\r\n", edn_bool(false)));
    CHECK(reads_as("0", edn_int(0)));
    CHECK(reads_as("-0", edn_int(0)));
    CHECK(reads_as("-9223372036854775808", edn_int(INT64_MIN)));
    CHECK(reads_as("9223372036854775807", edn_int(INT64_MAX)));
    CHECK(reads_as("2.5", edn_float(2.5)));
    CHECK(reads_as("1E2", edn_float(100.0)));
    CHECK(reads_as("-3e-2", edn_float(-0.03)));
    CHECK(reads_as("1.0", edn_float(1.0)));
    CHECK(reads_as("\"caf\\u00e9\"", str("caf\xc3\xa9")));
    CHECK(reads_as("\"\\ud83d\\ude00\"", str("\xf0\x9f\x98\x80")));
    CHECK(reads_as("\"\\/\\\"\\\\\\b\\f\\n\\r\\t\"", str("/\"\\\b\f\n\r\t")));
    CHECK(reads_as("\"\xef\xbb\xbf\"", str("\xef\xbb\xbf")));
    CHECK(reads_as("\xef\xbb\xbf 1", edn_int(1)));
    /* Beyond int64: bigint, keeping its digits. */
    CHECK_EQ_INT(jr("9223372036854775808", &v), 0);
    CHECK_EQ_INT(v.type, EDN_BIGINT);
    CHECK_STR(v.u.s, "9223372036854775808");
    CHECK_EQ_INT(jr("-123456789012345678901234567890", &v), 0);
    CHECK_EQ_INT(v.type, EDN_BIGINT);
    CHECK_STR(v.u.s, "-123456789012345678901234567890");
    /* Objects: keys keywordized. */
    CHECK_EQ_INT(jr("{\"a\" : [1, 2.5, true, null], \"db/id\": 7}", &v), 0);
    CHECK_EQ_INT(v.type, EDN_MAP);
    CHECK_EQ_INT(v.n, 2);
    const edn_value *a = edn_map_getk(&v, "a");
    CHECK(a && a->type == EDN_VECTOR && a->n == 4);
    const edn_value *id = edn_map_getk(&v, "db/id");
    CHECK(id && id->type == EDN_INT && id->u.i == 7);
}

TEST(read_tags) {
    edn_value v, it[2];
    CHECK(reads_as("[\"!kw\",\"db/ident\"]", kw("db/ident")));
    CHECK(reads_as("[ \"!sym\" , \"?e\" ]", sym("?e")));
    CHECK(reads_as("[\"!date\",\"1700000000123\"]", edn_inst(1700000000123LL)));
    CHECK(reads_as("[\"!date\",1700000000123]", edn_inst(1700000000123LL)));
    CHECK(reads_as("[\"!date\",\"-5\"]", edn_inst(-5)));
    uint8_t u[16] = {0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4,
                     0xa7, 0x16, 0x44, 0x66, 0x55, 0x44, 0x00, 0x00};
    CHECK(reads_as("[\"!uuid\",\"550E8400-E29B-41D4-A716-446655440000\"]",
                   edn_uuid(u)));
    CHECK(reads_as("[\"!char\",\"\\u00e9\"]", edn_char(0xE9)));
    CHECK(reads_as("[\"!double\",\"-Infinity\"]", edn_float(-INFINITY)));
    CHECK_EQ_INT(jr("[\"!double\",\"NaN\"]", &v), 0);
    CHECK(v.type == EDN_FLOAT && isnan(v.u.d));
    /* Payloads of !set/!list/!vector/!map are raw arrays. */
    it[0] = str("!x");
    edn_set(&A, it, 1, &v);
    CHECK(reads_as("[\"!set\",[\"!x\"]]", v));
    it[0] = edn_int(1), it[1] = kw("a");
    edn_list(&A, it, 2, &v);
    CHECK(reads_as("[\"!list\",[1,[\"!kw\",\"a\"]]]", v));
    it[0] = edn_int(1), it[1] = edn_int(2);
    edn_map(&A, it, 1, &v);
    CHECK(reads_as("[\"!map\",[1,2]]", v));
    edn_bigint(&A, "42", 2, &v);
    CHECK(reads_as("[\"!bigint\",\"42\"]", v));
    edn_bigdec(&A, "3.14", 4, &v);
    CHECK(reads_as("[\"!bigdec\",\"3.14\"]", v));
    /* Datahike's own tags become tagged values. */
    CHECK_EQ_INT(jr("[\"!datahike/Datom\",[1,[\"!kw\",\"name\"],\"x\","
                    "536870913,true]]", &v), 0);
    CHECK_EQ_INT(v.type, EDN_TAGGED);
    CHECK_STR(v.u.tagged.tag->full, "datahike/Datom");
    CHECK(v.u.tagged.val->type == EDN_VECTOR && v.u.tagged.val->n == 5);
    /* A tag string with escapes still dispatches. */
    CHECK(reads_as("[\"\\u0021kw\",\"a\"]", kw("a")));
    /* Empty names: an object key "" keywordizes, so "!kw" "" reads too. */
    CHECK(reads_as("[\"!kw\",\"\"]", kw("")));
    CHECK_EQ_INT(jr("{\"\":1}", &v), 0);
    CHECK(v.type == EDN_MAP && edn_map_getk(&v, "") != NULL);
}

TEST(round_trip_all_types) {
    edn_value v, it[3];
    uint8_t u[16];
    for (int i = 0; i < 16; i++) u[i] = (uint8_t)(i * 17);
    CHECK(round_trips(edn_nil()));
    CHECK(round_trips(edn_bool(true)));
    CHECK(round_trips(edn_int(INT64_MIN)));
    CHECK(round_trips(edn_float(0.1)));
    CHECK(round_trips(edn_float(-0.0)));
    CHECK(round_trips(edn_float(4.9406564584124654e-324)));
    CHECK(round_trips(edn_float(2.2250738585072014e-308)));
    CHECK(round_trips(edn_float(INFINITY)));
    CHECK(round_trips(str("tab\there \xe2\x82\xac")));
    CHECK(round_trips(edn_char(0x1F600)));
    CHECK(round_trips(edn_char('\n')));
    CHECK(round_trips(kw("a/b")));
    CHECK(round_trips(sym("x")));
    CHECK(round_trips(edn_uuid(u)));
    CHECK(round_trips(edn_inst(INT64_MIN)));
    edn_bigint(&A, "5", 1, &v);
    CHECK(round_trips(v));
    edn_bigdec(&A, "-0.001", 6, &v);
    CHECK(round_trips(v));
    edn_bytes(&A, u, 16, &v);
    CHECK(round_trips(v));
    it[0] = str("!"), it[1] = edn_nil(), it[2] = edn_int(3);
    edn_vector(&A, it, 3, &v);
    CHECK(round_trips(v));
    edn_list(&A, it, 3, &v);
    CHECK(round_trips(v));
    edn_set(&A, it, 3, &v);
    CHECK(round_trips(v));
    it[0] = kw("k"), it[1] = v;
    edn_map(&A, it, 1, &v);
    CHECK(round_trips(v));
    const edn_sym *t = edn_intern_full("my/tag", 6);
    edn_tagged(&A, t, &v, &it[0]);
    CHECK(round_trips(it[0]));
}

/* Expect a parse error with `msg` in the message at line/column. */
static void expect_err(const char *text, int code, const char *msg, long line,
                       long col, long off) {
    edn_value v;
    int rc = json_read(&A, text, strlen(text), NULL, &v);
    const datalith_error *e = dl_err_last();
    CHECK_EQ_INT(rc, code);
    CHECK_EQ_INT(e->code, code);
    CHECK_CONTAINS(e->message, msg);
    if (line >= 0) {
        CHECK_EQ_INT(e->line, line);
        CHECK_EQ_INT(e->column, col);
        CHECK_EQ_INT(e->offset, off);
    }
}

TEST(errors_syntax) {
    const int P = DATALITH_EPARSE;
    expect_err("", P, "unexpected end of input", 1, 1, 0);
    expect_err("   ", P, "unexpected end of input", 1, 4, 3);
    expect_err("{\"a\" 1}", P, "expected ':' after object key", 1, 6, 5);
    expect_err("{\"a\":1,}", P, "expected a string key in object", 1, 8, 7);
    expect_err("{\"a\":1", P, "unexpected end of input in object", 1, 7, 6);
    expect_err("{\"a\":1 \"b\":2}", P, "expected ',' or '}' in object", 1, 8,
               7);
    expect_err("\"abc", P, "unterminated string", 1, 1, 0);
    expect_err("[1, \"a\\\"", P, "unterminated string", 1, 5, 4);
    expect_err("\"\\u12G4\"", P, "invalid \\u escape", 1, 2, 1);
    expect_err("\"\\u12\"", P, "invalid \\u escape", 1, 2, 1);
    expect_err("\"\\ud800\"", P, "lone high surrogate \\uD800", 1, 2, 1);
    expect_err("\"\\ud800\\u0041\"", P, "lone high surrogate", 1, 2, 1);
    expect_err("\"x\\udc00\"", P, "lone low surrogate \\uDC00", 1, 3, 2);
    expect_err("\"\\x\"", P, "invalid escape '\\x'", 1, 2, 1);
    expect_err("\"a\x01\"", P, "control character U+0001", 1, 3, 2);
    expect_err("\"a\xff\"", P, "invalid UTF-8", 1, 3, 2);
    expect_err("\"\xed\xa0\x80\"", P, "invalid UTF-8", 1, 2, 1);
    expect_err("\"\xc0\xaf\"", P, "invalid UTF-8", 1, 2, 1);
    expect_err("[1,2] x", P, "trailing characters", 1, 7, 6);
    expect_err("1 2", P, "trailing characters", 1, 3, 2);
    expect_err("[1,\n 2,\n x]", P, "unexpected character 'x'", 3, 2, 9);
    expect_err("[\"\xc3\xa9\", ?]", P, "unexpected character '?'", 1, 7, 7);
    expect_err("[1 2]", P, "expected ',' or ']' in array", 1, 4, 3);
    expect_err("[1,", P, "unexpected end of input", 1, 4, 3);
    expect_err("[1,]", P, "unexpected character ']'", 1, 4, 3);
    expect_err("01", P, "leading zero", 1, 1, 0);
    expect_err("1.", P, "expected a digit after '.'", 1, 3, 2);
    expect_err("1e+", P, "expected a digit in the exponent", 1, 4, 3);
    expect_err("-", P, "expected a digit", 1, 1, 0);
    expect_err("+1", P, "unexpected character '+'", 1, 1, 0);
    expect_err(".5", P, "unexpected character '.'", 1, 1, 0);
    expect_err("tru", P, "invalid literal (expected true)", 1, 1, 0);
    expect_err("nul", P, "expected null", 1, 1, 0);
    expect_err("NaN", P, "unexpected character 'N'", 1, 1, 0);
    expect_err("\x80", P, "unexpected byte 0x80", 1, 1, 0);
}

TEST(keyword_names) {
    const int P = DATALITH_EPARSE;
    edn_value m, kv[2];
    /* ":name" keys name the same keyword as "name" */
    kv[0] = kw("ge");
    kv[1] = edn_int(1);
    CHECK_EQ_INT(edn_map(&A, kv, 1, &m), 0);
    CHECK(reads_as("{\":ge\":1}", m));
    /* names that would print as ::x or :a/:b are refused */
    expect_err("{\"::x\":1}", P, "invalid keyword name \":x\" in object key", 1, 2, 1);
    expect_err("[\"!kw\",\":x\"]", P, "invalid keyword name", 1, 1, 0);
    expect_err("[\"!sym\",\"a/:b\"]", P, "invalid symbol name", 1, 1, 0);
}

TEST(errors_tags) {
    const int P = DATALITH_EPARSE;
    expect_err("[\"!kw\",1]", P, "[\"!kw\", …] expects a string", 1, 8, 7);
    expect_err("[\"!kw\"]", P, "expected ',' after tag", 1, 7, 6);
    expect_err("[\"!kw\",\"a\",\"b\"]", P, "expected ']' to close [\"!kw\"", 1,
               11, 10);
    expect_err("[\"!set\",[1,1]]", P, "", 1, 1, 0);
    expect_err("[\"!set\",1]", P, "[\"!set\", …] expects an array", 1, 9, 8);
    expect_err("[\"!map\",[1]]", P, "even number of keys and values, got 1",
               1, 1, 0);
    expect_err("[\"!map\",[1,2,1,3]]", P, "", 1, 1, 0);
    expect_err("{\"a\":1,\"a\":2}", P, "", 1, 1, 0);
    expect_err("[\"!uuid\",\"xyz\"]", P, "invalid UUID", 1, 1, 0);
    expect_err("[\"!uuid\",\"550e8400+e29b-41d4-a716-446655440000\"]", P,
               "invalid UUID", 1, 1, 0);
    expect_err("[\"!date\",\"12a\"]", P, "epoch milliseconds", 1, 1, 0);
    expect_err("[\"!date\",\"99999999999999999999\"]", P, "epoch milliseconds",
               1, 1, 0);
    expect_err("[\"!bytes\",\"Zg=\"]", P, "not a multiple of 4", 1, 1, 0);
    expect_err("[\"!bytes\",\"Z===\"]", P, "invalid base64", 1, 1, 0);
    expect_err("[\"!bytes\",\"Zg==Zg==\"]", P, "invalid base64", 1, 1, 0);
    expect_err("[\"!bytes\",\"Zm9*\"]", P, "at character 3", 1, 1, 0);
    expect_err("[\"!double\",\"inf\"]", P, "\"Infinity\", \"-Infinity\" or "
                                          "\"NaN\"", 1, 1, 0);
    expect_err("[\"!char\",\"ab\"]", P, "exactly one character", 1, 1, 0);
    expect_err("[\"!char\",\"\"]", P, "exactly one character", 1, 1, 0);
    expect_err("[\"!bigint\",\"12x\"]", P, "", 1, 1, 0);
    expect_err("[\"!foo\",1,2]", P, "takes exactly one value", 1, 1, 0);
    expect_err("[\"!foo\"]", P, "expected ',' after tag", 1, 8, 7);
    expect_err("[\"!\",1]", P, "empty tag", 1, 1, 0);
    expect_err("[\"!tag\",\"\",1]", P, "empty tag", 1, 1, 0);
    expect_err("[\"!tag\",\"a\"]", P, "expected ',' after the tag name", 1,
               12, 11);
}

TEST(limits) {
    edn_value v;
    edn_codec_opts o = EDN_CODEC_OPTS_INIT;
    size_t n = 100000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    CHECK_EQ_INT(json_read(&A, deep, 2 * n, NULL, &v), DATALITH_ELIMIT);
    CHECK_CONTAINS(dl_err_last()->message, "nested deeper than 512 levels");
    /* Even a huge requested limit is capped, never a stack overflow. */
    o.max_depth = 1000000;
    CHECK_EQ_INT(json_read(&A, deep, 2 * n, &o, &v), DATALITH_ELIMIT);
    for (size_t i = 0; i + 5 <= n; i += 5) memcpy(deep + i, "{\"a\":", 5);
    CHECK_EQ_INT(json_read(&A, deep, n, NULL, &v), DATALITH_ELIMIT);
    /* Exactly 512 levels is fine, 513 is not. */
    memset(deep, '[', n);
    CHECK_EQ_INT(json_read(&A, deep + n - 512, 1024, NULL, &v), 0);
    CHECK_EQ_INT(json_read(&A, deep + n - 513, 1026, NULL, &v),
                 DATALITH_ELIMIT);
    free(deep);
    o.max_depth = 2;
    CHECK_EQ_INT(json_read(&A, "[[1]]", 5, &o, &v), 0);
    CHECK_EQ_INT(json_read(&A, "[[[1]]]", 7, &o, &v), DATALITH_ELIMIT);
    CHECK_EQ_INT(json_read(&A, "{\"a\":{\"b\":{}}}", 14, &o, &v),
                 DATALITH_ELIMIT);
    o.max_depth = 0;
    o.max_bytes = 4;
    CHECK_EQ_INT(json_read(&A, "[1,2]", 5, &o, &v), DATALITH_ELIMIT);
    CHECK_CONTAINS(dl_err_last()->message, "exceeds the limit of 4 bytes");
    CHECK_EQ_INT(json_read(&A, "[12]", 4, &o, &v), 0);
}

TEST(writer_errors) {
    dl_buf b = DL_BUF_INIT;
    edn_value bad, v;
    edn_string(&A, "ok\xff", 3, &bad);
    dl_buf_puts(&b, "prefix");
    CHECK_EQ_INT(json_write(&b, &bad), DATALITH_EINVAL);
    CHECK_CONTAINS(dl_err_last()->message, "not valid UTF-8");
    CHECK_EQ_INT(b.len, 6); /* the buffer is left as it was */
    v = vec2(edn_int(1), bad);
    CHECK_EQ_INT(json_write(&b, &v), DATALITH_EINVAL);
    CHECK_EQ_INT(b.len, 6);
    CHECK_EQ_INT(json_write(&b, &(edn_value){.type = EDN_CHAR, .u.ch = 0xD800}),
                 DATALITH_EINVAL);
    dl_buf_free(&b);
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(write_scalars);
    RUN(write_doubles);
    RUN(write_strings);
    RUN(write_tagged_scalars);
    RUN(write_bytes_base64);
    RUN(write_collections);
    RUN(write_maps);
    RUN(write_tagged);
    RUN(read_plain_json);
    RUN(read_tags);
    RUN(round_trip_all_types);
    RUN(errors_syntax);
    RUN(errors_tags);
    RUN(keyword_names);
    RUN(limits);
    RUN(writer_errors);
    dl_arena_free(&A);
    return test_summary();
}
