/*
** datom.h — the datom and the index orders the B+trees sort by.
**
** A datom is one fact [e a v tx added].  The index layer stores datoms in
** six orders: three "current" orders, whose key is four components and hold
** at most one datom per [e a v tx], and their temporal twins, whose key adds
** `added` as a fifth component so that an assertion and a retraction of the
** same [e a v] (at different transactions, or even the same one) coexist:
**
**   order          key components (compared left to right)
**   DL_EAVT        e  a  v  tx
**   DL_AEVT        a  e  v  tx
**   DL_AVET        a  v  e  tx
**   DL_TEAVT       e  a  v  tx  added        (history)
**   DL_TAEVT       a  e  v  tx  added
**   DL_TAVET       a  v  e  tx  added
**
** Component order: e and tx as unsigned 64-bit integers; a by keyword name
** (edn_compare on keywords: namespace absent first, then namespace, then
** name; equal pointers short-cut to equal; a NULL attribute sorts before
** every keyword and is only legal in search keys); v by edn_compare, with
** inline longs compared directly; added false < true.
**
** Lifetime: a dl_datom never owns anything.  `a` is interned (process
** lifetime).  `v`'s out-of-line bytes (strings, collections …) are
** borrowed: a datom passed INTO the index is copied (deeply) before the
** call returns, so the caller may free its arena afterwards; a datom read
** OUT of a cursor borrows from the cursor's current leaf and is valid until
** the cursor is moved, re-seeked or closed (copy with edn_clone to keep it).
*/
#ifndef DL_DATOM_H
#define DL_DATOM_H

#include "value/value.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dl_datom {
    uint64_t e;
    const edn_sym *a; /* attribute keyword, interned */
    edn_value v;      /* borrowed, see above */
    uint64_t tx;
    bool added;
} dl_datom;

typedef enum dl_index {
    DL_EAVT = 0,
    DL_AEVT = 1,
    DL_AVET = 2,
    DL_TEAVT = 3,
    DL_TAEVT = 4,
    DL_TAVET = 5,
    DL_INDEX_COUNT
} dl_index;

/* Number of key components of an order: 4 (current) or 5 (temporal). */
static inline unsigned dl_index_nkey(dl_index o) { return o >= DL_TEAVT ? 5 : 4; }
static inline bool dl_index_temporal(dl_index o) { return o >= DL_TEAVT; }
/* "eavt", "aevt", "avet", "temporal-eavt", … ; "?" for a bad value. */
const char *dl_index_name(dl_index o);

/* Compare the first `nf` key components of x and y in order `o` (nf is
** clamped to dl_index_nkey(o); nf == 0 compares equal).  Returns <0, 0, >0.
** Thread-safe, allocation-free. */
int dl_datom_cmp(dl_index o, const dl_datom *x, const dl_datom *y, unsigned nf);

/* The pieces, exposed for the tree's inner loops. */
int dl_attr_cmp(const edn_sym *x, const edn_sym *y);
static inline int dl_u64_cmp(uint64_t x, uint64_t y) { return (x > y) - (x < y); }
static inline int dl_value_cmp(const edn_value *x, const edn_value *y) {
    if (x->type == EDN_INT && y->type == EDN_INT)
        return (x->u.i > y->u.i) - (x->u.i < y->u.i);
    if (x->type == y->type && (x->type == EDN_KEYWORD) && x->u.sym == y->u.sym)
        return 0;
    return edn_compare(x, y);
}

#endif
