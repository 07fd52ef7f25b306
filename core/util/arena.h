/*
** arena.h — per-operation bump allocator.
**
** Parsing, planning and executing allocate from an arena that is freed in
** one call, so error paths cannot leak.  An arena is a chain of blocks:
**
**     arena ──▶ [block 3 | used ....free] ──▶ [block 2 | full] ──▶ [block 1]
**
** Allocation bumps a pointer in the newest block; a request larger than the
** block size gets a block of its own.  An optional byte limit turns runaway
** input (a 1 GB string, a 10^8-element vector) into DATALITH_ELIMIT instead
** of exhausting memory.  Not thread-safe: one arena per operation/thread.
*/
#ifndef DL_ARENA_H
#define DL_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct dl_arena_block dl_arena_block;

typedef struct dl_arena {
    dl_arena_block *head;   /* newest block */
    size_t block_size;      /* default block payload size */
    size_t used;            /* bytes handed out + block overhead */
    size_t limit;           /* 0 = unlimited */
} dl_arena;

/* Initialise an empty arena; no memory is allocated until first use.
** `limit` bounds the total bytes the arena may hold (0 = no bound). */
void dl_arena_init(dl_arena *a, size_t limit);

/* Allocate `n` bytes aligned to 16 (or 8 for n < 16).  Returns NULL and sets
** DATALITH_ENOMEM or DATALITH_ELIMIT on failure. */
void *dl_arena_alloc(dl_arena *a, size_t n);

/* Same, zero-filled. */
void *dl_arena_calloc(dl_arena *a, size_t count, size_t size);

/* Copy `n` bytes into the arena and NUL-terminate. */
char *dl_arena_strndup(dl_arena *a, const char *s, size_t n);

/* Grow the most recent allocation `p` (of `old` bytes) to `n` bytes, in place
** when it is the last allocation and fits, else by copying. */
void *dl_arena_realloc(dl_arena *a, void *p, size_t old, size_t n);

/* Free every block.  The arena may be reused after this. */
void dl_arena_free(dl_arena *a);

/* A position in the arena that can be rolled back to (frees the blocks
** allocated after it and resets the bump pointer). */
typedef struct dl_arena_mark {
    dl_arena_block *head;
    size_t pos;
    size_t used;
} dl_arena_mark;

dl_arena_mark dl_arena_save(const dl_arena *a);
void dl_arena_restore(dl_arena *a, dl_arena_mark m);

#endif
