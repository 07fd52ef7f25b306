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

/* Compare UTF-8 strings in UTF-16 code-unit order (edn_compare's string
** order).  Byte order agrees with it unless the first difference falls in a
** character at or above U+E000 (lead byte >= 0xEE), where surrogate pairs
** reorder; then 2 is returned and the caller falls back to edn_compare. */
static int utf8_cmp(const char *a, size_t na, const char *b, size_t nb) {
    size_t i = 0, n = na < nb ? na : nb, j;
    while (i < n && a[i] == b[i]) i++;
    if (i == n) return (na > nb) - (na < nb);
    for (j = i; j > 0 && ((unsigned char)a[j] & 0xC0) == 0x80; j--)
        ;
    if ((unsigned char)a[j] >= 0xEE || (unsigned char)b[j] >= 0xEE ||
        (unsigned char)a[i] >= 0xEE || (unsigned char)b[i] >= 0xEE)
        return 2;
    return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
}

int dl_attr_cmp(const edn_sym *x, const edn_sym *y) {
    edn_value kx, ky;
    int c;
    if (x == y) return 0;
    if (!x) return -1;
    if (!y) return 1;
    if (!x->ns != !y->ns) return x->ns ? 1 : -1;
    c = x->ns ? utf8_cmp(x->ns, x->ns_len, y->ns, y->ns_len) : 0;
    if (c == 0) c = utf8_cmp(x->name, x->name_len, y->name, y->name_len);
    if (c != 2) return c;
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
