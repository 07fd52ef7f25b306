/*
** fuzz_node.c — the index node decoder on arbitrary bytes.  Decoding must
** return an error or a node, never crash or leak; a node that decodes must
** re-encode to bytes that decode to an equal node and re-encode to the
** same bytes (the encoding is canonical).
*/
#include "index/node.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

static int ent_equal(const bt_ent *x, const bt_ent *y) {
    edn_value a = x->v, b = y->v;
    a.pad = b.pad = 0;
    return x->e == y->e && x->tx == y->tx && x->a == y->a &&
           x->v.pad == y->v.pad && a.type == b.type && edn_equal(&a, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bt_node *n = NULL, *m = NULL;
    dl_buf b1 = DL_BUF_INIT, b2 = DL_BUF_INIT;
    uint32_t i;
    if (bt_node_decode(data, size, "fuzz", &n) != 0) {
        if (n) abort();
        return 0;
    }
    if (bt_node_encode(n, &b1) != 0) abort();
    if (bt_node_decode((const uint8_t *)b1.data, b1.len, "fuzz", &m) != 0) abort();
    if (m->n != n->n || m->level != n->level || m->order != n->order ||
        m->count != n->count)
        abort();
    for (i = 0; i < n->n; i++) {
        if (!ent_equal(&n->ents[i], &m->ents[i])) abort();
        if (n->level && (n->kids[i].count != m->kids[i].count ||
                         memcmp(n->kids[i].addr, m->kids[i].addr, 16) != 0))
            abort();
    }
    if (bt_node_encode(m, &b2) != 0) abort();
    if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) abort();
    dl_buf_free(&b1);
    dl_buf_free(&b2);
    bt_node_release(n);
    bt_node_release(m);
    return 0;
}
