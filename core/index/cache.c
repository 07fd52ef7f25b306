/*
** cache.c — the node cache: decoded stored nodes by content address,
** bounded in bytes, shared by every tree of the process.
**
**   table[hash(addr)] ─▶ node ─h_next─▶ node …      (chained hash)
**   lru: newest ◀─▶ … ◀─▶ oldest                    (evicted from the tail)
**
** The cache holds one reference to each node it lists.  A lookup returns a
** further reference (a pin), so evicting a node a cursor or a tree still
** uses only drops the cache's reference: the node lives until its last pin
** goes.  One mutex guards the table and the list; loading and decoding run
** outside the lock (two threads missing on the same address both load, the
** second one to insert adopts the first one's node).  Because addresses are
** content hashes, equal addresses mean equal bytes, whatever store they
** came from, so one cache may serve many stores.
*/
#include "node.h"

#include "store/object.h"
#include "util/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct bt_cache {
    pthread_mutex_t mu;
    bt_node **table;
    size_t nbuckets; /* power of two */
    size_t nodes, bytes, budget;
    bt_node *lru_head, *lru_tail; /* head = most recent */
    uint64_t hits, misses, evictions;
};

int bt_cache_new(size_t budget, bt_cache **out) {
    bt_cache *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) return dl_err_nomem();
    c->nbuckets = 1024;
    c->table = calloc(c->nbuckets, sizeof *c->table);
    if (!c->table) {
        free(c);
        return dl_err_nomem();
    }
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c->table);
        free(c);
        return dl_err_set(DATALITH_EINTERNAL, "node cache: mutex init failed");
    }
    c->budget = budget ? budget : (size_t)64 << 20;
    *out = c;
    return 0;
}

void bt_cache_free(bt_cache *c) {
    bt_node *n, *next;
    if (!c) return;
    for (n = c->lru_head; n; n = next) {
        next = n->lru_next;
        n->cached = 0;
        bt_node_release(n);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->table);
    free(c);
}

void bt_cache_get_stats(bt_cache *c, bt_cache_stats *out) {
    pthread_mutex_lock(&c->mu);
    out->bytes = c->bytes;
    out->nodes = c->nodes;
    out->budget = c->budget;
    out->hits = c->hits;
    out->misses = c->misses;
    out->evictions = c->evictions;
    pthread_mutex_unlock(&c->mu);
}

static size_t bucket(const bt_cache *c, const uint8_t addr[16]) {
    uint64_t h;
    memcpy(&h, addr, 8);
    return (size_t)h & (c->nbuckets - 1);
}

static void lru_unlink(bt_cache *c, bt_node *n) {
    if (n->lru_prev) n->lru_prev->lru_next = n->lru_next;
    else c->lru_head = n->lru_next;
    if (n->lru_next) n->lru_next->lru_prev = n->lru_prev;
    else c->lru_tail = n->lru_prev;
    n->lru_prev = n->lru_next = NULL;
}

static void lru_push(bt_cache *c, bt_node *n) {
    n->lru_prev = NULL;
    n->lru_next = c->lru_head;
    if (c->lru_head) c->lru_head->lru_prev = n;
    c->lru_head = n;
    if (!c->lru_tail) c->lru_tail = n;
}

static bt_node *find(bt_cache *c, const uint8_t addr[16]) {
    bt_node *n;
    for (n = c->table[bucket(c, addr)]; n; n = n->h_next)
        if (memcmp(n->addr, addr, 16) == 0) return n;
    return NULL;
}

static void grow(bt_cache *c) {
    size_t i, nb = c->nbuckets * 2;
    bt_node **t = calloc(nb, sizeof *t);
    if (!t) return; /* keep the longer chains */
    for (i = 0; i < c->nbuckets; i++) {
        bt_node *n = c->table[i], *next;
        for (; n; n = next) {
            uint64_t h;
            next = n->h_next;
            memcpy(&h, n->addr, 8);
            n->h_next = t[h & (nb - 1)];
            t[h & (nb - 1)] = n;
        }
    }
    free(c->table);
    c->table = t;
    c->nbuckets = nb;
}

/* Evict from the tail until within budget; returns the nodes to release
** (outside the lock) chained through h_next. */
static bt_node *evict(bt_cache *c) {
    bt_node *out = NULL;
    while (c->bytes > c->budget && c->lru_tail) {
        bt_node *n = c->lru_tail, **pp;
        lru_unlink(c, n);
        for (pp = &c->table[bucket(c, n->addr)]; *pp != n; pp = &(*pp)->h_next)
            ;
        *pp = n->h_next;
        n->cached = 0;
        c->bytes -= n->bytes;
        c->nodes--;
        c->evictions++;
        n->h_next = out;
        out = n;
    }
    return out;
}

static void release_chain(bt_node *n) {
    while (n) {
        bt_node *next = n->h_next;
        n->h_next = NULL;
        bt_node_release(n);
        n = next;
    }
}

int bt_cache_load(bt_cache *c, dl_store *store, const uint8_t addr[16],
                  int level, int order, bt_node **out) {
    char key[BT_KEY_MAX];
    uint8_t *payload = NULL, check[16];
    size_t len = 0;
    bt_node *n, *victims;
    int rc;

    *out = NULL;
    pthread_mutex_lock(&c->mu);
    n = find(c, addr);
    if (n) {
        c->hits++;
        bt_node_retain(n);
        lru_unlink(c, n);
        lru_push(c, n);
        pthread_mutex_unlock(&c->mu);
        goto check;
    }
    c->misses++;
    pthread_mutex_unlock(&c->mu);

    bt_addr_key(addr, key);
    if (!store)
        return dl_err_set(DATALITH_EINVAL, "index node %s: no store to load from",
                          key);
    rc = dl_obj_get(store, key, DL_OBJ_NODE, &payload, &len);
    if (rc == DATALITH_ENOTFOUND)
        return dl_err_set(DATALITH_ECORRUPT, "index node %s is missing", key);
    if (rc) {
        dl_err_prefix("loading index node %s: ", key);
        return rc;
    }
    bt_addr_of(payload, len, check);
    if (memcmp(check, addr, 16) != 0) {
        free(payload);
        return dl_err_set(DATALITH_ECORRUPT,
                          "index node %s: content does not match its key", key);
    }
    rc = bt_node_decode(payload, len, key, &n);
    free(payload);
    if (rc) return rc;
    memcpy(n->addr, addr, 16);
    n->stored = 1;

    pthread_mutex_lock(&c->mu);
    {
        bt_node *other = find(c, addr);
        if (other) {
            bt_node_retain(other);
            pthread_mutex_unlock(&c->mu);
            bt_node_release(n);
            n = other;
            goto check;
        }
    }
    if (c->nodes >= 2 * c->nbuckets) grow(c);
    n->cached = 1;
    bt_node_retain(n); /* the cache's reference; `n` itself is the pin */
    n->h_next = c->table[bucket(c, addr)];
    c->table[bucket(c, addr)] = n;
    lru_push(c, n);
    c->nodes++;
    c->bytes += n->bytes;
    victims = evict(c);
    pthread_mutex_unlock(&c->mu);
    release_chain(victims);

check:
    if ((level >= 0 && n->level != level) || (order >= 0 && n->order != order)) {
        unsigned nl = n->level, no = n->order;
        bt_addr_key(addr, key);
        bt_node_release(n);
        return dl_err_set(DATALITH_ECORRUPT,
                          "index node %s: level %u / order %u where level %d "
                          "/ order %d was expected",
                          key, nl, no, level, order);
    }
    *out = n;
    return 0;
}

void bt_cache_adopt(bt_cache *c, bt_node *n) {
    bt_node *m = n, *victims;
    uint32_t i;
    if (!c || !n->stored) return;
    pthread_mutex_lock(&c->mu);
    if (find(c, n->addr)) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    pthread_mutex_unlock(&c->mu);
    if (n->level) {
        m = bt_node_clone(n, n->n);
        if (!m) {
            dl_err_clear();
            return;
        }
        for (i = 0; i < m->n; i++) {
            bt_node_release(m->kids[i].ptr);
            m->kids[i].ptr = NULL;
            m->kids[i].has_addr = 1;
        }
        memcpy(m->addr, n->addr, 16);
        m->stored = 1;
        bt_node_recount(m);
    } else {
        bt_node_retain(m);
    }
    pthread_mutex_lock(&c->mu);
    if (find(c, m->addr) || m->cached) {
        pthread_mutex_unlock(&c->mu);
        bt_node_release(m);
        return;
    }
    if (c->nodes >= 2 * c->nbuckets) grow(c);
    m->cached = 1;
    m->h_next = c->table[bucket(c, m->addr)];
    c->table[bucket(c, m->addr)] = m;
    lru_push(c, m);
    c->nodes++;
    c->bytes += m->bytes;
    victims = evict(c);
    pthread_mutex_unlock(&c->mu);
    release_chain(victims);
}
