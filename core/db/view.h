/*
** view.h — time views (history, as-of, since), filtered views, and the one
** view-aware scan every reader (datoms, index-range, entity, later the
** query engine and pull) goes through.
**
** A view is an ordinary dl_db that shares its base's six trees (O(1):
** bt_tree_copy) and carries a description of what a reader may see in the
** view fields of dl_db (db.h).  Nothing is materialised; dl_scan_open
** interprets the fields while it walks the trees:
**
**   view               source trees                     per datom
**   ───────────────    ──────────────────────────────   ─────────────────────
**   plain              current (EAVT/AEVT/AVET)          —
**   since t            current                           keep tx > t
**   history            temporal twin ∪ current           keep every change
**                      (merged, equal datoms once)       (tx ≤ as-of, > since)
**   as-of t            temporal twin ∪ current, folded   state of [e a v] at t
**                      per [e a v]
**   + filter           any of the above                  predicates, last
**
** Why "temporal ∪ current": with :keep-history? every change of a history
** attribute is in the temporal trees (assertions added=true, retractions
** added=false), but :db/noHistory attributes (and :db/txInstant, which is
** one) only ever live in the current trees.  The union, in the temporal
** order [.. .. .. tx added], gives each history attribute's changes once
** and each noHistory attribute's current datoms as assertions — Datahike's
** "current ∪ temporal".
**
** THE AS-OF FOLD.  For one [e a v] the merged stream lists its changes by
** tx ascending, and within one tx the retraction (added=false) before the
** assertion.  Changes of txs after t are ignored; then, per tx:
**
**     only assertions   ──▶ present (this tx)
**     only retractions  ──▶ absent
**     both              ──▶ unchanged
**
** "Both" happens only when one transaction asserted and retracted the same
** fact: assert+retract of an absent value leaves it absent, retract+assert
** of a present value leaves it present (Datahike §8), so in both orders the
** state before the tx is the answer — the order inside a tx, which the
** trees do not keep, is not needed.  The fold emits [e a v tx true] with the
** tx of the assertion that made it present.
**
** Composition: as-of of an as-of keeps the earlier point, since of a since
** the later one; history + as-of/since bound the history by tx; filters
** AND-compose.  Views require :keep-history? except filter.
*/
#ifndef DL_VIEW_H
#define DL_VIEW_H

#include "db.h"

#include <stdbool.h>

enum {
    DL_VIEW_HISTORY = 1u << 0,
    DL_VIEW_AS_OF = 1u << 1,
    DL_VIEW_SINCE = 1u << 2
};

/* A datom predicate: 1 keep, 0 drop, negative: an error code (set with
** dl_err_set) that stops the scan.  The datom is borrowed for the call. */
typedef int (*dl_view_pred)(void *ctx, const dl_datom *d);

/* One link of a filtered view's predicate chain (refcounted; views
** derived from a filtered view share the chain). */
typedef struct dl_view_filter_link {
    atomic_int refs;
    dl_view_pred fn;
    void *ctx;
    void (*free_ctx)(void *ctx); /* called when the last view goes; may be NULL */
    struct dl_view_filter_link *next;  /* the inner filters, AND-ed */
} dl_view_filter_link;

/* ---- making views ----
** Each returns a new value (refcount 1) in *out; release it with
** dl_view_release.  `db` is not changed and may be a view itself. */

/* Every assertion and retraction.  No :keep-history?: DATALITH_EUNSUPPORTED
** "history is only allowed on temporal indexed databases." */
int dl_view_history(const dl_db *db, dl_db **out);

/* The database as of a time point, inclusive.  `tp` is a transaction id
** (EDN_INT, >= 536870912, else DATALITH_EINVAL "Invalid transaction ID.
** Must be bigger than 536870912.") or an #inst (mapped to the newest
** transaction whose :db/txInstant is <= it).  Other types: DATALITH_ETYPE.
** No :keep-history?: DATALITH_EUNSUPPORTED "as-of is only allowed on
** temporal indexed databases." */
int dl_view_as_of(const dl_db *db, const edn_value *tp, dl_db **out);

/* The current datoms asserted strictly after a time point (tx id or #inst,
** as above, but any tx id is accepted).  No :keep-history?:
** DATALITH_EUNSUPPORTED "since is only allowed on temporal indexed
** databases." */
int dl_view_since(const dl_db *db, const edn_value *tp, dl_db **out);

/* Keep only datoms `fn` accepts (AND-ed with db's filters).  `free_ctx`
** (may be NULL) is called with ctx when the last view using it goes, and
** also when this call fails. */
int dl_view_filter(const dl_db *db, dl_view_pred fn, void *ctx,
                   void (*free_ctx)(void *), dl_db **out);

static inline bool dl_view_is_filtered(const dl_db *db) {
    return db->filter != NULL;
}

/* Drop one reference to a filter chain (NULL-safe); frees the links whose
** count reaches 0.  For dl_db_release. */
void dl_view_filter_unref(dl_view_filter_link *f);

/* Release a value that may be a filtered view (dl_db_release does not
** know the filter chain).  NULL-safe. */
void dl_view_release(dl_db *db);

/* The transaction whose :db/txInstant is the newest one <= ms (DL_TX0 if
** none), read from db's current trees. */
int dl_view_tx_at(const dl_db *db, int64_t ms, uint64_t *out);

/* ---- scanning ----
**
** A scan walks one index order of a database value as the value's view
** says.  `order` is DL_EAVT, DL_AEVT or DL_AVET (the temporal twin is chosen
** by the view).  Bounds are inclusive on their first lo_nf / hi_nf key
** components (in `order`'s component order); NULL = open:
**
**   datoms       lo = hi = key           prefix slice
**   seek-datoms  lo = key, hi = NULL     to the end
**   rseek-datoms lo = NULL, hi = key     reverse, to the start
**   index-range  AVET, lo = [a start], hi = [a end]
**
** Datoms come out in `order` (descending when `reverse`); history views
** order [.. .. .. tx added].  The key datoms are borrowed for the scan's
** life.  A datom returned by dl_scan_next borrows from the scan until the
** next call or dl_scan_close.  Not thread-safe; one scan per thread. */
typedef struct dl_scan dl_scan;

int dl_scan_open(const dl_db *db, dl_index order, const dl_datom *lo,
                 unsigned lo_nf, const dl_datom *hi, unsigned hi_nf,
                 bool reverse, dl_scan **out);
/* 1 and *out: the next datom; 0: done; negative: an error. */
int dl_scan_next(dl_scan *s, dl_datom *out);
/* Re-aim an open forward scan at new bounds in the same order, reusing its
** cursors; 1 (nothing changed) for a reverse or as-of scan, to be closed
** and opened instead. */
int dl_scan_reseek(dl_scan *s, const dl_datom *lo, unsigned lo_nf,
                   const dl_datom *hi, unsigned hi_nf);
void dl_scan_close(dl_scan *s);

#endif
