/*
** test_object.c — object framing: the byte layout, round trips, every
** single-byte and single-bit corruption and every truncation detected,
** wrong type and version, and the fault-injecting store (failing and torn
** puts, torn heads, failing syncs) leaving the previous commit readable.
*/
#define _GNU_SOURCE
#include "test.h"

#include "store/object.h"
#include "store/store.h"
#include "store/store_fault.h"
#include "util/error.h"
#include "value/value.h"

#include <unistd.h>
#include <xxhash.h>

static dl_arena arena;

static const char *msg(void) { return dl_err_last()->message; }

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

TEST(layout) {
    /* The documented layout, checked byte by byte. */
    const char *pl = "hello";
    uint8_t *b;
    size_t n;
    CHECK_EQ_INT(dl_obj_encode(DL_OBJ_COMMIT, (const uint8_t *)pl, 5, &b, &n),
                 0);
    CHECK_EQ_INT(n, 24 + 5);
    CHECK(memcmp(b, "DLTH", 4) == 0);
    CHECK_EQ_INT(b[4], 1);
    CHECK_EQ_INT(b[5], 2); /* commit */
    CHECK_EQ_INT(b[6], 0);
    CHECK_EQ_INT(b[7], 0);
    CHECK_EQ_INT(le64(b + 8), 5);
    uint64_t want = XXH64(pl, 5, XXH64(b, 16, 0));
    CHECK(le64(b + 16) == want);
    CHECK(memcmp(b + 24, "hello", 5) == 0);
    /* Deterministic: the same payload frames to the same bytes. */
    uint8_t *b2;
    size_t n2;
    CHECK_EQ_INT(dl_obj_encode(DL_OBJ_COMMIT, (const uint8_t *)pl, 5, &b2,
                               &n2), 0);
    CHECK(n2 == n && memcmp(b, b2, n) == 0);
    free(b);
    free(b2);
    CHECK_EQ_INT(dl_obj_encode(0, (const uint8_t *)pl, 5, &b, &n),
                 DATALITH_EINVAL);
    CHECK_EQ_INT(dl_obj_encode(99, (const uint8_t *)pl, 5, &b, &n),
                 DATALITH_EINVAL);
}

TEST(round_trip) {
    size_t sizes[] = {0, 1, 23, 24, 25, 4096, 1 << 20};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t len = sizes[si];
        uint8_t *pl = malloc(len + 1);
        for (size_t i = 0; i < len; i++) pl[i] = (uint8_t)(i * 131 + si);
        for (unsigned t = DL_OBJ_NODE; t <= DL_OBJ_TYPE_MAX; t++) {
            uint8_t *b;
            size_t n;
            CHECK_EQ_INT(dl_obj_encode(t, pl, len, &b, &n), 0);
            const uint8_t *out;
            size_t olen;
            unsigned ot = 0;
            CHECK_EQ_INT(dl_obj_decode(b, n, "object", "k", t, &out, &olen,
                                       &ot), 0);
            CHECK_EQ_INT(olen, len);
            CHECK_EQ_INT(ot, t);
            CHECK(len == 0 || memcmp(out, pl, len) == 0);
            CHECK_EQ_INT(dl_obj_decode(b, n, "object", "k", DL_OBJ_ANY, &out,
                                       &olen, &ot), 0);
            free(b);
        }
        free(pl);
    }
}

TEST(every_corruption_detected) {
    const char *pl = "a small index node";
    uint8_t *b;
    size_t n;
    CHECK_EQ_INT(dl_obj_encode(DL_OBJ_NODE, (const uint8_t *)pl, strlen(pl),
                               &b, &n), 0);
    const uint8_t *out;
    size_t olen;
    int undetected = 0, wrong_code = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t save = b[i];
        /* every byte replaced by its complement, and every single bit */
        for (int f = -1; f < 8; f++) {
            b[i] = f < 0 ? (uint8_t)~save : (uint8_t)(save ^ (1u << f));
            int rc = dl_obj_decode(b, n, "object", "n-0001a3", DL_OBJ_NODE,
                                   &out, &olen, NULL);
            if (rc == 0) undetected++;
            else if (rc != DATALITH_ECORRUPT) wrong_code++;
            else if (!strstr(msg(), "corrupt object 'n-0001a3': "))
                wrong_code++;
        }
        b[i] = save;
    }
    CHECK_EQ_INT(undetected, 0);
    CHECK_EQ_INT(wrong_code, 0);
    /* The payload flip names the checksum. */
    b[30] ^= 1;
    CHECK_EQ_INT(dl_obj_decode(b, n, "object", "n-0001a3", DL_OBJ_NODE, &out,
                               &olen, NULL), DATALITH_ECORRUPT);
    CHECK_STR(msg(), "corrupt object 'n-0001a3': checksum mismatch");
    b[30] ^= 1;
    /* Every truncation, and a trailing byte. */
    for (size_t cut = 0; cut < n; cut++) {
        int rc = dl_obj_decode(b, cut, "object", "k", DL_OBJ_NODE, &out,
                               &olen, NULL);
        CHECK_EQ_INT(rc, DATALITH_ECORRUPT);
        if (rc == DATALITH_ECORRUPT && cut >= 24) CHECK_CONTAINS(msg(), "truncated");
    }
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 0;
    CHECK_EQ_INT(dl_obj_decode(longer, n + 1, "object", "k", DL_OBJ_NODE,
                               &out, &olen, NULL), DATALITH_ECORRUPT);
    free(longer);
    CHECK_EQ_INT(dl_obj_decode(b, n, "object", "k", DL_OBJ_NODE, &out, &olen,
                               NULL), 0);
    free(b);
}

/* Frame by hand (the documented formula) with any header bytes. */
static void frame_raw(uint8_t *b, unsigned ver, unsigned type,
                      const char *pl) {
    size_t len = strlen(pl);
    memcpy(b, "DLTH", 4);
    b[4] = (uint8_t)ver;
    b[5] = (uint8_t)type;
    b[6] = b[7] = 0;
    for (int i = 0; i < 8; i++) b[8 + i] = (uint8_t)(len >> (8 * i));
    uint64_t c = XXH64(pl, len, XXH64(b, 16, 0));
    for (int i = 0; i < 8; i++) b[16 + i] = (uint8_t)(c >> (8 * i));
    memcpy(b + 24, pl, len);
}

TEST(wrong_type_and_version) {
    uint8_t b[64];
    const uint8_t *out;
    size_t olen;
    frame_raw(b, 1, DL_OBJ_SCHEMA, "xyz");
    CHECK_EQ_INT(dl_obj_decode(b, 27, "object", "s-1", DL_OBJ_SCHEMA, &out,
                               &olen, NULL), 0);
    CHECK_EQ_INT(dl_obj_decode(b, 27, "object", "s-1", DL_OBJ_NODE, &out,
                               &olen, NULL), DATALITH_ECORRUPT);
    CHECK_STR(msg(),
              "corrupt object 's-1': wrong type (expected node, found schema)");
    frame_raw(b, 2, DL_OBJ_NODE, "xyz");
    CHECK_EQ_INT(dl_obj_decode(b, 27, "object", "n-1", DL_OBJ_NODE, &out,
                               &olen, NULL), DATALITH_ECORRUPT);
    CHECK_CONTAINS(msg(), "unsupported format version 2");
    frame_raw(b, 1, 77, "xyz");
    CHECK_EQ_INT(dl_obj_decode(b, 27, "object", "n-1", DL_OBJ_ANY, &out,
                               &olen, NULL), DATALITH_ECORRUPT);
    CHECK_CONTAINS(msg(), "unknown object type 77");
    frame_raw(b, 1, 0, "xyz");
    CHECK_EQ_INT(dl_obj_decode(b, 27, "object", "n-1", DL_OBJ_ANY, &out,
                               &olen, NULL), DATALITH_ECORRUPT);
}

/* ---- through stores ---- */

static dl_store *open_store(const char *backend) {
    dl_store *s = NULL;
    edn_value kv[4];
    edn_value cfg;
    kv[0] = edn_keyword_str("backend");
    kv[1] = edn_keyword_str(backend);
    static int serial;
    char buf[600];
    if (strcmp(backend, "memory") == 0) {
        kv[2] = edn_keyword_str("id");
        snprintf(buf, sizeof buf, "obj-%d-%d", (int)getpid(), ++serial);
    } else {
        kv[2] = edn_keyword_str("path");
        snprintf(buf, sizeof buf, "%s", test_tmpdir("obj"));
        if (!mkdtemp(buf)) return NULL;
    }
    edn_string(&arena, buf, strlen(buf), &kv[3]);
    edn_map(&arena, kv, 2, &cfg);
    int rc = dl_store_open(&cfg, 1, &s);
    if (rc) fprintf(stderr, "open %s: %s\n", backend, msg());
    return rc ? NULL : s;
}

TEST(store_get_errors) {
    dl_store *s = open_store("memory");
    if (!s) return;
    uint8_t *p;
    size_t n;
    CHECK_EQ_INT(dl_obj_get(s, "n-0001a3", DL_OBJ_NODE, &p, &n),
                 DATALITH_ENOTFOUND);
    CHECK_STR(msg(), "object 'n-0001a3' not found");
    /* raw garbage under a key */
    CHECK_EQ_INT(s->vt->put(s, "n-0001a3", (const uint8_t *)"DLTHxxxx", 8), 0);
    CHECK_EQ_INT(dl_obj_get(s, "n-0001a3", DL_OBJ_NODE, &p, &n),
                 DATALITH_ECORRUPT);
    CHECK_CONTAINS(msg(), "corrupt object 'n-0001a3': truncated");
    /* a flipped payload bit */
    uint8_t *b;
    size_t bn;
    CHECK_EQ_INT(dl_obj_encode(DL_OBJ_NODE, (const uint8_t *)"payload", 7, &b,
                               &bn), 0);
    b[bn - 1] ^= 4;
    CHECK_EQ_INT(s->vt->put(s, "n-0001a4", b, bn), 0);
    free(b);
    CHECK_EQ_INT(dl_obj_get(s, "n-0001a4", DL_OBJ_NODE, &p, &n),
                 DATALITH_ECORRUPT);
    CHECK_STR(msg(), "corrupt object 'n-0001a4': checksum mismatch");
    /* an object read as a head */
    CHECK_EQ_INT(dl_obj_put(s, "x", DL_OBJ_NODE, (const uint8_t *)"n", 1), 0);
    CHECK_EQ_INT(dl_obj_get(s, "x", DL_OBJ_COMMIT, &p, &n),
                 DATALITH_ECORRUPT);
    CHECK_CONTAINS(msg(), "wrong type");
    CHECK_EQ_INT(dl_obj_get(s, "x", DL_OBJ_NODE, &p, &n), 0);
    CHECK(n == 1 && p[0] == 'n');
    free(p);
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

/* One commit: 3 objects named after seq, sync, head "seq" (framed). */
static int commit(dl_store *s, int seq) {
    char key[32], val[32], head[16], prev[16];
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "n-%d-%d", seq, i);
        snprintf(val, sizeof val, "node %d/%d", seq, i);
        int rc = dl_obj_put(s, key, DL_OBJ_NODE, (const uint8_t *)val,
                            strlen(val));
        if (rc) return rc;
    }
    int rc = s->vt->sync(s);
    if (rc) return rc;
    snprintf(head, sizeof head, "%d", seq);
    snprintf(prev, sizeof prev, "%d", seq - 1);
    return dl_head_cas(s, "db", seq == 1 ? NULL : (const uint8_t *)prev,
                       strlen(prev), (const uint8_t *)head, strlen(head));
}

/* The head names seq; all of that commit's objects verify. */
static int check_head(dl_store *s, int want_seq) {
    uint8_t *p;
    size_t n;
    if (dl_head_get(s, "db", &p, &n)) return -1;
    char b[16];
    snprintf(b, sizeof b, "%.*s", (int)n, (char *)p);
    free(p);
    if (atoi(b) != want_seq) return -2;
    for (int i = 0; i < 3; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "n-%d-%d", want_seq, i);
        snprintf(val, sizeof val, "node %d/%d", want_seq, i);
        if (dl_obj_get(s, key, DL_OBJ_NODE, &p, &n)) return -3;
        int ok = n == strlen(val) && memcmp(p, val, n) == 0;
        free(p);
        if (!ok) return -4;
    }
    return 0;
}

static void fault_battery(const char *backend) {
    dl_store *inner = open_store(backend), *f = NULL;
    if (!inner) {
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(dl_fault_wrap(inner, 1, &f), 0);
    CHECK_EQ_INT(commit(f, 1), 0);
    CHECK_EQ_INT(check_head(f, 1), 0);

    /* The 2nd put from now fails: reported, previous head intact. */
    dl_fault_arm(f, DL_FAULT_PUT, 2, DL_FAULT_FAIL, 0);
    CHECK_EQ_INT(commit(f, 2), DATALITH_EIO);
    CHECK_CONTAINS(msg(), "injected fault: put 'n-2-1'");
    CHECK_EQ_INT(dl_fault_fired(f), 1);
    CHECK_EQ_INT(check_head(f, 1), 0);

    /* A torn put reports EIO; the torn object reads as corrupt. */
    dl_fault_arm(f, DL_FAULT_PUT, 1, DL_FAULT_TEAR, 0);
    CHECK_EQ_INT(commit(f, 2), DATALITH_EIO);
    uint8_t *p;
    size_t n;
    CHECK_EQ_INT(dl_obj_get(f, "n-2-0", DL_OBJ_NODE, &p, &n),
                 DATALITH_ECORRUPT);
    CHECK_CONTAINS(msg(), "corrupt object 'n-2-0'");
    CHECK_EQ_INT(check_head(f, 1), 0);

    /* A failing sync stops the commit before the head moves. */
    dl_fault_arm(f, DL_FAULT_SYNC, 1, DL_FAULT_FAIL, 0);
    CHECK_EQ_INT(commit(f, 2), DATALITH_EIO);
    CHECK_EQ_INT(check_head(f, 1), 0);

    /* A failing head update: the head stays at 1. */
    dl_fault_arm(f, DL_FAULT_HEAD_CAS, 1, DL_FAULT_FAIL, 0);
    CHECK_EQ_INT(commit(f, 2), DATALITH_EIO);
    CHECK_EQ_INT(check_head(f, 1), 0);

    /* Disarmed, the retried commit succeeds (re-putting the objects). */
    dl_fault_arm(f, 0, 0, 0, 0);
    CHECK_EQ_INT(commit(f, 2), 0);
    CHECK_EQ_INT(check_head(f, 2), 0);

    /* Sticky: once the disk goes, every later write fails. */
    dl_fault_arm(f, DL_FAULT_WRITES, 2, DL_FAULT_FAIL, 1);
    CHECK_EQ_INT(commit(f, 3), DATALITH_EIO);
    CHECK_EQ_INT(commit(f, 3), DATALITH_EIO);
    CHECK(dl_fault_fired(f) >= 2);
    CHECK_EQ_INT(check_head(f, 2), 0);

    /* A silently torn head (a lying disk) is detected, never followed. */
    dl_fault_arm(f, DL_FAULT_HEAD_CAS, 1, DL_FAULT_TEAR_SILENT, 0);
    CHECK_EQ_INT(commit(f, 3), 0);
    CHECK_EQ_INT(dl_head_get(f, "db", &p, &n), DATALITH_ECORRUPT);
    CHECK_CONTAINS(msg(), "corrupt head 'db'");
    CHECK_EQ_INT(f->vt->destroy(f), 0);
}

TEST(fault_memory) { fault_battery("memory"); }
TEST(fault_file) { fault_battery("file"); }
TEST(fault_lmdb) { fault_battery("lmdb"); }

int main(void) {
    dl_arena_init(&arena, 0);
    RUN(layout);
    RUN(round_trip);
    RUN(every_corruption_detected);
    RUN(wrong_type_and_version);
    RUN(store_get_errors);
    RUN(fault_memory);
    RUN(fault_file);
    {
        dl_store *s = open_store("lmdb");
        if (s) {
            s->vt->destroy(s);
            RUN(fault_lmdb);
        } else {
            fprintf(stderr, "lmdb not in this build: fault_lmdb skipped\n");
            dl_err_clear();
        }
    }
    dl_arena_free(&arena);
    return test_summary();
}
