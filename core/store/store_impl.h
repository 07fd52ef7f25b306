/*
** store_impl.h — what the store backends share and nothing above them
** needs: the backend registry entries, key validation, and the process-wide
** single-writer lock used by every backend that lives in a directory.
**
** Not part of the store contract (store.h); only core/store/ includes it.
*/
#ifndef DL_STORE_IMPL_H
#define DL_STORE_IMPL_H

#include "store.h"

#include <stddef.h>
#include <sys/types.h>

/* Longest object key or branch name, in bytes. */
#define DL_STORE_KEY_MAX 200

/* Check an object key or branch name: 1..DL_STORE_KEY_MAX bytes of
** [A-Za-z0-9._-], not starting with '.' (so "." and ".." and the backends'
** dot-named temporary files can never be addressed).  `what` is "key" or
** "branch" for the message.  DATALITH_EINVAL on failure. */
int dl_store_check_key(const char *key, const char *what);

/* Backend constructors, dispatched by store.c from the :backend keyword.
** `cfg` is the whole store config map; each reads its own keys. */
int dl_store_memory_open(const edn_value *cfg, int create, dl_store **out);
int dl_store_memory_exists(const edn_value *cfg, int *out);
int dl_store_file_open(const edn_value *cfg, int create, dl_store **out);
int dl_store_file_exists(const edn_value *cfg, int *out);
#if DATALITH_HAVE_LMDB
int dl_store_lmdb_open(const edn_value *cfg, int create, dl_store **out);
int dl_store_lmdb_exists(const edn_value *cfg, int *out);
#endif
#if DATALITH_HAVE_PG
/* :pg, and :jdbc with :dbtype "postgresql" (store_pg.c). */
int dl_store_pg_open(const edn_value *cfg, int create, dl_store **out);
int dl_store_pg_exists(const edn_value *cfg, int *out);
#endif

/* Buffered puts (store_batch.c): owned (key, bytes) pairs, one per key, a
** later put of a key replacing the earlier.  `bytes` sums keys and data.
** Not thread-safe: the backend's mutex guards its batches. */
typedef struct dl_store_pending {
    char *key;
    uint8_t *data;
    size_t len;
} dl_store_pending;

typedef struct dl_store_batch {
    dl_store_pending *it;
    size_t n, cap, bytes;
} dl_store_batch;

dl_store_pending *dl_store_batch_find(dl_store_batch *b, const char *key);
/* Take ownership of key and data (both freed on failure: ENOMEM). */
int dl_store_batch_set(dl_store_batch *b, char *key, uint8_t *data,
                       size_t len);
void dl_store_batch_remove(dl_store_batch *b, const char *key);
void dl_store_batch_clear(dl_store_batch *b); /* keeps the array */
void dl_store_batch_free(dl_store_batch *b);
/* After a failed commit: move flight's entries back into pend, except keys
** pend holds already (a newer put made meanwhile wins); flight ends empty. */
void dl_store_batch_requeue(dl_store_batch *pend, dl_store_batch *flight);
/* A get served from the puts not yet committed: a malloc'd copy of key's
** bytes from pend, else flight.  1 when found, 0 when in neither, ENOMEM. */
int dl_store_batch_copy(dl_store_batch *pend, dl_store_batch *flight,
                        const char *key, uint8_t **out, size_t *len);

/* Read the string value of `key` (e.g. "path") from a config map.
** Missing or not a string: DATALITH_EINVAL naming the key. */
int dl_store_cfg_string(const edn_value *cfg, const char *key,
                        const char **out);

/*
** The directory writer lock.  A lock file (e.g. <dir>/lock) is held with
** flock(LOCK_EX|LOCK_NB) for as long as the writer lives; the holder's pid
** is written into it so the loser can name it.  flock belongs to an open
** file description, so two handles in one process would not exclude each
** other by flock alone: a process-wide table of held lock files (by device
** and inode) makes the second handle fail too.  The OS drops the lock when
** the process dies, so a crashed writer never leaves the store locked.
*/
typedef struct dl_wlock {
    int fd;      /* -1 when not held */
    dev_t dev;
    ino_t ino;
} dl_wlock;

#define DL_WLOCK_INIT {-1, 0, 0}

/* Take the lock on `path` (created if missing).  DATALITH_ELOCKED
** "database is locked by another writer (pid N)" when held elsewhere;
** DATALITH_EIO naming the path on an OS failure.  Taking a lock this
** handle already holds is a no-op. */
int dl_wlock_acquire(dl_wlock *l, const char *path);
/* Release (no-op when not held). */
void dl_wlock_release(dl_wlock *l);

/* mkdir -p.  DATALITH_EIO "cannot create store directory '<dir>': <why>"
** naming the first directory that could not be made. */
int dl_mkdirs(const char *path);

/* fsync a directory by path; DATALITH_EIO naming it on failure. */
int dl_fsync_dir(const char *path);

/* Remove a directory tree (files and subdirectories, no symlink
** following).  Missing is OK.  DATALITH_EIO naming the failing path. */
int dl_rmtree(const char *path);

#endif
