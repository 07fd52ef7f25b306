/*
** store.h — the key-value store interface under every database.
**
** A store holds two kinds of entries:
**
**   objects   immutable byte strings under string keys (index nodes, schema,
**             commit records).  Written once, never changed in place; a key
**             is never reused for different bytes.
**   heads     small mutable records, one per branch (e.g. "db"), naming the
**             newest commit.  Updated atomically with compare-and-set.
**
** A commit is: put every new object, sync, then head_cas.  So a reader that
** sees a head also sees every object the head reaches, a crash leaves the
** previous head (and only unreachable garbage), and a directory of objects can
** be copied with rsync while in use as long as heads are copied last.
**
** A backend is one file implementing dl_store_vtable (memory, file, lmdb, …).
** Bytes given to and returned from a backend are raw; checksums and framing
** live one layer up (object.h), so every backend gets them for free.
**
** Thread safety: every function may be called from several threads at once
** on the same dl_store (readers in parallel with the one writer).
*/
#ifndef DL_STORE_H
#define DL_STORE_H

#include "value/value.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dl_store dl_store;

#define DL_STORE_VTABLE_V1 1

typedef struct dl_store_vtable {
    unsigned version; /* DL_STORE_VTABLE_V1 */
    const char *name; /* backend keyword name, e.g. "file" */

    /* Read object `key`.  On success *out is malloc'd (caller frees with
    ** free()) and *len set.  Missing key: DATALITH_ENOTFOUND. */
    int (*get)(dl_store *s, const char *key, uint8_t **out, size_t *len);

    /* Write object `key`.  Writing the same key again with the same bytes is
    ** allowed (idempotent).  Need not be durable until sync(). */
    int (*put)(dl_store *s, const char *key, const uint8_t *data, size_t len);

    /* Delete object `key` (for garbage collection).  Missing key is OK. */
    int (*del)(dl_store *s, const char *key);

    /* Call cb for every object key starting with `prefix` (any order).  A
    ** non-zero return from cb stops the listing and is returned. */
    int (*list)(dl_store *s, const char *prefix,
                int (*cb)(void *ctx, const char *key), void *ctx);

    /* Make every put so far durable (fsync files and directories). */
    int (*sync)(dl_store *s);

    /* Read head `branch`.  *out malloc'd.  Missing: DATALITH_ENOTFOUND. */
    int (*head_get)(dl_store *s, const char *branch, uint8_t **out,
                    size_t *len);

    /* Atomically replace head `branch` with data, durably, but only if its
    ** current bytes equal expected[0..elen) (expected == NULL: only if the
    ** head does not exist).  Otherwise DATALITH_ECONFLICT, nothing written. */
    int (*head_cas)(dl_store *s, const char *branch, const uint8_t *expected,
                    size_t elen, const uint8_t *data, size_t len);

    /* Delete head `branch` (missing is OK). */
    int (*head_del)(dl_store *s, const char *branch);

    /* Take the single-writer lock of this store for the calling process and
    ** handle; DATALITH_ELOCKED (message names the holder when known) if
    ** another process or another handle holds it.  Released by
    ** unlock_writer or close (and by the OS when the process dies). */
    int (*lock_writer)(dl_store *s);
    void (*unlock_writer)(dl_store *s);

    /* Release everything; the handle is invalid afterwards. */
    void (*close)(dl_store *s);

    /* Remove the whole store (all objects and heads) and close the handle. */
    int (*destroy)(dl_store *s);

    /* Optional; NULL means callers poll head_get.  Block until head `branch`
    ** may differ from known[0..klen) (known == NULL: until it exists) or
    ** timeout_ms milliseconds pass, then return 0 (the caller re-reads the
    ** head either way, so a spurious wake-up is harmless); an error only
    ** when the store itself fails.  Lets a watcher learn of commits made by
    ** other processes without a tight polling loop (PostgreSQL: LISTEN/
    ** NOTIFY; a directory: inotify). */
    int (*head_wait)(dl_store *s, const char *branch, const uint8_t *known,
                     size_t klen, int timeout_ms);
} dl_store_vtable;

struct dl_store {
    const dl_store_vtable *vt;
    /* backend state follows in the backend's own struct */
};

/* Open the store described by a Datahike store config map, e.g.
**   {:backend :memory :id "x"}   {:backend :file :path "/data/db"}
**   {:backend :lmdb :path "/data/db"}
** With create != 0 a missing store is created (directory, LMDB env),
** otherwise it is DATALITH_ENOTFOUND ("Backend does not exist.").
** Bad config: DATALITH_EINVAL naming the key. */
int dl_store_open(const edn_value *config, int create, dl_store **out);

/* Whether a store exists for this config (no side effects). */
int dl_store_exists(const edn_value *config, int *out);

#endif
