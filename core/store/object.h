/*
** object.h — the framing every stored object and head carries.
**
** Backends store raw bytes; this layer wraps each payload in a fixed
** 24-byte header so that a truncated, bit-flipped, misfiled or
** future-format object is reported as DATALITH_ECORRUPT naming the key,
** never followed.
**
**    0       4    5    6         8                16               24
**    ┌───────┬────┬────┬─────────┬─────────────────┬────────────────┬──────────┐
**    │ "DLTH"│ver │type│ reserved│ payload length  │ checksum       │ payload  │
**    │ magic │ u8 │ u8 │ u16 = 0 │ u64 little-end. │ u64 little-end.│ len bytes│
**    └───────┴────┴────┴─────────┴─────────────────┴────────────────┴──────────┘
**
**    checksum = XXH64(payload, len, seed = XXH64(bytes 0..16 of the header, 0))
**
** so the checksum covers the magic, version, type, reserved bits and length
** as well as the payload.  The object's total size must be exactly
** 24 + length: trailing bytes are corruption too.  Encoding is
** deterministic (no timestamps), so equal payloads frame to equal bytes —
** head compare-and-set relies on that.
*/
#ifndef DL_OBJECT_H
#define DL_OBJECT_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define DL_OBJ_MAGIC "DLTH"
#define DL_OBJ_VERSION 1
#define DL_OBJ_HEADER 24

/* Object types (byte 5).  Values are stable; new types are only added. */
enum {
    DL_OBJ_ANY = 0,    /* for expect_type: accept any type */
    DL_OBJ_NODE = 1,   /* index node */
    DL_OBJ_COMMIT = 2, /* commit record */
    DL_OBJ_SCHEMA = 3, /* schema snapshot */
    DL_OBJ_HEAD = 4,   /* branch head */
    DL_OBJ_BLOB = 5,   /* anything else (config, tests) */
    DL_OBJ_TYPE_MAX = 5
};

/* A short name for an object type ("node", "commit", …, "unknown"). */
const char *dl_obj_type_name(unsigned type);

/* Frame payload[0..len) as an object of `type` (1..DL_OBJ_TYPE_MAX).
** *out is malloc'd (free()), *out_len = DL_OBJ_HEADER + len. */
int dl_obj_encode(unsigned type, const uint8_t *payload, size_t len,
                  uint8_t **out, size_t *out_len);

/* Check and unframe buf[0..len).  On success *payload points INTO buf
** (no copy), *plen is its length and *type (if not NULL) the type.
** `key` names the object in error messages ("object 'k'" / "head 'db'":
** pass `what` = "object" or "head").  expect_type DL_OBJ_ANY accepts every
** known type.  Failure: DATALITH_ECORRUPT "corrupt object 'k': <problem>".
** Safe on arbitrary bytes. */
int dl_obj_decode(const uint8_t *buf, size_t len, const char *what,
                  const char *key, unsigned expect_type,
                  const uint8_t **payload, size_t *plen, unsigned *type);

/* Frame and store an object.  Errors from the backend pass through. */
int dl_obj_put(dl_store *s, const char *key, unsigned type,
               const uint8_t *payload, size_t len);

/* Load and check an object.  *payload is malloc'd (free()), *len its
** length.  Missing: DATALITH_ENOTFOUND "object 'k' not found";
** damaged or of another type: DATALITH_ECORRUPT naming the key. */
int dl_obj_get(dl_store *s, const char *key, unsigned expect_type,
               uint8_t **payload, size_t *len);

/* Read head `branch` (framed as DL_OBJ_HEAD).  *payload malloc'd.
** Missing: DATALITH_ENOTFOUND; damaged: DATALITH_ECORRUPT. */
int dl_head_get(dl_store *s, const char *branch, uint8_t **payload,
                size_t *len);

/* Move head `branch` from payload `expected` (NULL: only if the head does
** not exist yet) to `payload`, atomically and durably.  Someone else moved
** it first: DATALITH_ECONFLICT, nothing written. */
int dl_head_cas(dl_store *s, const char *branch, const uint8_t *expected,
                size_t elen, const uint8_t *payload, size_t len);

#endif
