/*
** btree.h — persistent, copy-on-write B+trees of datoms.
**
** One tree holds the datoms of one index order (datom.h).  Trees are values:
** a bt_tree is a small struct holding one reference to a root node; copying
** it (bt_tree_copy) takes a snapshot in O(1), and the copies share every
** node.  Updates (bt_insert, bt_remove) change only the tree they are given:
**
**   snapshot S ──▶ R ─┬─▶ L1            after bt_insert(&T, d) on T == S:
**   tree T ──────▶ R ─┤                   S ──▶ R ──┬─▶ L1
**                     └─▶ L2                         └─▶ L2
**                                         T ──▶ R' ─┬─▶ L1 (shared)
**                                                    └─▶ L2' (copy, + d)
**
** OWNERSHIP DECIDES COPYING.  Every node carries an atomic reference count.
** An update walks down from the root; a node whose count is 1 and that has
** never been written to a store is reachable only through the tree being
** updated, so it is changed in place (a memmove inside a leaf).  Any other
** node is shared — with a snapshot, a cursor, the node cache or the store —
** and is copied first (its children gain a reference from the copy).  This
** is Clojure's transient / Rust's Arc::make_mut applied per node: a writer
** that hands its tree to the next transaction without keeping the old
** snapshot pays no copies at all; one that keeps db-before pays one path
** copy per touched leaf, once per snapshot.  Nodes that have been flushed are
** never changed again, so their content address stays true.
**
** For the database layer this means: a connection should hold the only
** reference to its current trees and hand readers a bt_tree_copy only when
** they ask for a db.  A transaction then starts from the connection's own
** bt_tree (moved, not copied) when no reader took the current db, and every
** insert is an in-place memmove; if a reader did take it, the first insert
** into each leaf copies that leaf's path and later inserts into the copies
** are in place again.
**
** NODES.  Leaves hold up to leaf_max datoms (bt_ent, 48 bytes, node.h);
** branches hold up to branch_max children, and for each child its maximum
** key, its datom count (for O(log n) rank and range counts) and either a
** direct pointer (in-memory child) or the 128-bit content address of a
** stored child that is loaded lazily through the node cache:
**
**   branch  ┌─────────┬─────────┬─────┐     leaf ┌────────┬────────┬─────┐
**           │ max0    │ max1    │ …   │          │ ent0   │ ent1   │ …   │
**           │ count0  │ count1  │     │          └────────┴────────┴─────┘
**           │ ptr|addr│ ptr|addr│     │
**           └─────────┴─────────┴─────┘
**
** VALUE MEMORY.  An entry stores its value as an edn_value.  Inline values
** (nil, boolean, long, double, char, keyword, symbol, uuid, inst) live in the
** entry itself.  Every other value (string, bytes, bigint, bigdec, list,
** vector, map, set, tagged) lives in a VALUE BOX: one malloc'd block holding
** a refcount followed by a deep copy of the value in which every nested
** pointer points inside the same block:
**
**   entry.v ─ u.s / u.items ──────────┐
**                                     ▼
**   box  ┌────────┬──────┬────────────────────────────────────────┐
**        │ rc (4) │ size │ primary bytes / items │ nested items … │
**        └────────┴──────┴────────────────────────────────────────┘
**
** The box header sits just before the primary pointer, so the box of any
** non-inline entry value is found from the value alone.  Copying an entry
** between nodes (clone, split, merge, branch max keys) increments the box
** count; freeing a node decrements it.  So values never move, a datom read
** from a cursor stays valid while the leaf is pinned, and a long string held
** by a leaf, its parent's max key and a snapshot's copy of that leaf is
** stored once.  Values given to bt_insert are copied into a fresh box, so
** callers keep ownership of their arenas.
**
** PERSISTENCE.  bt_flush writes every node not yet stored, children first,
** through dl_obj_put under the key "n" + 32 hex digits of the XXH3-128 hash
** of its encoding (node.h describes the encoding), and returns the root key.
** bt_tree_open reads a root key; nodes below load on demand through a
** bt_cache that is bounded in bytes and shared by every tree of the process.
** A missing, corrupt or truncated node is DATALITH_ECORRUPT naming its key.
**
** MEMORY.  A tree built or updated in memory costs about 50 bytes per datom
** (48-byte entries plus node overhead) for long/keyword/ref values; its
** stored form about 6.6 bytes.  A tree reopened from its root key holds
** only the nodes the cache budget allows, so a writer that wants bounded
** memory reopens its trees after bt_flush (flushed nodes are already in
** the cache, so this costs no loads).
**
** THREADS.  Any number of threads may read (cursors, counts) trees that share
** nodes, concurrently with one writer updating its own bt_tree.  bt_insert,
** bt_remove and bt_flush on one bt_tree must be serialised by the caller,
** and bt_flush must not run concurrently with another bt_flush of a tree
** sharing unflushed nodes (one writer per store).  Take snapshots
** (bt_tree_copy) of a tree on the thread that updates it; the copies may
** then be handed to any thread.
*/
#ifndef DL_BTREE_H
#define DL_BTREE_H

#include "datom.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bt_node bt_node;
typedef struct bt_cache bt_cache;

/* Longest node key plus NUL: "n" + 32 hex digits. */
#define BT_KEY_MAX 40

/* ---- node cache ---- */

/* A cache of decoded stored nodes bounded by `budget` bytes (0: 64 MiB).
** Thread-safe.  Free it only after every tree and cursor using it is gone. */
int bt_cache_new(size_t budget, bt_cache **out);
void bt_cache_free(bt_cache *c);

typedef struct bt_cache_stats {
    size_t bytes;     /* accounted bytes of cached nodes */
    size_t nodes;     /* cached nodes */
    size_t budget;
    uint64_t hits, misses, evictions;
} bt_cache_stats;
void bt_cache_get_stats(bt_cache *c, bt_cache_stats *out);

/* ---- environment shared by the trees of one store ---- */

typedef struct bt_env {
    dl_store *store;    /* may be NULL for purely in-memory trees */
    bt_cache *cache;    /* required to open stored trees */
    unsigned leaf_max;  /* datoms per leaf; 0: BT_LEAF_MAX */
    unsigned branch_max;/* children per branch; 0: BT_BRANCH_MAX */
} bt_env;

#define BT_LEAF_MAX 128
#define BT_BRANCH_MAX 128

/* ---- trees ---- */

typedef struct bt_tree {
    const bt_env *env; /* borrowed; outlives the tree */
    dl_index order;
    bt_node *root;     /* one reference; NULL for the empty tree */
} bt_tree;

/* An empty tree (no allocation). */
void bt_tree_init(bt_tree *t, const bt_env *env, dl_index order);
/* dst becomes a snapshot of src (O(1)); dst must be empty or released. */
void bt_tree_copy(bt_tree *dst, const bt_tree *src);
/* Drop the tree's reference; t becomes empty.  Safe on an empty tree. */
void bt_tree_release(bt_tree *t);

uint64_t bt_tree_count(const bt_tree *t);
/* Height: 0 for empty, 1 for a single leaf. */
unsigned bt_tree_height(const bt_tree *t);

/* Build a tree from n datoms sorted strictly ascending in `order` (bottom
** up, leaves filled evenly).  Unsorted or duplicate input: DATALITH_EINVAL.
** *out must be empty. */
int bt_build(const bt_env *env, dl_index order, const dl_datom *d, size_t n,
             bt_tree *out);

/* Insert d (copied).  If a datom with the same key is present the tree is
** unchanged and *changed (may be NULL) is 0.  d->a must not be NULL. */
int bt_insert(bt_tree *t, const dl_datom *d, int *changed);
/* Remove the datom with d's key; absent: unchanged, *changed 0. */
int bt_remove(bt_tree *t, const dl_datom *d, int *changed);

/* Number of datoms whose first nf key components compare < key (after == 0)
** or <= key (after == 1).  O(height). */
int bt_rank(const bt_tree *t, const dl_datom *key, unsigned nf, int after,
            uint64_t *out);
/* Number of datoms whose first nf components equal key's. */
int bt_count_prefix(const bt_tree *t, const dl_datom *key, unsigned nf,
                    uint64_t *out);

/* ---- persistence ---- */

/* Write every unstored node (children first) and put the root key in
** key_out.  Nodes already stored are not written again.  An empty tree is
** stored as an empty leaf.  Needs env->store. */
int bt_flush(bt_tree *t, char key_out[BT_KEY_MAX]);
/* Open the stored tree `key` (root loaded now, the rest lazily).  A root
** of a different order: DATALITH_ECORRUPT.  *out must be empty. */
int bt_tree_open(const bt_env *env, dl_index order, const char *key,
                 bt_tree *out);

/* ---- cursors ---- */

/* A position in a tree: a pinned path from the root to one leaf entry.  A
** cursor keeps its tree's nodes alive (the tree itself may be released or
** updated meanwhile: the cursor keeps seeing the version it was opened on).
** Not thread-safe; one cursor per thread.  Errors (a node that fails to
** load) leave the cursor invalid with bt_cursor_error() != 0. */
typedef struct bt_cursor bt_cursor;

int bt_cursor_open(const bt_tree *t, bt_cursor **out);
void bt_cursor_close(bt_cursor *c);

/* Position at the first datom whose first nf key components are >= key
** (after == 0) or > key (after == 1); invalid if none.  nf == 0: first. */
int bt_cursor_seek(bt_cursor *c, const dl_datom *key, unsigned nf, int after);
/* Position at the LAST datom whose first nf components are < key
** (after == 0) or <= key (after == 1); invalid if none.  For backward
** range scans.  nf == 0: last (after == 1) or invalid (after == 0). */
int bt_cursor_seek_rev(bt_cursor *c, const dl_datom *key, unsigned nf,
                       int after);
int bt_cursor_first(bt_cursor *c);
int bt_cursor_last(bt_cursor *c);
/* Step; stepping off either end makes the cursor invalid (returns 0). */
int bt_cursor_next(bt_cursor *c);
int bt_cursor_prev(bt_cursor *c);
bool bt_cursor_valid(const bt_cursor *c);
/* 0 or the error that stopped the cursor (details in dl_err_last()). */
int bt_cursor_error(const bt_cursor *c);
/* The current datom; v borrows from the cursor (valid until it moves). */
void bt_cursor_get(const bt_cursor *c, dl_datom *out);

#endif
