/*
** fuzz_cbor.c — libFuzzer target for the CBOR reader.  Arbitrary bytes must
** decode or fail cleanly; whatever decodes must encode, decode back equal,
** and encode again to the same bytes.  It must also survive the JSON round
** trip when the JSON writer accepts it (a lone-surrogate char cannot be
** JSON).  Any mismatch aborts so the fuzzer keeps the input.
*/
#include "util/error.h"
#include "value/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what) {
    fprintf(stderr, "fuzz_cbor: %s: %s\n", what, dl_err_last()->message);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dl_arena a;
    edn_value v, back;
    dl_buf b1 = DL_BUF_INIT, b2 = DL_BUF_INIT, j = DL_BUF_INIT;
    dl_arena_init(&a, (size_t)256 << 20);
    if (cbor_read(&a, data, size, NULL, &v) == 0) {
        if (cbor_write(&b1, &v) != 0) fail("write after a successful read");
        if (cbor_read(&a, (const uint8_t *)b1.data, b1.len, NULL, &back) != 0)
            fail("re-read of written CBOR");
        if (!edn_equal(&v, &back) || v.type != back.type)
            fail("value changed in CBOR round trip");
        if (cbor_write(&b2, &back) != 0) fail("second write");
        if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
            fail("writer not deterministic");
        int rc = json_write(&j, &v);
        if (rc == 0) {
            edn_codec_opts o = EDN_CODEC_OPTS_INIT;
            o.max_depth = 2048; /* tag forms nest deeper in JSON */
            if (json_read(&a, j.data, j.len, &o, &back) != 0)
                fail("re-read of JSON written from CBOR");
            if (!edn_equal(&v, &back) || v.type != back.type)
                fail("value changed in JSON round trip");
        } else if (rc != DATALITH_EINVAL && rc != DATALITH_ELIMIT) {
            fail("JSON write of a CBOR value");
        }
    }
    dl_buf_free(&b1);
    dl_buf_free(&b2);
    dl_buf_free(&j);
    dl_arena_free(&a);
    return 0;
}
