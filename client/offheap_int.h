/* offheap_int.h -- what offheap.c, offheap_async.c and ketama.c share; not
 * installed. Names keep the offheap_ prefix because the shared library
 * exports them, but only offheap.h is a contract. */
#pragma once

#include "offheap.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>

#define OFFHEAP_ERRSTR_LEN 128  /* bytes of errstr, with the NUL */
#define OFFHEAP_KEYBUF_LEN 256  /* bytes of prefixed key kept on the stack */
#define OFFHEAP_MAX_ARGS   4096 /* argc accepted by the argv calls */

/* Sticky error of a handle: the code and text of the last failure. */
struct offheap_error {
    int code;
    char str[OFFHEAP_ERRSTR_LEN];
};

/* Records a failure in *e and returns code. */
int offheap_fail(struct offheap_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Connection state of one server. */
enum offheap_state {
    OFFHEAP_DOWN = 0,   /* no socket; may connect when now >= retry_at */
    OFFHEAP_CONNECTING, /* non-blocking connect in progress (async only) */
    OFFHEAP_UP,         /* connected and handshake sent */
};

/* One server of a pool. Touched by the thread using the handle. */
struct offheap_server {
    char *host; /* OWNED; NULL for a Unix socket */
    int port;   /* TCP port; 0 for a Unix socket */
    char *path; /* OWNED Unix socket path, or NULL */
    char *name; /* OWNED ketama name */
    unsigned weight;
    redisContext *rc; /* OWNED non-blocking context, NULL when DOWN */
    int state;        /* enum offheap_state */
    int64_t retry_at; /* ms (monotonic) before which we do not connect */
    int backoff_ms;   /* next delay after a failed connect */
    unsigned epoch;   /* bumped each time the connection is dropped */
    struct offheap_local *local; /* OWNED shared mapping, or NULL */
};

/* A point of the ketama continuum. */
struct offheap_point {
    uint32_t value;
    uint32_t index; /* server index */
};

/* What both handle kinds share: servers, ring, options. */
struct offheap_pool {
    struct offheap_server *srv; /* OWNED array of nsrv */
    size_t nsrv;
    struct offheap_point *ring; /* OWNED, sorted by value; NULL if nsrv 1 */
    size_t nring;
    char *prefix; /* OWNED, or NULL */
    size_t plen;
    char *username, *password; /* OWNED, or NULL */
    int db;
    int timeout_ms, connect_timeout_ms;
    int backoff_min_ms, backoff_max_ms;
    int hash;        /* enum offheap_hash */
    int local_reads; /* OFFHEAP_LOCAL_AUTO or OFFHEAP_LOCAL_OFF */
};

/* Parses o->servers and copies the options into *p (caller's storage).
 * Returns 0, or a negative rc with the reason in *e. */
int offheap_pool_init(struct offheap_pool *p, const offheap_options_t *o,
                      struct offheap_error *e);
/* Frees what pool_init allocated and closes every connection. */
void offheap_pool_deinit(struct offheap_pool *p);
/* Replaces the prefix. Returns 0 or OFFHEAP_ERR_NOMEM. */
int offheap_pool_set_prefix(struct offheap_pool *p, const char *prefix,
                            size_t plen);
/* Returns the server of the key that is the concatenation of prefix and
 * key, as twemproxy with the same ring, hash and hash_tag "{}" would. */
size_t offheap_pool_route(const struct offheap_pool *p, const char *key,
                          size_t klen);

/* ---- ketama.c ---- */

/* Computes the MD5 digest of data[0..len). */
void offheap_md5(const void *data, size_t len, unsigned char out[16]);
/* Returns twemproxy's 32-bit hash of key (enum offheap_hash). */
uint32_t offheap_hash(int hash, const char *key, size_t len);
/* Narrows key to its {hash tag} when it has a non-empty one. */
void offheap_hash_tag(const char **key, size_t *len);
/* Builds p->ring from p->srv. Returns 0 or OFFHEAP_ERR_NOMEM. */
int offheap_ketama_build(struct offheap_pool *p);
/* Returns the server index owning hash on a non-empty ring. */
uint32_t offheap_ketama_dispatch(const struct offheap_point *ring, size_t n,
                                 uint32_t hash);

/* ---- commands and replies (offheap.c) ---- */

/* Object functions making the hiredis reader build offheap_reply_t. */
extern redisReplyObjectFunctions offheap_reply_fns;

/* Formats argv as a RESP2 multibulk command, with the pool prefix put in
 * front of argv[key_index] when key_index > 0, appends it to rc's output
 * buffer. Returns 0 or a negative rc. */
int offheap_append_cmd(redisContext *rc, const struct offheap_pool *p, int argc,
                       const char *const *argv, const size_t *argvlen,
                       int key_index);

/* Routes a command: the server of argv[key_index] (prefixed), or 0. */
size_t offheap_route_argv(const struct offheap_pool *p, int argc,
                          const char *const *argv, const size_t *argvlen,
                          int key_index);

/* Opens a non-blocking connection to s (connect may still be in
 * progress). Returns 0, or a negative rc with the reason in *e. */
int offheap_server_open(struct offheap_server *s, struct offheap_error *e);
/* Drops s's connection; with `failed` it also schedules the retry with
 * backoff, else the next use reconnects at once. */
void offheap_server_drop(struct offheap_server *s, const struct offheap_pool *p,
                         bool failed);
/* Appends AUTH and SELECT (as configured) to s's output buffer. Returns the
 * number of commands appended, or a negative rc. */
int offheap_server_handshake(struct offheap_server *s,
                             const struct offheap_pool *p);
/* Returns an rc when s is in its backoff window (with the reason in *e),
 * else 0. */
int offheap_server_check_backoff(struct offheap_server *s,
                                 struct offheap_error *e, int64_t now);
/* ---- local reads (offheap_local.c) ---- */

#define OFFHEAP_LOCAL_STALE  (-100) /* the mapping is stale: drop it */
#define OFFHEAP_LOCAL_SOCKET (-101) /* this read must go to the server */

/* On a fresh, authenticated Unix-socket connection: asks LOCALREAD MAP
 * and maps what comes back into s->local (left NULL when the server
 * refuses). Returns 0, or -1 if the connection broke. */
int offheap_local_attach(struct offheap_server *s, int64_t deadline);
/* Unmaps s->local (NULL: nothing). */
void offheap_local_detach(struct offheap_server *s);
/* Reads key from s->local (not NULL). Returns 1 (copied), 0 (a miss),
 * OFFHEAP_LOCAL_STALE, OFFHEAP_LOCAL_SOCKET, or copy()'s error. */
int offheap_local_read(struct offheap_server *s, const char *key, size_t klen,
                       offheap_copy_fn *copy, void *arg);

/* Returns ms on a monotonic clock. */
int64_t offheap_now_ms(void);
