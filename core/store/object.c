/*
** object.c — framing and checksums for stored objects and heads (see
** object.h for the layout).
*/
#include "object.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static void obj_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t obj_get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t obj_checksum(const uint8_t *hdr16, const uint8_t *payload,
                             size_t len) {
    uint64_t seed = XXH64(hdr16, 16, 0);
    return XXH64(len ? payload : (const uint8_t *)"", len, seed);
}

const char *dl_obj_type_name(unsigned type) {
    switch (type) {
    case DL_OBJ_NODE: return "node";
    case DL_OBJ_COMMIT: return "commit";
    case DL_OBJ_SCHEMA: return "schema";
    case DL_OBJ_HEAD: return "head";
    case DL_OBJ_BLOB: return "blob";
    default: return "unknown";
    }
}

int dl_obj_encode(unsigned type, const uint8_t *payload, size_t len,
                  uint8_t **out, size_t *out_len) {
    if (type == DL_OBJ_ANY || type > DL_OBJ_TYPE_MAX)
        return dl_err_set(DATALITH_EINVAL, "unknown object type %u", type);
    if (len > SIZE_MAX - DL_OBJ_HEADER)
        return dl_err_set(DATALITH_ELIMIT, "object too large");
    uint8_t *b = malloc(DL_OBJ_HEADER + len);
    if (!b) return dl_err_nomem();
    memcpy(b, DL_OBJ_MAGIC, 4);
    b[4] = DL_OBJ_VERSION;
    b[5] = (uint8_t)type;
    b[6] = b[7] = 0;
    obj_put_u64(b + 8, (uint64_t)len);
    if (len) memcpy(b + DL_OBJ_HEADER, payload, len);
    obj_put_u64(b + 16, obj_checksum(b, b + DL_OBJ_HEADER, len));
    *out = b;
    *out_len = DL_OBJ_HEADER + len;
    return 0;
}

int dl_obj_decode(const uint8_t *buf, size_t len, const char *what,
                  const char *key, unsigned expect_type,
                  const uint8_t **payload, size_t *plen, unsigned *type) {
    const char *w = what ? what : "object";
    const char *k = key ? key : "?";
    if (len < DL_OBJ_HEADER)
        return dl_err_set(DATALITH_ECORRUPT,
                          "corrupt %s '%s': truncated (%zu bytes, header "
                          "needs %d)", w, k, len, DL_OBJ_HEADER);
    if (memcmp(buf, DL_OBJ_MAGIC, 4) != 0)
        return dl_err_set(DATALITH_ECORRUPT, "corrupt %s '%s': bad magic", w,
                          k);
    uint64_t n = obj_get_u64(buf + 8);
    if (n != (uint64_t)(len - DL_OBJ_HEADER))
        return dl_err_set(DATALITH_ECORRUPT,
                          "corrupt %s '%s': %s (header says %llu payload "
                          "bytes, found %zu)", w, k,
                          n > (uint64_t)(len - DL_OBJ_HEADER) ? "truncated"
                                                              : "length mismatch",
                          (unsigned long long)n, len - DL_OBJ_HEADER);
    if (obj_get_u64(buf + 16) != obj_checksum(buf, buf + DL_OBJ_HEADER, (size_t)n))
        return dl_err_set(DATALITH_ECORRUPT,
                          "corrupt %s '%s': checksum mismatch", w, k);
    /* The checksum matched, so these bytes are what a writer framed: a
    ** wrong version or type is a format or usage mismatch, not bit rot. */
    if (buf[4] != DL_OBJ_VERSION)
        return dl_err_set(DATALITH_ECORRUPT,
                          "corrupt %s '%s': unsupported format version %u "
                          "(this build reads %d)", w, k, buf[4],
                          DL_OBJ_VERSION);
    if (buf[6] != 0 || buf[7] != 0)
        return dl_err_set(DATALITH_ECORRUPT,
                          "corrupt %s '%s': reserved header bits set", w, k);
    unsigned t = buf[5];
    if (t == DL_OBJ_ANY || t > DL_OBJ_TYPE_MAX)
        return dl_err_set(DATALITH_ECORRUPT,
                          "corrupt %s '%s': unknown object type %u", w, k, t);
    if (expect_type != DL_OBJ_ANY && t != expect_type)
        return dl_err_set(DATALITH_ECORRUPT,
                          "corrupt %s '%s': wrong type (expected %s, found %s)",
                          w, k, dl_obj_type_name(expect_type),
                          dl_obj_type_name(t));
    *payload = buf + DL_OBJ_HEADER;
    *plen = (size_t)n;
    if (type) *type = t;
    return 0;
}

/* Unframe a malloc'd buffer into a fresh malloc'd payload; frees `raw`. */
static int obj_unframe(uint8_t *raw, size_t rlen, const char *what,
                       const char *key, unsigned expect, uint8_t **payload,
                       size_t *len) {
    const uint8_t *p;
    size_t n;
    int rc = dl_obj_decode(raw, rlen, what, key, expect, &p, &n, NULL);
    if (rc) {
        free(raw);
        return rc;
    }
    /* Move the payload to the front and keep the same allocation. */
    memmove(raw, p, n);
    *payload = raw;
    *len = n;
    return 0;
}

int dl_obj_put(dl_store *s, const char *key, unsigned type,
               const uint8_t *payload, size_t len) {
    uint8_t *b;
    size_t n;
    int rc = dl_obj_encode(type, payload, len, &b, &n);
    if (rc) return rc;
    rc = s->vt->put(s, key, b, n);
    free(b);
    return rc;
}

int dl_obj_get(dl_store *s, const char *key, unsigned expect_type,
               uint8_t **payload, size_t *len) {
    uint8_t *raw = NULL;
    size_t rlen = 0;
    int rc = s->vt->get(s, key, &raw, &rlen);
    if (rc) return rc;
    return obj_unframe(raw, rlen, "object", key, expect_type, payload, len);
}

int dl_head_get(dl_store *s, const char *branch, uint8_t **payload,
                size_t *len) {
    uint8_t *raw = NULL;
    size_t rlen = 0;
    int rc = s->vt->head_get(s, branch, &raw, &rlen);
    if (rc) return rc;
    return obj_unframe(raw, rlen, "head", branch, DL_OBJ_HEAD, payload, len);
}

int dl_head_cas(dl_store *s, const char *branch, const uint8_t *expected,
                size_t elen, const uint8_t *payload, size_t len) {
    uint8_t *e = NULL, *d = NULL;
    size_t en = 0, dn = 0;
    int rc;
    if (expected) {
        rc = dl_obj_encode(DL_OBJ_HEAD, expected, elen, &e, &en);
        if (rc) return rc;
    }
    rc = dl_obj_encode(DL_OBJ_HEAD, payload, len, &d, &dn);
    if (rc) {
        free(e);
        return rc;
    }
    rc = s->vt->head_cas(s, branch, e, en, d, dn);
    free(e);
    free(d);
    return rc;
}
