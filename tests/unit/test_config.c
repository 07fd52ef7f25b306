/*
** test_config.c — Datahike configuration maps: every default, every
** validation error (exact text), the completed form, the deprecated URI
** form and the connect-time check.  Expected maps are written by hand as
** EDN literals from reference/datahike-semantics.md §2.
*/
#include "db/config.h"
#include "test.h"
#include "util/error.h"

#include <stdio.h>

static dl_arena A;

static edn_value rd(const char *s) {
    edn_value v;
    int rc = edn_read(&A, s, strlen(s), NULL, &v);
    if (rc) {
        fprintf(stderr, "bad test literal %s: %s\n", s, dl_err_last()->message);
        return edn_nil();
    }
    return v;
}

static const char *pr(const edn_value *v) {
    static char out[2048];
    dl_buf b = DL_BUF_INIT;
    out[0] = 0;
    if (edn_write(&b, v) == 0 && b.data) snprintf(out, sizeof out, "%s", b.data);
    dl_buf_free(&b);
    return out;
}

/* Parse `in`, complete it and compare with `expected` (both EDN text). */
static int completes_to(const char *in, const char *expected) {
    dl_config c;
    edn_value inv = rd(in), got, want = rd(expected);
    int rc = dl_config_parse(&A, &inv, &c);
    if (rc) {
        fprintf(stderr, "parse %s failed: %s\n", in, dl_err_last()->message);
        return 0;
    }
    if (dl_config_to_edn(&A, &c, &got) != 0) return 0;
    if (!edn_equal(&got, &want)) {
        fprintf(stderr, "  got:      %s\n", pr(&got));
        fprintf(stderr, "  expected: %s\n", pr(&want));
        return 0;
    }
    return 1;
}

/* Parse `in` expecting failure with `code` and exactly `msg`. */
static int fails_with(const char *in, int code, const char *msg) {
    dl_config c;
    edn_value inv = rd(in);
    int rc = dl_config_parse(&A, &inv, &c);
    if (rc != code || strcmp(dl_err_last()->message, msg) != 0) {
        fprintf(stderr, "  %s: rc %d (want %d)\n  got:      %s\n  expected: %s\n",
                in, rc, code, dl_err_last()->message, msg);
        return 0;
    }
    return 1;
}

#define DEFAULTS_TAIL                                                        \
    " :schema-flexibility :write :keep-history? true :attribute-refs? false" \
    " :crypto-hash? false :branch :db :index :datahike.index/persistent-set" \
    " :index-config {:branching-factor 512 :diff-buf-size 0}"                \
    " :store-cache-size 1000 :search-cache-size 0 :writer {:backend :self}"  \
    " :allow-index-backfill? false"

TEST(defaults_struct) {
    dl_config c;
    CHECK_EQ_INT(dl_config_parse(&A, NULL, &c), 0);
    CHECK(c.backend == edn_intern_full("memory", 6));
    CHECK_EQ_INT(c.schema_flexibility, DL_FLEX_WRITE);
    CHECK(c.keep_history == true);
    CHECK(c.attribute_refs == false);
    CHECK(c.crypto_hash == false);
    CHECK(!c.has_name);
    CHECK(!c.has_initial_tx);
    CHECK(c.branch == edn_intern_full("db", 2));
    CHECK(c.index == edn_intern_full("datahike.index/persistent-set", 29));
    CHECK_EQ_INT(c.branching_factor, 512);
    CHECK_EQ_INT(c.diff_buf_size, 0);
    CHECK_EQ_INT(c.store_cache_size, 1000);
    CHECK_EQ_INT(c.search_cache_size, 0);
    CHECK(c.writer.backend == edn_intern_full("self", 4));
    CHECK(c.writer.streaming == true);
    CHECK_EQ_INT(c.writer.transaction_queue_size, 120000);
    CHECK_EQ_INT(c.writer.commit_queue_size, 120000);
    CHECK_EQ_INT(c.writer.commit_wait_time, 0);
    CHECK(!c.allow_unsafe_config);
    CHECK(!c.allow_index_backfill);
}

TEST(defaults_completed) {
    CHECK(completes_to("nil", "{:store {:backend :memory}" DEFAULTS_TAIL "}"));
    CHECK(completes_to("{}", "{:store {:backend :memory}" DEFAULTS_TAIL "}"));
    /* a store without :backend gets :memory, other keys are kept */
    CHECK(completes_to("{:store {:id \"a\"}}",
                       "{:store {:backend :memory :id \"a\"}" DEFAULTS_TAIL "}"));
}

TEST(overrides) {
    CHECK(completes_to(
        "{:store {:backend :file :path \"/tmp/db\"} :schema-flexibility :read"
        " :keep-history? false :name \"n\" :branch :dev"
        " :index-config {:branching-factor 64 :diff-buf-size 8 :x 1}"
        " :store-cache-size 5 :search-cache-size 7 :crypto-hash? true"
        " :writer {:backend :self :streaming? false :commit-wait-time 3}"
        " :allow-unsafe-config true :allow-index-backfill? true}",
        "{:store {:backend :file :path \"/tmp/db\"} :schema-flexibility :read"
        " :keep-history? false :attribute-refs? false :crypto-hash? true"
        " :name \"n\" :branch :dev :index :datahike.index/persistent-set"
        " :index-config {:branching-factor 64 :diff-buf-size 8 :x 1}"
        " :store-cache-size 5 :search-cache-size 7"
        " :writer {:backend :self :streaming? false :commit-wait-time 3}"
        " :allow-unsafe-config true :allow-index-backfill? true}"));
    {
        dl_config c;
        edn_value v = rd("{:writer {:streaming? false :transaction-queue-size 9"
                         " :commit-queue-size 8 :commit-wait-time 7}"
                         " :index-config {:branching-factor 64}"
                         " :attribute-refs? true}");
        CHECK_EQ_INT(dl_config_parse(&A, &v, &c), 0);
        CHECK(c.writer.streaming == false);
        CHECK_EQ_INT(c.writer.transaction_queue_size, 9);
        CHECK_EQ_INT(c.writer.commit_queue_size, 8);
        CHECK_EQ_INT(c.writer.commit_wait_time, 7);
        CHECK_EQ_INT(c.branching_factor, 64);
        CHECK_EQ_INT(c.diff_buf_size, 0);
        CHECK(c.attribute_refs);
    }
}

TEST(mem_normalised_and_nils_removed) {
    CHECK(completes_to("{:store {:backend :mem :id \"x\"}}",
                       "{:store {:backend :memory :id \"x\"}" DEFAULTS_TAIL "}"));
    /* nil values count as absent (Datahike's remove-nils) */
    CHECK(completes_to("{:keep-history? nil :name nil :store nil}",
                       "{:store {:backend :memory}" DEFAULTS_TAIL "}"));
}

TEST(pass_through_keys) {
    CHECK(completes_to("{:online-gc {:enabled? false} :my-key 1}",
                       "{:store {:backend :memory}" DEFAULTS_TAIL
                       " :online-gc {:enabled? false} :my-key 1}"));
}

TEST(initial_tx) {
    dl_config c;
    edn_value v = rd("{:initial-tx [{:db/ident :name} [:db/add 1 :a 2]]}");
    CHECK_EQ_INT(dl_config_parse(&A, &v, &c), 0);
    CHECK(c.has_initial_tx);
    CHECK(c.initial_tx.type == EDN_VECTOR && c.initial_tx.n == 2);
    /* the completed config keeps only a marker */
    CHECK(completes_to("{:initial-tx [{:db/ident :name}]}",
                       "{:store {:backend :memory}" DEFAULTS_TAIL
                       " :initial-tx true}"));
    /* a stored marker parses back */
    v = rd("{:initial-tx true}");
    CHECK_EQ_INT(dl_config_parse(&A, &v, &c), 0);
    CHECK(c.has_initial_tx);
    CHECK(c.initial_tx.type == EDN_NIL);
}

TEST(initial_tx_file) {
    char path[600], lit[700];
    const char *dir = test_tmpdir("cfg");
    FILE *f;
    dl_config c;
    edn_value v, want;
    char cmd[700];
    snprintf(path, sizeof path, "%s-tx.edn", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    CHECK(system(cmd) == 0);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("[{:db/ident :name :db/valueType :db.type/string\n"
          "  :db/cardinality :db.cardinality/one}] ; schema\n", f);
    fclose(f);
    snprintf(lit, sizeof lit, "{:initial-tx \"%s\"}", path);
    v = rd(lit);
    CHECK_EQ_INT(dl_config_parse(&A, &v, &c), 0);
    want = rd("[{:db/ident :name :db/valueType :db.type/string"
              " :db/cardinality :db.cardinality/one}]");
    CHECK(edn_equal(&c.initial_tx, &want));
    /* malformed EDN in the file: a parse error naming the file */
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("[{:db/ident", f);
    fclose(f);
    v = rd(lit);
    CHECK_EQ_INT(dl_config_parse(&A, &v, &c), DATALITH_EPARSE);
    CHECK_CONTAINS(dl_err_last()->message,
                   "Invalid Datahike configuration. :initial-tx file \"");
    /* a file holding something other than tx-data */
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(":not-tx-data", f);
    fclose(f);
    v = rd(lit);
    CHECK_EQ_INT(dl_config_parse(&A, &v, &c), DATALITH_EINVAL);
    CHECK_STR(dl_err_last()->message,
              "Invalid Datahike configuration. :initial-tx must be a "
              "collection of entities or a file path string, got "
              ":not-tx-data");
    remove(path);
    v = rd(lit);
    CHECK_EQ_INT(dl_config_parse(&A, &v, &c), DATALITH_EIO);
    CHECK_CONTAINS(dl_err_last()->message,
                   "Invalid Datahike configuration. :initial-tx file \"");
    CHECK_CONTAINS(dl_err_last()->message, "cannot be read");
}

TEST(uri_forms) {
    CHECK(completes_to("\"datahike:memory://mydb\"",
                       "{:store {:backend :memory :id \"mydb\"}" DEFAULTS_TAIL
                       "}"));
    CHECK(completes_to("\"datahike:mem://old\"",
                       "{:store {:backend :memory :id \"old\"}" DEFAULTS_TAIL
                       "}"));
    CHECK(completes_to("\"datahike:file:///var/db/x\"",
                       "{:store {:backend :file :path \"/var/db/x\"}"
                       DEFAULTS_TAIL "}"));
    CHECK(completes_to(
        "\"datahike:memory://x?id=550e8400-e29b-41d4-a716-446655440000\"",
        "{:store {:backend :memory :id "
        "#uuid \"550e8400-e29b-41d4-a716-446655440000\"}" DEFAULTS_TAIL "}"));
    CHECK(fails_with("\"postgres://x\"", DATALITH_EINVAL,
                     "Invalid Datahike configuration. URI scheme is not "
                     "datahike conform: \"postgres://x\""));
    CHECK(fails_with("\"datahike:memory\"", DATALITH_EINVAL,
                     "Invalid Datahike configuration. malformed URI "
                     "\"datahike:memory\", expected "
                     "datahike:<backend>://<location>"));
    CHECK(fails_with("\"datahike:memory://x?id=nope\"", DATALITH_EINVAL,
                     "Invalid Datahike configuration. bad id in URI "
                     "\"datahike:memory://x?id=nope\", expected a UUID"));
}

TEST(errors_name_key_and_value) {
    CHECK(fails_with("42", DATALITH_EINVAL,
                     "Invalid Datahike configuration. configuration must be "
                     "a map or a URI string, got 42"));
    CHECK(fails_with("{\"store\" 1}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. keys must be keywords, "
                     "got \"store\""));
    CHECK(fails_with("{:store :memory}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :store must be a map, "
                     "got :memory"));
    CHECK(fails_with("{:store {:backend \"file\"}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :store :backend must be "
                     "a keyword, got \"file\""));
    CHECK(fails_with("{:store {:backend :indexeddb}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :store :backend must "
                     "not be :indexeddb directly (use :tiered), got "
                     ":indexeddb"));
    CHECK(fails_with("{:schema-flexibility :maybe}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :schema-flexibility "
                     "must be :read or :write, got :maybe"));
    CHECK(fails_with("{:keep-history? \"yes\"}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :keep-history? must be "
                     "a boolean, got \"yes\""));
    CHECK(fails_with("{:attribute-refs? 1}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :attribute-refs? must "
                     "be a boolean, got 1"));
    CHECK(fails_with("{:crypto-hash? :no}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :crypto-hash? must be a "
                     "boolean, got :no"));
    CHECK(fails_with("{:allow-unsafe-config 0}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :allow-unsafe-config "
                     "must be a boolean, got 0"));
    CHECK(fails_with("{:allow-index-backfill? \"t\"}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :allow-index-backfill? "
                     "must be a boolean, got \"t\""));
    CHECK(fails_with("{:name :n}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :name must be a "
                     "string, got :n"));
    CHECK(fails_with("{:branch \"db\"}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :branch must be a "
                     "keyword, got \"db\""));
    CHECK(fails_with("{:index :btree}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :index must be "
                     ":datahike.index/persistent-set, got :btree"));
    CHECK(fails_with("{:index :datahike.index/hitchhiker-tree}",
                     DATALITH_EUNSUPPORTED,
                     "Invalid Datahike configuration. :index "
                     ":datahike.index/hitchhiker-tree is not supported; use "
                     ":datahike.index/persistent-set"));
    CHECK(fails_with("{:index-config []}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :index-config must be "
                     "a map, got []"));
    CHECK(fails_with("{:index-config {:branching-factor 0}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :index-config "
                     ":branching-factor must be a positive integer, got 0"));
    CHECK(fails_with("{:index-config {:diff-buf-size -1}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :index-config "
                     ":diff-buf-size must be a non-negative integer, got -1"));
    CHECK(fails_with("{:store-cache-size 0}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :store-cache-size must "
                     "be a positive integer, got 0"));
    CHECK(fails_with("{:store-cache-size 1.5}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :store-cache-size must "
                     "be a positive integer, got 1.5"));
    CHECK(fails_with("{:search-cache-size -3}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :search-cache-size must "
                     "be a non-negative integer, got -3"));
    CHECK(fails_with("{:initial-tx 5}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :initial-tx must be a "
                     "collection of entities or a file path string, got 5"));
    CHECK(fails_with("{:initial-tx [1]}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :initial-tx entries "
                     "must be maps or vectors, got 1"));
}

TEST(writer_errors) {
    CHECK(fails_with("{:writer :self}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :writer must be a map, "
                     "got :self"));
    CHECK(fails_with("{:writer {:backend :self :speed 3}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. unknown key :speed in "
                     ":writer {:backend :self}; allowed: :backend :streaming? "
                     ":transaction-queue-size :commit-queue-size "
                     ":commit-wait-time :write-fn-map"));
    CHECK(fails_with("{:writer {:streaming? 1}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :writer :streaming? "
                     "must be a boolean, got 1"));
    CHECK(fails_with("{:writer {:transaction-queue-size 0}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :writer "
                     ":transaction-queue-size must be a positive integer, "
                     "got 0"));
    CHECK(fails_with("{:writer {:commit-queue-size -1}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :writer "
                     ":commit-queue-size must be a positive integer, got -1"));
    CHECK(fails_with("{:writer {:commit-wait-time -1}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :writer "
                     ":commit-wait-time must be a non-negative integer, got "
                     "-1"));
    CHECK(fails_with("{:writer {:write-fn-map 1}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :writer :write-fn-map "
                     "must be a map, got 1"));
    CHECK(fails_with("{:writer {:backend :datahike-server}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :writer :url must be a "
                     "string for :backend :datahike-server, got nil"));
    CHECK(fails_with("{:writer {:backend :datahike-server :url \"http://h\" "
                     ":token 5}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :writer :token must be "
                     "a string, got 5"));
    CHECK(fails_with("{:writer {:backend :carrier-pigeon}}", DATALITH_EINVAL,
                     "Invalid Datahike configuration. :writer :backend must "
                     "be one of :self :datahike-server :kabel, got "
                     ":carrier-pigeon"));
    CHECK(completes_to("{:writer {:backend :datahike-server :url \"http://h\" "
                       ":token \"t\"}}",
                       "{:store {:backend :memory} :schema-flexibility :write"
                       " :keep-history? true :attribute-refs? false"
                       " :crypto-hash? false :branch :db"
                       " :index :datahike.index/persistent-set"
                       " :index-config {:branching-factor 512 :diff-buf-size 0}"
                       " :store-cache-size 1000 :search-cache-size 0"
                       " :writer {:backend :datahike-server :url \"http://h\""
                       " :token \"t\"} :allow-index-backfill? false}"));
}

TEST(attribute_refs_with_read) {
    CHECK(fails_with("{:attribute-refs? true :schema-flexibility :read}",
                     DATALITH_EINVAL,
                     "Attribute references cannot be used with "
                     "schema-flexibility ':read'."));
}

/* Parse `given`, check it against stored text (NULL = no database). */
static int connect_rc(const char *given, const char *stored, dl_config *eff) {
    dl_config g, tmp;
    edn_value gv = rd(given), sv;
    if (dl_config_parse(&A, &gv, &g) != 0) return 999;
    if (!stored) return dl_config_check_stored(&A, &g, NULL, eff ? eff : &tmp);
    sv = rd(stored);
    return dl_config_check_stored(&A, &g, &sv, eff ? eff : &tmp);
}

#define STORED(extra)                                                        \
    "{:store {:backend :memory :id \"s\"} :schema-flexibility :write"        \
    " :keep-history? true :attribute-refs? false :crypto-hash? false"        \
    " :branch :db :index :datahike.index/persistent-set"                     \
    " :index-config {:branching-factor 64 :diff-buf-size 0}"                 \
    " :store-cache-size 1000 :search-cache-size 0 :writer {:backend :self}"  \
    " :allow-index-backfill? false :initial-tx true" extra "}"

TEST(connect_check) {
    dl_config eff;
    CHECK_EQ_INT(connect_rc("{}", NULL, NULL), DATALITH_ENOTFOUND);
    CHECK_STR(dl_err_last()->message, "Database does not exist.");
    CHECK_EQ_INT(connect_rc("{}", "[1 2]", NULL), DATALITH_ECORRUPT);

    /* same config; runtime keys may differ; the index config is adopted */
    CHECK_EQ_INT(connect_rc("{:store {:backend :memory :id \"s\"} :name \"x\""
                            " :store-cache-size 9 :search-cache-size 3"
                            " :writer {:backend :self :streaming? false}"
                            " :branch :other :allow-index-backfill? true"
                            " :value-caps :default :max-string-length 10}",
                            STORED(""), &eff),
                 0);
    CHECK_EQ_INT(eff.branching_factor, 64);
    CHECK_EQ_INT(eff.store_cache_size, 9);
    CHECK(eff.branch == edn_intern_full("other", 5));

    /* a config without a store id adopts the stored one */
    CHECK_EQ_INT(connect_rc("{}", STORED(""), &eff), 0);
    {
        edn_value want = rd("{:backend :memory :id \"s\"}");
        CHECK(edn_equal(&eff.store, &want));
    }

    CHECK_EQ_INT(connect_rc("{:keep-history? false}", STORED(""), NULL),
                 DATALITH_ECONFLICT);
    CHECK_STR(dl_err_last()->message,
              DL_CONFIG_MISMATCH_MSG
              " Differing key :keep-history?: given false, stored true.");
    CHECK_EQ_INT(connect_rc("{:schema-flexibility :read}", STORED(""), NULL),
                 DATALITH_ECONFLICT);
    CHECK_STR(dl_err_last()->message,
              DL_CONFIG_MISMATCH_MSG
              " Differing key :schema-flexibility: given :read, stored "
              ":write.");
    CHECK_EQ_INT(connect_rc("{:attribute-refs? true}", STORED(""), NULL),
                 DATALITH_ECONFLICT);
    CHECK_EQ_INT(connect_rc("{:crypto-hash? true}", STORED(""), NULL),
                 DATALITH_ECONFLICT);
    CHECK_EQ_INT(connect_rc("{:my-key 1}", STORED(""), NULL),
                 DATALITH_ECONFLICT);
    CHECK_STR(dl_err_last()->message,
              DL_CONFIG_MISMATCH_MSG
              " Differing key :my-key: given 1, stored nil.");
    CHECK_EQ_INT(connect_rc("{}", STORED(" :my-key 2"), NULL),
                 DATALITH_ECONFLICT);
    CHECK_STR(dl_err_last()->message,
              DL_CONFIG_MISMATCH_MSG
              " Differing key :my-key: given nil, stored 2.");

    /* :allow-unsafe-config skips the comparison */
    CHECK_EQ_INT(connect_rc("{:keep-history? false :allow-unsafe-config true}",
                            STORED(""), &eff),
                 0);
    CHECK(eff.keep_history == false);

    /* the store identity must match even then */
    CHECK_EQ_INT(connect_rc("{:store {:id \"other\"} :allow-unsafe-config true}",
                            STORED(""), NULL),
                 DATALITH_ECONFLICT);
    CHECK_STR(dl_err_last()->message,
              "Store identity mismatch: the config's store :id \"other\" "
              "differs from the stored database's :id \"s\".");
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(defaults_struct);
    RUN(defaults_completed);
    RUN(overrides);
    RUN(mem_normalised_and_nils_removed);
    RUN(pass_through_keys);
    RUN(initial_tx);
    RUN(initial_tx_file);
    RUN(uri_forms);
    RUN(errors_name_key_and_value);
    RUN(writer_errors);
    RUN(attribute_refs_with_read);
    RUN(connect_check);
    dl_arena_free(&A);
    return test_summary();
}
