/*
** bench_c.c — the C baseline of the bindings suite (shared/bench/WORKLOAD.md,
** "bindings"): the same calls every binding runner makes (bench_python.py,
** Bench.java, bench_node.js, bench_pod.py), on the public C API with CBOR in
** and out — the format the bindings use — so each binding's ratio to this
** is its own overhead: argument encoding, the call, decoding to native
** values.  Queries are passed as CBOR text strings holding EDN, as the
** bindings pass a query string; inputs, selectors and tx-data are CBOR made
** once from EDN with datalith_value_convert.
**
**   bench_c DATADIR          (DATADIR from gen_data.py; run by ./run)
**
** Shapes (all runners): db+q-tiny, pull-small, transact-1, in-10k, q1, q2,
** q5, pull-one, rows-10k — see bench/bindings/README.md.  Timing and output
** as bench/bench_common.h (BENCH_WARMUP_S, BENCH_SAMPLES, BENCH_SAMPLE_S,
** BENCH_ONLY; TSV "engine shape median_ms min_ms size").  Sizes: rows of a
** set/vector result, entity maps of a pull, the value of a scalar.
*/
#include "../bench_common.h"
#include "datalith.h"

static void check(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "bench_c: %s: %s\n", what, datalith_error_last()->message);
        exit(1);
    }
}

static char *slurp(const char *dir, const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) abort();
    p[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* ---- CBOR: building a text string, walking a result ---- */

typedef struct buf {
    char *p;
    size_t n;
} buf;

static buf cbor_text(const char *s) {
    size_t n = strlen(s), h = n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
    buf b = {malloc(n + h), n + h};
    unsigned char *u = (unsigned char *)b.p;
    if (h == 1) u[0] = (unsigned char)(0x60 | n);
    else if (h == 2) u[0] = 0x78, u[1] = (unsigned char)n;
    else if (h == 3) u[0] = 0x79, u[1] = (unsigned char)(n >> 8), u[2] = (unsigned char)n;
    else u[0] = 0x7a, u[1] = (unsigned char)(n >> 24), u[2] = (unsigned char)(n >> 16), u[3] = (unsigned char)(n >> 8),
         u[4] = (unsigned char)n;
    memcpy(b.p + h, s, n);
    return b;
}

static buf edn_to_cbor(const char *edn) {
    buf b = {0};
    check(datalith_value_convert(edn, strlen(edn), DATALITH_FORMAT_EDN, DATALITH_FORMAT_CBOR, &b.p, &b.n), edn);
    return b;
}

/* The head at *p: major type and argument; advances *p.  Definite lengths
** only (the engine writes nothing else). */
static int head(const unsigned char **p, uint64_t *arg) {
    unsigned ib = *(*p)++, ai = ib & 31;
    uint64_t v = ai;
    int k = ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : 0;
    if (ai >= 24) {
        v = 0;
        for (int i = 0; i < k; i++) v = v << 8 | *(*p)++;
    }
    *arg = v;
    return (int)(ib >> 5);
}

/* Skip one item, counting the maps inside it (and it). */
static const unsigned char *walk(const unsigned char *p, long *maps) {
    uint64_t n;
    int major = head(&p, &n);
    switch (major) {
    case 2:
    case 3: return p + n;
    case 4:
        for (uint64_t i = 0; i < n; i++) p = walk(p, maps);
        return p;
    case 5:
        ++*maps;
        for (uint64_t i = 0; i < 2 * n; i++) p = walk(p, maps);
        return p;
    case 6: return walk(p, maps);
    case 7: return p + (n == 25 ? 2 : n == 26 ? 4 : n == 27 ? 8 : 0); /* n is the raw simple/float bits here */
    default: return p;
    }
}

/* Rows of a collection result (a tagged set counts its array), or the value
** of an integer scalar. */
static long top_size(const char *out) {
    const unsigned char *p = (const unsigned char *)out;
    uint64_t n;
    int major = head(&p, &n);
    if (major == 6) major = head(&p, &n);
    return major == 7 ? 0 : (long)n; /* arrays/maps: count; unsigned ints: the value; nil: 0 */
}

/* ---- shapes ---- */

static datalith_conn *people_conn, *tree_conn, *scratch_conn;
static datalith_db *people_db, *tree_db;

typedef struct qshape {
    buf query, inputs;
    datalith_db *db;
} qshape;

static long run_q(void *p) {
    qshape *s = p;
    char *out = NULL;
    size_t n = 0;
    check(datalith_q(s->query.p, s->query.n, &s->db, 1, s->inputs.p, s->inputs.n, DATALITH_FORMAT_CBOR, &out, &n),
          "q");
    long size = top_size(out);
    datalith_free(out);
    return size;
}

static long run_db_q(void *p) {
    qshape *s = p;
    datalith_db *db = NULL;
    check(datalith_conn_db(people_conn, &db), "db");
    s->db = db;
    run_q(s);
    datalith_db_release(db);
    return 1;
}

typedef struct pshape {
    buf selector, eid;
    datalith_db *db;
} pshape;

static long run_pull(void *p) {
    pshape *s = p;
    char *out = NULL;
    size_t n = 0;
    check(datalith_pull(s->db, s->selector.p, s->selector.n, s->eid.p, s->eid.n, DATALITH_FORMAT_CBOR, &out, &n),
          "pull");
    long maps = 0;
    walk((const unsigned char *)out, &maps);
    datalith_free(out);
    return maps;
}

static buf tx1;
static long run_tx(void *p) {
    (void)p;
    char *out = NULL;
    size_t n = 0;
    check(datalith_transact(scratch_conn, tx1.p, tx1.n, DATALITH_FORMAT_CBOR, &out, &n), "transact");
    datalith_free(out);
    return 1;
}

static datalith_conn *fresh(const char *id, const char *schema, size_t schema_len) {
    char cfg[256];
    snprintf(cfg, sizeof cfg, "{:store {:backend :memory :id \"%s\"} :keep-history? false}", id);
    char *out = NULL;
    check(datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out, NULL), "create");
    datalith_free(out);
    datalith_conn *c = NULL;
    check(datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c), "connect");
    check(datalith_transact(c, schema, schema_len, DATALITH_FORMAT_EDN, &out, NULL), "schema");
    datalith_free(out);
    return c;
}

static void load(datalith_conn *c, const char *dir, const char *name) {
    size_t n;
    char *text = slurp(dir, name, &n), *out = NULL;
    check(datalith_transact(c, text, n, DATALITH_FORMAT_EDN, &out, NULL), name);
    datalith_free(out);
    free(text);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: bench_c DATADIR\n");
        return 2;
    }
    const char *dir = argv[1];
    bench_engine = "c";
    bench_only = getenv("BENCH_ONLY");
    size_t sn;
    char *schema = slurp(dir, "schema.edn", &sn);
    people_conn = fresh("bb-people", schema, sn);
    load(people_conn, dir, "people.edn");
    load(people_conn, dir, "follows.edn");
    tree_conn = fresh("bb-tree", schema, sn);
    load(tree_conn, dir, "tree.edn");
    scratch_conn = fresh("bb-scratch", schema, sn);
    check(datalith_conn_db(people_conn, &people_db), "db");
    check(datalith_conn_db(tree_conn, &tree_db), "db");


    qshape tiny = {cbor_text("[:find ?a . :where [1000 :age ?a]]"), edn_to_cbor("[]"), NULL};
    bench_run("db+q-tiny", run_db_q, &tiny);

    pshape small = {edn_to_cbor("[:name :age]"), edn_to_cbor("1000"), people_db};
    bench_run("pull-small", run_pull, &small);

    tx1 = edn_to_cbor("[{:name \"Tx\" :age 1}]");
    bench_run("transact-1", run_tx, NULL);


    size_t cap = 10000 * 8 + 16, len = 0;
    char *ints = malloc(cap);
    len += (size_t)sprintf(ints + len, "[[");
    for (int i = 0; i < 10000; i++) len += (size_t)sprintf(ints + len, "%d ", i);
    sprintf(ints + len, "]]");
    qshape in10k = {cbor_text("[:find (count ?x) . :in $ [?x ...]]"), edn_to_cbor(ints), people_db};
    bench_run("in-10k", run_q, &in10k);
    free(ints);

    qshape qs[] = {
        {cbor_text("[:find ?e :where [?e :name \"Ivan\"]]"), edn_to_cbor("[]"), people_db},
        {cbor_text("[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]"), edn_to_cbor("[]"), people_db},
        {cbor_text("[:find ?e1 ?l ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e1 :age ?a] [?e1 :last-name ?l]]"),
         edn_to_cbor("[]"), people_db},
    };
    bench_run("q1", run_q, &qs[0]);
    bench_run("q2", run_q, &qs[1]);
    bench_run("q5", run_q, &qs[2]);

    pshape pone = {edn_to_cbor("[:name {:follows ...}]"), edn_to_cbor("200000"), tree_db};
    bench_run("pull-one", run_pull, &pone);

    qshape rows = {cbor_text("[:find ?e ?n ?a :where [?e :name ?n] [?e :age ?a] [(< ?e 11000)]]"), edn_to_cbor("[]"),
                   people_db};
    bench_run("rows-10k", run_q, &rows);


    datalith_db_release(people_db);
    datalith_db_release(tree_db);
    datalith_conn_release(people_conn);
    datalith_conn_release(tree_conn);
    datalith_conn_release(scratch_conn);
    free(schema);
    return 0;
}
