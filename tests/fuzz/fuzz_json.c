/*
** fuzz_json.c — libFuzzer target for the JSON reader.  Arbitrary bytes must
** parse or fail cleanly; whatever parses must write, read back equal, and
** write again to the same text (the writer is deterministic).  It must also
** survive the CBOR round trip.  Any mismatch aborts so the fuzzer keeps it.
*/
#include "util/error.h"
#include "value/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what) {
    fprintf(stderr, "fuzz_json: %s: %s\n", what, dl_err_last()->message);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dl_arena a;
    edn_value v, back;
    dl_buf b1 = DL_BUF_INIT, b2 = DL_BUF_INIT, c = DL_BUF_INIT;
    dl_arena_init(&a, (size_t)256 << 20);
    if (json_read(&a, (const char *)data, size, NULL, &v) == 0) {
        if (json_write(&b1, &v) != 0) fail("write after a successful read");
        if (json_read(&a, b1.data, b1.len, NULL, &back) != 0)
            fail("re-read of written JSON");
        if (!edn_equal(&v, &back) || v.type != back.type)
            fail("value changed in JSON round trip");
        if (json_write(&b2, &back) != 0) fail("second write");
        if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
            fail("writer not deterministic");
        int rc = cbor_write(&c, &v);
        if (rc == 0) {
            edn_codec_opts o = EDN_CODEC_OPTS_INIT;
            o.max_depth = 2048; /* a tag form is one JSON level, two CBOR */
            if (cbor_read(&a, (const uint8_t *)c.data, c.len, &o, &back) != 0)
                fail("re-read of CBOR written from JSON");
            if (!edn_equal(&v, &back) || v.type != back.type)
                fail("value changed in CBOR round trip");
        } else if (rc != DATALITH_ELIMIT) {
            fail("CBOR write of a JSON value");
        }
    }
    dl_buf_free(&b1);
    dl_buf_free(&b2);
    dl_buf_free(&c);
    dl_arena_free(&a);
    return 0;
}
