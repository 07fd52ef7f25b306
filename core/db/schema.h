/*
** schema.h — the schema of one database: attribute definitions, the
** system attributes, value-type conformance, validation of schema
** entities, the schema-change rules, and the `schema` / `reverse-schema`
** views, all with Datahike's exact error texts
** (reference/datahike-semantics.md §0, §3, §4).
**
** A dl_schema is immutable once built and reference counted, so a snapshot
** copies it with dl_schema_retain() and any number of threads may read it
** at once.  A transaction that touches schema datoms edits a private copy
** through a dl_schema_builder (copy-on-write: the attribute array is copied
** once per schema-changing transaction, never per datom) and publishes a
** new dl_schema when it commits.
**
**   dl_schema ─┬─ attrs[0..n)  dl_attr records (system ones first)
**              ├─ by_ident     open-addressing table  sym ptr -> index
**              ├─ by_eid       open-addressing table  eid     -> index
**              └─ arena        docs, tuple arrays, in-tuple lists
**
** The hot path (one lookup per datom) is a hash probe on the interned
** symbol pointer; the record carries every flag the transactor and the
** index need precomputed (is-ref, in-AVET, many, unique, component,
** composite participation).
**
** Value types (Datahike keyword -> the edn_values that conform):
**   :db.type/bigdec   EDN_BIGDEC                       (decimal?)
**   :db.type/bigint   EDN_INT, EDN_BIGINT              (integer?)
**   :db.type/boolean  EDN_BOOL
**   :db.type/bytes    EDN_BYTES
**   :db.type/double   EDN_FLOAT                        (double?)
**   :db.type/float    EDN_FLOAT (Clojure's float? accepts doubles)
**   :db.type/number   EDN_INT, EDN_BIGINT, EDN_FLOAT, EDN_BIGDEC
**   :db.type/instant  EDN_INST
**   :db.type/keyword  EDN_KEYWORD
**   :db.type/long     EDN_INT only (exactly java.lang.Long: 1N is not)
**   :db.type/ref      EDN_INT (an entity id) or EDN_STRING (a tempid);
**                     lookup refs, idents and :db/current-tx are resolved
**                     to ids by the transaction layer before the check
**   :db.type/string   EDN_STRING
**   :db.type/symbol   EDN_SYMBOL
**   :db.type/uuid     EDN_UUID
**   :db.type/tuple    EDN_VECTOR (vector?; a list is not a tuple)
** Internal types of system attributes: :db.type/value (a value-type
** keyword), :db.type/cardinality, :db.type/unique,
** :db.type.install/attribute.  Not supported: :db.type/store-ref,
** float-array, double-array (no JVM arrays in the EDN model).
*/
#ifndef DL_DB_SCHEMA_H
#define DL_DB_SCHEMA_H

#include "../value/value.h"
#include "config.h"

#include <stdbool.h>
#include <stdint.h>

/* Entity id space (§0). */
#define DL_E0 UINT64_C(0)
#define DL_TX0 UINT64_C(0x20000000)
#define DL_EMAX UINT64_C(0x7FFFFFFF)
/* First user entity id under :attribute-refs? (system ids are 1..54). */
#define DL_SCHEMA_UE0 UINT64_C(55)

typedef enum dl_vtype {
    DL_VT_NONE = 0, /* no :db/valueType (schema-on-read, enum idents) */
    DL_VT_BIGDEC,
    DL_VT_BIGINT,
    DL_VT_BOOLEAN,
    DL_VT_BYTES,
    DL_VT_DOUBLE,
    DL_VT_FLOAT,
    DL_VT_INSTANT,
    DL_VT_KEYWORD,
    DL_VT_LONG,
    DL_VT_NUMBER,
    DL_VT_REF,
    DL_VT_STRING,
    DL_VT_SYMBOL,
    DL_VT_UUID,
    DL_VT_TUPLE,
    /* internal, for system attributes only */
    DL_VT_VALUE,       /* :db.type/value */
    DL_VT_CARDINALITY, /* :db.type/cardinality */
    DL_VT_UNIQUE,      /* :db.type/unique */
    DL_VT_INSTALL,     /* :db.type.install/attribute */
    DL_VT_COUNT
} dl_vtype;

typedef enum dl_unique {
    DL_UNIQUE_NONE = 0,
    DL_UNIQUE_IDENTITY,
    DL_UNIQUE_VALUE
} dl_unique;

/* Which keys an attribute definition holds (absent differs from false
** for the change rules). */
enum {
    DL_P_IDENT = 1u << 0,
    DL_P_VALUETYPE = 1u << 1,
    DL_P_CARDINALITY = 1u << 2,
    DL_P_UNIQUE = 1u << 3,
    DL_P_INDEX = 1u << 4,
    DL_P_COMPONENT = 1u << 5,
    DL_P_NOHISTORY = 1u << 6,
    DL_P_DOC = 1u << 7,
    DL_P_TUPLETYPE = 1u << 8,
    DL_P_TUPLETYPES = 1u << 9,
    DL_P_TUPLEATTRS = 1u << 10
};

/* A composite tuple an attribute is a component of, and its slot. */
typedef struct dl_tuple_slot {
    const edn_sym *tuple; /* the composite tuple attribute */
    uint32_t pos;         /* index in its :db/tupleAttrs */
} dl_tuple_slot;

typedef struct dl_attr {
    const edn_sym *ident; /* NULL for a definition without :db/ident yet */
    uint64_t eid;         /* the defining entity; 0 for implicit system
                             attributes when :attribute-refs? is false */
    uint32_t present;     /* DL_P_* */
    uint8_t vtype;        /* dl_vtype */
    uint8_t unique;       /* dl_unique */
    bool many;            /* :db.cardinality/many */
    bool index;           /* :db/index true */
    bool component;       /* :db/isComponent true */
    bool no_history;      /* :db/noHistory true */
    /* derived */
    bool system;          /* a built-in attribute or ident */
    bool avet;            /* datoms go into AVET: index, unique or ref */
    bool ref;             /* vtype == DL_VT_REF */
    bool composite;       /* has :db/tupleAttrs */
    edn_value doc;        /* EDN_STRING when DL_P_DOC */
    uint8_t tuple_type;   /* dl_vtype, homogeneous tuples */
    uint32_t n_tuple_types;
    const uint8_t *tuple_types;      /* heterogeneous tuples */
    uint32_t n_tuple_attrs;
    const edn_sym *const *tuple_attrs; /* composite tuples */
    uint32_t n_in_tuples;
    const dl_tuple_slot *in_tuples;  /* composites this attr feeds */
} dl_attr;

typedef struct dl_schema dl_schema;
typedef struct dl_schema_builder dl_schema_builder;

/* ---- lifetime ---- */

/* An empty schema (system attributes only).  Under `attribute_refs` the
** system attributes carry their ids 1..54 and can be found by id. */
int dl_schema_new(dl_schema_flex flex, bool attribute_refs,
                  dl_schema **out);
/* Thread-safe reference counting; release frees at zero.  NULL is a
** no-op for release. */
void dl_schema_retain(dl_schema *s);
void dl_schema_release(dl_schema *s);

/* ---- lookup (all O(1), no allocation, thread-safe) ---- */

dl_schema_flex dl_schema_flexibility(const dl_schema *s);
bool dl_schema_attribute_refs(const dl_schema *s);
/* The definition with this ident (user or system), or NULL. */
const dl_attr *dl_schema_attr(const dl_schema *s, const edn_sym *ident);
/* The definition held by entity `eid`, or NULL. */
const dl_attr *dl_schema_attr_by_eid(const dl_schema *s, uint64_t eid);
/* All definitions, system ones included, in no particular order. */
size_t dl_schema_count(const dl_schema *s);
const dl_attr *dl_schema_at(const dl_schema *s, size_t i);

/* The attribute a transaction or a datoms call names.  `at` is the
** operation or entity shown in the error (may be NULL).  A reverse name
** (:ns/_name) resolves to the forward attribute with *is_reverse set
** (is_reverse may be NULL, then reverse names are not resolved).
** Under :write an undeclared attribute is DATALITH_ESCHEMA
** "Bad entity attribute :age at <at>, not defined in current schema";
** under :read it resolves to a default card-one, untyped definition
** (ident NULL).  Never allocates. */
int dl_schema_resolve(const dl_schema *s, const edn_sym *a,
                      const edn_value *at, const dl_attr **out,
                      bool *is_reverse);

/* System ids (§0): :db/ident -> 1 … :db.type/tuple -> 38,
** :db.valid/from -> 39, :db.valid/to -> 40, :db/maxLength -> 53,
** :db.attr/preds -> 54; 0 when `ident` has none. */
uint64_t dl_schema_system_eid(const edn_sym *ident);
const edn_sym *dl_schema_system_ident(uint64_t eid);

/* True for the attributes whose datoms define schema (:db/ident,
** :db/valueType, :db/cardinality, :db/unique, :db/index, :db/isComponent,
** :db/noHistory, :db/doc, :db/tupleType, :db/tupleTypes, :db/tupleAttrs). */
bool dl_schema_is_schema_attr(const edn_sym *a);
/* An ident in the reserved namespace db or db.* */
bool dl_schema_is_reserved(const edn_sym *ident);

/* ---- values ---- */

/* The dl_vtype for a value-type keyword such as :db.type/string, or
** DL_VT_NONE when it is not one. */
dl_vtype dl_vtype_of(const edn_sym *kw);
const edn_sym *dl_vtype_ident(dl_vtype t);
/* Does v conform to t (see the table above)?  nil never conforms. */
bool dl_vtype_conforms(dl_vtype t, const edn_value *v);

#define DL_CHECK_INTERNAL 1u /* the transactor writes a composite tuple */

/* Check a value asserted for `attr`.  `at` is the operation as the user
** wrote it ([:db/add 3 :name 42]), printed in messages.  Errors:
**   nil:   DATALITH_ETX "Cannot store nil as a value at <at>"
**   type:  DATALITH_ESCHEMA "Bad entity value 42 at [:db/add 3 :name 42],
**          value does not match schema definition. Must be conform to:
**          string?"
**   tuples (DATALITH_ESCHEMA): "Can’t modify tuple attrs directly: <at>",
**          "Cannot store more than 8 values for homogeneous tuple: <at>",
**          "Cannot store homogeneous tuple with values of different type:
**          <at>", "Cannot store homogeneous tuple. Values are of wrong
**          type: <at>", "Cannot store heterogeneous tuple: expecting N
**          values, got M", "Cannot store heterogeneous tuple: there is a
**          mismatch between values [..] and their types [..]".
** Under :read only nil is rejected.  Never allocates on success. */
int dl_schema_check_value(const dl_schema *s, const dl_attr *attr,
                          const edn_value *v, const edn_value *at,
                          unsigned flags);

/* ---- validating a schema entity (the entity-map path) ---- */

/* Check an entity map being transacted as entity `eid` before it is
** exploded into datoms (Datahike's check-schema-update plus the
** definition rules).  Maps holding no schema key pass.  Errors
** (DATALITH_ESCHEMA):
**   "Using namespace 'db' for attribute identifiers is not allowed"
**   "Update not supported for these schema attributes" (+ the keys)
**   "Incomplete schema transaction attributes, expected :db/ident,
**    :db/valueType, :db/cardinality"
**   "Bad attribute specification for :x: {:db/isComponent true} should
**    also have {:db/valueType :db.type/ref}"
**   "Bad attribute specification for :x: ..." for tuple definitions. */
int dl_schema_check_entity(const dl_schema *s, const edn_value *entity,
                           uint64_t eid);

/* ---- building ---- */

/* Start editing a copy of `base` (which stays unchanged and valid). */
int dl_schema_edit(const dl_schema *base, dl_schema_builder **out);
/* Apply one asserted/retracted schema datom [e a v] (a schema attribute,
** see dl_schema_is_schema_attr; others are ignored).  Errors:
**   "Schema with attribute :x already exists" (asserting a taken ident),
**   "Schema with attribute :x does not exist",
**   "Schema with entity id 5 does not exist" (retractions),
**   "Bad entity value ..." for a malformed definition value. */
int dl_schema_builder_assert(dl_schema_builder *b, uint64_t e,
                             const edn_sym *a, const edn_value *v);
int dl_schema_builder_retract(dl_schema_builder *b, uint64_t e,
                              const edn_sym *a, const edn_value *v);
/* Publish the edited schema (refcount 1) and free the builder, also on
** failure. */
int dl_schema_builder_finish(dl_schema_builder *b, dl_schema **out);
void dl_schema_builder_free(dl_schema_builder *b);

/* ---- the schema-change rules (end of transaction) ---- */

/* Answers about the data, supplied by the caller. */
typedef struct dl_schema_data {
    void *ctx;
    /* Did `ident` have current or history datoms before the transaction? */
    int (*attr_used)(void *ctx, const edn_sym *ident, bool *out);
    /* The first entity holding more than one current value of `ident`
    ** after the transaction, or 0. */
    int (*multi_valued_entity)(void *ctx, const edn_sym *ident,
                               uint64_t *out);
} dl_schema_data;

/* Attributes whose AVET entries must be back-filled (index or unique
** enabled on a used attribute with :allow-index-backfill? true); the
** caller also rejects duplicates for unique ones. */
typedef struct dl_schema_backfill {
    size_t n;
    const edn_sym *idents[16]; /* the first 16; `n` counts all */
} dl_schema_backfill;

/* Validate every definition that differs between `before` and `after`.
** Errors (DATALITH_ESCHEMA), exact texts:
**   "Invalid schema state for :x after transaction"
**   "Schema change on :x requires the attribute to be unused, but it has
**    existing (or history) datoms. Migrate the data to a new attribute
**    instead."
**   "Cannot narrow :x to :db.cardinality/one: entity 5 holds more than one
**    value."
**   ":db/tupleAttrs of :x references :y, which must not have
**    :db.cardinality/many." / "…, which is itself a tuple attribute."
** `backfill` may be NULL when allow_index_backfill is false. */
int dl_schema_check_changes(const dl_schema *before, const dl_schema *after,
                            const dl_schema_data *data,
                            bool allow_index_backfill,
                            dl_schema_backfill *backfill);

/* ---- views (§1) ---- */

/* `schema`: {ident {:db/ident … :db/valueType … :db/id eid …}} for every
** user definition with an ident (system attributes excluded). */
int dl_schema_to_edn(dl_arena *a, const dl_schema *s, edn_value *out);
/* `reverse-schema`: {property #{idents}} over the user definitions plus
** the implicit {:db/ident {:db/unique :db.unique/identity}}, with
** :db/attrTuples {component {tuple pos}}. */
int dl_schema_reverse_to_edn(dl_arena *a, const dl_schema *s,
                             edn_value *out);

#endif
