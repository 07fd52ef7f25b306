/*
** datom.c — index orders and datom comparison (see datom.h).
*/
#include "datom.h"

#include <stddef.h>

const char *dl_index_name(dl_index o) {
    static const char *names[DL_INDEX_COUNT] = {
        "eavt", "aevt", "avet", "temporal-eavt", "temporal-aevt",
        "temporal-avet"};
    return (unsigned)o < DL_INDEX_COUNT ? names[o] : "?";
}

int dl_attr_cmp(const edn_sym *x, const edn_sym *y) {
    edn_value kx, ky;
    if (x == y) return 0;
    if (!x) return -1;
    if (!y) return 1;
    kx = edn_keyword(x);
    ky = edn_keyword(y);
    return edn_compare(&kx, &ky);
}

/* Component codes in the key sequence of each order. */
enum { C_E, C_A, C_V, C_T, C_ADD };

static const unsigned char seqs[3][5] = {
    {C_E, C_A, C_V, C_T, C_ADD}, /* eavt */
    {C_A, C_E, C_V, C_T, C_ADD}, /* aevt */
    {C_A, C_V, C_E, C_T, C_ADD}, /* avet */
};

int dl_datom_cmp(dl_index o, const dl_datom *x, const dl_datom *y, unsigned nf) {
    const unsigned char *seq = seqs[(unsigned)o % 3];
    unsigned i, nk = dl_index_nkey(o);
    if (nf > nk) nf = nk;
    for (i = 0; i < nf; i++) {
        int c;
        switch (seq[i]) {
        case C_E: c = dl_u64_cmp(x->e, y->e); break;
        case C_A: c = dl_attr_cmp(x->a, y->a); break;
        case C_V: c = dl_value_cmp(&x->v, &y->v); break;
        case C_T: c = dl_u64_cmp(x->tx, y->tx); break;
        default: c = (int)x->added - (int)y->added; break;
        }
        if (c) return c;
    }
    return 0;
}
