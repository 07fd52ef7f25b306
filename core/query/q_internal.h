/*
** q_internal.h — types shared by the query engine's files (query.c,
** q_builtin.c); not part of any public surface.
*/
#ifndef DL_Q_INTERNAL_H
#define DL_Q_INTERNAL_H

#include "db/db.h"
#include "util/arena.h"
#include "value/value.h"

/* A data source: a snapshot, or a collection of tuples (coll.type is a
** sequential or set value). */
typedef struct q_src {
    dl_db *db;
    edn_value coll;
    const edn_sym *name; /* $, $2, $name */
} q_src;

/* One argument of a function call: a value, or (src >= 0) a source. */
typedef struct q_arg {
    edn_value v;
    int src;
} q_arg;

/* A built-in function.  Returns 0 and *out, or a negative code with the
** error set (DATALITH_EQUERY for bad arguments).  A predicate is true when
** *out is neither nil nor false. */
typedef int (*q_fn)(dl_arena *a, const q_src *srcs, const q_arg *args,
                    int n, edn_value *out);

typedef struct q_builtin {
    const char *name;
    q_fn fn;
} q_builtin;

/* The built-in named `name`, or NULL. */
const q_builtin *q_builtin_find(const char *name);

/* Resolve an entity reference for source `src`: an integer id as is, a
** keyword through :db/ident, a lookup ref [attr value] through AVET.
** *out is the EDN_INT id, or nil when nothing is found. */
int q_entity(const q_src *src, const edn_value *v, edn_value *out);

/* Write v as EDN into buf (truncated with "…"); returns buf. */
const char *q_show(const edn_value *v, char *buf, size_t size);

/* Truthiness: everything but nil and false. */
static inline int q_truthy(const edn_value *v) {
    return !(v->type == EDN_NIL || (v->type == EDN_BOOL && !v->u.b));
}

#endif
