/*
** node.h — B+tree nodes: in-memory layout, value boxes, the node encoding
** and the node cache.  Internal to core/index (bt_ prefix, not exported).
**
** NODE ENCODING, version 1.  Every integer is an unsigned LEB128 varint
** unless said otherwise; "zz" is zigzag of a signed 64-bit delta (so any
** u64 difference round-trips with wrap-around):
**
**   u8   format version (1)
**   u8   order (dl_index, 0..5)
**   u8   level (0 = leaf, 1.. = branch; at most BT_MAX_LEVEL)
**   n    entry count (leaf: datoms; branch: children, >= 1)
**   ns   symbol dictionary size, then ns × (len, "ns/name" bytes)
**        — every attribute, keyword, symbol and tag used in the node
**   n ×  datom: zz(e - prev e)  a:sym index  value(tag | added<<7)
**               zz(tx - prev tx)            (prev starts at 0)
**   branch only, n × child: count (>= 1), 16-byte address
**
**   value := tag u8, then by tag:
**     0 nil  1 false  2 true  3 long zz  4 bigint len+text  5 double 8 LE
**     6 bigdec len+text  7 string len+utf8  8 char  9 keyword sym
**     10 symbol sym  11 uuid 16  12 inst zz  13 bytes len+bytes
**     14 list n+items  15 vector n+items  16 map npairs+2n items
**     17 set n+items  18 tagged sym+value
**   (bit 7 of the tag carries `added` on the top-level value only)
**
** Decoding checks every varint, length, tag, symbol index and nesting
** depth, validates texts through the value constructors, and requires
** the datoms (leaf) or child max keys (branch) to be strictly ascending
** in the node's order, so a node that decodes is a valid node.  The node's
** store key is "n" + hex(XXH3-128(bytes)); loads re-hash and compare.
*/
#ifndef DL_INDEX_NODE_H
#define DL_INDEX_NODE_H

#include "btree.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BT_FORMAT_VERSION 1
#define BT_MAX_LEVEL 24
#define BT_MAX_DEPTH_VALUE 256
#define BT_NODE_MAX_ENTRIES 65536

/* A datom inside a node: 48 bytes.  `added` is kept in v.pad (bit 0), so
** v must be passed to edn_* functions only by those that ignore pad. */
typedef struct bt_ent {
    uint64_t e;
    uint64_t tx;
    const edn_sym *a;
    edn_value v;
} bt_ent;

static inline bool bt_ent_added(const bt_ent *x) { return x->v.pad & 1; }

typedef struct bt_slot {
    bt_node *ptr;       /* child reference, or NULL: load addr via cache */
    uint64_t count;     /* datoms below */
    uint8_t addr[16];
    uint8_t has_addr;
} bt_slot;

struct bt_node {
    _Atomic uint32_t rc;
    uint8_t level;      /* 0 leaf */
    uint8_t order;      /* dl_index */
    uint8_t stored;     /* addr valid: written or loaded; never mutated */
    uint8_t cached;     /* in a cache table (guarded by the cache lock) */
    uint32_t n, cap;
    uint64_t count;     /* datoms in this subtree */
    uint8_t addr[16];
    size_t bytes;       /* accounted memory; exact once stored */
    bt_ent *ents;       /* leaf: datoms; branch: child max keys */
    bt_slot *kids;      /* branch: children */
    bt_node *h_next, *lru_prev, *lru_next; /* cache links */
};

/* ---- value boxes ---- */

/* Deep-copy *src into a new box; *dst gets pointers into it (pad kept 0).
** Inline values are copied as they are. */
int bt_box_value(const edn_value *src, edn_value *dst);
void bt_value_retain(const edn_value *v);
void bt_value_release(const edn_value *v);
size_t bt_value_boxed_size(const edn_value *v);

/* ---- nodes ---- */

bt_node *bt_node_alloc(unsigned level, dl_index order, unsigned cap);
static inline void bt_node_retain(bt_node *n) {
    atomic_fetch_add_explicit(&n->rc, 1, memory_order_relaxed);
}
void bt_node_release(bt_node *n);
/* A private, unstored copy with capacity >= cap (children retained). */
bt_node *bt_node_clone(const bt_node *n, unsigned cap);
/* Recompute n->count and n->bytes from the entries / slots. */
void bt_node_recount(bt_node *n);
/* The memory a node holds: struct, arrays and value boxes. */
size_t bt_node_membytes(const bt_node *n);

/* Compare entries on the first nf components (clamped) of order o. */
int bt_ent_cmp(dl_index o, const bt_ent *x, const bt_ent *y, unsigned nf);
void bt_ent_from_datom(bt_ent *x, const dl_datom *d);
void bt_ent_to_datom(const bt_ent *x, dl_datom *d);

/* ---- codec ---- */

int bt_node_encode(const bt_node *n, dl_buf *out);
/* Decode bytes into a fresh node (rc 1, stored = 0).  `name` names the
** object in error messages (may be NULL).  Errors: DATALITH_ECORRUPT. */
int bt_node_decode(const uint8_t *p, size_t len, const char *name,
                   bt_node **out);
void bt_addr_of(const uint8_t *p, size_t len, uint8_t addr[16]);
void bt_addr_key(const uint8_t addr[16], char key[BT_KEY_MAX]);
int bt_key_addr(const char *key, uint8_t addr[16]);

/* ---- cache ---- */

/* A pinned reference to the stored node `addr`, loading it from `store` on
** a miss and checking its level and order.  Release with bt_node_release. */
int bt_cache_load(bt_cache *c, dl_store *store, const uint8_t addr[16],
                  int level, int order, bt_node **out);

/* Offer a node just written by bt_flush to the cache, so that reopening
** the tree finds it decoded.  Leaves are shared as they are; a branch is
** cached as a copy without child pointers (a cached node must not pin its
** subtree, or the byte bound would not hold).  Failure is not an error:
** the node is simply not cached. */
void bt_cache_adopt(bt_cache *c, bt_node *n);

#endif
