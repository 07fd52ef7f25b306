/*
** fuzz_bencode.c — libFuzzer target for the pod's bencode reader
** (bindings/pod/bencode.c).
**
** Every input must be decoded or rejected without a crash, leak or
** sanitizer report; a value that decodes must re-encode to exactly the bytes
** the reader consumed (bencode has one spelling per value, and the reader
** keeps dictionary keys in input order).  Messages are read back to back, as
** on the pod's standard input.
*/
#include "../../bindings/pod/bencode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem {
    const uint8_t *p;
    size_t n, at;
} mem;

static int next_byte(void *ctx) {
    mem *m = ctx;
    return m->at < m->n ? m->p[m->at++] : -1;
}

static void encode(bc_out *o, const bc_value *v) {
    switch (v->type) {
    case 'i': bc_put_int(o, v->i); break;
    case 's': bc_put_bytes(o, v->s, v->n); break;
    default: {
        size_t n = v->type == 'd' ? v->n * 2 : v->n;
        bc_put_raw(o, v->type == 'd' ? "d" : "l", 1);
        for (size_t i = 0; i < n; i++) encode(o, &v->items[i]);
        bc_end(o);
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mem m = {data, size, 0};
    bc_reader r = {next_byte, &m, 0, {0}};
    for (int k = 0; k < 64; k++) {
        size_t start = r.offset;
        bc_value v;
        int rc = bc_read(&r, &v);
        if (rc != BC_OK) {
            if (rc == BC_EMALFORMED && !r.error[0]) abort();
            break;
        }
        bc_out o = {0};
        encode(&o, &v);
        if (!o.oom && (o.len != r.offset - start || memcmp(o.data, data + start, o.len)))
            abort();
        free(o.data);
        bc_free(&v);
    }
    return 0;
}
