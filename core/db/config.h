/*
** config.h — Datahike configuration maps: parsing with Datahike's defaults,
** validation, the completed config stored with a database, and the
** connect-time comparison against the stored config.
**
** A configuration arrives as an EDN map (or the deprecated URI string
** "datahike:memory://name" / "datahike:file:///path").  dl_config_parse
** merges it over the built-in defaults (reference/datahike-semantics.md §2):
**
**   key                     default                     check
**   :store                  {:backend :memory}          map; :mem -> :memory
**   :schema-flexibility     :write                      :read | :write
**   :keep-history?          true                        boolean
**   :attribute-refs?        false                       boolean; not with :read
**   :name                   (absent)                    string
**   :initial-tx             (absent)                    tx-data or file path
**   :branch                 :db                         keyword
**   :index                  :datahike.index/persistent-set
**   :index-config           {:branching-factor 512 :diff-buf-size 0}
**   :store-cache-size       1000                        positive integer
**   :search-cache-size      0                           non-negative integer
**   :writer                 {:backend :self}            closed key set
**   :crypto-hash?           false                       boolean
**   :allow-unsafe-config    (absent)                    boolean
**   :allow-index-backfill?  false                       boolean
**
** Keys Datahike knows but Datalith passes through untouched (:remote-peer,
** :online-gc, :value-caps, :max-*-length, :fuse-index-roots?,
** :commit-graph?, :middleware) and unknown keys are kept in `extra` and
** reappear in the completed config, as Datahike's open map spec keeps them.
** The store sub-map is opaque here except for :backend normalisation; the
** store layer validates the rest.
**
** Environment variables (DATAHIKE_*) are not consulted: configuration is
** explicit.  All edn_values in a dl_config point into the arena passed to
** dl_config_parse and live as long as it.
*/
#ifndef DL_DB_CONFIG_H
#define DL_DB_CONFIG_H

#include "../value/value.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum dl_schema_flex {
    DL_FLEX_WRITE = 0, /* attributes must be declared (default) */
    DL_FLEX_READ = 1   /* schemaless */
} dl_schema_flex;

#define DL_CONFIG_DEFAULT_BRANCHING_FACTOR 512
#define DL_CONFIG_DEFAULT_STORE_CACHE_SIZE 1000
#define DL_CONFIG_DEFAULT_SEARCH_CACHE_SIZE 0
#define DL_CONFIG_DEFAULT_QUEUE_SIZE 120000

typedef struct dl_writer_config {
    const edn_sym *backend;       /* self, datahike-server, kabel */
    bool streaming;               /* :streaming? (self), default true */
    int64_t transaction_queue_size; /* default 120000 */
    int64_t commit_queue_size;      /* default 120000 */
    int64_t commit_wait_time;       /* ms, default 0 */
    edn_value map;                /* the :writer map as completed */
} dl_writer_config;

typedef struct dl_config {
    edn_value store;              /* the store map, :backend normalised */
    const edn_sym *backend;       /* its :backend keyword's sym */
    dl_schema_flex schema_flexibility;
    bool keep_history;
    bool attribute_refs;
    bool crypto_hash;
    bool has_name;
    edn_value name;               /* string when has_name */
    bool has_initial_tx;
    edn_value initial_tx;         /* tx-data (a file path is read) */
    const edn_sym *branch;        /* keyword sym, default db */
    const edn_sym *index;         /* datahike.index/persistent-set */
    int64_t branching_factor;     /* :index-config :branching-factor */
    int64_t diff_buf_size;        /* :index-config :diff-buf-size */
    edn_value index_config;       /* completed :index-config map */
    int64_t store_cache_size;
    int64_t search_cache_size;
    dl_writer_config writer;
    bool has_allow_unsafe_config;
    bool allow_unsafe_config;
    bool allow_index_backfill;
    edn_value extra;              /* map of pass-through keys ({} if none) */
} dl_config;

/* Parse `in` (a map, nil for all defaults, or a deprecated URI string) into
** `out`, allocating from `a`.  An :initial-tx given as a string is read as
** EDN from that file path.
** Errors: DATALITH_EINVAL "Invalid Datahike configuration. <detail>" naming
** the key and the bad value; DATALITH_EINVAL "Attribute references cannot
** be used with schema-flexibility ':read'."; DATALITH_EUNSUPPORTED for
** :datahike.index/hitchhiker-tree; DATALITH_EIO / DATALITH_EPARSE when the
** :initial-tx file cannot be read or parsed; DATALITH_ENOMEM. */
int dl_config_parse(dl_arena *a, const edn_value *in, dl_config *out);

/* The completed config map, as create-database returns it and as it is
** stored with the database: every default filled in, :initial-tx kept only
** as `true` when one was given, pass-through keys included.  Keys are those
** of the table above.  Deterministic (maps are sorted). */
int dl_config_to_edn(dl_arena *a, const dl_config *c, edn_value *out);

/* Connect-time check of a parsed config against the map stored with the
** database (as written by dl_config_to_edn).
**   - `stored` NULL: DATALITH_ENOTFOUND "Database does not exist."
**   - a stored map that is not a map: DATALITH_ECORRUPT.
**   - the create-time keys (:index, :index-config :branching-factor and
**     :diff-buf-size) are adopted from the stored config into `effective`;
**   - unless :allow-unsafe-config is true, the remaining keys must equal
**     the stored ones, ignoring runtime keys (:name, :initial-tx, :branch,
**     :store-cache-size, :search-cache-size, :writer, :allow-unsafe-config,
**     :allow-index-backfill?, :value-caps, :max-*-length, :remote-peer) and
**     comparing :store only by :id when both give one (mismatch:
**     DATALITH_ECONFLICT "Store identity mismatch: ...");
**     otherwise DATALITH_ECONFLICT with Datahike's
**     :config-does-not-match-stored-db message followed by the first
**     differing key.
** `effective` may alias nothing; it is filled from `given` plus the
** adopted keys, its values point into `a` or into `given`/`stored`. */
int dl_config_check_stored(dl_arena *a, const dl_config *given,
                           const edn_value *stored, dl_config *effective);

/* The exact message Datahike raises for :config-does-not-match-stored-db. */
#define DL_CONFIG_MISMATCH_MSG                                               \
    "Configuration does not match stored configuration. In some cases this " \
    "check is too restrictive. If you are sure you are loading the right "   \
    "database with the right configuration then you can disable this check " \
    "by setting :allow-unsafe-config to true in your config."

#endif
