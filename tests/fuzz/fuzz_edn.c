/*
** fuzz_edn.c — libFuzzer target for the EDN reader and writer.  Any input
** must either be rejected with an error or parse; a parsed value must print,
** read back equal, and print identically the second time.  A mismatch
** aborts (a fuzz finding).  Limits are small so inputs stay cheap.
*/
#include "value/value.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dl_arena a;
    dl_arena_init(&a, 64u << 20);
    edn_codec_opts o = EDN_CODEC_OPTS_INIT;
    o.max_depth = 64;
    o.max_bytes = 1u << 20;
    edn_value v, back;
    if (edn_read_all(&a, (const char *)data, size, &o, &v) == 0) {
        dl_buf p1 = DL_BUF_INIT, p2 = DL_BUF_INIT;
        if (edn_write(&p1, &v) == 0) {
            o.max_depth = 128;
            o.max_bytes = 0;
            if (edn_read(&a, p1.data, p1.len, &o, &back) != 0) {
                fprintf(stderr, "printed form does not read back: %s\n%s\n",
                        dl_err_last()->message, p1.data);
                abort();
            }
            if (!edn_equal(&v, &back)) {
                fprintf(stderr, "read-back value differs:\n%s\n", p1.data);
                abort();
            }
            if (edn_write(&p2, &back) != 0 || strcmp(p1.data, p2.data) != 0) {
                fprintf(stderr, "print not stable:\n%s\n%s\n", p1.data,
                        p2.data ? p2.data : "");
                abort();
            }
        } else if (dl_err_last()->code != DATALITH_EINVAL) {
            /* only an out-of-range #inst or char may refuse to print */
            abort();
        }
        dl_buf_free(&p1);
        dl_buf_free(&p2);
    }
    dl_arena_free(&a);
    return 0;
}
