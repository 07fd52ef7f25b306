/*
** fuzz_object.c — dl_obj_decode on arbitrary bytes: never crashes, fails
** only with DATALITH_ECORRUPT, and whatever it accepts re-encodes to
** exactly the input (the framing is canonical).
*/
#include "store/object.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *p;
    size_t n;
    unsigned type;
    int rc = dl_obj_decode(data, size, "object", "fuzz", DL_OBJ_ANY, &p, &n,
                           &type);
    if (rc) {
        if (rc != DATALITH_ECORRUPT) abort();
        return 0;
    }
    if (p < data || p + n > data + size) abort();
    uint8_t *again;
    size_t alen;
    if (dl_obj_encode(type, p, n, &again, &alen) != 0) abort();
    if (alen != size || memcmp(again, data, size) != 0) abort();
    free(again);
    for (unsigned t = DL_OBJ_NODE; t <= DL_OBJ_TYPE_MAX; t++) {
        rc = dl_obj_decode(data, size, "object", "fuzz", t, &p, &n, NULL);
        if ((rc == 0) != (t == type)) abort();
    }
    return 0;
}
