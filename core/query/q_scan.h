/*
** q_scan.h — the query engine's only access to datoms.
**
** A scan is given the components a data pattern has bound (entity,
** attribute, value, tx; NULL for free) and picks the index whose prefix
** covers most of them:
**
**   bound            index  seek prefix
**   e [a [v]]        EAVT   e, a, v
**   a v (in AVET)    AVET   a, v
**   a                AEVT   a
**   nothing / v / tx EAVT   (full scan)
**
** Components not covered by the prefix are not filtered here: callers
** compare every datom they get against the whole pattern.  q_count gives
** the exact number of current datoms under the same prefix in O(log n),
** which the planner uses as its cost estimate (for a history, as-of or
** since view it is an estimate: the view's datoms are read through
** dl_scan, core/db/view.h, so every pattern sees exactly what the view
** shows, including [e a v tx added] with added false on history).
*/
#ifndef DL_Q_SCAN_H
#define DL_Q_SCAN_H

#include "db/db.h"
#include "db/view.h"
#include "index/btree.h"

typedef struct q_scan {
    dl_scan *sc;
    dl_index order;
    dl_datom key, hkey;
    unsigned nf;
    int range; /* opened by q_scan_open_range */
} q_scan;

/* Bound components for a scan; pointers may be NULL.  e must be an
** EDN_INT, a an EDN_KEYWORD, for the prefix to be used. */
typedef struct q_bound {
    const edn_value *e, *a, *v, *tx;
} q_bound;

int q_scan_open(const dl_db *db, const q_bound *b, q_scan *s);
/* Like q_scan_open on a scan that may already be open (sc non-NULL, or
** NULL for none): the open scan is re-aimed at the new bounds when the
** index is the same, without allocating (dl_scan_reseek); else closed and
** opened.  On error the scan may be left open: q_scan_close it. */
int q_scan_reopen(const dl_db *db, const q_bound *b, q_scan *s);
/* An AVET scan of attribute a over values lo..hi, both inclusive, either
** NULL for open; the attribute must be in AVET. */
int q_scan_open_range(const dl_db *db, const edn_sym *a, const edn_value *lo,
                      const edn_value *hi, q_scan *s);
/* 1 and *out (borrowed until the next call) or 0 at the end; <0 error. */
int q_scan_next(q_scan *s, dl_datom *out);
void q_scan_close(q_scan *s);
/* Exact count of datoms under the prefix q_scan_open would seek. */
int q_count(const dl_db *db, const q_bound *b, uint64_t *out);

#endif
