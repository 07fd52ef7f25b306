/*
** lset.h — the listener set and watcher thread that local listeners
** (core/db/listen.c) and :remote-peer listeners (core/remote/rlisten.c)
** share: the keyed list, the watcher's start and stop by generation, and
** the rules for calling and removing a listener.  Each module embeds a
** dl_lset as the first member of its own set (and a dl_lsnr as the first
** member of its own listener) and keeps the waiting and fetching of
** reports to itself.
**
** Everything in a dl_lset is guarded by `mu`.  A callback runs between
** dl_lset_enter and dl_lset_leave with no lock held and `busy` set;
** dl_lset_remove returns only when the callback is not running (unless
** called from the callback itself: then dl_lset_leave frees it).  A
** watcher whose generation is no longer current exits at its next check;
** dl_lset_stop joins it unless called on it.
*/
#ifndef DL_LSET_H
#define DL_LSET_H

#include "value/value.h"

#include <pthread.h>
#include <stddef.h>

typedef struct dl_lsnr {
    struct dl_lsnr *next;
    char *key;          /* canonical EDN text of the key */
    int fmt;
    void (*fn)(void *ctx, int status, const char *report, size_t report_len);
    void *ctx;
    int busy, removed;  /* removed 2: by its own callback, leave frees it */
} dl_lsnr;

typedef struct dl_lset {
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* on CLOCK_MONOTONIC */
    int refs;           /* the owner + a running watcher */
    dl_lsnr *head;      /* in the order they were added */
    unsigned gen;       /* the watcher generation */
    int have_thread;
    pthread_t thread;
} dl_lset;

/* What the watcher's thread function receives (and frees). */
typedef struct dl_lset_arg {
    dl_lset *s;
    unsigned gen;
} dl_lset_arg;

/* Initialise s with one reference; dl_lset_destroy frees its listeners. */
void dl_lset_init(dl_lset *s);
void dl_lset_destroy(dl_lset *s);

/* Wait on cv for at most ms milliseconds (under mu). */
void dl_lset_timed_wait(dl_lset *s, int ms);

/* The canonical EDN text of a listener key (malloc'd), or NULL. */
char *dl_lset_key_text(const edn_value *key);

/* The listener with key text kt that is not removed, or NULL (under mu). */
dl_lsnr *dl_lset_find(dl_lset *s, const char *kt);

/* Append l (under mu). */
void dl_lset_append(dl_lset *s, dl_lsnr *l);

/* Start main(arg) on a new thread for a new generation, with a reference
** for it (under mu).  main frees the dl_lset_arg. */
int dl_lset_start(dl_lset *s, void *(*main)(void *));

/* End the watcher's generation.  On the watcher itself, detach it (it
** exits at its next check) and return 0; else call wake(wctx) (may be
** NULL) to cut its wait short, join it with mu dropped, and return 1. */
int dl_lset_stop(dl_lset *s, void (*wake)(void *wctx), void *wctx);

/* Mark l busy and drop mu before calling it; dl_lset_leave takes mu back,
** frees l if its own callback removed it, and returns the next listener. */
void dl_lset_enter(dl_lset *s, dl_lsnr *l);
dl_lsnr *dl_lset_leave(dl_lset *s, dl_lsnr *l);

/* Remove l (under mu; `on_watcher`: called from a callback on the
** watcher).  Returns non-zero when listeners remain. */
int dl_lset_remove(dl_lset *s, dl_lsnr *l, int on_watcher);

#endif
