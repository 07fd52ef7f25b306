/*
** fuzz_query.c — libFuzzer target for the query engine.  Arbitrary bytes
** are read as EDN; a value that reads is run as a query (any form: vector,
** map, string) against a tiny database, with the first vector element of
** the input, if any, also tried as the inputs.  Every outcome must be a
** result or a clean error code with a message: never a crash, a leak or a
** sanitizer report.  A row bound keeps runaway joins short.
*/
#include "db/config.h"
#include "db/db.h"
#include "db/tx.h"
#include "query/query.h"
#include "util/error.h"
#include "value/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dl_db *fz_db;
static dl_arena fz_arena;

static int fz_tx(const char *text) {
    edn_value v;
    dl_tx_report r;
    if (edn_read(&fz_arena, text, strlen(text), NULL, &v)) return -1;
    if (dl_tx_run(fz_db, &v, NULL, 1000, &fz_arena, &r)) return -1;
    dl_db_release(fz_db);
    fz_db = r.db_after;
    return 0;
}

static int fz_setup(void) {
    static const char *cfg = "{:store {:backend :memory :id \"fuzz-query\"}}";
    edn_value v;
    dl_config c;
    dl_arena_init(&fz_arena, 0);
    memset(&c, 0, sizeof c);
    if (edn_read(&fz_arena, cfg, strlen(cfg), NULL, &v) ||
        dl_config_parse(&fz_arena, &v, &c) || dl_db_empty(&c, &fz_db))
        return -1;
    if (fz_tx("[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}"
              " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}"
              " {:db/ident :friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}]"))
        return -1;
    return fz_tx("[{:db/id 10 :name \"a\" :age 1 :friend [11]} {:db/id 11 :name \"b\" :age 2 :friend [12]}"
                 " {:db/id 12 :name \"c\" :age 2 :friend [10]}]");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        if (fz_setup()) {
            fprintf(stderr, "fuzz_query: setup failed: %s\n", dl_err_last()->message);
            abort();
        }
        ready = 1;
    }
    dl_arena a;
    edn_value v, out;
    dl_arena_init(&a, (size_t)64 << 20);
    if (edn_read(&a, (const char *)data, size, NULL, &v) == 0) {
        q_opts o = {100000, 0};
        dl_db *dbs[1] = {fz_db};
        const edn_value *inputs = NULL;
        edn_value q = v;
        if (v.type == EDN_VECTOR && v.n == 2 && edn_is_seq(&v.u.items[1])) {
            q = v.u.items[0];
            inputs = &v.u.items[1];
        }
        int rc = q_run(&a, &q, dbs, 1, inputs, &o, &out, NULL);
        if (rc && dl_err_last()->message[0] == 0) {
            fprintf(stderr, "fuzz_query: error %d without a message\n", rc);
            abort();
        }
    }
    dl_arena_free(&a);
    return 0;
}
