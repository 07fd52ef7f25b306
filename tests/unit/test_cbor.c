/*
** test_cbor.c — the CBOR codec: exact bytes for small values (RFC 8949
** Appendix A examples where they apply, the tag choices documented in
** core/value/cbor.c otherwise), decoding of forms our writer never emits
** (half/single floats, indefinite lengths), round trips, and every error
** path with its message and byte offset.
*/
#include "test.h"
#include "util/error.h"
#include "value/value.h"

#include <math.h>

static dl_arena A;

/* Hex (lower case, no spaces) of cbor_write(v); "<error>" on failure. */
static const char *cw(edn_value v) {
    static char out[4096];
    dl_buf b = DL_BUF_INIT;
    if (cbor_write(&b, &v) != 0) {
        dl_buf_free(&b);
        return "<error>";
    }
    for (size_t i = 0; i < b.len && 2 * i + 2 < sizeof out; i++)
        snprintf(out + 2 * i, 3, "%02x", (unsigned char)b.data[i]);
    out[2 * (b.len < sizeof out / 2 ? b.len : 0)] = 0;
    dl_buf_free(&b);
    return out;
}

static size_t unhex(const char *h, uint8_t *out) {
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned x;
        sscanf(h, "%2x", &x);
        out[n++] = (uint8_t)x;
    }
    return n;
}

static int cr(const char *hex, edn_value *out) {
    static uint8_t buf[65536];
    size_t n = unhex(hex, buf);
    return cbor_read(&A, buf, n, NULL, out);
}

static edn_value str(const char *s) {
    edn_value v;
    edn_string(&A, s, strlen(s), &v);
    return v;
}

static edn_value big(const char *s) {
    edn_value v;
    edn_bigint(&A, s, strlen(s), &v);
    return v;
}

static edn_value dec(const char *s) {
    edn_value v;
    edn_bigdec(&A, s, strlen(s), &v);
    return v;
}

static int reads_as(const char *hex, edn_value want) {
    edn_value v;
    int rc = cr(hex, &v);
    if (rc) {
        fprintf(stderr, "  read of %s failed: %s\n", hex,
                dl_err_last()->message);
        return 0;
    }
    if (v.type != want.type || !edn_equal(&v, &want)) {
        fprintf(stderr, "  read of %s: wrong value (type %d)\n", hex, v.type);
        return 0;
    }
    return 1;
}

/* Both directions: v writes as hex, and hex reads back as v. */
static int both(edn_value v, const char *hex) {
    const char *got = cw(v);
    if (strcmp(got, hex) != 0) {
        fprintf(stderr, "  wrote %s, expected %s\n", got, hex);
        return 0;
    }
    return reads_as(hex, v);
}

TEST(rfc8949_integers) {
    CHECK(both(edn_int(0), "00"));
    CHECK(both(edn_int(1), "01"));
    CHECK(both(edn_int(10), "0a"));
    CHECK(both(edn_int(23), "17"));
    CHECK(both(edn_int(24), "1818"));
    CHECK(both(edn_int(25), "1819"));
    CHECK(both(edn_int(100), "1864"));
    CHECK(both(edn_int(1000), "1903e8"));
    CHECK(both(edn_int(1000000), "1a000f4240"));
    CHECK(both(edn_int(1000000000000LL), "1b000000e8d4a51000"));
    CHECK(both(edn_int(-1), "20"));
    CHECK(both(edn_int(-10), "29"));
    CHECK(both(edn_int(-100), "3863"));
    CHECK(both(edn_int(-1000), "3903e7"));
    CHECK(both(edn_int(INT64_MAX), "1b7fffffffffffffff"));
    CHECK(both(edn_int(INT64_MIN), "3b7fffffffffffffff"));
    /* Beyond int64 in major 0/1: bigint. */
    CHECK(reads_as("1bffffffffffffffff", big("18446744073709551615")));
    CHECK(reads_as("3bffffffffffffffff", big("-18446744073709551616")));
    CHECK(reads_as("1b8000000000000000", big("9223372036854775808")));
    /* Non-shortest heads are accepted. */
    CHECK(reads_as("1800", edn_int(0)));
    CHECK(reads_as("1b0000000000000001", edn_int(1)));
}

TEST(rfc8949_bignums) {
    CHECK(both(big("18446744073709551616"), "c249010000000000000000"));
    CHECK(both(big("-18446744073709551617"), "c349010000000000000000"));
    /* Our bigints always use the tag, so the type survives. */
    CHECK(both(big("1"), "c24101"));
    CHECK(both(big("0"), "c240"));
    CHECK(both(big("-1"), "c340"));
    CHECK(both(big("-2"), "c34101"));
    CHECK(both(big("256"), "c2420100"));
    /* Leading zero bytes in a bignum are accepted. */
    CHECK(reads_as("c243000001", big("1")));
}

TEST(rfc8949_floats) {
    CHECK(both(edn_float(1.1), "fb3ff199999999999a"));
    CHECK(both(edn_float(1.0e300), "fb7e37e43c8800759c"));
    CHECK(both(edn_float(-4.1), "fbc010666666666666"));
    CHECK(both(edn_float(0.0), "fb0000000000000000"));
    CHECK(both(edn_float(-0.0), "fb8000000000000000"));
    CHECK(both(edn_float(INFINITY), "fb7ff0000000000000"));
    CHECK(both(edn_float(-INFINITY), "fbfff0000000000000"));
    /* Half and single precision (Appendix A), read only. */
    CHECK(reads_as("f90000", edn_float(0.0)));
    CHECK(reads_as("f98000", edn_float(-0.0)));
    CHECK(reads_as("f93c00", edn_float(1.0)));
    CHECK(reads_as("f93e00", edn_float(1.5)));
    CHECK(reads_as("f97bff", edn_float(65504.0)));
    CHECK(reads_as("f90001", edn_float(5.960464477539063e-8)));
    CHECK(reads_as("f90400", edn_float(0.00006103515625)));
    CHECK(reads_as("f9c400", edn_float(-4.0)));
    CHECK(reads_as("f97c00", edn_float(INFINITY)));
    CHECK(reads_as("f9fc00", edn_float(-INFINITY)));
    CHECK(reads_as("fa47c35000", edn_float(100000.0)));
    CHECK(reads_as("fa7f7fffff", edn_float(3.4028234663852886e+38)));
    CHECK(reads_as("faff800000", edn_float(-INFINITY)));
    edn_value v;
    CHECK_EQ_INT(cr("f97e00", &v), 0);
    CHECK(v.type == EDN_FLOAT && isnan(v.u.d));
    CHECK_EQ_INT(cr("fa7fc00000", &v), 0);
    CHECK(v.type == EDN_FLOAT && isnan(v.u.d));
    CHECK_EQ_INT(cr("fb7ff8000000000000", &v), 0);
    CHECK(v.type == EDN_FLOAT && isnan(v.u.d));
}

TEST(rfc8949_simple_strings_collections) {
    edn_value v, it[4], inner[2];
    CHECK(both(edn_bool(false), "f4"));
    CHECK(both(edn_bool(true), "f5"));
    CHECK(both(edn_nil(), "f6"));
    CHECK(both(str(""), "60"));
    CHECK(both(str("a"), "6161"));
    CHECK(both(str("IETF"), "6449455446"));
    CHECK(both(str("\"\\"), "62225c"));
    CHECK(both(str("\xc3\xbc"), "62c3bc"));
    CHECK(both(str("\xe6\xb0\xb4"), "63e6b0b4"));
    CHECK(both(str("\xf0\x90\x85\x91"), "64f0908591"));
    edn_bytes(&A, "", 0, &v);
    CHECK(both(v, "40"));
    edn_bytes(&A, "\x01\x02\x03\x04", 4, &v);
    CHECK(both(v, "4401020304"));
    edn_vector(&A, it, 0, &v);
    CHECK(both(v, "80"));
    it[0] = edn_int(1), it[1] = edn_int(2), it[2] = edn_int(3);
    edn_vector(&A, it, 3, &v);
    CHECK(both(v, "83010203"));
    inner[0] = edn_int(2), inner[1] = edn_int(3);
    edn_vector(&A, inner, 2, &it[1]);
    inner[0] = edn_int(4), inner[1] = edn_int(5);
    edn_vector(&A, inner, 2, &it[2]);
    it[0] = edn_int(1);
    edn_vector(&A, it, 3, &v);
    CHECK(both(v, "8301820203820405"));
    edn_map(&A, it, 0, &v);
    CHECK(both(v, "a0"));
    it[0] = edn_int(1), it[1] = edn_int(2), it[2] = edn_int(3), it[3] = edn_int(4);
    edn_map(&A, it, 2, &v);
    CHECK(both(v, "a201020304"));
    it[0] = str("a"), it[1] = edn_int(1);
    edn_map(&A, it, 1, &v);
    CHECK(both(v, "a1616101"));
    /* {"a": 1, "b": [2, 3]} */
    it[0] = str("a"), it[1] = edn_int(1), it[2] = str("b");
    inner[0] = edn_int(2), inner[1] = edn_int(3);
    edn_vector(&A, inner, 2, &it[3]);
    edn_map(&A, it, 2, &v);
    CHECK(both(v, "a26161016162820203"));
}

TEST(rfc8949_indefinite) {
    edn_value v, it[3], inner[2];
    edn_bytes(&A, "\x01\x02\x03\x04\x05", 5, &v);
    CHECK(reads_as("5f42010243030405ff", v));
    CHECK(reads_as("7f657374726561646d696e67ff", str("streaming")));
    CHECK(reads_as("7fff", str("")));
    edn_vector(&A, it, 0, &v);
    CHECK(reads_as("9fff", v));
    it[0] = edn_int(1);
    inner[0] = edn_int(2), inner[1] = edn_int(3);
    edn_vector(&A, inner, 2, &it[1]);
    inner[0] = edn_int(4), inner[1] = edn_int(5);
    edn_vector(&A, inner, 2, &it[2]);
    edn_vector(&A, it, 3, &v);
    CHECK(reads_as("9f018202039f0405ffff", v));
    CHECK(reads_as("9f01820203820405ff", v));
    CHECK(reads_as("83018202039f0405ff", v));
    /* {"a": 1, "b": [2, 3]} with an indefinite map and array */
    edn_value kv[4];
    kv[0] = str("a"), kv[1] = edn_int(1), kv[2] = str("b");
    inner[0] = edn_int(2), inner[1] = edn_int(3);
    edn_vector(&A, inner, 2, &kv[3]);
    edn_map(&A, kv, 2, &v);
    CHECK(reads_as("bf61610161629f0203ffff", v));
}

TEST(datalith_tags) {
    edn_value v, it[2];
    /* Keywords and symbols as clj-cbor writes them (tag 39). */
    CHECK(both(edn_keyword_str("a"), "d827623a61"));
    CHECK(both(edn_keyword_str("abc/def"), "d827683a6162632f646566"));
    CHECK(both(edn_symbol(edn_intern_full("foo", 3)), "d82763666f6f"));
    CHECK(both(edn_symbol(edn_intern_full("bar/baz", 7)),
               "d827676261722f62617a"));
    /* Set: tag 258. */
    it[0] = edn_int(2), it[1] = edn_int(1);
    edn_set(&A, it, 2, &v);
    CHECK(both(v, "d90102820102"));
    /* List: private tag 0x44544c01. */
    it[0] = edn_int(1), it[1] = edn_int(2);
    edn_list(&A, it, 2, &v);
    CHECK(both(v, "da44544c01820102"));
    /* Char: private tag 0x44544c02 with the code point. */
    CHECK(both(edn_char('a'), "da44544c021861"));
    CHECK(both(edn_char(0x1F600), "da44544c021a0001f600"));
    /* UUID: tag 37. */
    uint8_t u[16];
    for (int i = 0; i < 16; i++) u[i] = (uint8_t)i;
    CHECK(both(edn_uuid(u), "d82550000102030405060708090a0b0c0d0e0f"));
    /* Inst: tag 1 for whole seconds, tag 1001 {1: s, -3: ms} otherwise. */
    CHECK(both(edn_inst(1363896240000LL), "c11a514b67b0"));
    CHECK(both(edn_inst(0), "c100"));
    CHECK(both(edn_inst(-1000), "c120"));
    CHECK(both(edn_inst(1363896240500LL), "d903e9a2011a514b67b0221901f4"));
    CHECK(both(edn_inst(-1), "d903e9a20120221903e7"));
    CHECK(reads_as("c1fb41d452d9ec200000", edn_inst(1363896240500LL)));
    CHECK(reads_as("d903e9a1011a514b67b0", edn_inst(1363896240000LL)));
    /* Bigdec: tag 4 [exponent, mantissa] (RFC 8949 §3.4.4: 273.15). */
    CHECK(both(dec("273.15"), "c48221196ab3"));
    CHECK(both(dec("1.50"), "c482211896"));
    CHECK(both(dec("-1.5"), "c482202e"));
    CHECK(both(dec("0.001"), "c4822201"));
    CHECK(both(dec("7"), "c4820007"));
    /* A mantissa beyond int64 is a bignum:
    ** 123456789012345678905 = 0x06B14E9F812F366C39. */
    CHECK(both(dec("12345678901234567890.5"), "c48220c24906b14e9f812f366c39"));
    CHECK(reads_as("c4820a0f", dec("15e10")));
    v = dec("1.5e10"); /* written as [9, 15], numerically equal */
    CHECK_STR(cw(v), "c482090f");
    CHECK(reads_as("c482090f", v));
    /* Unknown tagged values: tag 27 [name, value]. */
    const edn_sym *t = edn_intern_full("datahike/Datom", 14);
    it[0] = edn_int(1);
    edn_vector(&A, it, 1, &it[1]);
    edn_tagged(&A, t, &it[1], &v);
    CHECK(both(v, "d81b826e6461746168696b652f4461746f6d8101"));
    /* Empty names (a JSON object key "" keywordizes to one). */
    CHECK(both(edn_keyword_str(""), "d827613a"));
    /* Self-describe tag is skipped. */
    CHECK(reads_as("d9d9f701", edn_int(1)));
    /* Map keyed by keywords. */
    it[0] = edn_keyword_str("a"), it[1] = edn_int(1);
    edn_map(&A, it, 1, &v);
    CHECK(both(v, "a1d827623a6101"));
}

static void expect_err(const char *hex, int code, const char *msg, long off) {
    edn_value v;
    int rc = cr(hex, &v);
    const datalith_error *e = dl_err_last();
    CHECK_EQ_INT(rc, code);
    CHECK_EQ_INT(e->code, code);
    CHECK_CONTAINS(e->message, msg);
    if (off >= 0) CHECK_EQ_INT(e->offset, off);
}

TEST(errors) {
    const int P = DATALITH_EPARSE;
    expect_err("", P, "unexpected end of input at byte 0", 0);
    expect_err("18", P, "truncated item head (needs 1 more bytes) at byte 0",
               0);
    expect_err("8119", P, "truncated item head (needs 2 more bytes) at byte 1",
               1);
    expect_err("1c", P, "reserved additional information 28 at byte 0", 0);
    expect_err("5e", P, "reserved additional information 30", 0);
    /* A gigabyte claimed by a 10-byte input: rejected before allocating. */
    expect_err("5a400000000102030405", P,
               "byte string of 1073741824 bytes runs past the end of input "
               "at byte 0", 0);
    expect_err("7b00000000ffffffff61", P, "text string of 4294967295 bytes", 0);
    expect_err("9a4000000001", P, "array of 1073741824 items cannot fit in "
                                  "the 1 bytes left at byte 0", 0);
    expect_err("bb7fffffffffffffff0102", P, "map of 9223372036854775807 "
                                            "entries cannot fit", 0);
    expect_err("a301020304", P, "map of 3 entries cannot fit in the 4 bytes", 0);
    expect_err("62c328", P, "invalid UTF-8 in text string at byte 1", 1);
    expect_err("8163eda080", P, "invalid UTF-8 in text string at byte 2", 2);
    expect_err("0101", P, "trailing bytes after the CBOR item at byte 1", 1);
    expect_err("a201020103", P, "at byte 0", 0); /* duplicate key 1 */
    expect_err("d90102820101", P, "at byte 0", 0); /* duplicate set element */
    expect_err("ff", P, "unexpected break at byte 0", 0);
    expect_err("8201ff", P, "unexpected break at byte 2", 2);
    expect_err("f7", P, "undefined is not supported at byte 0", 0);
    expect_err("f0", P, "unsupported simple value 16 at byte 0", 0);
    expect_err("f820", P, "unsupported simple value 32", 0);
    expect_err("c601", P, "unsupported CBOR tag 6 at byte 0", 0);
    expect_err("1f", P, "integer with indefinite length at byte 0", 0);
    expect_err("3f", P, "integer with indefinite length", 0);
    expect_err("df01", P, "tag with indefinite length", 0);
    expect_err("5f6161ff", P, "chunk must be a definite byte string at byte 1",
               1);
    expect_err("7f5f40ffff", P, "chunk must be a definite text string", 1);
    expect_err("5f41", P, "string chunk of 1 bytes runs past the end", 1);
    expect_err("5f4101", P, "unexpected end of input at byte 3", 3);
    expect_err("9f01", P, "indefinite-length array is missing its break at "
                          "byte 0", 0);
    expect_err("bf01ff", P, "indefinite-length map has a key without a value",
               0);
    expect_err("c201", P, "tag 2 (bignum) expects a byte string at byte 0", 0);
    expect_err("c3f6", P, "tag 3 (bignum) expects a byte string", 0);
    expect_err("d8254100", P, "tag 37 (UUID) expects 16 bytes at byte 0", 0);
    expect_err("d82701", P, "tag 39 (identifier) expects a text string", 0);
    expect_err("d9010201", P, "tag 258 (set) expects an array", 0);
    expect_err("c48101", P, "tag 4 (decimal fraction) expects [exponent, "
                            "mantissa]", 0);
    expect_err("c482f601", P, "tag 4 (decimal fraction)", 0);
    expect_err("c16161", P, "tag 1 expects a number of epoch seconds", 0);
    expect_err("c11b7fffffffffffffff", P, "tag 1 epoch seconds out of range",
               0);
    expect_err("c1fb7ff0000000000000", P, "out of range", 0);
    /* INT64_MIN ms = -9223372036854776 s + 192 ms; 191 ms is one too few. */
    expect_err("d903e9a2013b0020c49ba5e353f7221900bf", P,
               "tag 1001 seconds out of range", 0);
    expect_err("d903e901", P, "tag 1001 expects a map", 0);
    expect_err("d903e9a0", P, "tag 1001 without key 1", 0);
    expect_err("d903e9a2010022190400", P, "only keys 1 (integer seconds) and "
                                          "-3", 0);
    expect_err("d81b8101", P, "tag 27 (tagged value) expects", 0);
    expect_err("d81b820101", P, "tag 27 (tagged value) expects", 0);
    expect_err("da44544c0101", P, "list tag expects an array", 0);
    expect_err("da44544c021a00110000", P, "char tag expects a code point", 0);
    expect_err("8301d82701", P, "at byte 2", 2);
}

TEST(limits) {
    edn_value v;
    edn_codec_opts o = EDN_CODEC_OPTS_INIT;
    size_t n = 100000;
    uint8_t *deep = malloc(n + 1);
    memset(deep, 0x81, n);
    deep[n] = 0x01;
    CHECK_EQ_INT(cbor_read(&A, deep, n + 1, NULL, &v), DATALITH_ELIMIT);
    CHECK_CONTAINS(dl_err_last()->message, "nested deeper than 512 levels");
    o.max_depth = 1000000; /* capped: never a stack overflow */
    CHECK_EQ_INT(cbor_read(&A, deep, n + 1, &o, &v), DATALITH_ELIMIT);
    /* 512 levels of items (511 arrays + the leaf) pass, 513 do not. */
    CHECK_EQ_INT(cbor_read(&A, deep + n - 511, 512, NULL, &v), 0);
    CHECK_EQ_INT(cbor_read(&A, deep + n - 512, 513, NULL, &v),
                 DATALITH_ELIMIT);
    /* Nested tags count as depth too. */
    for (size_t i = 0; i + 3 <= n; i += 3) memcpy(deep + i, "\xd9\xd9\xf7", 3);
    CHECK_EQ_INT(cbor_read(&A, deep, n - n % 3, NULL, &v), DATALITH_ELIMIT);
    free(deep);
    o.max_depth = 0;
    o.max_bytes = 3;
    uint8_t four[4] = {0x83, 1, 2, 3};
    CHECK_EQ_INT(cbor_read(&A, four, 4, &o, &v), DATALITH_ELIMIT);
    CHECK_CONTAINS(dl_err_last()->message, "exceeds the limit of 3 bytes");
    o.max_bytes = 4;
    CHECK_EQ_INT(cbor_read(&A, four, 4, &o, &v), 0);
}

TEST(writer_errors) {
    dl_buf b = DL_BUF_INIT;
    edn_value bad, v, it[2];
    edn_string(&A, "ok\xff", 3, &bad);
    dl_buf_putc(&b, 'x');
    CHECK_EQ_INT(cbor_write(&b, &bad), DATALITH_EINVAL);
    CHECK_CONTAINS(dl_err_last()->message, "not valid UTF-8");
    it[0] = edn_int(1), it[1] = bad;
    edn_vector(&A, it, 2, &v);
    CHECK_EQ_INT(cbor_write(&b, &v), DATALITH_EINVAL);
    CHECK_EQ_INT(b.len, 1);
    dl_buf_free(&b);
}

TEST(round_trip_all_types) {
    edn_value v, it[3];
    dl_buf b = DL_BUF_INIT;
    uint8_t u[16];
    for (int i = 0; i < 16; i++) u[i] = (uint8_t)(255 - i);
    edn_value vals[16];
    int n = 0;
    vals[n++] = edn_float(5e-324);
    vals[n++] = edn_inst(INT64_MIN);
    vals[n++] = edn_inst(INT64_MAX);
    vals[n++] = edn_uuid(u);
    vals[n++] = big("-340282366920938463463374607431768211456");
    vals[n++] = big("9223372036854775807");
    vals[n++] = dec("-0.000");
    vals[n++] = dec("123e-1500");
    it[0] = str("x"), it[1] = edn_keyword_str("y"), it[2] = edn_nil();
    edn_list(&A, it, 3, &vals[n++]);
    edn_set(&A, it, 3, &vals[n++]);
    edn_map(&A, it, 1, &vals[n++]);
    for (int i = 0; i < n; i++) {
        b.len = 0;
        CHECK_EQ_INT(cbor_write(&b, &vals[i]), 0);
        CHECK_EQ_INT(cbor_read(&A, (const uint8_t *)b.data, b.len, NULL, &v),
                     0);
        CHECK_EQ_INT(v.type, vals[i].type);
        CHECK(edn_equal(&v, &vals[i]));
    }
    dl_buf_free(&b);
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(rfc8949_integers);
    RUN(rfc8949_bignums);
    RUN(rfc8949_floats);
    RUN(rfc8949_simple_strings_collections);
    RUN(rfc8949_indefinite);
    RUN(datalith_tags);
    RUN(errors);
    RUN(limits);
    RUN(writer_errors);
    RUN(round_trip_all_types);
    dl_arena_free(&A);
    return test_summary();
}
