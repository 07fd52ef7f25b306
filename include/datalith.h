/*
** datalith.h — the public C interface of Datalith, an embedded, immutable
** Datalog database.
**
** Conventions (see docs/api.md for the full reference):
**   - Every fallible function returns int: DATALITH_OK (0) or a negative
**     DATALITH_E* code.  Details of the last failure on the calling thread
**     are available from datalith_error_last().
**   - Outputs are written through out-parameters named `out`, only on success.
**   - Memory returned to the caller is freed with datalith_free() unless the
**     function says otherwise.  Borrowed pointers say how long they live.
**   - Values cross this interface as bytes in a documented encoding
**     (datalith_format): EDN text, JSON with Datahike's tagged literals, or
**     CBOR.  Text is UTF-8 and need not be NUL-terminated.
**
** The section between the GENERATED markers is produced by codegen/ from
** spec/api.edn; edit the spec, not this file.
*/
#ifndef DATALITH_H
#define DATALITH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(DATALITH_BUILDING)
#    define DATALITH_API __declspec(dllexport)
#  else
#    define DATALITH_API
#  endif
#elif defined(__GNUC__) && defined(DATALITH_BUILDING)
#  define DATALITH_API __attribute__((visibility("default")))
#else
#  define DATALITH_API
#endif

#define DATALITH_VERSION_MAJOR 0
#define DATALITH_VERSION_MINOR 1
#define DATALITH_VERSION_PATCH 0
#define DATALITH_VERSION_STRING "0.1.0"

/* Status codes.  Values are stable; new codes are only ever added. */
typedef enum datalith_status {
    DATALITH_OK = 0,
    DATALITH_ENOMEM = -1,      /* out of memory */
    DATALITH_EINVAL = -2,      /* bad argument or misuse of the API */
    DATALITH_EPARSE = -3,      /* malformed input text or bytes (has a position) */
    DATALITH_ELIMIT = -4,      /* a size, depth or memory limit was exceeded */
    DATALITH_ETYPE = -5,       /* a value of the wrong type */
    DATALITH_EIO = -6,         /* an operating-system or store I/O failure */
    DATALITH_ECORRUPT = -7,    /* stored data failed a checksum or format check */
    DATALITH_ELOCKED = -8,     /* another writer holds the database */
    DATALITH_ENOTFOUND = -9,   /* a database, key or entity does not exist */
    DATALITH_EEXISTS = -10,    /* the thing to create already exists */
    DATALITH_ESCHEMA = -11,    /* schema violation */
    DATALITH_ETX = -12,        /* transaction rejected */
    DATALITH_EQUERY = -13,     /* query rejected */
    DATALITH_ECANCELED = -14,  /* operation cancelled or bounded */
    DATALITH_EUNSUPPORTED = -15, /* not available in this build or version */
    DATALITH_ECONFLICT = -16,  /* a concurrent update won (compare-and-set) */
    DATALITH_EINTERNAL = -17   /* a bug: please report it */
} datalith_status;

/* The details of the last failure on the calling thread.  `message` names
** the problem; for DATALITH_EPARSE, `line` and `column` (1-based) and
** `offset` (0-based byte offset) give the position, else they are 0/0/-1. */
typedef struct datalith_error {
    int code;
    const char *message;
    long line;
    long column;
    long offset;
} datalith_error;

/* Encodings of values at the boundary. */
typedef enum datalith_format {
    DATALITH_FORMAT_EDN = 0,   /* EDN text, printed canonically */
    DATALITH_FORMAT_JSON = 1,  /* JSON with Datahike's tagged literals */
    DATALITH_FORMAT_CBOR = 2   /* CBOR with tags (docs/values.md) */
} datalith_format;

/* The last error of the calling thread; never NULL.  The pointer and the
** message stay valid until the next call into the library on this thread. */
DATALITH_API const datalith_error *datalith_error_last(void);

/* Reset the calling thread's last error to DATALITH_OK. */
DATALITH_API void datalith_error_clear(void);

/* A short constant name for a status code, e.g. "DATALITH_EPARSE". */
DATALITH_API const char *datalith_status_name(int code);

/* Free memory the library returned to the caller.  NULL is ignored. */
DATALITH_API void datalith_free(void *p);

/* BEGIN GENERATED API (codegen/gen.py from spec/api.edn) */

/* The library version as "MAJOR.MINOR.PATCH".  Static storage; never
** freed. */
DATALITH_API const char *datalith_version(void);

/* Parse `in` (in_len bytes) in format `from` and print it in format `to`.
** EDN output is canonical (maps and sets sorted), so converting EDN to EDN
** normalises it.  On success *out holds the bytes (NUL-terminated for text
** formats; free with datalith_free) and *out_len their length.
** Errors: DATALITH_EPARSE (with position), DATALITH_ELIMIT (input too large
** or too deeply nested), DATALITH_EINVAL (bad format), DATALITH_ENOMEM. */
DATALITH_API int datalith_value_convert(const char *in, size_t in_len,
                                        int from, int to, char **out,
                                        size_t *out_len);

/* END GENERATED API */

#ifdef __cplusplus
}
#endif

#endif /* DATALITH_H */
