/*
 * offheap.c -- the synchronous client, and what the async one shares.
 *
 * Every connection is a *non-blocking* hiredis context, whatever the API:
 * the sync calls wait with poll() against a deadline of their own instead
 * of hiredis's SO_RCVTIMEO timeouts. A hiredis context whose timeout fired
 * keeps its err set and half a reply in its reader, so it is useless; we
 * never let that happen to the caller: on any error or a passed deadline
 * the connection is dropped (its `epoch` bumped), and the next call routed
 * to that server reconnects and replays AUTH and SELECT.
 *
 *   call:  route -> ensure_up (connect, handshake) -> append -> flush -> read
 *            |           | refused: backoff doubles, calls fail fast
 *            |           v            with OFFHEAP_ERR_DOWN until retry_at
 *            v
 *   ring (ketama.c) on prefix+key, {hash tag} aware
 *
 * Pipelining keeps a FIFO of (server, epoch) per queued command: replies
 * of one server come in order, so offheap_get_reply() pops the head and
 * reads one reply from that server. If the epoch moved, the connection
 * that carried the command is gone and the command fails without reading.
 * Multi-key calls (mget, mset) are built on the same FIFO: one MGET/MSET
 * per server, all sent before the first read.
 *
 * Replies are built by the hiredis reader straight into offheap_reply_t
 * (offheap_reply_fns), so hiredis types never reach the public header and
 * a GET hands its string buffer to the caller without a copy.
 */
#include "offheap_int.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define PIPE_INIT_CAP 16 /* FIFO slots allocated first */
#define INT_DIGITS    24 /* bytes for a formatted int64 */

/* ---- errors ---- */

const char *
offheap_strerror(int rc)
{
    switch (rc) {
#define X(name, code, msg)                                                     \
    case code:                                                                 \
        return msg;
        OFFHEAP_ERRORS(X)
#undef X
    default:
        return "unknown error";
    }
}

int
offheap_fail(struct offheap_error *e, int code, const char *fmt, ...)
{
    va_list ap;

    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->str, sizeof(e->str), fmt, ap);
    va_end(ap);
    return code;
}

int64_t
offheap_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- replies built by the hiredis reader ---- */

static offheap_reply_t *
reply_create(const redisReadTask *task)
{
    offheap_reply_t *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return NULL;
    }
    r->type = task->type;
    if (task->parent != NULL) {
        offheap_reply_t *parent = task->parent->obj;

        parent->element[task->idx] = r;
    }
    return r;
}

static void *
reply_string(const redisReadTask *task, char *str, size_t len)
{
    offheap_reply_t *r;
    char *buf = malloc(len + 1);

    if (buf == NULL) {
        return NULL;
    }
    r = reply_create(task);
    if (r == NULL) {
        free(buf);
        return NULL;
    }
    memcpy(buf, str, len);
    buf[len] = '\0';
    r->str = buf;
    r->len = len;
    return r;
}

static void *
reply_array(const redisReadTask *task, int elements)
{
    offheap_reply_t *r;
    offheap_reply_t **el = NULL;

    if (elements > 0) {
        el = calloc((size_t)elements, sizeof(*el));
        if (el == NULL) {
            return NULL;
        }
    }
    r = reply_create(task);
    if (r == NULL) {
        free(el);
        return NULL;
    }
    r->element = el;
    r->elements = elements > 0 ? (size_t)elements : 0;
    return r;
}

static void *
reply_integer(const redisReadTask *task, long long value)
{
    offheap_reply_t *r = reply_create(task);

    if (r != NULL) {
        r->integer = value;
    }
    return r;
}

static void *
reply_nil(const redisReadTask *task)
{
    offheap_reply_t *r = reply_create(task);

    /* the task says '$' or '*' for $-1 and *-1: the reply is nil */
    if (r != NULL) {
        r->type = OFFHEAP_REPLY_NIL;
    }
    return r;
}

static void
reply_free_obj(void *obj)
{
    offheap_reply_t *r = obj;

    offheap_reply_free(&r);
}

redisReplyObjectFunctions offheap_reply_fns = {
    reply_string, reply_array, reply_integer, reply_nil, reply_free_obj,
};

void
offheap_reply_free(offheap_reply_t **rp)
{
    offheap_reply_t *r;

    if (rp == NULL || *rp == NULL) {
        return;
    }
    r = *rp;
    for (size_t i = 0; i < r->elements; i++) {
        offheap_reply_free(&r->element[i]);
    }
    free(r->element);
    free(r->str);
    free(r);
    *rp = NULL;
}

void
offheap_free_value(void *val)
{
    free(val);
}

/* ---- the servers list ---- */

static char *
dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *
dup_opt(const char *s)
{
    return s != NULL && s[0] != '\0' ? dup_n(s, strlen(s)) : NULL;
}

/* Parses a decimal in s[0..n) within [lo, hi]; -1 if it is not one. */
static long
parse_num(const char *s, size_t n, long lo, long hi)
{
    long v = 0;

    if (n == 0 || n > 9) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

/* Splits "addr[:weight]" off its end; returns addr's length or -1. */
static long
split_weight(const char *s, size_t n, bool unix_sock, unsigned *weight)
{
    const char *colon = NULL;
    long w;

    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    }
    *weight = 1;
    if (colon == NULL) {
        return unix_sock ? (long)n : -1;
    }
    if (unix_sock) {
        w = parse_num(colon + 1, (size_t)(s + n - colon - 1), 1, 1000000);
        if (w < 0) {
            return (long)n; /* a colon inside the path */
        }
        *weight = (unsigned)w;
        return colon - s;
    }
    /* host:port or host:port:weight */
    for (const char *q = colon - 1; q >= s && *q != ']'; q--) {
        if (*q == ':') {
            w = parse_num(colon + 1, (size_t)(s + n - colon - 1), 1, 1000000);
            *weight = w > 0 ? (unsigned)w : 0;
            return w > 0 ? colon - s : -1;
        }
    }
    return (long)n;
}

static int
parse_tcp(struct offheap_server *sv, const char *s, size_t n)
{
    const char *colon = NULL;
    const char *host = s;
    size_t hlen;
    long port;

    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    }
    if (colon == NULL || colon == s) {
        return -1;
    }
    port = parse_num(colon + 1, (size_t)(s + n - colon - 1), 1, 65535);
    hlen = (size_t)(colon - s);
    if (port < 0) {
        return -1;
    }
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    sv->host = dup_n(host, hlen);
    sv->port = (int)port;
    /* twemproxy drops the port from the name for 11211 (libmemcached) */
    sv->name = port == 11211 ? dup_n(s, (size_t)(colon - s)) : dup_n(s, n);
    return sv->host != NULL && sv->name != NULL ? 0 : OFFHEAP_ERR_NOMEM;
}

static int
parse_unix(struct offheap_server *sv, const char *s, size_t n)
{
    if (n == 0 || s[0] != '/') {
        return -1;
    }
    sv->path = dup_n(s, n);
    /* twemproxy's parser leaves "path:" as the name of "path:weight" */
    sv->name = malloc(n + 2);
    if (sv->path == NULL || sv->name == NULL) {
        return OFFHEAP_ERR_NOMEM;
    }
    memcpy(sv->name, s, n);
    memcpy(sv->name + n, ":", 2);
    return 0;
}

/* Parses one entry "addr[:weight][ name]" of the servers list. */
static int
parse_server(struct offheap_server *sv, const char *s, size_t n)
{
    const char *sp = memchr(s, ' ', n);
    const char *name = NULL;
    size_t nlen = 0;
    bool unix_sock = false;
    long alen;
    int rc;

    if (sp != NULL) {
        name = sp + 1;
        nlen = (size_t)(s + n - name);
        n = (size_t)(sp - s);
    }
    if (n > 5 && memcmp(s, "unix:", 5) == 0) {
        s += 5;
        n -= 5;
        unix_sock = true;
    } else if (n > 0 && s[0] == '/') {
        unix_sock = true;
    }
    alen = split_weight(s, n, unix_sock, &sv->weight);
    if (alen <= 0 || sv->weight == 0) {
        return -1;
    }
    rc = unix_sock ? parse_unix(sv, s, (size_t)alen)
                   : parse_tcp(sv, s, (size_t)alen);
    if (rc == 0 && nlen > 0) {
        free(sv->name);
        sv->name = dup_n(name, nlen);
        rc = sv->name != NULL ? 0 : OFFHEAP_ERR_NOMEM;
    }
    return rc;
}

static size_t
trim(const char **s, size_t n)
{
    while (n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        n--;
    }
    while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t')) {
        n--;
    }
    return n;
}

static int
parse_servers(struct offheap_pool *p, const char *spec, struct offheap_error *e)
{
    size_t count = 1;

    for (const char *q = spec; *q != '\0'; q++) {
        count += *q == ',';
    }
    if (count > OFFHEAP_MAX_SERVERS) {
        return offheap_fail(e, OFFHEAP_ERR_INVAL, "more than %d servers",
                            OFFHEAP_MAX_SERVERS);
    }
    p->srv = calloc(count, sizeof(*p->srv));
    if (p->srv == NULL) {
        return offheap_fail(e, OFFHEAP_ERR_NOMEM, "out of memory");
    }
    for (const char *s = spec; p->nsrv < count; p->nsrv++) {
        const char *end = strchr(s, ',');
        size_t n = end != NULL ? (size_t)(end - s) : strlen(s);
        const char *item = s;
        size_t ilen = trim(&item, n);
        int rc = parse_server(&p->srv[p->nsrv], item, ilen);

        if (rc != 0) {
            p->nsrv++;
            return offheap_fail(e, rc == -1 ? OFFHEAP_ERR_INVAL : rc,
                                "bad server \"%.*s\" (want host:port or "
                                "unix:/path)",
                                (int)n, s);
        }
        s = end != NULL ? end + 1 : s + n;
    }
    return 0;
}

static int
copy_options(struct offheap_pool *p, const offheap_options_t *o)
{
    p->timeout_ms = o->timeout_ms;
    p->connect_timeout_ms =
        o->connect_timeout_ms > 0 ? o->connect_timeout_ms : o->timeout_ms;
    p->backoff_min_ms =
        o->backoff_min_ms > 0 ? o->backoff_min_ms : OFFHEAP_BACKOFF_MIN_MS;
    p->backoff_max_ms =
        o->backoff_max_ms > 0 ? o->backoff_max_ms : OFFHEAP_BACKOFF_MAX_MS;
    if (p->backoff_max_ms < p->backoff_min_ms) {
        p->backoff_max_ms = p->backoff_min_ms;
    }
    p->hash = o->hash;
    p->local_reads = o->local_reads;
    p->db = o->db;
    p->username = dup_opt(o->username);
    p->password = dup_opt(o->password);
    if ((o->username != NULL && o->username[0] && p->username == NULL) ||
        (o->password != NULL && o->password[0] && p->password == NULL)) {
        return OFFHEAP_ERR_NOMEM;
    }
    if (o->prefix != NULL) {
        return offheap_pool_set_prefix(p, o->prefix, strlen(o->prefix));
    }
    return 0;
}

int
offheap_pool_init(struct offheap_pool *p, const offheap_options_t *o,
                  struct offheap_error *e)
{
    int rc;

    memset(p, 0, sizeof(*p));
    if (o == NULL || o->servers == NULL || o->servers[0] == '\0') {
        return offheap_fail(e, OFFHEAP_ERR_INVAL, "no servers given");
    }
    if (o->hash != OFFHEAP_HASH_FNV1A_64 && o->hash != OFFHEAP_HASH_MD5) {
        return offheap_fail(e, OFFHEAP_ERR_INVAL, "unknown hash %d", o->hash);
    }
    rc = parse_servers(p, o->servers, e);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < p->nsrv; i++) {
        p->srv[i].backoff_ms =
            o->backoff_min_ms > 0 ? o->backoff_min_ms : OFFHEAP_BACKOFF_MIN_MS;
    }
    if (copy_options(p, o) != 0 ||
        (p->nsrv > 1 && offheap_ketama_build(p) != 0)) {
        return offheap_fail(e, OFFHEAP_ERR_NOMEM, "out of memory");
    }
    return 0;
}

void
offheap_pool_deinit(struct offheap_pool *p)
{
    for (size_t i = 0; i < p->nsrv; i++) {
        struct offheap_server *s = &p->srv[i];

        if (s->rc != NULL) {
            redisFree(s->rc);
        }
        offheap_local_detach(s);
        free(s->host);
        free(s->path);
        free(s->name);
    }
    free(p->srv);
    free(p->ring);
    free(p->prefix);
    free(p->username);
    free(p->password);
    memset(p, 0, sizeof(*p));
}

int
offheap_pool_set_prefix(struct offheap_pool *p, const char *prefix, size_t plen)
{
    char *np = NULL;

    if (prefix != NULL && plen > 0) {
        np = dup_n(prefix, plen);
        if (np == NULL) {
            return OFFHEAP_ERR_NOMEM;
        }
    }
    free(p->prefix);
    p->prefix = np;
    p->plen = np != NULL ? plen : 0;
    return 0;
}

size_t
offheap_pool_route(const struct offheap_pool *p, const char *key, size_t klen)
{
    char stackbuf[OFFHEAP_KEYBUF_LEN];
    char *buf = stackbuf;
    const char *k;
    size_t n = p->plen + klen;
    uint32_t idx;

    if (p->nsrv <= 1 || p->nring == 0) {
        return 0;
    }
    if (n > sizeof(stackbuf)) {
        buf = malloc(n);
        if (buf == NULL) {
            return 0;
        }
    }
    if (p->plen > 0) {
        memcpy(buf, p->prefix, p->plen);
    }
    if (klen > 0) {
        memcpy(buf + p->plen, key, klen);
    }
    k = buf;
    offheap_hash_tag(&k, &n);
    idx =
        offheap_ketama_dispatch(p->ring, p->nring, offheap_hash(p->hash, k, n));
    if (buf != stackbuf) {
        free(buf);
    }
    return idx;
}

/* ---- command formatting ---- */

static bool
is_key_arg(int i, int key_first, int key_step)
{
    if (key_first <= 0 || i < key_first) {
        return false;
    }
    return key_step == 0 ? i == key_first : (i - key_first) % key_step == 0;
}

/* Formats with keys from key_first every key_step args (0: one key). */
static int
append_keys(redisContext *rc, const struct offheap_pool *p, int argc,
            const char *const *argv, const size_t *argvlen, int key_first,
            int key_step)
{
    size_t total = 16;
    char *cmd, *w;
    int rv;

    for (int i = 0; i < argc; i++) {
        total += argvlen[i] + 2 * INT_DIGITS + 6 +
                 (is_key_arg(i, key_first, key_step) ? p->plen : 0);
    }
    cmd = malloc(total);
    if (cmd == NULL) {
        return OFFHEAP_ERR_NOMEM;
    }
    w = cmd + sprintf(cmd, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t pl = is_key_arg(i, key_first, key_step) ? p->plen : 0;

        w += sprintf(w, "$%zu\r\n", pl + argvlen[i]);
        if (pl > 0) {
            memcpy(w, p->prefix, pl);
            w += pl;
        }
        memcpy(w, argv[i], argvlen[i]);
        w += argvlen[i];
        *w++ = '\r';
        *w++ = '\n';
    }
    rv = redisAppendFormattedCommand(rc, cmd, (size_t)(w - cmd));
    free(cmd);
    return rv == REDIS_OK ? 0 : OFFHEAP_ERR_NOMEM;
}

int
offheap_append_cmd(redisContext *rc, const struct offheap_pool *p, int argc,
                   const char *const *argv, const size_t *argvlen,
                   int key_index)
{
    return append_keys(rc, p, argc, argv, argvlen, key_index, 0);
}

size_t
offheap_route_argv(const struct offheap_pool *p, int argc,
                   const char *const *argv, const size_t *argvlen,
                   int key_index)
{
    if (key_index <= 0 || key_index >= argc) {
        return 0;
    }
    return offheap_pool_route(p, argv[key_index], argvlen[key_index]);
}

/* ---- connections ---- */

static const char *
server_label(const struct offheap_server *s, char *buf, size_t n)
{
    if (s->path != NULL) {
        snprintf(buf, n, "unix:%s", s->path);
    } else {
        snprintf(buf, n, "%s:%d", s->host, s->port);
    }
    return buf;
}

int
offheap_server_open(struct offheap_server *s, struct offheap_error *e)
{
    char label[96];

    s->rc = s->path != NULL ? redisConnectUnixNonBlock(s->path)
                            : redisConnectNonBlock(s->host, s->port);
    if (s->rc == NULL) {
        return offheap_fail(e, OFFHEAP_ERR_NOMEM, "out of memory");
    }
    if (s->rc->err != 0) {
        int code =
            offheap_fail(e, OFFHEAP_ERR_IO, "%s: %s",
                         server_label(s, label, sizeof(label)), s->rc->errstr);

        redisFree(s->rc);
        s->rc = NULL;
        return code;
    }
    s->rc->reader->fn = &offheap_reply_fns;
    s->state = OFFHEAP_CONNECTING;
    return 0;
}

void
offheap_server_drop(struct offheap_server *s, const struct offheap_pool *p,
                    bool failed)
{
    if (s->rc != NULL) {
        redisFree(s->rc);
        s->rc = NULL;
    }
    offheap_local_detach(s); /* it belongs to that server process */
    s->state = OFFHEAP_DOWN;
    s->epoch++;
    if (!failed) {
        s->retry_at = 0;
        return;
    }
    s->retry_at = offheap_now_ms() + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > p->backoff_max_ms ? p->backoff_max_ms
                                                          : s->backoff_ms * 2;
}

int
offheap_server_handshake(struct offheap_server *s, const struct offheap_pool *p)
{
    int n = 0;
    char db[INT_DIGITS];

    if (p->password != NULL) {
        const char *argv[3] = {"AUTH", p->username, p->password};
        size_t lens[3] = {4, p->username ? strlen(p->username) : 0,
                          strlen(p->password)};

        if (p->username == NULL) {
            argv[1] = p->password;
            lens[1] = lens[2];
        }
        if (offheap_append_cmd(s->rc, p, p->username ? 3 : 2, argv, lens, 0) !=
            0) {
            return OFFHEAP_ERR_NOMEM;
        }
        n++;
    }
    if (p->db > 0) {
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, (size_t)snprintf(db, sizeof(db), "%d", p->db)};

        if (offheap_append_cmd(s->rc, p, 2, argv, lens, 0) != 0) {
            return OFFHEAP_ERR_NOMEM;
        }
        n++;
    }
    return n;
}

int
offheap_server_check_backoff(struct offheap_server *s, struct offheap_error *e,
                             int64_t now)
{
    char label[96];

    if (s->state != OFFHEAP_DOWN || now >= s->retry_at) {
        return 0;
    }
    return offheap_fail(
        e, OFFHEAP_ERR_DOWN, "%s is down, next reconnect in %lld ms",
        server_label(s, label, sizeof(label)), (long long)(s->retry_at - now));
}

/* ---- the synchronous handle ---- */

/* A queued command: its server, and the connection epoch it was sent on. */
struct pending {
    uint32_t srv;
    unsigned epoch;
};

struct offheap {
    struct offheap_pool pool;
    struct offheap_error err;
    bool unusable;     /* the spec was bad: every call fails */
    struct pending *q; /* OWNED ring buffer of qcap */
    size_t qhead, qlen, qcap;
    bool dirty; /* commands appended since the last flush */
};

void
offheap_options_init(offheap_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->timeout_ms = OFFHEAP_TIMEOUT_MS;
    o->hash = OFFHEAP_HASH_FNV1A_64;
}

offheap_t *
offheap_connect(const char *servers, int timeout_ms)
{
    offheap_options_t o;

    offheap_options_init(&o);
    o.servers = servers;
    o.timeout_ms = timeout_ms;
    return offheap_connect_with(&o);
}

static int ensure_up(offheap_t *c, struct offheap_server *s, int64_t deadline);

static int64_t
deadline_of(int timeout_ms)
{
    return timeout_ms > 0 ? offheap_now_ms() + timeout_ms : -1;
}

offheap_t *
offheap_connect_with(const offheap_options_t *o)
{
    offheap_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    if (offheap_pool_init(&c->pool, o, &c->err) != 0) {
        c->unusable = true;
        return c;
    }
    for (size_t i = 0; i < c->pool.nsrv; i++) {
        struct offheap_server *s = &c->pool.srv[i];

        /* a failure is remembered in c->err and retried on use */
        ensure_up(c, s, deadline_of(c->pool.connect_timeout_ms));
    }
    return c;
}

void
offheap_close(offheap_t *c)
{
    if (c == NULL) {
        return;
    }
    offheap_pool_deinit(&c->pool);
    free(c->q);
    free(c);
}

int
offheap_err(const offheap_t *c)
{
    return c != NULL ? c->err.code : OFFHEAP_ERR_INVAL;
}

const char *
offheap_errstr(const offheap_t *c)
{
    return c != NULL ? c->err.str : "no handle";
}

void
offheap_clear_err(offheap_t *c)
{
    c->err.code = 0;
    c->err.str[0] = '\0';
}

int
offheap_set_prefix(offheap_t *c, const char *prefix, size_t plen)
{
    return offheap_pool_set_prefix(&c->pool, prefix, plen);
}

void
offheap_set_timeout(offheap_t *c, int timeout_ms)
{
    c->pool.timeout_ms = timeout_ms;
}

/* ---- blocking I/O against a deadline ---- */

/* Waits until s's fd is ready for `events`; 0 or a negative rc. */
static int
wait_fd(offheap_t *c, struct offheap_server *s, short events, int64_t deadline)
{
    char label[96];
    struct pollfd pfd = {.fd = s->rc->fd, .events = events};

    for (;;) {
        int64_t left = deadline < 0 ? -1 : deadline - offheap_now_ms();
        int n;

        if (deadline >= 0 && left <= 0) {
            return offheap_fail(&c->err, OFFHEAP_ERR_TIMEOUT,
                                "%s: deadline exceeded",
                                server_label(s, label, sizeof(label)));
        }
        n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0) {
            return 0;
        }
        if (n < 0 && errno != EINTR) {
            return offheap_fail(&c->err, OFFHEAP_ERR_IO, "poll: %s",
                                strerror(errno));
        }
    }
}

/* Records the hiredis error of s as ours and drops the connection. */
static int
fail_conn(offheap_t *c, struct offheap_server *s, int code, bool failed)
{
    char label[96];

    if (code != OFFHEAP_ERR_TIMEOUT && s->rc != NULL && s->rc->err != 0) {
        offheap_fail(&c->err, code, "%s: %s",
                     server_label(s, label, sizeof(label)), s->rc->errstr);
    }
    offheap_server_drop(s, &c->pool, failed);
    return code;
}

static int
flush_out(offheap_t *c, struct offheap_server *s, int64_t deadline)
{
    int done = 0;

    for (;;) {
        if (redisBufferWrite(s->rc, &done) != REDIS_OK) {
            return fail_conn(c, s, OFFHEAP_ERR_IO, false);
        }
        if (done) {
            return 0;
        }
        int rc = wait_fd(c, s, POLLOUT, deadline);
        if (rc != 0) {
            return fail_conn(c, s, rc, false);
        }
    }
}

static int
read_reply(offheap_t *c, struct offheap_server *s, int64_t deadline,
           offheap_reply_t **reply)
{
    void *r = NULL;

    for (;;) {
        if (redisGetReplyFromReader(s->rc, &r) != REDIS_OK) {
            return fail_conn(c, s, OFFHEAP_ERR_PROTOCOL, false);
        }
        if (r != NULL) {
            *reply = r;
            return 0;
        }
        int rc = wait_fd(c, s, POLLIN, deadline);
        if (rc != 0) {
            return fail_conn(c, s, rc, false);
        }
        if (redisBufferRead(s->rc) != REDIS_OK) {
            return fail_conn(c, s, OFFHEAP_ERR_IO, false);
        }
    }
}

/* Waits for a non-blocking connect to finish. */
static int
finish_connect(offheap_t *c, struct offheap_server *s, int64_t deadline)
{
    char label[96];
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    int rc = wait_fd(c, s, POLLOUT, deadline);

    if (rc != 0) {
        return rc;
    }
    if (getsockopt(s->rc->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
        soerr = errno;
    }
    if (soerr != 0) {
        return offheap_fail(&c->err, OFFHEAP_ERR_IO, "%s: connect: %s",
                            server_label(s, label, sizeof(label)),
                            strerror(soerr));
    }
    return 0;
}

/* Sends AUTH/SELECT on a fresh connection and checks their replies. */
static int
handshake(offheap_t *c, struct offheap_server *s, int64_t deadline)
{
    char label[96];
    int n = offheap_server_handshake(s, &c->pool);
    int rc = n < 0 ? n : flush_out(c, s, deadline);

    for (int i = 0; rc == 0 && i < n; i++) {
        offheap_reply_t *r = NULL;

        rc = read_reply(c, s, deadline, &r);
        if (rc == 0 && r->type == OFFHEAP_REPLY_ERROR) {
            rc = offheap_fail(&c->err, OFFHEAP_ERR_SERVER, "%s: %s",
                              server_label(s, label, sizeof(label)), r->str);
        }
        offheap_reply_free(&r);
    }
    return rc;
}

static int
ensure_up(offheap_t *c, struct offheap_server *s, int64_t deadline)
{
    int64_t now = offheap_now_ms();
    int64_t cdl =
        c->pool.connect_timeout_ms > 0 ? now + c->pool.connect_timeout_ms : -1;
    int rc;

    if (s->state == OFFHEAP_UP) {
        return 0;
    }
    rc = offheap_server_check_backoff(s, &c->err, now);
    if (rc != 0) {
        return rc;
    }
    if (deadline >= 0 && (cdl < 0 || deadline < cdl)) {
        cdl = deadline;
    }
    rc = offheap_server_open(s, &c->err);
    if (rc == 0) {
        rc = finish_connect(c, s, cdl);
    }
    if (rc == 0) {
        rc = handshake(c, s, deadline);
    }
    if (rc == 0 && c->pool.local_reads == OFFHEAP_LOCAL_AUTO &&
        offheap_local_attach(s, deadline) != 0) {
        rc = offheap_fail(&c->err, OFFHEAP_ERR_IO, "unix:%s: LOCALREAD: %s",
                          s->path, strerror(errno));
    }
    if (rc != 0) {
        offheap_server_drop(s, &c->pool, true);
        return rc;
    }
    s->state = OFFHEAP_UP;
    s->backoff_ms = c->pool.backoff_min_ms;
    return 0;
}

/* ---- pipelining ---- */

static int
queue_push(offheap_t *c, uint32_t srv, unsigned epoch)
{
    if (c->qlen == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : PIPE_INIT_CAP;
        struct pending *nq = malloc(ncap * sizeof(*nq));

        if (nq == NULL) {
            return offheap_fail(&c->err, OFFHEAP_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < c->qlen; i++) {
            nq[i] = c->q[(c->qhead + i) % c->qcap];
        }
        free(c->q);
        c->q = nq;
        c->qcap = ncap;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qlen) % c->qcap] = (struct pending){srv, epoch};
    c->qlen++;
    return 0;
}

static int
check_usable(offheap_t *c)
{
    if (c->unusable) {
        return c->err.code;
    }
    return 0;
}

/* Appends a command with keys at key_first every key_step args. */
static int
append_routed(offheap_t *c, size_t srv, int argc, const char *const *argv,
              const size_t *argvlen, int key_first, int key_step)
{
    struct offheap_server *s = &c->pool.srv[srv];
    int rc = check_usable(c);

    if (rc != 0) {
        return rc;
    }
    if (argc <= 0 || argc > OFFHEAP_MAX_ARGS || argv == NULL ||
        argvlen == NULL) {
        return offheap_fail(&c->err, OFFHEAP_ERR_INVAL, "bad argv");
    }
    rc = ensure_up(c, s, deadline_of(c->pool.timeout_ms));
    if (rc != 0) {
        return rc;
    }
    rc = append_keys(s->rc, &c->pool, argc, argv, argvlen, key_first, key_step);
    if (rc != 0) {
        return offheap_fail(&c->err, rc, "out of memory");
    }
    rc = queue_push(c, (uint32_t)srv, s->epoch);
    if (rc != 0) {
        /* the command is in the buffer but untracked: drop the link */
        offheap_server_drop(s, &c->pool, false);
        return rc;
    }
    c->dirty = true;
    return 0;
}

int
offheap_append_argv(offheap_t *c, int argc, const char *const *argv,
                    const size_t *argvlen, int key_index)
{
    if (c == NULL || argv == NULL || argvlen == NULL || argc <= 0) {
        return c != NULL ? offheap_fail(&c->err, OFFHEAP_ERR_INVAL, "bad argv")
                         : OFFHEAP_ERR_INVAL;
    }
    size_t srv = offheap_route_argv(&c->pool, argc, argv, argvlen, key_index);
    return append_routed(c, srv, argc, argv, argvlen, key_index, 0);
}

int
offheap_append_get(offheap_t *c, const char *key, size_t klen)
{
    const char *argv[2] = {"GET", key};
    size_t lens[2] = {3, klen};

    return offheap_append_argv(c, 2, argv, lens, 1);
}

int
offheap_append_set(offheap_t *c, const char *key, size_t klen, const void *val,
                   size_t vlen, int64_t ttl_ms)
{
    char ttl[INT_DIGITS];
    const char *argv[5] = {"SET", key, val, "PX", ttl};
    size_t lens[5] = {3, klen, vlen, 2, 0};

    if (ttl_ms > 0) {
        lens[4] = (size_t)snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    }
    return offheap_append_argv(c, ttl_ms > 0 ? 5 : 3, argv, lens, 1);
}

/* Sends what every server has buffered; failures drop that server. */
static void
flush_all(offheap_t *c, int64_t deadline)
{
    for (size_t i = 0; i < c->pool.nsrv; i++) {
        struct offheap_server *s = &c->pool.srv[i];

        if (s->state == OFFHEAP_UP && s->rc->obuf[0] != '\0') {
            flush_out(c, s, deadline);
        }
    }
    c->dirty = false;
}

int
offheap_get_reply(offheap_t *c, offheap_reply_t **reply)
{
    char label[96];
    int64_t deadline = deadline_of(c->pool.timeout_ms);
    struct pending head;
    struct offheap_server *s;

    *reply = NULL;
    if (c->qlen == 0) {
        return offheap_fail(&c->err, OFFHEAP_ERR_INVAL, "nothing queued");
    }
    if (c->dirty) {
        flush_all(c, deadline);
    }
    head = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    s = &c->pool.srv[head.srv];
    if (s->epoch != head.epoch || s->state != OFFHEAP_UP) {
        return offheap_fail(&c->err, OFFHEAP_ERR_IO,
                            "%s: connection lost before the reply",
                            server_label(s, label, sizeof(label)));
    }
    return read_reply(c, s, deadline, reply);
}

size_t
offheap_pending(const offheap_t *c)
{
    return c->qlen;
}

/* Reads and discards every queued reply (after a failed multi-key call). */
static void
drain(offheap_t *c)
{
    while (c->qlen > 0) {
        offheap_reply_t *r = NULL;

        offheap_get_reply(c, &r);
        offheap_reply_free(&r);
    }
}

/* ---- synchronous calls ---- */

/* Checks a reply's type; error replies become OFFHEAP_ERR_SERVER. */
static int
expect(offheap_t *c, const offheap_reply_t *r, int type, int alt)
{
    if (r->type == OFFHEAP_REPLY_ERROR) {
        return offheap_fail(&c->err, OFFHEAP_ERR_SERVER, "%s", r->str);
    }
    if (r->type != type && r->type != alt) {
        return offheap_fail(&c->err, OFFHEAP_ERR_TYPE,
                            "unexpected reply type %d", r->type);
    }
    return 0;
}

int
offheap_command_argv(offheap_t *c, int argc, const char *const *argv,
                     const size_t *argvlen, int key_index,
                     offheap_reply_t **reply)
{
    int rc;

    *reply = NULL;
    if (c != NULL && c->qlen > 0) {
        return offheap_fail(&c->err, OFFHEAP_ERR_INVAL,
                            "%zu pipelined replies are unread", c->qlen);
    }
    rc = offheap_append_argv(c, argc, argv, argvlen, key_index);
    if (rc != 0) {
        return rc;
    }
    return offheap_get_reply(c, reply);
}

/* Runs a one-key command and checks the reply type. OWNED *reply. */
static int
call_key(offheap_t *c, int argc, const char *const *argv, const size_t *argvlen,
         int type, int alt, offheap_reply_t **reply)
{
    int rc = offheap_command_argv(c, argc, argv, argvlen, 1, reply);

    if (rc == 0) {
        rc = expect(c, *reply, type, alt);
        if (rc != 0) {
            offheap_reply_free(reply);
        }
    }
    return rc;
}

int
offheap_set_ex(offheap_t *c, const char *key, size_t klen, const void *val,
               size_t vlen, int64_t ttl_ms, int flags)
{
    char ttl[INT_DIGITS];
    const char *argv[6] = {"SET", key, val, NULL, NULL, NULL};
    size_t lens[6] = {3, klen, vlen, 0, 0, 0};
    int argc = 3, rc;
    offheap_reply_t *r = NULL;

    if (ttl_ms > 0) {
        argv[argc] = "PX";
        lens[argc++] = 2;
        argv[argc] = ttl;
        lens[argc++] =
            (size_t)snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    }
    if (flags & (OFFHEAP_NX | OFFHEAP_XX)) {
        argv[argc] = (flags & OFFHEAP_NX) ? "NX" : "XX";
        lens[argc++] = 2;
    }
    rc = call_key(c, argc, argv, lens, OFFHEAP_REPLY_STATUS, OFFHEAP_REPLY_NIL,
                  &r);
    if (rc == 0) {
        rc = r->type == OFFHEAP_REPLY_STATUS ? 1 : 0;
    }
    offheap_reply_free(&r);
    return rc;
}

int
offheap_set(offheap_t *c, const char *key, size_t klen, const void *val,
            size_t vlen, int64_t ttl_ms)
{
    int rc = offheap_set_ex(c, key, klen, val, vlen, ttl_ms, 0);

    return rc > 0 ? 0 : rc < 0 ? rc : OFFHEAP_ERR_TYPE;
}

/* Moves a STRING reply's buffer to the caller and frees the rest. */
static void
take_string(offheap_reply_t **r, void **val, size_t *vlen)
{
    *val = (*r)->str;
    if (vlen != NULL) {
        *vlen = (*r)->len;
    }
    (*r)->str = NULL;
    offheap_reply_free(r);
}

/* ---- local reads ---- */

void
offheap_set_local_reads(offheap_t *c, int mode)
{
    c->pool.local_reads = mode;
    for (size_t i = 0; mode != OFFHEAP_LOCAL_AUTO && i < c->pool.nsrv; i++) {
        offheap_local_detach(&c->pool.srv[i]);
    }
}

/* Maps offheap_local_read()'s result to the public one, dropping a stale
 * mapping with its connection (the next call maps the new server). */
static int
local_result(offheap_t *c, struct offheap_server *s, int rc)
{
    if (rc == OFFHEAP_LOCAL_STALE) {
        offheap_server_drop(s, &c->pool, false);
    }
    return rc == OFFHEAP_LOCAL_STALE || rc == OFFHEAP_LOCAL_SOCKET
               ? OFFHEAP_ERR_NOLOCAL
               : rc;
}

/* Reads the prefixed key from server s's mapping. */
static int
local_read(offheap_t *c, struct offheap_server *s, const char *key, size_t klen,
           offheap_copy_fn *copy, void *arg)
{
    char stack[OFFHEAP_KEYBUF_LEN];
    size_t plen = c->pool.plen, n = plen + klen;
    if (plen == 0) { /* the key as it is: no copy on the hot path */
        int rc = offheap_local_read(s, key, klen, copy, arg);
        return local_result(c, s, rc);
    }
    char *k = n <= sizeof(stack) ? stack : malloc(n);
    if (k == NULL) {
        return offheap_fail(&c->err, OFFHEAP_ERR_NOMEM, "out of memory");
    }
    if (plen > 0) {
        memcpy(k, c->pool.prefix, plen);
    }
    memcpy(k + plen, key, klen);
    int rc = offheap_local_read(s, k, n, copy, arg);
    if (k != stack) {
        free(k);
    }
    return local_result(c, s, rc);
}

int
offheap_get_local(offheap_t *c, const char *key, size_t klen,
                  offheap_copy_fn *copy, void *arg)
{
    int rc = check_usable(c);
    if (rc != 0 || c->pool.local_reads != OFFHEAP_LOCAL_AUTO) {
        return rc != 0 ? rc : OFFHEAP_ERR_NOLOCAL;
    }
    struct offheap_server *s =
        &c->pool.srv[offheap_pool_route(&c->pool, key, klen)];
    if (s->path == NULL) {
        return OFFHEAP_ERR_NOLOCAL;
    }
    if (s->local == NULL && s->state != OFFHEAP_UP) {
        rc = ensure_up(c, s, deadline_of(c->pool.timeout_ms));
        if (rc != 0) {
            return rc;
        }
    }
    return s->local != NULL ? local_read(c, s, key, klen, copy, arg)
                            : OFFHEAP_ERR_NOLOCAL;
}

/* A value being copied out of the mapping by offheap_get(). */
struct copy_out {
    char *buf;
    size_t len;
};

static int
copy_to_heap(void *arg, const char *val, size_t vlen)
{
    struct copy_out *o = arg;
    char *b = realloc(o->buf, vlen + 1);
    if (b == NULL) {
        return OFFHEAP_ERR_NOMEM;
    }
    memcpy(b, val, vlen);
    b[vlen] = '\0';
    o->buf = b;
    o->len = vlen;
    return 0;
}

/* offheap_get() from the mapping: 1, 0, or OFFHEAP_ERR_NOLOCAL. */
static int
get_local(offheap_t *c, const char *key, size_t klen, void **val, size_t *vlen)
{
    struct copy_out o = {NULL, 0};
    int rc = c->qlen == 0 ? offheap_get_local(c, key, klen, copy_to_heap, &o)
                          : OFFHEAP_ERR_NOLOCAL; /* keep replies in order */
    if (rc == 1) {
        *val = o.buf;
        if (vlen != NULL) {
            *vlen = o.len;
        }
    } else {
        free(o.buf);
    }
    return rc;
}

int
offheap_get(offheap_t *c, const char *key, size_t klen, void **val,
            size_t *vlen)
{
    const char *argv[2] = {"GET", key};
    size_t lens[2] = {3, klen};
    offheap_reply_t *r = NULL;
    int rc;

    *val = NULL;
    if (vlen != NULL) {
        *vlen = 0;
    }
    rc = get_local(c, key, klen, val, vlen);
    if (rc != OFFHEAP_ERR_NOLOCAL) {
        return rc;
    }
    offheap_clear_err(c);
    rc =
        call_key(c, 2, argv, lens, OFFHEAP_REPLY_STRING, OFFHEAP_REPLY_NIL, &r);
    if (rc != 0) {
        return rc;
    }
    if (r->type == OFFHEAP_REPLY_NIL) {
        offheap_reply_free(&r);
        return 0;
    }
    take_string(&r, val, vlen);
    return 1;
}

/* Runs `NAME key [arg]` expecting an integer reply into *out. */
static int
call_int(offheap_t *c, const char *name, const char *key, size_t klen,
         const char *arg, long long *out)
{
    const char *argv[3] = {name, key, arg};
    size_t lens[3] = {strlen(name), klen, arg ? strlen(arg) : 0};
    offheap_reply_t *r = NULL;
    int rc = call_key(c, arg ? 3 : 2, argv, lens, OFFHEAP_REPLY_INTEGER,
                      OFFHEAP_REPLY_INTEGER, &r);

    if (rc == 0) {
        *out = r->integer;
    }
    offheap_reply_free(&r);
    return rc;
}

int
offheap_del(offheap_t *c, const char *key, size_t klen)
{
    long long n = 0;
    int rc = call_int(c, "DEL", key, klen, NULL, &n);

    return rc != 0 ? rc : n > 0;
}

int
offheap_expire(offheap_t *c, const char *key, size_t klen, int64_t ttl_ms)
{
    char ttl[INT_DIGITS];
    long long n = 0;
    int rc;

    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    rc = call_int(c, "PEXPIRE", key, klen, ttl, &n);
    return rc != 0 ? rc : n > 0;
}

int
offheap_ttl(offheap_t *c, const char *key, size_t klen, int64_t *ttl_ms)
{
    long long n = 0;
    int rc = call_int(c, "PTTL", key, klen, NULL, &n);

    if (rc != 0) {
        return rc;
    }
    if (ttl_ms != NULL) {
        *ttl_ms = n >= 0 ? n : -1;
    }
    return n != -2;
}

int
offheap_incr(offheap_t *c, const char *key, size_t klen, int64_t by,
             int64_t *result)
{
    char num[INT_DIGITS];
    long long n = 0;
    int rc;

    snprintf(num, sizeof(num), "%lld", (long long)by);
    rc = call_int(c, "INCRBY", key, klen, num, &n);
    if (rc == 0 && result != NULL) {
        *result = n;
    }
    return rc;
}

/* ---- multi-key calls, split per server ---- */

/* Keys grouped by server: order[] lists key indexes server by server;
 * server i owns order[start[i] .. start[i + 1]). */
struct split {
    size_t *order; /* OWNED, n */
    size_t *start; /* OWNED, nsrv + 1 */
};

static int
split_keys(offheap_t *c, size_t n, const char *const *keys, const size_t *klens,
           struct split *sp)
{
    size_t nsrv = c->pool.nsrv;
    size_t *srv = malloc(n * sizeof(*srv));

    sp->order = malloc(n * sizeof(*sp->order));
    sp->start = calloc(nsrv + 1, sizeof(*sp->start));
    if (srv == NULL || sp->order == NULL || sp->start == NULL) {
        free(srv);
        free(sp->order);
        free(sp->start);
        return offheap_fail(&c->err, OFFHEAP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        srv[i] = offheap_pool_route(&c->pool, keys[i], klens[i]);
        sp->start[srv[i] + 1]++;
    }
    for (size_t i = 0; i < nsrv; i++) {
        sp->start[i + 1] += sp->start[i];
    }
    size_t *fill = calloc(nsrv, sizeof(*fill));
    if (fill == NULL) {
        free(srv);
        free(sp->order);
        free(sp->start);
        return offheap_fail(&c->err, OFFHEAP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        sp->order[sp->start[srv[i]] + fill[srv[i]]++] = i;
    }
    free(fill);
    free(srv);
    return 0;
}

static void
split_free(struct split *sp)
{
    free(sp->order);
    free(sp->start);
}

/* Appends NAME with the keys (and values, if vals) of server s. */
static int
append_group(offheap_t *c, size_t s, const struct split *sp, const char *name,
             const char *const *keys, const size_t *klens,
             const void *const *vals, const size_t *vlens)
{
    size_t cnt = sp->start[s + 1] - sp->start[s];
    size_t per = vals != NULL ? 2 : 1;
    size_t argc = 1 + cnt * per;
    const char **argv = malloc(argc * sizeof(*argv));
    size_t *lens = malloc(argc * sizeof(*lens));
    int rc = OFFHEAP_ERR_NOMEM;

    if (argv != NULL && lens != NULL && argc <= OFFHEAP_MAX_ARGS) {
        argv[0] = name;
        lens[0] = strlen(name);
        for (size_t j = 0; j < cnt; j++) {
            size_t k = sp->order[sp->start[s] + j];

            argv[1 + j * per] = keys[k];
            lens[1 + j * per] = klens[k];
            if (vals != NULL) {
                argv[2 + j * per] = vals[k];
                lens[2 + j * per] = vlens[k];
            }
        }
        rc = append_routed(c, s, (int)argc, argv, lens, 1, (int)per);
    } else if (argc > OFFHEAP_MAX_ARGS) {
        rc = offheap_fail(&c->err, OFFHEAP_ERR_INVAL, "too many keys");
    }
    free(argv);
    free(lens);
    return rc;
}

/* Stores the values of one MGET reply. Returns hits or a negative rc. */
static int
take_mget(offheap_t *c, offheap_reply_t *r, const struct split *sp, size_t s,
          void **vals, size_t *vlens)
{
    size_t cnt = sp->start[s + 1] - sp->start[s];
    int hits = 0;
    int rc = expect(c, r, OFFHEAP_REPLY_ARRAY, OFFHEAP_REPLY_ARRAY);

    if (rc != 0) {
        return rc;
    }
    if (r->elements != cnt) {
        return offheap_fail(&c->err, OFFHEAP_ERR_PROTOCOL,
                            "MGET returned %zu values for %zu keys",
                            r->elements, cnt);
    }
    for (size_t j = 0; j < cnt; j++) {
        size_t k = sp->order[sp->start[s] + j];
        offheap_reply_t *e = r->element[j];

        if (e != NULL && e->type == OFFHEAP_REPLY_STRING) {
            take_string(&r->element[j], &vals[k], &vlens[k]);
            hits++;
        }
    }
    return hits;
}

static int
check_multi(offheap_t *c, size_t n, const char *const *keys,
            const size_t *klens)
{
    int rc = check_usable(c);

    if (rc != 0) {
        return rc;
    }
    if (n == 0 || keys == NULL || klens == NULL) {
        return offheap_fail(&c->err, OFFHEAP_ERR_INVAL, "no keys");
    }
    if (c->qlen > 0) {
        return offheap_fail(&c->err, OFFHEAP_ERR_INVAL,
                            "%zu pipelined replies are unread", c->qlen);
    }
    return 0;
}

static int
mget_read(offheap_t *c, const struct split *sp, const bool *sent, void **vals,
          size_t *vlens)
{
    int hits = 0, rc = 0;

    for (size_t s = 0; s < c->pool.nsrv; s++) {
        offheap_reply_t *r = NULL;
        int got;

        if (!sent[s]) {
            continue;
        }
        got = offheap_get_reply(c, &r);
        if (got == 0) {
            got = take_mget(c, r, sp, s, vals, vlens);
        }
        offheap_reply_free(&r);
        if (got < 0 && rc == 0) {
            rc = got;
        }
        hits += got > 0 ? got : 0;
    }
    return rc != 0 ? rc : hits;
}

/* offheap_mget() from the mappings when every key's server has one: each
 * key read locally, the few that cannot be asked with GET. Returns the
 * hits, a negative rc, or OFFHEAP_ERR_NOLOCAL when a server has none. */
static int
mget_local(offheap_t *c, size_t n, const char *const *keys, const size_t *klens,
           void **vals, size_t *vlens)
{
    for (size_t i = 0; i < c->pool.nsrv; i++) {
        struct offheap_server *s = &c->pool.srv[i];
        if (s->path != NULL && s->local == NULL && s->state != OFFHEAP_UP &&
            ensure_up(c, s, deadline_of(c->pool.timeout_ms)) != 0) {
            offheap_clear_err(c); /* the socket path reports it */
        }
        if (s->local == NULL) {
            return OFFHEAP_ERR_NOLOCAL;
        }
    }
    int hits = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = offheap_get(c, keys[i], klens[i], &vals[i], &vlens[i]);
        if (rc < 0) {
            for (size_t j = 0; j < i; j++) {
                offheap_free_value(vals[j]);
                vals[j] = NULL;
            }
            return rc;
        }
        hits += rc;
    }
    return hits;
}

int
offheap_mget(offheap_t *c, size_t n, const char *const *keys,
             const size_t *klens, void **vals, size_t *vlens)
{
    struct split sp;
    bool sent[OFFHEAP_MAX_SERVERS] = {false};
    int rc = check_multi(c, n, keys, klens);

    for (size_t i = 0; i < n && vals != NULL; i++) {
        vals[i] = NULL;
        vlens[i] = 0;
    }
    if (rc == 0 && c->pool.local_reads == OFFHEAP_LOCAL_AUTO) {
        rc = mget_local(c, n, keys, klens, vals, vlens);
        if (rc != OFFHEAP_ERR_NOLOCAL) {
            return rc;
        }
        rc = 0;
    }
    if (rc != 0 || (rc = split_keys(c, n, keys, klens, &sp)) != 0) {
        return rc;
    }
    for (size_t s = 0; s < c->pool.nsrv && rc == 0; s++) {
        if (sp.start[s + 1] > sp.start[s]) {
            rc = append_group(c, s, &sp, "MGET", keys, klens, NULL, NULL);
            sent[s] = rc == 0;
        }
    }
    if (rc == 0) {
        rc = mget_read(c, &sp, sent, vals, vlens);
    }
    drain(c);
    split_free(&sp);
    for (size_t i = 0; rc < 0 && i < n; i++) {
        offheap_free_value(vals[i]);
        vals[i] = NULL;
    }
    return rc;
}

/* Reads every queued reply, keeping the first failure. */
static int
read_all_ok(offheap_t *c)
{
    int first = 0;

    while (c->qlen > 0) {
        offheap_reply_t *r = NULL;
        int rc = offheap_get_reply(c, &r);

        if (rc == 0) {
            rc = expect(c, r, OFFHEAP_REPLY_STATUS, OFFHEAP_REPLY_STATUS);
        }
        if (rc != 0 && first == 0) {
            first = rc;
        }
        offheap_reply_free(&r);
    }
    return first;
}

int
offheap_mset(offheap_t *c, size_t n, const char *const *keys,
             const size_t *klens, const void *const *vals, const size_t *vlens,
             int64_t ttl_ms)
{
    struct split sp;
    int rc = check_multi(c, n, keys, klens);

    if (rc != 0) {
        return rc;
    }
    if (ttl_ms > 0) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = offheap_append_set(c, keys[i], klens[i], vals[i], vlens[i],
                                    ttl_ms);
        }
    } else if ((rc = split_keys(c, n, keys, klens, &sp)) == 0) {
        for (size_t s = 0; s < c->pool.nsrv && rc == 0; s++) {
            if (sp.start[s + 1] > sp.start[s]) {
                rc = append_group(c, s, &sp, "MSET", keys, klens, vals, vlens);
            }
        }
        split_free(&sp);
    }
    int rrc = read_all_ok(c);
    return rc != 0 ? rc : rrc;
}

/* ---- servers ---- */

size_t
offheap_server_count(const offheap_t *c)
{
    return c->pool.nsrv;
}

size_t
offheap_server_of(const offheap_t *c, const char *key, size_t klen)
{
    return offheap_pool_route(&c->pool, key, klen);
}

const char *
offheap_server_name(const offheap_t *c, size_t i)
{
    return i < c->pool.nsrv ? c->pool.srv[i].name : NULL;
}
