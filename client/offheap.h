/*
 * offheap.h -- liboffheap, the C client of offheapd (and any RESP2 server).
 *
 * The only installed header. A handle (offheap_t) talks to one server or to
 * a ketama ring of several; every key may carry a namespace prefix and a
 * {hash tag}. Calls are synchronous with a deadline each; pipelining queues
 * many commands and reads their replies in order; offheap_async_t does the
 * same without blocking, on libevent or on any loop that drives the hooks of
 * offheap_loop_t (the Node binding drives them from libuv).
 *
 * Errors: a call returns a negative offheap_rc on failure, and the handle
 * keeps the code and a readable text of the last failure (offheap_err(),
 * offheap_errstr()) until the next failure; a successful call does not clear
 * them (like errno). A broken or timed-out connection is closed and
 * reconnected on the next call, with AUTH and SELECT replayed; a server that
 * refuses connections is retried with exponential backoff, and calls routed
 * to it fail fast with OFFHEAP_ERR_DOWN meanwhile.
 *
 * Threads: a handle is used by one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFHEAP_VERSION "0.1.0"

/* clang-format off */
/* Every failure the library can name; offheap_strerror() uses the texts. */
#define OFFHEAP_ERRORS(X)                                                    \
    X(OK,        0, "success")                                               \
    X(ERR,      -1, "unspecified error")                                     \
    X(NOMEM,    -2, "out of memory")                                         \
    X(INVAL,    -3, "invalid argument")                                      \
    X(IO,       -4, "connection error")                                      \
    X(TIMEOUT,  -5, "deadline exceeded")                                     \
    X(PROTOCOL, -6, "protocol error")                                        \
    X(SERVER,   -7, "error reply from server")                               \
    X(DOWN,     -8, "server down, waiting to reconnect")                     \
    X(TYPE,     -9, "unexpected reply type")                                 \
    X(CLOSED,  -10, "handle closed")                                         \
    X(NOLOCAL, -11, "no local read: ask the server")
/* clang-format on */

typedef enum {
#define X(name, code, msg) OFFHEAP_ERR_##name = (code),
    OFFHEAP_ERRORS(X)
#undef X
} offheap_rc;

/* Returns the static text of an offheap_rc (never NULL). */
const char *offheap_strerror(int rc);

/* ---- replies ---- */

/* Same numbering as RESP2 types in hiredis. */
enum offheap_reply_type {
    OFFHEAP_REPLY_STRING = 1,
    OFFHEAP_REPLY_ARRAY = 2,
    OFFHEAP_REPLY_INTEGER = 3,
    OFFHEAP_REPLY_NIL = 4,
    OFFHEAP_REPLY_STATUS = 5,
    OFFHEAP_REPLY_ERROR = 6,
};

/* A parsed reply. str is NUL-terminated (len excludes the NUL) for STRING,
 * STATUS and ERROR; element holds `elements` OWNED children for ARRAY. */
typedef struct offheap_reply {
    int type;
    long long integer;
    size_t len;
    char *str;
    size_t elements;
    struct offheap_reply **element;
} offheap_reply_t;

/* Frees *r with all its children and sets *r to NULL; NULL is a no-op. */
void offheap_reply_free(offheap_reply_t **r);

/* Frees a value returned by offheap_get() or offheap_mget(); NULL is a
 * no-op. */
void offheap_free_value(void *val);

/* ---- options ---- */

#define OFFHEAP_TIMEOUT_MS     1000 /* ms, default deadline per call */
#define OFFHEAP_BACKOFF_MIN_MS 10   /* ms, first reconnect delay */
#define OFFHEAP_BACKOFF_MAX_MS 2000 /* ms, longest reconnect delay */
#define OFFHEAP_MAX_SERVERS    256  /* servers in one spec */

enum offheap_hash {
    OFFHEAP_HASH_FNV1A_64 = 0, /* twemproxy's default `hash: fnv1a_64` */
    OFFHEAP_HASH_MD5 = 1,      /* twemproxy's `hash: md5` */
};

/* Connection options. Strings are BORROWED for the duration of the
 * connect call only (the handle copies them). */
typedef struct offheap_options {
    /* "host:port", "unix:/path" or a comma-separated list of them; each
     * may end in ":weight" and " name" as in twemproxy's servers list */
    const char *servers;
    int timeout_ms;         /* deadline of each call; <= 0: none */
    int connect_timeout_ms; /* deadline of a (re)connect; 0: timeout_ms */
    const char *username;   /* AUTH username password, or NULL */
    const char *password;   /* AUTH on every (re)connect, or NULL */
    int db;                 /* SELECT db on every (re)connect when > 0 */
    const char *prefix;     /* namespace prepended to every key, or NULL */
    int backoff_min_ms;     /* 0: OFFHEAP_BACKOFF_MIN_MS */
    int backoff_max_ms;     /* 0: OFFHEAP_BACKOFF_MAX_MS */
    int hash;               /* enum offheap_hash */
    int local_reads;        /* OFFHEAP_LOCAL_AUTO or OFFHEAP_LOCAL_OFF */
} offheap_options_t;

/* offheap_options_t.local_reads. AUTO: a handle whose server is reached
 * over a Unix socket and shares its memory (offheapd's local-reads) reads
 * GETs from that mapping, with no round trip; OFF: every GET asks. */
#define OFFHEAP_LOCAL_AUTO 0
#define OFFHEAP_LOCAL_OFF  1

/* Fills *o with the defaults (timeout OFFHEAP_TIMEOUT_MS, no auth, no
 * prefix, fnv1a_64). */
void offheap_options_init(offheap_options_t *o);

/* ---- synchronous API ---- */

typedef struct offheap offheap_t;

/* Connects to `servers` ("127.0.0.1:6388", "unix:/run/offheapd.sock",
 * "a:1,b:2") with `timeout_ms` as the deadline of every call. Returns an
 * OWNED handle (release with offheap_close()), or NULL only when out of
 * memory. Check offheap_err(): a bad spec leaves it OFFHEAP_ERR_INVAL and
 * the handle refuses every call; an unreachable server leaves it
 * OFFHEAP_ERR_IO and is retried on use. */
offheap_t *offheap_connect(const char *servers, int timeout_ms);

/* Connects with every option; as offheap_connect(). */
offheap_t *offheap_connect_with(const offheap_options_t *o);

/* Closes every connection and frees c; NULL is a no-op. */
void offheap_close(offheap_t *c);

/* Returns the code of the last failure on c (0 if none yet). */
int offheap_err(const offheap_t *c);

/* Returns a readable text of the last failure ("" if none), BORROWED until
 * the next call on c. */
const char *offheap_errstr(const offheap_t *c);

/* Forgets the last failure. */
void offheap_clear_err(offheap_t *c);

/* Sets the namespace prefix of later calls (NULL or "" for none). Returns 0
 * or OFFHEAP_ERR_NOMEM. */
int offheap_set_prefix(offheap_t *c, const char *prefix, size_t plen);

/* Sets the deadline of later calls, in ms (<= 0: none). */
void offheap_set_timeout(offheap_t *c, int timeout_ms);

/* Flags of offheap_set_ex(). */
#define OFFHEAP_NX 1 /* store only if the key does not exist */
#define OFFHEAP_XX 2 /* store only if the key exists */

/* Stores val under key, expiring after ttl_ms ms (<= 0: never). Returns 0
 * or a negative offheap_rc. */
int offheap_set(offheap_t *c, const char *key, size_t klen, const void *val,
                size_t vlen, int64_t ttl_ms);

/* As offheap_set() with OFFHEAP_NX or OFFHEAP_XX in flags. Returns 1 if
 * stored, 0 if the condition did not hold, or a negative offheap_rc. */
int offheap_set_ex(offheap_t *c, const char *key, size_t klen, const void *val,
                   size_t vlen, int64_t ttl_ms, int flags);

/* Reads key. Returns 1 and an OWNED copy in *val (NUL-terminated for
 * convenience; release with offheap_free_value()) and its length in *vlen,
 * 0 on a miss (*val = NULL), or a negative offheap_rc. */
int offheap_get(offheap_t *c, const char *key, size_t klen, void **val,
                size_t *vlen);

/* Receives the value a local read found: `val` is BORROWED from the
 * server's mapping for the duration of the call. One read may call it more
 * than once (when the entry changed during the copy, the read is done
 * again); each call's copy replaces the previous one, which the callback
 * releases itself. Returns 0, or a negative rc that ends the read. */
typedef int offheap_copy_fn(void *arg, const char *val, size_t vlen);

/* Reads key from the server's shared mapping, connecting first if
 * needed. Returns 1 once copy() took the value, 0 on a miss (a real one:
 * the server would have answered nil), OFFHEAP_ERR_NOLOCAL when no local
 * read is possible (TCP, local reads off or refused, a large value, a
 * server loading or gone: ask with offheap_get()), or another negative
 * rc. offheap_get() and offheap_mget() use it by themselves. */
int offheap_get_local(offheap_t *c, const char *key, size_t klen,
                      offheap_copy_fn *copy, void *arg);

/* Turns local reads of c on (OFFHEAP_LOCAL_AUTO) or off. */
void offheap_set_local_reads(offheap_t *c, int mode);

/* Deletes key. Returns 1 if it existed, 0 if not, or a negative rc. */
int offheap_del(offheap_t *c, const char *key, size_t klen);

/* Sets key to expire after ttl_ms ms. Returns 1 if set, 0 if there is no
 * such key, or a negative rc. */
int offheap_expire(offheap_t *c, const char *key, size_t klen, int64_t ttl_ms);

/* Reads the remaining time to live of key into *ttl_ms (-1: no expiry).
 * Returns 1 if the key exists, 0 if not, or a negative rc. */
int offheap_ttl(offheap_t *c, const char *key, size_t klen, int64_t *ttl_ms);

/* Adds `by` to the integer at key (missing: 0) and stores the result in
 * *result (may be NULL). Returns 0 or a negative rc. */
int offheap_incr(offheap_t *c, const char *key, size_t klen, int64_t by,
                 int64_t *result);

/* Reads n keys, one MGET per server. vals[i] gets an OWNED copy (release
 * each with offheap_free_value()) or NULL on a miss, vlens[i] its length.
 * Returns the number of hits, or a negative rc (then every vals[i] is
 * NULL). */
int offheap_mget(offheap_t *c, size_t n, const char *const *keys,
                 const size_t *klens, void **vals, size_t *vlens);

/* Stores n pairs: one MSET per server, or one SET PX per key when
 * ttl_ms > 0, all pipelined. Returns 0 or a negative rc. */
int offheap_mset(offheap_t *c, size_t n, const char *const *keys,
                 const size_t *klens, const void *const *vals,
                 const size_t *vlens, int64_t ttl_ms);

/* Sends any command. When key_index > 0, argv[key_index] is a key: it gets
 * the prefix and picks the server; otherwise the command goes to the first
 * server as given. Returns 0 and an OWNED reply in *reply (release with
 * offheap_reply_free(); it may be of type ERROR), or a negative rc. */
int offheap_command_argv(offheap_t *c, int argc, const char *const *argv,
                         const size_t *argvlen, int key_index,
                         offheap_reply_t **reply);

/* ---- pipelining ---- */

/* Queues a command as offheap_command_argv() does, without waiting. The
 * queue is sent on the first offheap_get_reply(). Returns 0 or a negative
 * rc (nothing was queued). */
int offheap_append_argv(offheap_t *c, int argc, const char *const *argv,
                        const size_t *argvlen, int key_index);

/* Queues GET key / SET key val [PX ttl_ms]; as offheap_append_argv(). */
int offheap_append_get(offheap_t *c, const char *key, size_t klen);
int offheap_append_set(offheap_t *c, const char *key, size_t klen,
                       const void *val, size_t vlen, int64_t ttl_ms);

/* Reads the reply of the oldest queued command, in queue order. Returns 0
 * and an OWNED reply (release with offheap_reply_free()), or a negative rc
 * for that command (its connection failed, or the deadline passed). */
int offheap_get_reply(offheap_t *c, offheap_reply_t **reply);

/* Returns the number of queued commands whose reply is not read yet. */
size_t offheap_pending(const offheap_t *c);

/* ---- servers ---- */

/* Returns the number of servers of c. */
size_t offheap_server_count(const offheap_t *c);

/* Returns the index of the server key (without prefix) is routed to. */
size_t offheap_server_of(const offheap_t *c, const char *key, size_t klen);

/* Returns the ketama name of server i ("host:port" or twemproxy's name),
 * BORROWED for the life of c, or NULL if out of range. */
const char *offheap_server_name(const offheap_t *c, size_t i);

/* ---- asynchronous API ---- */

typedef struct offheap_async offheap_async_t;

/* Called once per accepted command. On success status is 0 and reply is
 * BORROWED until the callback returns (it may be of type ERROR); on failure
 * status is a negative rc, reply is NULL and offheap_async_errstr() tells
 * why. A command that is not accepted never runs its callback. */
typedef void offheap_async_cb(offheap_async_t *ac, int status,
                              offheap_reply_t *reply, void *arg);

/* Events of offheap_loop_t.watch() and offheap_async_on_io(). */
#define OFFHEAP_EV_READ  1
#define OFFHEAP_EV_WRITE 2

/* Hooks into an event loop. Slot s is server s: at most one fd and one
 * timer each. */
typedef struct offheap_loop {
    void *data; /* BORROWED by the handle, passed to each hook */
    /* Watches fd for `events` (0: stop watching; the fd may then close). */
    void (*watch)(void *data, size_t slot, int fd, int events);
    /* Arms the timer of slot to fire once after ms ms (< 0: disarm). */
    void (*timer)(void *data, size_t slot, int ms);
    /* Called once by offheap_async_close(), after the last hook call. */
    void (*release)(void *data);
} offheap_loop_t;

struct event_base;

/* Connects on a libevent base. Returns an OWNED handle (release with
 * offheap_async_close()) or NULL when out of memory or the spec is bad. */
offheap_async_t *offheap_async_connect(struct event_base *base,
                                       const char *servers, int timeout_ms);
offheap_async_t *offheap_async_connect_with(struct event_base *base,
                                            const offheap_options_t *o);

/* Connects on a loop of the caller's: `loop` is copied. As above. */
offheap_async_t *offheap_async_create(const offheap_loop_t *loop,
                                      const offheap_options_t *o);

/* Hands the handle the events that came on slot's fd, or its timer. */
void offheap_async_on_io(offheap_async_t *ac, size_t slot, int events);
void offheap_async_on_timer(offheap_async_t *ac, size_t slot);

/* Fails every pending command with OFFHEAP_ERR_CLOSED, closes the
 * connections and frees ac; NULL is a no-op. Safe inside a callback (the
 * handle is then freed when the callback returns). */
void offheap_async_close(offheap_async_t *ac);

/* Queues a command (key_index as in offheap_command_argv()); cb runs when
 * its reply comes, its deadline passes or the connection fails. Returns 0,
 * or a negative rc and cb never runs. */
int offheap_async_command_argv(offheap_async_t *ac, int argc,
                               const char *const *argv, const size_t *argvlen,
                               int key_index, offheap_async_cb *cb, void *arg);

/* GET / SET [PX ttl_ms] / DEL shorthands of offheap_async_command_argv(). */
int offheap_async_get(offheap_async_t *ac, const char *key, size_t klen,
                      offheap_async_cb *cb, void *arg);
int offheap_async_set(offheap_async_t *ac, const char *key, size_t klen,
                      const void *val, size_t vlen, int64_t ttl_ms,
                      offheap_async_cb *cb, void *arg);
int offheap_async_del(offheap_async_t *ac, const char *key, size_t klen,
                      offheap_async_cb *cb, void *arg);

/* Returns the number of commands waiting for their reply. */
size_t offheap_async_pending(const offheap_async_t *ac);

/* As offheap_err()/offheap_errstr() for an async handle. */
int offheap_async_err(const offheap_async_t *ac);
const char *offheap_async_errstr(const offheap_async_t *ac);

/* Returns the server index key is routed to (see offheap_server_of()). */
size_t offheap_async_server_of(const offheap_async_t *ac, const char *key,
                               size_t klen);
