/*
** fuzz_pull.c — libFuzzer target for the pull pattern parser and evaluator
** (core/pull).  The input is EDN text read as a pattern, parsed against a
** small fixed database (refs, a component tree, a reference cycle) and, if
** it parses, pulled for several entities, some of which do not exist.  The
** input is also tried as an entity id.  Only the documented outcomes are
** allowed; anything else aborts (a fuzz finding):
**   reading:  any error (not our parser)
**   parsing:  0 or DATALITH_EQUERY (ENOMEM/ELIMIT from the arena bound)
**   pulling:  0 with nil or a map, or DATALITH_ELIMIT / ENOMEM
**   eids:     0, DATALITH_EINVAL or ENOTFOUND
*/
#include "db/db.h"
#include "db/tx.h"
#include "pull/pull.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dl_db *fz_db;
static dl_arena fz_arena; /* the database's tx values; lives for the process */

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
    static const char *cfg = "{:store {:backend :memory :id \"fuzz-pull\"}}";
    dl_config c;
    edn_value v;
    dl_arena_init(&fz_arena, 0);
    memset(&c, 0, sizeof c);
    if (edn_read(&fz_arena, cfg, strlen(cfg), NULL, &v) ||
        dl_config_parse(&fz_arena, &v, &c) || dl_db_empty(&c, &fz_db))
        return -1;
    return fz_tx("[{:db/ident :name :db/valueType :db.type/string"
                 "  :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}"
                 " {:db/ident :aka :db/valueType :db.type/string"
                 "  :db/cardinality :db.cardinality/many}"
                 " {:db/ident :friend :db/valueType :db.type/ref"
                 "  :db/cardinality :db.cardinality/many}"
                 " {:db/ident :father :db/valueType :db.type/ref"
                 "  :db/cardinality :db.cardinality/one}"
                 " {:db/ident :part :db/valueType :db.type/ref"
                 "  :db/cardinality :db.cardinality/many :db/isComponent true}]") ||
           fz_tx("[{:db/id 10 :name \"p\" :aka [\"x\" \"y\" \"z\"]}"
                 " {:db/id 11 :name \"d\" :father 10 :friend [12 10]}"
                 " {:db/id 12 :name \"e\" :father 10 :friend [11 12]}"
                 " {:db/id 21 :name \"a1\"} {:db/id 20 :name \"a\" :part [21]}"
                 " [:db/add 10 :friend 11]]");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready = -1;
    static const uint64_t eids[] = {1, 10, 11, 20, 21, 999};
    if (ready < 0) ready = fz_setup() == 0;
    if (!ready) abort();
    dl_arena a;
    dl_arena_init(&a, 64u << 20);
    edn_codec_opts o = EDN_CODEC_OPTS_INIT;
    o.max_depth = 64;
    o.max_bytes = 1u << 16;
    edn_value v, out;
    dl_pull_pattern *p = NULL;
    if (edn_read(&a, (const char *)data, size, &o, &v) == 0) {
        int rc = dl_pull_parse(&a, &v, fz_db, &p);
        if (rc && rc != DATALITH_EQUERY && rc != DATALITH_ENOMEM &&
            rc != DATALITH_ELIMIT) {
            fprintf(stderr, "parse: unexpected %d: %s\n", rc, dl_err_last()->message);
            abort();
        }
        for (size_t i = 0; !rc && i < sizeof eids / sizeof eids[0]; i++) {
            int prc = dl_pull(&a, fz_db, p, eids[i], &out);
            if (prc && prc != DATALITH_ELIMIT && prc != DATALITH_ENOMEM) {
                fprintf(stderr, "pull: unexpected %d: %s\n", prc,
                        dl_err_last()->message);
                abort();
            }
            if (!prc && out.type != EDN_NIL && out.type != EDN_MAP) abort();
        }
        uint64_t e;
        int found;
        rc = dl_pull_resolve_eid(fz_db, &v, &e, &found);
        if (rc && rc != DATALITH_EINVAL && rc != DATALITH_ENOMEM) abort();
    }
    dl_arena_free(&a);
    return 0;
}
