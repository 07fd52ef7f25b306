/*
** pull.h — the pull pattern language (reference/datahike-semantics.md §6):
** parse a pattern once against a snapshot's schema, then evaluate it for
** any number of entities.  Used by the pull / pull-many facade
** (core/api/api_pull.c) and by the query engine for (pull ?e pattern).
**
** A parsed pattern is a tree of specs allocated in the caller's arena:
**
**   [:name {:friend [:name]} (limit :aka 2) *]
**
**   dl_pull_pattern { wildcard = true, n = 3 }
**     ├─ spec  :name    key :name
**     ├─ spec  :friend  key :friend  sub ──▶ dl_pull_pattern { n = 1 }
**     │                                        └─ spec :name
**     └─ spec  :aka     key :aka     limit 2
**
** Evaluation (dl_pull) reads an entity's datoms through EAVT prefix scans
** and its referrers through AVET (reference attributes are always in
** AVET), and builds an EDN map in the caller's arena:
**   - card-one ⇒ the value, card-many ⇒ a vector (at most `limit`, default
**     1000, DL_PULL_UNLIMITED for nil), refs ⇒ {:db/id n} or a sub-pull;
**   - forward component refs without a sub-pattern are expanded as full
**     wildcard pulls, recursively;
**   - reverse attributes (:_attr) give a vector of referrers, or one map
**     when the forward attribute is a component;
**   - recursion {:friend ...} / {:friend 3} re-applies the enclosing
**     pattern; an entity already on the recursion path is rendered
**     {:db/id e};
**   - missing attributes are omitted unless a default is given; an entity
**     for which nothing is found pulls to nil.
**
** Thread safety: a parsed pattern is immutable; any number of threads may
** evaluate it concurrently (each with its own arena).  It borrows interned
** keywords and values from the pattern it was parsed from, so the EDN
** pattern must outlive it (normally both live in the same arena).
*/
#ifndef DL_PULL_H
#define DL_PULL_H

#include "db/db.h"
#include "util/arena.h"
#include "value/value.h"

#include <stdbool.h>
#include <stdint.h>

#define DL_PULL_DEFAULT_LIMIT 1000
#define DL_PULL_UNLIMITED (-1L)
/* Recursion value of a spec: none, unbounded (...), or a depth > 0. */
#define DL_PULL_NO_RECURSION 0
#define DL_PULL_RECURSE_UNBOUNDED (-1)
/* Nesting bound for evaluation (sub-pulls, recursion and component
** expansion together); deeper ⇒ DATALITH_ELIMIT. */
#define DL_PULL_MAX_DEPTH 4096

typedef struct dl_pull_pattern dl_pull_pattern;

typedef enum dl_pull_kind {
    DL_PULL_ATTR = 0, /* a forward attribute */
    DL_PULL_REVERSE,  /* :ns/_name: entities referring through :ns/name */
    DL_PULL_ID        /* :db/id */
} dl_pull_kind;

/* One attribute spec of a pattern. */
typedef struct dl_pull_spec {
    dl_pull_kind kind;
    const edn_sym *attr;    /* the forward attribute (DL_PULL_ID: :db/id) */
    edn_value key;          /* key in the result: :as, else as written */
    long limit;             /* card-many / reverse: max values;
                               DL_PULL_UNLIMITED for nil */
    bool has_default;
    edn_value deflt;        /* used when the attribute has no value */
    const dl_pull_pattern *sub; /* nested pattern or NULL */
    int recursion;          /* DL_PULL_NO_RECURSION, _UNBOUNDED or depth */
} dl_pull_spec;

struct dl_pull_pattern {
    bool wildcard;          /* * present */
    size_t n;
    dl_pull_spec *specs;    /* in pattern order; later specs win on equal keys */
};

/* Parse `pattern` (a vector of attribute specs) against db's schema.
** Allocates from `a` only.  Errors are DATALITH_EQUERY with a message naming
** the offending part, e.g. "Invalid pull pattern: expected a positive limit
** or nil, got 0 in (limit :aka 0)". */
int dl_pull_parse(dl_arena *a, const edn_value *pattern, const dl_db *db,
                  dl_pull_pattern **out);

/* Pull one entity.  *out is a map, or nil when nothing is found.  The
** result lives in `a` (values are copied out of the index). */
int dl_pull(dl_arena *a, const dl_db *db, const dl_pull_pattern *p,
            uint64_t eid, edn_value *out);

/* Resolve an entity id as pull takes it: a positive integer is itself; a
** keyword is an ident (:db/ident); [attr value] is a lookup ref on a
** :db/unique attribute.  *found is 0 when an ident or lookup ref names no
** entity.  Errors: DATALITH_EINVAL "Expected number or lookup ref for
** entity id, got …", "Lookup ref attribute should be marked as
** :db/unique: …", "Lookup ref should contain 2 elements: …". */
int dl_pull_resolve_eid(const dl_db *db, const edn_value *eid, uint64_t *out,
                        int *found);

/* dl_pull_resolve_eid, and an ident or lookup ref that names nothing is
** DATALITH_ENOTFOUND "Nothing found for entity id …" (Datahike's
** :entity-id/missing). */
int dl_pull_resolve_eid_strict(const dl_db *db, const edn_value *eid,
                               uint64_t *out);

/* The whole pull operation on EDN values: parse, resolve (strictly), pull.
** pull-many: `eids` is a list or vector, *out a vector with one element
** (map or nil) per id, in order. */
int dl_pull_value(dl_arena *a, const dl_db *db, const edn_value *pattern,
                  const edn_value *eid, edn_value *out);
int dl_pull_many_value(dl_arena *a, const dl_db *db, const edn_value *pattern,
                       const edn_value *eids, edn_value *out);

#endif
