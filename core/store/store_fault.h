/*
** store_fault.h — a fault-injecting store for tests: it forwards every
** call to an inner store and makes the N-th matching write fail or tear.
**
**   dl_store *inner, *f;
**   dl_fault_wrap(inner, 1, &f);                 // f owns inner
**   dl_fault_arm(f, DL_FAULT_PUT, 3, DL_FAULT_TEAR);
**   ...                                          // 3rd put from now tears
**
** Modes:
**   DL_FAULT_FAIL         the operation is not forwarded; DATALITH_EIO
**   DL_FAULT_TEAR         only a prefix of the bytes is written (put and
**                         head_cas), then DATALITH_EIO is reported
**   DL_FAULT_TEAR_SILENT  a prefix is written and success is reported —
**                         what a power cut after a lying disk looks like
** sync has no bytes to tear: every mode makes it fail with DATALITH_EIO.
** With `sticky`, every matching operation after the N-th fails too
** (a disk that went away).  Reads are always forwarded.
**
** Thread-safe (the counters are under a mutex).
*/
#ifndef DL_STORE_FAULT_H
#define DL_STORE_FAULT_H

#include "store.h"

enum {
    DL_FAULT_PUT = 1,
    DL_FAULT_HEAD_CAS = 2,
    DL_FAULT_SYNC = 4,
    DL_FAULT_DEL = 8,
    DL_FAULT_WRITES = 15
};

enum { DL_FAULT_FAIL = 1, DL_FAULT_TEAR = 2, DL_FAULT_TEAR_SILENT = 3 };

/* Wrap `inner`.  With own_inner, closing or destroying the wrapper closes
** or destroys inner too. */
int dl_fault_wrap(dl_store *inner, int own_inner, dl_store **out);

/* Arm: the nth (1-based, counted from now) operation among `ops` faults
** with `mode`; nth 0 disarms.  Resets the counters. */
void dl_fault_arm(dl_store *f, unsigned ops, unsigned long nth, int mode,
                  int sticky);

/* How many matching operations were seen since arming, and how many of
** them were faulted. */
unsigned long dl_fault_seen(dl_store *f);
unsigned long dl_fault_fired(dl_store *f);

#endif
