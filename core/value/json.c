/*
** json.c — placeholder until the json codec lands; every call reports
** DATALITH_EUNSUPPORTED.
*/
#include "value.h"
#include "util/error.h"

int json_read(dl_arena *a, const char *text, size_t len,
              const edn_codec_opts *opts, edn_value *out) {
    return dl_err_set(DATALITH_EUNSUPPORTED, "JSON reader not built yet");
}
int json_write(dl_buf *b, const edn_value *v) {
    return dl_err_set(DATALITH_EUNSUPPORTED, "JSON writer not built yet");
}
