/* cmd_multi.c: transactions (MULTI EXEC DISCARD) and optimistic locking
 * (WATCH UNWATCH).
 *
 * Queued commands are copied (the input buffer is reused) into one block
 * each. Watched keys live in a chained hash table keyed by the key bytes,
 * each entry linking one (key, client) pair, so a write touches only the
 * clients watching that key: cmd_key_modified() costs one branch while
 * nothing is watched. A watched key that expires before EXEC also aborts
 * the transaction, as in Redis 7.
 */
#include "cmd.h"

#include "conn.h"
#include "engine/engine.h"
#include "reply.h"

#include <stdlib.h>
#include <string.h>

#define WATCH_BUCKETS 1024 /* hash buckets of the watched-keys table */

struct multi_cmd {
    struct multi_cmd *next;
    int argc;
    struct resp_str argv[]; /* followed by the argument bytes */
};

struct watch_key {
    struct watch_key *bucket_next; /* in the table */
    struct watch_key *conn_next;   /* in the client's list */
    struct conn *c;
    oh_time expire_at; /* the key's expiry when watched (0: none/absent) */
    size_t klen;
    char key[];
};

static struct watch_key *watch_table[WATCH_BUCKETS];
static size_t watch_count;

static size_t
key_hash(const char *k, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    }
    return (size_t)(h % WATCH_BUCKETS);
}

void
cmd_key_modified(const char *key, size_t klen)
{
    if (watch_count == 0) {
        return;
    }
    for (struct watch_key *w = watch_table[key_hash(key, klen)]; w != NULL;
         w = w->bucket_next) {
        if (w->klen == klen && memcmp(w->key, key, klen) == 0) {
            w->c->watch_dirty = true;
        }
    }
}

void
cmd_all_keys_modified(oh_time now)
{
    for (size_t b = 0; watch_count > 0 && b < WATCH_BUCKETS; b++) {
        for (struct watch_key *w = watch_table[b]; w != NULL;
             w = w->bucket_next) {
            struct engine_item it;
            if (engine_peek(w->key, w->klen, now, &it) == 1) {
                engine_release(&it);
                w->c->watch_dirty = true;
            }
        }
    }
}

static void
unwatch_all(struct conn *c)
{
    while (c->watched != NULL) {
        struct watch_key *w = c->watched;
        c->watched = w->conn_next;
        struct watch_key **pp = &watch_table[key_hash(w->key, w->klen)];
        while (*pp != w) {
            pp = &(*pp)->bucket_next;
        }
        *pp = w->bucket_next;
        watch_count--;
        free(w);
    }
    c->watch_dirty = false;
}

static void
watch_key(struct conn *c, const struct resp_str *k, oh_time now)
{
    for (struct watch_key *w = c->watched; w != NULL; w = w->conn_next) {
        if (w->klen == k->len && memcmp(w->key, k->p, k->len) == 0) {
            return;
        }
    }
    struct watch_key *w = malloc(sizeof(*w) + k->len);
    if (w == NULL) {
        return;
    }
    memcpy(w->key, k->p, k->len);
    w->klen = k->len;
    w->c = c;
    struct engine_item it;
    w->expire_at = 0;
    if (engine_peek(k->p, k->len, now, &it) == 1) {
        w->expire_at = it.expire_at;
        engine_release(&it);
    }
    size_t b = key_hash(k->p, k->len);
    w->bucket_next = watch_table[b];
    watch_table[b] = w;
    w->conn_next = c->watched;
    c->watched = w;
    watch_count++;
}

/* True if a key that had an expiry when watched has expired since. */
static bool
watched_key_expired(const struct conn *c, oh_time now)
{
    for (struct watch_key *w = c->watched; w != NULL; w = w->conn_next) {
        if (w->expire_at != 0 && w->expire_at <= now) {
            return true;
        }
    }
    return false;
}

static void
discard_queue(struct conn *c)
{
    while (c->multi_head != NULL) {
        struct multi_cmd *m = c->multi_head;
        c->multi_head = m->next;
        free(m);
    }
    c->multi_tail = NULL;
    c->multi_count = 0;
    c->in_multi = false;
    c->multi_dirty = false;
}

void
cmd_multi_reset(struct conn *c)
{
    discard_queue(c);
    unwatch_all(c);
}

void
cmd_multi_queue(struct conn *c, const struct cmd_req *r,
                const struct cmd_def *d)
{
    (void)d;
    size_t bytes = 0;
    for (int i = 0; i < r->argc; i++) {
        bytes += r->argv[i].len;
    }
    size_t hdr =
        sizeof(struct multi_cmd) + (size_t)r->argc * sizeof(struct resp_str);
    struct multi_cmd *m = malloc(hdr + bytes);
    if (m == NULL) {
        reply_error(c, "OOM cannot queue the command");
        c->multi_dirty = true;
        return;
    }
    char *p = (char *)m + hdr;
    m->next = NULL;
    m->argc = r->argc;
    for (int i = 0; i < r->argc; i++) {
        memcpy(p, r->argv[i].p, r->argv[i].len);
        m->argv[i].p = p;
        m->argv[i].len = r->argv[i].len;
        p += r->argv[i].len;
    }
    if (c->multi_tail != NULL) {
        c->multi_tail->next = m;
    } else {
        c->multi_head = m;
    }
    c->multi_tail = m;
    c->multi_count++;
    reply_status(c, "QUEUED");
}

void
cmd_multi(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    if (c->in_multi) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->in_multi = true;
    reply_ok(c);
}

void
cmd_discard(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    if (!c->in_multi) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    cmd_multi_reset(c);
    reply_ok(c);
}

void
cmd_exec(struct conn *c, const struct cmd_req *r)
{
    if (!c->in_multi) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (c->multi_dirty) {
        reply_error(c, "EXECABORT Transaction discarded because of previous "
                       "errors.");
        cmd_multi_reset(c);
        return;
    }
    if (c->watch_dirty || watched_key_expired(c, r->now)) {
        reply_null_array(c);
        cmd_multi_reset(c);
        return;
    }
    struct multi_cmd *queue = c->multi_head;
    c->multi_head = c->multi_tail = NULL;
    reply_array(c, c->multi_count);
    c->in_multi = false;
    unwatch_all(c);
    c->in_exec = true;
    while (queue != NULL) {
        struct multi_cmd *m = queue;
        struct cmd_req q = {m->argc, m->argv, r->now};
        cmd_call_queued(c, &q);
        queue = m->next;
        free(m);
    }
    c->in_exec = false;
    c->multi_count = 0;
}

void
cmd_watch(struct conn *c, const struct cmd_req *r)
{
    if (c->in_multi) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < r->argc; i++) {
        watch_key(c, &r->argv[i], r->now);
    }
    reply_ok(c);
}

void
cmd_unwatch(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    unwatch_all(c);
    reply_ok(c);
}
