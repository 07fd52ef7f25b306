/*
** api_util.h — the value plumbing every public entry point shares: decode
** a value argument in the caller's datalith_format into a per-call arena,
** and encode a result into fresh memory the caller frees with
** datalith_free().  Internal to core/api.
*/
#ifndef DL_API_UTIL_H
#define DL_API_UTIL_H

#include "util/arena.h"
#include "value/value.h"

#include <stddef.h>

/* Read the value p[0..n) in format `fmt` into *out (allocated from `a`).
** Errors are prefixed with `what` ("config: …"); an unknown format is
** DATALITH_EINVAL. */
int dl_api_read(dl_arena *a, const char *p, size_t n, int fmt,
                const char *what, edn_value *out);

/* Encode v in format `fmt` into *out (malloc'd, NUL-terminated for text
** formats) and its length into *out_len (may be NULL). */
int dl_api_write(const edn_value *v, int fmt, char **out, size_t *out_len);

#endif
