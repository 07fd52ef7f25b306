/*
** test_schema.c — attribute definitions, system attributes, value-type
** conformance, schema entity validation, the schema-change rules and the
** schema / reverse-schema views.  Every error text is compared in full
** against the text Datahike raises (reference/datahike-semantics.md §3–4);
** expected structures are written by hand as EDN literals.
*/
#include "db/schema.h"
#include "test.h"
#include "util/error.h"

#include <pthread.h>
#include <stdio.h>

static dl_arena A;

static edn_value rd(const char *s) {
    edn_value v;
    if (edn_read(&A, s, strlen(s), NULL, &v) != 0) {
        fprintf(stderr, "bad test literal %s: %s\n", s, dl_err_last()->message);
        return edn_nil();
    }
    return v;
}

static const edn_sym *S(const char *full) {
    return edn_intern_full(full, strlen(full));
}

static const char *pr(const edn_value *v) {
    static char out[4096];
    dl_buf b = DL_BUF_INIT;
    out[0] = 0;
    if (edn_write(&b, v) == 0 && b.data) snprintf(out, sizeof out, "%s", b.data);
    dl_buf_free(&b);
    return out;
}

static const char *msg(void) { return dl_err_last()->message; }

/* Apply "[[e :attr v] …]" (assertions) to a builder; first error wins. */
static int apply(dl_schema_builder *b, const char *datoms, bool retract) {
    edn_value d = rd(datoms);
    for (uint32_t i = 0; i < d.n; i++) {
        const edn_value *t = d.u.items[i].u.items;
        int rc = retract ? dl_schema_builder_retract(b, (uint64_t)t[0].u.i,
                                                     t[1].u.sym, &t[2])
                         : dl_schema_builder_assert(b, (uint64_t)t[0].u.i,
                                                    t[1].u.sym, &t[2]);
        if (rc) return rc;
    }
    return 0;
}

/* A new schema from `base` plus assertions (and then retractions). */
static dl_schema *derive_schema(const dl_schema *base, const char *adds,
                                const char *rets) {
    dl_schema_builder *b;
    dl_schema *s = NULL;
    if (dl_schema_edit(base, &b) != 0) return NULL;
    if ((adds && apply(b, adds, false) != 0) ||
        (rets && apply(b, rets, true) != 0)) {
        fprintf(stderr, "derive failed: %s\n", msg());
        dl_schema_builder_free(b);
        return NULL;
    }
    if (dl_schema_builder_finish(b, &s) != 0) return NULL;
    return s;
}

#define PEOPLE                                                               \
    "[[1 :db/ident :name] [1 :db/valueType :db.type/string]"                 \
    " [1 :db/cardinality :db.cardinality/one]"                               \
    " [2 :db/ident :email] [2 :db/valueType :db.type/string]"                \
    " [2 :db/cardinality :db.cardinality/one]"                               \
    " [2 :db/unique :db.unique/identity]"                                    \
    " [3 :db/ident :friend] [3 :db/valueType :db.type/ref]"                  \
    " [3 :db/cardinality :db.cardinality/many] [3 :db/isComponent true]"     \
    " [4 :db/ident :age] [4 :db/valueType :db.type/long]"                    \
    " [4 :db/cardinality :db.cardinality/one] [4 :db/index true]"            \
    " [4 :db/doc \"years\"] [4 :db/noHistory true]"                          \
    " [5 :db/ident :ssn] [5 :db/valueType :db.type/string]"                  \
    " [5 :db/cardinality :db.cardinality/one] [5 :db/unique :db.unique/value]]"

static dl_schema *people(dl_schema_flex flex) {
    dl_schema *base, *s;
    if (dl_schema_new(flex, false, &base) != 0) return NULL;
    s = derive_schema(base, PEOPLE, NULL);
    dl_schema_release(base);
    return s;
}

/* ---- system attributes ---- */

TEST(system_attributes) {
    dl_schema *s, *r;
    const dl_attr *x;
    CHECK_EQ_INT(dl_schema_new(DL_FLEX_WRITE, false, &s), 0);
    x = dl_schema_attr(s, S("db/ident"));
    CHECK(x && x->system && x->vtype == DL_VT_KEYWORD);
    CHECK(x && x->unique == DL_UNIQUE_IDENTITY && x->avet && !x->many);
    x = dl_schema_attr(s, S("db/txInstant"));
    CHECK(x && x->vtype == DL_VT_INSTANT && x->no_history && !x->avet);
    x = dl_schema_attr(s, S("db/valueType"));
    CHECK(x && x->vtype == DL_VT_VALUE);
    x = dl_schema_attr(s, S("db/cardinality"));
    CHECK(x && x->vtype == DL_VT_CARDINALITY);
    x = dl_schema_attr(s, S("db/unique"));
    CHECK(x && x->vtype == DL_VT_UNIQUE);
    x = dl_schema_attr(s, S("db/doc"));
    CHECK(x && x->vtype == DL_VT_STRING);
    x = dl_schema_attr(s, S("db/tupleAttrs"));
    CHECK(x && x->vtype == DL_VT_TUPLE);
    x = dl_schema_attr(s, S("db.attr/preds"));
    CHECK(x && x->many && x->vtype == DL_VT_SYMBOL);
    x = dl_schema_attr(s, S("db.valid/from"));
    CHECK(x && x->avet && x->vtype == DL_VT_INSTANT);
    /* enum idents are not attributes without attribute refs */
    CHECK(dl_schema_attr(s, S("db.type/string")) == NULL);
    CHECK(dl_schema_attr_by_eid(s, 1) == NULL);
    CHECK(dl_schema_attr(s, S("name")) == NULL);

    CHECK_EQ_INT(dl_schema_new(DL_FLEX_WRITE, true, &r), 0);
    x = dl_schema_attr_by_eid(r, 1);
    CHECK(x && x->ident == S("db/ident"));
    x = dl_schema_attr_by_eid(r, 38);
    CHECK(x && x->ident == S("db.type/tuple") && x->vtype == DL_VT_NONE);
    x = dl_schema_attr_by_eid(r, 9);
    CHECK(x && x->ident == S("db/txInstant") && x->avet);
    CHECK(dl_schema_attr_by_eid(r, 41) == NULL);

    CHECK_EQ_INT(dl_schema_system_eid(S("db/ident")), 1);
    CHECK_EQ_INT(dl_schema_system_eid(S("db/txInstant")), 9);
    CHECK_EQ_INT(dl_schema_system_eid(S("db/isComponent")), 34);
    CHECK_EQ_INT(dl_schema_system_eid(S("db/tupleAttrs")), 37);
    CHECK_EQ_INT(dl_schema_system_eid(S("db.type/tuple")), 38);
    CHECK_EQ_INT(dl_schema_system_eid(S("db.valid/to")), 40);
    CHECK_EQ_INT(dl_schema_system_eid(S("db/maxLength")), 53);
    CHECK_EQ_INT(dl_schema_system_eid(S("name")), 0);
    CHECK(dl_schema_system_ident(54) == S("db.attr/preds"));
    CHECK(dl_schema_system_ident(26) == S("db.type/string"));
    CHECK(dl_schema_system_ident(0) == NULL);
    CHECK(dl_schema_system_ident(55) == NULL);
    CHECK_EQ_INT(DL_SCHEMA_UE0, 55);

    CHECK(dl_schema_is_reserved(S("db/foo")));
    CHECK(dl_schema_is_reserved(S("db.part/x")));
    CHECK(!dl_schema_is_reserved(S("dbx/foo")));
    CHECK(!dl_schema_is_reserved(S("name")));
    CHECK(dl_schema_is_schema_attr(S("db/tupleTypes")));
    CHECK(!dl_schema_is_schema_attr(S("db/txInstant")));
    dl_schema_release(s);
    dl_schema_release(r);
}

/* ---- building ---- */

TEST(build_and_derive) {
    dl_schema *base, *s;
    const dl_attr *x;
    CHECK_EQ_INT(dl_schema_new(DL_FLEX_WRITE, false, &base), 0);
    s = derive_schema(base, PEOPLE, NULL);
    CHECK(s != NULL);
    if (!s) return;
    /* the base is unchanged */
    CHECK(dl_schema_attr(base, S("name")) == NULL);
    x = dl_schema_attr(s, S("name"));
    CHECK(x && x->eid == 1 && x->vtype == DL_VT_STRING && !x->many &&
          !x->avet && !x->system);
    x = dl_schema_attr(s, S("email"));
    CHECK(x && x->unique == DL_UNIQUE_IDENTITY && x->avet);
    x = dl_schema_attr(s, S("friend"));
    CHECK(x && x->ref && x->many && x->component && x->avet);
    x = dl_schema_attr(s, S("age"));
    CHECK(x && x->index && x->avet && x->no_history &&
          x->doc.type == EDN_STRING && strcmp(x->doc.u.s, "years") == 0);
    x = dl_schema_attr(s, S("ssn"));
    CHECK(x && x->unique == DL_UNIQUE_VALUE && x->avet);
    CHECK(dl_schema_attr_by_eid(s, 3) == dl_schema_attr(s, S("friend")));
    CHECK(dl_schema_attr_by_eid(s, 6) == NULL);
    dl_schema_release(base);
    dl_schema_release(s);
}

TEST(retain_release) {
    dl_schema *s = people(DL_FLEX_WRITE);
    CHECK(s != NULL);
    if (!s) return;
    dl_schema_retain(s);
    dl_schema_release(s);
    CHECK(dl_schema_attr(s, S("name")) != NULL);
    dl_schema_release(s);
    dl_schema_release(NULL);
}

TEST(builder_errors) {
    dl_schema *s = people(DL_FLEX_WRITE), *r, *t;
    dl_schema_builder *b;
    if (!s) return;
    CHECK_EQ_INT(dl_schema_edit(s, &b), 0);
    CHECK_EQ_INT(apply(b, "[[9 :db/ident :name]]", false), DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Schema with attribute :name already exists");
    CHECK_EQ_INT(apply(b, "[[9 :db/ident :db/doc]]", false), DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Schema with attribute :db/doc already exists");
    /* re-asserting an entity's own ident is not an error */
    CHECK_EQ_INT(apply(b, "[[1 :db/ident :name]]", false), 0);
    CHECK_EQ_INT(apply(b, "[[9 :db/valueType :db.type/strin]]", false),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(),
              "Bad entity value :db.type/strin at [:db/add 9 :db/valueType "
              ":db.type/strin], value does not match schema definition. Must "
              "be conform to: #{:db.type/bigdec :db.type/bigint "
              ":db.type/boolean :db.type/bytes :db.type/cardinality "
              ":db.type/double :db.type/float :db.type/instant "
              ":db.type/keyword :db.type/long :db.type/number :db.type/ref "
              ":db.type/string :db.type/symbol :db.type/tuple "
              ":db.type/unique :db.type/uuid :db.type/value "
              ":db.type.install/attribute}");
    CHECK_EQ_INT(apply(b, "[[9 :db/cardinality :one]]", false),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(),
              "Bad entity value :one at [:db/add 9 :db/cardinality :one], "
              "value does not match schema definition. Must be conform to: "
              "#{:db.cardinality/many :db.cardinality/one}");
    CHECK_EQ_INT(apply(b, "[[9 :db/unique true]]", false), DATALITH_ESCHEMA);
    CHECK_STR(msg(),
              "Bad entity value true at [:db/add 9 :db/unique true], value "
              "does not match schema definition. Must be conform to: "
              "#{:db.unique/identity :db.unique/value}");
    CHECK_EQ_INT(apply(b, "[[9 :db/index \"yes\"]]", false), DATALITH_ESCHEMA);
    CHECK_STR(msg(),
              "Bad entity value \"yes\" at [:db/add 9 :db/index \"yes\"], "
              "value does not match schema definition. Must be conform to: "
              "boolean?");
    CHECK_EQ_INT(apply(b, "[[9 :db/doc 5]]", false), DATALITH_ESCHEMA);
    CHECK_STR(msg(),
              "Bad entity value 5 at [:db/add 9 :db/doc 5], value does not "
              "match schema definition. Must be conform to: string?");
    CHECK_EQ_INT(apply(b, "[[9 :db/ident \"name\"]]", false),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(),
              "Bad entity value \"name\" at [:db/add 9 :db/ident \"name\"], "
              "value does not match schema definition. Must be conform to: "
              "keyword?");
    CHECK_EQ_INT(apply(b, "[[9 :db/ident :nope]]", true), DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Schema with attribute :nope does not exist");
    CHECK_EQ_INT(apply(b, "[[77 :db/doc \"x\"]]", true), DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Schema with entity id 77 does not exist");
    /* a failed assertion left nothing behind */
    CHECK_EQ_INT(dl_schema_builder_finish(b, &t), 0);
    CHECK(dl_schema_attr_by_eid(t, 9) == NULL);
    dl_schema_release(t);

    /* system entities are read-only under attribute refs */
    CHECK_EQ_INT(dl_schema_new(DL_FLEX_WRITE, true, &r), 0);
    CHECK_EQ_INT(dl_schema_edit(r, &b), 0);
    CHECK_EQ_INT(apply(b, "[[4 :db/doc \"mine\"]]", false), DATALITH_ESCHEMA);
    CHECK_STR(msg(), "System schema entity cannot be changed");
    CHECK_EQ_INT(apply(b, "[[55 :db/ident :x]]", false), 0);
    dl_schema_builder_free(b);
    dl_schema_release(r);
    dl_schema_release(s);
}

TEST(retract_and_rename) {
    dl_schema *s = people(DL_FLEX_WRITE), *t;
    const dl_attr *x;
    if (!s) return;
    t = derive_schema(s, "[[1 :db/ident :full-name]]",
                      "[[4 :db/index true] [4 :db/doc \"years\"]]");
    CHECK(t != NULL);
    if (!t) return;
    CHECK(dl_schema_attr(t, S("name")) == NULL);
    x = dl_schema_attr(t, S("full-name"));
    CHECK(x && x->eid == 1 && x->vtype == DL_VT_STRING);
    x = dl_schema_attr(t, S("age"));
    CHECK(x && !x->index && !x->avet && !(x->present & DL_P_DOC) &&
          !(x->present & DL_P_INDEX));
    dl_schema_release(t);
    /* retracting the ident leaves an ident-less definition */
    t = derive_schema(s, NULL, "[[1 :db/ident :name]]");
    CHECK(t && dl_schema_attr(t, S("name")) == NULL);
    CHECK(t && dl_schema_attr_by_eid(t, 1) &&
          dl_schema_attr_by_eid(t, 1)->ident == NULL);
    dl_schema_release(t);
    /* retracting everything removes the definition */
    t = derive_schema(s, NULL,
                      "[[5 :db/ident :ssn] [5 :db/valueType :db.type/string]"
                      " [5 :db/cardinality :db.cardinality/one]"
                      " [5 :db/unique :db.unique/value]]");
    CHECK(t && dl_schema_attr_by_eid(t, 5) == NULL);
    CHECK(t && dl_schema_count(t) + 1 == dl_schema_count(s));
    dl_schema_release(t);
    dl_schema_release(s);
}

/* ---- value types ---- */

TEST(conformance_table) {
    static const struct {
        dl_vtype t;
        const char *yes, *no;
    } T[] = {
        {DL_VT_BIGDEC, "[1.5M 0M]", "[1 1.5 1N \"1\"]"},
        {DL_VT_BIGINT, "[1 1N -99999999999999999999999N]", "[1.5 1M \"1\"]"},
        {DL_VT_BOOLEAN, "[true false]", "[1 nil \"true\"]"},
        {DL_VT_DOUBLE, "[1.5 ##Inf -0.0]", "[1 1M 1N]"},
        {DL_VT_FLOAT, "[1.5 2.0]", "[1 1M]"},
        {DL_VT_NUMBER, "[1 1N 1.5 1.5M]", "[\"1\" :one \\1]"},
        {DL_VT_INSTANT, "[#inst \"2020-01-01T00:00:00.000-00:00\"]",
         "[0 \"2020-01-01\"]"},
        {DL_VT_KEYWORD, "[:a :a/b]", "[a \"a\"]"},
        {DL_VT_LONG, "[0 -5 9223372036854775807]", "[1N 1.0 1M \"1\"]"},
        {DL_VT_REF, "[1 \"tempid\"]", "[:ident 1.5 [1 2]]"},
        {DL_VT_STRING, "[\"\" \"x\"]", "[:x x \\x]"},
        {DL_VT_SYMBOL, "[x a/b]", "[:x \"x\"]"},
        {DL_VT_UUID, "[#uuid \"550e8400-e29b-41d4-a716-446655440000\"]",
         "[\"550e8400-e29b-41d4-a716-446655440000\"]"},
        {DL_VT_TUPLE, "[[] [1 \"a\"]]", "[(1 2) #{1} {1 2}]"},
        {DL_VT_VALUE, "[:db.type/string :db.type/tuple]",
         "[:db.type/strin :string]"},
        {DL_VT_CARDINALITY, "[:db.cardinality/one :db.cardinality/many]",
         "[:one]"},
        {DL_VT_UNIQUE, "[:db.unique/identity :db.unique/value]", "[true]"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        edn_value y = rd(T[i].yes), n = rd(T[i].no), nilv = edn_nil();
        for (uint32_t k = 0; k < y.n; k++)
            if (!dl_vtype_conforms(T[i].t, &y.u.items[k])) {
                fprintf(stderr, "  type %d should accept %s\n", (int)T[i].t,
                        pr(&y.u.items[k]));
                CHECK(0);
            }
        for (uint32_t k = 0; k < n.n; k++)
            if (dl_vtype_conforms(T[i].t, &n.u.items[k])) {
                fprintf(stderr, "  type %d should reject %s\n", (int)T[i].t,
                        pr(&n.u.items[k]));
                CHECK(0);
            }
        CHECK(!dl_vtype_conforms(T[i].t, &nilv));
    }
    {
        edn_value b;
        CHECK_EQ_INT(edn_bytes(&A, "ab", 2, &b), 0);
        CHECK(dl_vtype_conforms(DL_VT_BYTES, &b));
        CHECK(!dl_vtype_conforms(DL_VT_STRING, &b));
        CHECK(!dl_vtype_conforms(DL_VT_BYTES, &(edn_value){.type = EDN_STRING}));
    }
    /* keyword <-> type round trip */
    for (int t = DL_VT_BIGDEC; t < DL_VT_COUNT; t++)
        CHECK_EQ_INT(dl_vtype_of(dl_vtype_ident((dl_vtype)t)), t);
    CHECK_EQ_INT(dl_vtype_of(S("db.type/string")), DL_VT_STRING);
    CHECK_EQ_INT(dl_vtype_of(S("db.type/float-array")), DL_VT_NONE);
    CHECK_EQ_INT(dl_vtype_of(S("string")), DL_VT_NONE);
}

/* check_value for attribute `ident` of `s` with op text `at`. */
static int cv(const dl_schema *s, const char *ident, const char *v,
              const char *at, unsigned flags) {
    const dl_attr *x = dl_schema_attr(s, S(ident));
    edn_value vv = rd(v), av = rd(at);
    if (!x) return 999;
    return dl_schema_check_value(s, x, &vv, &av, flags);
}

TEST(value_errors) {
    dl_schema *s = people(DL_FLEX_WRITE), *r = people(DL_FLEX_READ);
    if (!s || !r) return;
    CHECK_EQ_INT(cv(s, "name", "42", "[:db/add 3 :name 42]", 0),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad entity value 42 at [:db/add 3 :name 42], value does "
                     "not match schema definition. Must be conform to: "
                     "string?");
    CHECK_EQ_INT(cv(s, "name", "\"Ivan\"", "[:db/add 3 :name \"Ivan\"]", 0), 0);
    CHECK_EQ_INT(cv(s, "age", "\"x\"", "{:db/id 3 :age \"x\"}", 0),
                 DATALITH_ESCHEMA);
    /* maps print canonically (sorted keys, namespace-less first) */
    CHECK_STR(msg(), "Bad entity value \"x\" at {:age \"x\" :db/id 3}, value "
                     "does not match schema definition. Must be conform to: "
                     "long?");
    CHECK_EQ_INT(cv(s, "age", "1N", "[:db/add 3 :age 1N]", 0),
                 DATALITH_ESCHEMA);
    CHECK_EQ_INT(cv(s, "friend", ":x", "[:db/add 3 :friend :x]", 0),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad entity value :x at [:db/add 3 :friend :x], value "
                     "does not match schema definition. Must be conform to: "
                     ":db.type/id");
    CHECK_EQ_INT(cv(s, "name", "nil", "[:db/add 3 :name nil]", 0),
                 DATALITH_ETX);
    CHECK_STR(msg(), "Cannot store nil as a value at [:db/add 3 :name nil]");
    /* system attributes are typed too */
    CHECK_EQ_INT(cv(s, "db/txInstant", "5", "[:db/add 536870913 "
                 ":db/txInstant 5]", 0), DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad entity value 5 at [:db/add 536870913 :db/txInstant "
                     "5], value does not match schema definition. Must be "
                     "conform to: inst?");
    /* schema-on-read checks nothing but nil */
    CHECK_EQ_INT(cv(r, "name", "42", "[:db/add 3 :name 42]", 0), 0);
    CHECK_EQ_INT(cv(r, "name", "nil", "[:db/add 3 :name nil]", 0),
                 DATALITH_ETX);
    dl_schema_release(s);
    dl_schema_release(r);
}

#define TUPLES                                                               \
    "[[1 :db/ident :a] [1 :db/valueType :db.type/string]"                    \
    " [1 :db/cardinality :db.cardinality/one]"                               \
    " [2 :db/ident :b] [2 :db/valueType :db.type/long]"                      \
    " [2 :db/cardinality :db.cardinality/one]"                               \
    " [3 :db/ident :a+b] [3 :db/valueType :db.type/tuple]"                   \
    " [3 :db/tupleAttrs [:a :b :c]] [3 :db/cardinality :db.cardinality/one]" \
    " [3 :db/unique :db.unique/identity]"                                    \
    " [4 :db/ident :prices] [4 :db/valueType :db.type/tuple]"                \
    " [4 :db/tupleType :db.type/long]"                                       \
    " [4 :db/cardinality :db.cardinality/one]"                               \
    " [5 :db/ident :pair] [5 :db/valueType :db.type/tuple]"                  \
    " [5 :db/tupleTypes [:db.type/string :db.type/long]]"                    \
    " [5 :db/cardinality :db.cardinality/one]"                               \
    " [6 :db/ident :b+a] [6 :db/valueType :db.type/tuple]"                   \
    " [6 :db/tupleAttrs [:b :a]] [6 :db/cardinality :db.cardinality/one]]"

TEST(tuple_values) {
    dl_schema *base, *s;
    const dl_attr *x;
    CHECK_EQ_INT(dl_schema_new(DL_FLEX_WRITE, false, &base), 0);
    s = derive_schema(base, TUPLES, NULL);
    dl_schema_release(base);
    CHECK(s != NULL);
    if (!s) return;
    x = dl_schema_attr(s, S("a+b"));
    CHECK(x && x->composite && x->n_tuple_attrs == 3 && x->avet);
    /* composite participation, in definition order */
    x = dl_schema_attr(s, S("a"));
    CHECK(x && x->n_in_tuples == 2);
    if (x && x->n_in_tuples == 2) {
        CHECK(x->in_tuples[0].tuple == S("a+b") && x->in_tuples[0].pos == 0);
        CHECK(x->in_tuples[1].tuple == S("b+a") && x->in_tuples[1].pos == 1);
    }
    x = dl_schema_attr(s, S("b"));
    CHECK(x && x->n_in_tuples == 2);
    CHECK(dl_schema_attr(s, S("prices"))->n_in_tuples == 0);

    CHECK_EQ_INT(cv(s, "prices", "[1 2 3]", "[:db/add 1 :prices [1 2 3]]", 0),
                 0);
    CHECK_EQ_INT(cv(s, "prices", "[1 2 3 4 5 6 7 8 9]",
                    "[:db/add 1 :prices [1 2 3 4 5 6 7 8 9]]", 0),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Cannot store more than 8 values for homogeneous tuple: "
                     "[:db/add 1 :prices [1 2 3 4 5 6 7 8 9]]");
    CHECK_EQ_INT(cv(s, "prices", "[1 \"2\"]", "[:db/add 1 :prices [1 \"2\"]]",
                    0),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Cannot store homogeneous tuple with values of different "
                     "type: [:db/add 1 :prices [1 \"2\"]]");
    CHECK_EQ_INT(cv(s, "prices", "[\"a\" \"b\"]",
                    "[:db/add 1 :prices [\"a\" \"b\"]]", 0),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Cannot store homogeneous tuple. Values are of wrong "
                     "type: [:db/add 1 :prices [\"a\" \"b\"]]");
    CHECK_EQ_INT(cv(s, "prices", "5", "[:db/add 1 :prices 5]", 0),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad entity value 5 at [:db/add 1 :prices 5], value does "
                     "not match schema definition. Must be conform to: "
                     "vector?");

    CHECK_EQ_INT(cv(s, "pair", "[\"a\" 1]", "[:db/add 1 :pair [\"a\" 1]]", 0),
                 0);
    CHECK_EQ_INT(cv(s, "pair", "[\"a\" 1 2]", "[:db/add 1 :pair [\"a\" 1 2]]",
                    0),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Cannot store heterogeneous tuple: expecting 2 values, "
                     "got 3");
    CHECK_EQ_INT(cv(s, "pair", "[1 \"a\"]", "[:db/add 1 :pair [1 \"a\"]]", 0),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Cannot store heterogeneous tuple: there is a mismatch "
                     "between values [1 \"a\"] and their types "
                     "[:db.type/string :db.type/long]");

    CHECK_EQ_INT(cv(s, "a+b", "[\"x\" 1 nil]",
                    "[:db/add 1 :a+b [\"x\" 1 nil]]", 0),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Can\xE2\x80\x99t modify tuple attrs directly: "
                     "[:db/add 1 :a+b [\"x\" 1 nil]]");
    CHECK_EQ_INT(cv(s, "a+b", "[\"x\" 1 nil]",
                    "[:db/add 1 :a+b [\"x\" 1 nil]]", DL_CHECK_INTERNAL),
                 0);
    dl_schema_release(s);
}

TEST(resolve) {
    dl_schema *s = people(DL_FLEX_WRITE), *r = people(DL_FLEX_READ);
    const dl_attr *x;
    bool rev;
    edn_value at;
    if (!s || !r) return;
    at = rd("{:db/id 1 :age 5}");
    CHECK_EQ_INT(dl_schema_resolve(s, S("name"), &at, &x, &rev), 0);
    CHECK(x == dl_schema_attr(s, S("name")) && !rev);
    CHECK_EQ_INT(dl_schema_resolve(s, S("height"), &at, &x, &rev),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad entity attribute :height at {:age 5 :db/id 1}, not "
                     "defined in current schema");
    CHECK_EQ_INT(dl_schema_resolve(s, S("_friend"), &at, &x, &rev), 0);
    CHECK(x == dl_schema_attr(s, S("friend")) && rev);
    CHECK_EQ_INT(dl_schema_resolve(s, S("_friend"), &at, &x, NULL),
                 DATALITH_ESCHEMA);
    CHECK_EQ_INT(dl_schema_resolve(s, S("db/txInstant"), NULL, &x, NULL), 0);
    CHECK(x && x->system);
    /* schema-on-read: undeclared attributes are untyped, card one */
    CHECK_EQ_INT(dl_schema_resolve(r, S("height"), &at, &x, &rev), 0);
    CHECK(x && x->vtype == DL_VT_NONE && !x->many && !x->avet && !rev);
    dl_schema_release(s);
    dl_schema_release(r);
}

/* ---- schema entities ---- */

static int ce(const dl_schema *s, const char *entity, uint64_t eid) {
    edn_value e = rd(entity);
    return dl_schema_check_entity(s, &e, eid);
}

#define UNSUPPORTED "Update not supported for these schema attributes"

TEST(entity_rules) {
    dl_schema *s = people(DL_FLEX_WRITE), *r = people(DL_FLEX_READ);
    if (!s || !r) return;
    /* not a schema entity */
    CHECK_EQ_INT(ce(s, "{:name \"Ivan\" :age 3}", 10), 0);
    /* complete new definitions */
    CHECK_EQ_INT(ce(s, "{:db/ident :x :db/valueType :db.type/string "
                       ":db/cardinality :db.cardinality/many}", 10), 0);
    CHECK_EQ_INT(ce(s, "{:db/ident :important}", 10), 0); /* enum ident */
    CHECK_EQ_INT(ce(s, "{:db/ident :db/x :db/valueType :db.type/string "
                       ":db/cardinality :db.cardinality/one}", 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Using namespace 'db' for attribute identifiers is not "
                     "allowed");
    CHECK_EQ_INT(ce(s, "{:db/ident :db.part/x}", 10), DATALITH_ESCHEMA);
    CHECK_EQ_INT(ce(s, "{:db/ident \"db.x/y\"}", 10), DATALITH_ESCHEMA);
    CHECK_EQ_INT(ce(s, "{:db/ident :x :db/valueType :db.type/string}", 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Incomplete schema transaction attributes, expected "
                     ":db/ident, :db/valueType, :db/cardinality");
    CHECK_EQ_INT(ce(s, "{:db/valueType :db.type/string "
                       ":db/cardinality :db.cardinality/one}", 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Incomplete schema transaction attributes, expected "
                     ":db/ident, :db/valueType, :db/cardinality");
    /* schema-on-read allows partial definitions */
    CHECK_EQ_INT(ce(r, "{:db/ident :x :db/cardinality :db.cardinality/many}",
                    10), 0);
    CHECK_EQ_INT(ce(s, "{:db/ident :x :db/valueType :db.type/string "
                       ":db/cardinality :db.cardinality/one "
                       ":db/isComponent true}", 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :x: {:db/isComponent "
                     "true} should also have {:db/valueType :db.type/ref}");
    CHECK_EQ_INT(ce(s, "{:db/ident :x :db/valueType :db.type/ref "
                       ":db/cardinality :db.cardinality/one "
                       ":db/isComponent true}", 10), 0);
    dl_schema_release(s);
    dl_schema_release(r);
}

TEST(entity_tuple_rules) {
    dl_schema *s = people(DL_FLEX_WRITE);
    if (!s) return;
#define T(extra) "{:db/ident :t :db/cardinality :db.cardinality/one " extra "}"
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple"), 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :t: {:db/valueType "
                     ":db.type/tuple} should also have :db/tupleAttrs, "
                     ":db/tupleTypes or :db/tupleType");
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple :db/tupleType "
                         ":db.type/long :db/tupleAttrs [:a :b]"), 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :t: only one of "
                     ":db/tupleAttrs, :db/tupleTypes and :db/tupleType may "
                     "be given");
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/string :db/tupleType "
                         ":db.type/long"), 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :t: :db/tupleAttrs, "
                     ":db/tupleTypes and :db/tupleType require "
                     "{:db/valueType :db.type/tuple}");
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple :db/tupleType "
                         ":db.type/tuple"), 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :t: {:db/tupleType "
                     "...} must be a scalar value type");
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple :db/tupleTypes "
                         "[:db.type/long]"), 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :t: {:db/tupleTypes "
                     "[...]} must hold 2 to 8 value types");
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple :db/tupleTypes "
                         "[:db.type/long :db.type/tuple]"), 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :t: {:db/tupleTypes "
                     "[...]} must hold scalar value types");
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple :db/tupleAttrs "
                         "[:a :b :c :d :e :f :g :h :i]"), 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :t: {:db/tupleAttrs "
                     "[...]} must hold 2 to 8 attribute idents");
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple :db/tupleAttrs "
                         "[:a :t]"), 10),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :t: {:db/tupleAttrs "
                     "[...]} must not name the tuple attribute itself");
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple :db/tupleTypes "
                         "[:db.type/long :db.type/string]"), 10), 0);
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple :db/tupleType "
                         ":db.type/keyword"), 10), 0);
    CHECK_EQ_INT(ce(s, T(":db/valueType :db.type/tuple :db/tupleAttrs "
                         "[:name :age]"), 10), 0);
#undef T
    dl_schema_release(s);
}

TEST(entity_updates) {
    dl_schema *s = people(DL_FLEX_WRITE);
    if (!s) return;
    /* always allowed: doc, noHistory, isComponent, ident (rename) */
    CHECK_EQ_INT(ce(s, "{:db/id 1 :db/doc \"the name\"}", 1), 0);
    CHECK_EQ_INT(ce(s, "{:db/id 4 :db/noHistory false}", 4), 0);
    CHECK_EQ_INT(ce(s, "{:db/id 3 :db/isComponent false}", 3), 0);
    CHECK_EQ_INT(ce(s, "{:db/id 1 :db/ident :full-name}", 1), 0);
    /* re-stating the same definition */
    CHECK_EQ_INT(ce(s, "{:db/ident :name :db/valueType :db.type/string "
                       ":db/cardinality :db.cardinality/one}", 1), 0);
    /* cardinality: one->many fine without unique, refused with it */
    CHECK_EQ_INT(ce(s, "{:db/id 1 :db/cardinality :db.cardinality/many}", 1),
                 0);
    CHECK_EQ_INT(ce(s, "{:db/id 2 :db/cardinality :db.cardinality/many}", 2),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNSUPPORTED);
    CHECK_EQ_INT(ce(s, "{:db/id 5 :db/cardinality :db.cardinality/many}", 5),
                 DATALITH_ESCHEMA);
    /* many->one is decided on the data at the end of the transaction */
    CHECK_EQ_INT(ce(s, "{:db/id 3 :db/cardinality :db.cardinality/one}", 3),
                 0);
    /* unique: may be added on card-one, changed when present, not added on
    ** card-many */
    CHECK_EQ_INT(ce(s, "{:db/id 1 :db/unique :db.unique/value}", 1), 0);
    CHECK_EQ_INT(ce(s, "{:db/id 2 :db/unique :db.unique/value}", 2), 0);
    CHECK_EQ_INT(ce(s, "{:db/id 3 :db/unique :db.unique/identity}", 3),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNSUPPORTED);
    /* index: enabling is decided at the end of the transaction, disabling
    ** is refused */
    CHECK_EQ_INT(ce(s, "{:db/id 1 :db/index true}", 1), 0);
    CHECK_EQ_INT(ce(s, "{:db/id 4 :db/index false}", 4), DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNSUPPORTED);
    /* valueType changes are decided on the data at the end */
    CHECK_EQ_INT(ce(s, "{:db/id 1 :db/valueType :db.type/keyword}", 1), 0);
    /* anything else on an existing definition */
    CHECK_EQ_INT(ce(s, "{:db/id 1 :db/doc \"d\" :my/flag true}", 1),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNSUPPORTED);
    /* the definition rules hold for the updated definition */
    CHECK_EQ_INT(ce(s, "{:db/id 1 :db/isComponent true}", 1),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Bad attribute specification for :name: {:db/isComponent "
                     "true} should also have {:db/valueType :db.type/ref}");
    dl_schema_release(s);
}

/* ---- the change rules ---- */

typedef struct fake {
    const char *used[4];    /* idents with datoms before the tx */
    const char *multi;      /* ident with a multi-valued entity */
    uint64_t multi_e;
    int used_calls;
} fake;

static int f_used(void *ctx, const edn_sym *ident, bool *out) {
    fake *f = ctx;
    f->used_calls++;
    *out = false;
    for (int i = 0; i < 4 && f->used[i]; i++)
        if (S(f->used[i]) == ident) *out = true;
    return 0;
}

static int f_multi(void *ctx, const edn_sym *ident, uint64_t *out) {
    fake *f = ctx;
    *out = f->multi && S(f->multi) == ident ? f->multi_e : 0;
    return 0;
}

/* Apply adds/retracts to people() and run the change check. */
static int change(dl_schema_flex flex, const char *adds, const char *rets,
                  fake *f, bool backfill, dl_schema_backfill *bf) {
    dl_schema *s = people(flex), *t;
    dl_schema_data d = {f, f_used, f_multi};
    int rc;
    if (!s) return 999;
    t = derive_schema(s, adds, rets);
    if (!t) {
        dl_schema_release(s);
        return 998;
    }
    rc = dl_schema_check_changes(s, t, &d, backfill, bf);
    dl_schema_release(s);
    dl_schema_release(t);
    return rc;
}

#define UNUSED_MSG(x)                                                        \
    "Schema change on " x " requires the attribute to be unused, but it "    \
    "has existing (or history) datoms. Migrate the data to a new attribute " \
    "instead."

TEST(change_rules) {
    fake none = {{0}, 0, 0, 0};
    fake used = {{"name", "age", "email", "friend"}, 0, 0, 0};
    dl_schema_backfill bf;

    /* no change at all consults nothing */
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[1 :db/ident :name]]", NULL, &used,
                        false, NULL), 0);
    CHECK_EQ_INT(used.used_calls, 0);
    /* always allowed, even with data: doc, noHistory, isComponent, rename */
    CHECK_EQ_INT(change(DL_FLEX_WRITE,
                        "[[1 :db/doc \"n\"] [4 :db/noHistory false]"
                        " [3 :db/isComponent false] [1 :db/ident :nm]]",
                        NULL, &used, false, NULL), 0);
    CHECK_EQ_INT(used.used_calls, 0);
    /* new definitions are declarations, not transitions */
    CHECK_EQ_INT(change(DL_FLEX_WRITE,
                        "[[9 :db/ident :n] [9 :db/valueType :db.type/long]"
                        " [9 :db/cardinality :db.cardinality/many]"
                        " [9 :db/unique :db.unique/value]]",
                        NULL, &used, false, NULL), 0);

    /* valueType change: only on unused attributes */
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[5 :db/valueType :db.type/long]]",
                        NULL, &used, false, NULL), 0);
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[1 :db/valueType :db.type/long]]",
                        NULL, &used, true, &bf), DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNUSED_MSG(":name"));
    /* removing a definition: only when unused */
    CHECK_EQ_INT(change(DL_FLEX_WRITE, NULL, "[[5 :db/ident :ssn]]", &used,
                        false, NULL), 0);
    CHECK_EQ_INT(change(DL_FLEX_WRITE, NULL, "[[1 :db/ident :name]]", &used,
                        false, NULL), DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNUSED_MSG(":name"));

    /* enabling :db/index: free when unused, needs backfill when used */
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[5 :db/index true]]", NULL, &used,
                        false, NULL), 0);
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[1 :db/index true]]", NULL, &used,
                        false, NULL), DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNUSED_MSG(":name"));
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[1 :db/index true]]", NULL, &used,
                        true, &bf), 0);
    CHECK_EQ_INT(bf.n, 1);
    CHECK(bf.idents[0] == S("name"));
    /* adding :db/unique likewise */
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[1 :db/unique :db.unique/identity]]",
                        NULL, &used, false, NULL), DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNUSED_MSG(":name"));
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[1 :db/unique :db.unique/identity]]",
                        NULL, &used, true, &bf), 0);
    CHECK_EQ_INT(bf.n, 1);
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[1 :db/unique :db.unique/identity]]",
                        NULL, &none, false, NULL), 0);
    /* changing an existing unique needs nothing */
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[2 :db/unique :db.unique/value]]",
                        NULL, &used, false, NULL), 0);
    /* unique only on card-one */
    CHECK_EQ_INT(change(DL_FLEX_WRITE, "[[3 :db/unique :db.unique/value]]",
                        NULL, &none, false, NULL), DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Invalid schema state for :friend after transaction");
    /* one->many under a unique constraint */
    CHECK_EQ_INT(change(DL_FLEX_WRITE,
                        "[[2 :db/cardinality :db.cardinality/many]]", NULL,
                        &none, false, NULL), DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Invalid schema state for :email after transaction");
    /* one->many without unique is fine with data */
    CHECK_EQ_INT(change(DL_FLEX_WRITE,
                        "[[1 :db/cardinality :db.cardinality/many]]", NULL,
                        &used, false, NULL), 0);
    /* many->one only when no entity holds several values */
    {
        fake m = {{"friend"}, "friend", 42, 0};
        CHECK_EQ_INT(change(DL_FLEX_WRITE,
                            "[[3 :db/cardinality :db.cardinality/one]]", NULL,
                            &m, false, NULL), DATALITH_ESCHEMA);
        CHECK_STR(msg(), "Cannot narrow :friend to :db.cardinality/one: "
                         "entity 42 holds more than one value.");
        CHECK_EQ_INT(change(DL_FLEX_WRITE,
                            "[[3 :db/cardinality :db.cardinality/one]]", NULL,
                            &used, false, NULL), 0);
    }
    /* incomplete definitions left by retractions under :write */
    CHECK_EQ_INT(change(DL_FLEX_WRITE, NULL,
                        "[[1 :db/valueType :db.type/string]]", &none, false,
                        NULL), DATALITH_ESCHEMA);
    CHECK_STR(msg(), "Invalid schema state for :name after transaction");
    CHECK_EQ_INT(change(DL_FLEX_READ, NULL,
                        "[[1 :db/valueType :db.type/string]]", &used, false,
                        NULL), DATALITH_ESCHEMA); /* a valueType change */
    CHECK_EQ_INT(change(DL_FLEX_READ, NULL,
                        "[[5 :db/valueType :db.type/string]]", &none, false,
                        NULL), 0);
}

TEST(tuple_change_rules) {
    dl_schema *base, *s, *t;
    fake used = {{"a+b", "prices"}, 0, 0, 0}, none = {{0}, 0, 0, 0};
    dl_schema_data du = {&used, f_used, f_multi}, dn = {&none, f_used, f_multi};
    CHECK_EQ_INT(dl_schema_new(DL_FLEX_WRITE, false, &base), 0);
    s = derive_schema(base, TUPLES, NULL);
    dl_schema_release(base);
    if (!s) return;
    /* a tuple definition change needs an unused attribute */
    t = derive_schema(s, "[[4 :db/tupleType :db.type/string]]", NULL);
    CHECK_EQ_INT(dl_schema_check_changes(s, t, &du, true, NULL),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNUSED_MSG(":prices"));
    CHECK_EQ_INT(dl_schema_check_changes(s, t, &dn, false, NULL), 0);
    dl_schema_release(t);
    t = derive_schema(s, "[[3 :db/tupleAttrs [:b :a]]]", NULL);
    CHECK_EQ_INT(dl_schema_check_changes(s, t, &du, false, NULL),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), UNUSED_MSG(":a+b"));
    dl_schema_release(t);
    /* composite components: not card-many, not tuples */
    t = derive_schema(s,
                      "[[7 :db/ident :tags] [7 :db/valueType :db.type/string]"
                      " [7 :db/cardinality :db.cardinality/many]"
                      " [8 :db/ident :a+tags] [8 :db/valueType :db.type/tuple]"
                      " [8 :db/cardinality :db.cardinality/one]"
                      " [8 :db/tupleAttrs [:a :tags]]]",
                      NULL);
    CHECK_EQ_INT(dl_schema_check_changes(s, t, &dn, false, NULL),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), ":db/tupleAttrs of :a+tags references :tags, which must "
                     "not have :db.cardinality/many.");
    dl_schema_release(t);
    t = derive_schema(s,
                      "[[8 :db/ident :a+p] [8 :db/valueType :db.type/tuple]"
                      " [8 :db/cardinality :db.cardinality/one]"
                      " [8 :db/tupleAttrs [:a :pair]]]",
                      NULL);
    CHECK_EQ_INT(dl_schema_check_changes(s, t, &dn, false, NULL),
                 DATALITH_ESCHEMA);
    CHECK_STR(msg(), ":db/tupleAttrs of :a+p references :pair, which is "
                     "itself a tuple attribute.");
    dl_schema_release(t);
    /* an undeclared component is fine (its slot stays nil) */
    t = derive_schema(s,
                      "[[8 :db/ident :a+z] [8 :db/valueType :db.type/tuple]"
                      " [8 :db/cardinality :db.cardinality/one]"
                      " [8 :db/tupleAttrs [:a :zzz]]]",
                      NULL);
    CHECK_EQ_INT(dl_schema_check_changes(s, t, &dn, false, NULL), 0);
    dl_schema_release(t);
    dl_schema_release(s);
}

/* ---- views ---- */

TEST(schema_view) {
    dl_schema *s = people(DL_FLEX_WRITE), *e;
    edn_value got, want;
    if (!s) return;
    CHECK_EQ_INT(dl_schema_to_edn(&A, s, &got), 0);
    want = rd("{:name {:db/ident :name :db/id 1 :db/valueType :db.type/string"
              "        :db/cardinality :db.cardinality/one}"
              " :email {:db/ident :email :db/id 2"
              "         :db/valueType :db.type/string"
              "         :db/cardinality :db.cardinality/one"
              "         :db/unique :db.unique/identity}"
              " :friend {:db/ident :friend :db/id 3 :db/valueType :db.type/ref"
              "          :db/cardinality :db.cardinality/many"
              "          :db/isComponent true}"
              " :age {:db/ident :age :db/id 4 :db/valueType :db.type/long"
              "       :db/cardinality :db.cardinality/one :db/index true"
              "       :db/doc \"years\" :db/noHistory true}"
              " :ssn {:db/ident :ssn :db/id 5 :db/valueType :db.type/string"
              "       :db/cardinality :db.cardinality/one"
              "       :db/unique :db.unique/value}}");
    CHECK(edn_equal(&got, &want));
    if (!edn_equal(&got, &want)) fprintf(stderr, "  got %s\n", pr(&got));

    CHECK_EQ_INT(dl_schema_reverse_to_edn(&A, s, &got), 0);
    want = rd("{:db/ident #{:db/ident :name :email :friend :age :ssn}"
              " :db/unique #{:db/ident :email :ssn}"
              " :db.unique/identity #{:db/ident :email}"
              " :db.unique/value #{:ssn}"
              " :db/index #{:db/ident :email :friend :age :ssn}"
              " :db.cardinality/many #{:friend}"
              " :db.type/ref #{:friend}"
              " :db/isComponent #{:friend}"
              " :db/noHistory #{:age}"
              " :db/attrTuples {}}");
    CHECK(edn_equal(&got, &want));
    if (!edn_equal(&got, &want)) fprintf(stderr, "  got %s\n", pr(&got));

    /* an empty database */
    CHECK_EQ_INT(dl_schema_new(DL_FLEX_WRITE, false, &e), 0);
    CHECK_EQ_INT(dl_schema_to_edn(&A, e, &got), 0);
    want = rd("{}");
    CHECK(edn_equal(&got, &want));
    CHECK_EQ_INT(dl_schema_reverse_to_edn(&A, e, &got), 0);
    want = rd("{:db/ident #{:db/ident} :db/unique #{:db/ident}"
              " :db.unique/identity #{:db/ident} :db/index #{:db/ident}"
              " :db/attrTuples {}}");
    CHECK(edn_equal(&got, &want));
    if (!edn_equal(&got, &want)) fprintf(stderr, "  got %s\n", pr(&got));
    dl_schema_release(e);
    dl_schema_release(s);
}

TEST(tuple_views) {
    dl_schema *base, *s;
    edn_value got, want;
    CHECK_EQ_INT(dl_schema_new(DL_FLEX_WRITE, false, &base), 0);
    s = derive_schema(base, TUPLES, NULL);
    dl_schema_release(base);
    if (!s) return;
    CHECK_EQ_INT(dl_schema_to_edn(&A, s, &got), 0);
    want = rd("{:a {:db/ident :a :db/id 1 :db/valueType :db.type/string"
              "     :db/cardinality :db.cardinality/one}"
              " :b {:db/ident :b :db/id 2 :db/valueType :db.type/long"
              "     :db/cardinality :db.cardinality/one}"
              " :a+b {:db/ident :a+b :db/id 3 :db/valueType :db.type/tuple"
              "       :db/tupleAttrs [:a :b :c]"
              "       :db/cardinality :db.cardinality/one"
              "       :db/unique :db.unique/identity}"
              " :prices {:db/ident :prices :db/id 4"
              "          :db/valueType :db.type/tuple"
              "          :db/tupleType :db.type/long"
              "          :db/cardinality :db.cardinality/one}"
              " :pair {:db/ident :pair :db/id 5 :db/valueType :db.type/tuple"
              "        :db/tupleTypes [:db.type/string :db.type/long]"
              "        :db/cardinality :db.cardinality/one}"
              " :b+a {:db/ident :b+a :db/id 6 :db/valueType :db.type/tuple"
              "       :db/tupleAttrs [:b :a]"
              "       :db/cardinality :db.cardinality/one}}");
    CHECK(edn_equal(&got, &want));
    if (!edn_equal(&got, &want)) fprintf(stderr, "  got %s\n", pr(&got));
    CHECK_EQ_INT(dl_schema_reverse_to_edn(&A, s, &got), 0);
    want = rd("{:db/ident #{:db/ident :a :b :a+b :prices :pair :b+a}"
              " :db/unique #{:db/ident :a+b}"
              " :db.unique/identity #{:db/ident :a+b}"
              " :db/index #{:db/ident :a+b}"
              " :db.type/tuple #{:a+b :prices :pair :b+a}"
              " :db/attrTuples {:a {:a+b 0 :b+a 1} :b {:a+b 1 :b+a 0}}}");
    CHECK(edn_equal(&got, &want));
    if (!edn_equal(&got, &want)) fprintf(stderr, "  got %s\n", pr(&got));
    dl_schema_release(s);
}

/* ---- concurrent readers ---- */

static void *reader(void *arg) {
    dl_schema *s = arg;
    long bad = 0;
    for (int i = 0; i < 20000; i++) {
        const dl_attr *x = dl_schema_attr(s, S("friend"));
        const dl_attr *y = dl_schema_attr_by_eid(s, 4);
        if (!x || !x->ref || !y || y->ident != S("age")) bad++;
    }
    dl_schema_release(s);
    return (void *)bad;
}

TEST(concurrent_readers) {
    dl_schema *s = people(DL_FLEX_WRITE);
    pthread_t th[4];
    if (!s) return;
    for (int i = 0; i < 4; i++) {
        dl_schema_retain(s);
        CHECK_EQ_INT(pthread_create(&th[i], NULL, reader, s), 0);
    }
    dl_schema_release(s); /* the readers hold the last references */
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK_EQ_INT((long)r, 0);
    }
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(system_attributes);
    RUN(build_and_derive);
    RUN(retain_release);
    RUN(builder_errors);
    RUN(retract_and_rename);
    RUN(conformance_table);
    RUN(value_errors);
    RUN(tuple_values);
    RUN(resolve);
    RUN(entity_rules);
    RUN(entity_tuple_rules);
    RUN(entity_updates);
    RUN(change_rules);
    RUN(tuple_change_rules);
    RUN(schema_view);
    RUN(tuple_views);
    RUN(concurrent_readers);
    dl_arena_free(&A);
    return test_summary();
}
