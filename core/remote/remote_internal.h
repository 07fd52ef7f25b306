/*
** remote_internal.h — what remote.c shares with rlisten.c (the listeners
** of :remote-peer connections).  Not part of the facade's contract in
** remote.h.
*/
#ifndef DL_REMOTE_INTERNAL_H
#define DL_REMOTE_INTERNAL_H

#include "datalith.h"
#include "remote/http.h"
#include "util/arena.h"
#include "value/value.h"

/* Where and how to reach the server, from a :writer or :remote-peer map.
** `token` points into the map's storage. */
typedef struct dl_remote {
    char label[DL_HTTP_HOST_MAX + 64]; /* "writer server http://h:p" */
    dl_http_url url;
    const char *token;
    dl_http_opts opts;
} dl_remote;

/* The settings of config value cfg's :remote-peer map. */
int dl_remote_peer_settings(const edn_value *cfg, dl_remote *out);

/* POST args (an EDN vector) to /op and read the answer into *out (in a);
** errors as remote.h describes. */
int dl_remote_call(const dl_remote *r, const char *op, const edn_value *args,
                   dl_arena *a, edn_value *out);

/* A report from the server in the local shape (no :config inside
** :db-before / :db-after). */
int dl_remote_local_report(dl_arena *a, const edn_value *rep, edn_value *out);

/* A remote-peer connection handle's config map (as the caller gave it). */
const edn_value *dl_rpeer_conn_config(datalith_conn *conn);

/* Where the handle keeps its listeners (rlisten.c; NULL until the first
** listen). */
struct dl_rlisten **dl_rpeer_listen_slot(datalith_conn *conn);

/* rlisten.c: drop every listener of the handle and stop its watcher
** (called by dl_rpeer_conn_release). */
void dl_rlisten_close(struct dl_rlisten **slot);

#endif
