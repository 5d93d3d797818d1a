/* conn.c: client connections.
 *
 * Input: bytes are read into one growable buffer per client. Requests are
 * parsed in place by proto/resp (zero-copy: arguments are offsets into the
 * buffer) and executed in order; a partial request stays at the front of
 * the buffer, which may grow (moving it) until the request is complete.
 *
 *   ibuf: [ executed requests | current request ... | unread capacity ]
 *          ^0                  ^ipos                 ^ilen          ^icap
 *
 * Output: replies are appended to a queue of chunks; small replies are
 * copied into 16 KiB chunks, large values are queued as PINNED engine
 * items (zero-copy) and released once written. After each batch of input
 * the queue is written at once with writev(2); only if the socket is full
 * is a write event armed. So a pipeline of N requests costs one read and
 * one write.
 *
 * Limits: client-query-buffer-limit (unparsed input), proto-max-bulk-len
 * (via the parser), client-output-buffer-limit (pending output), maxclients,
 * timeout (idle seconds). A protocol error answers -ERR Protocol error: ...
 * and closes only that connection. While requirepass is set and the client
 * has not authenticated, the parser gets Redis's tighter limits (10
 * arguments, 16 KiB bulks), so that anyone who can connect cannot make the
 * server buffer proto-max-bulk-len bytes before AUTH.
 *
 * Input buffer size: the buffer grows to hold a large request and keeps its
 * size while the client is busy (no realloc per large SET). conn_cron()
 * looks at every client each CONN_IBUF_CHECK_MS, as Redis's
 * clientsCronResizeQueryBuffer(): a client idle for CONN_IBUF_IDLE_MS gets
 * its buffer cut to what it holds (freed when empty, 16 KiB again on the
 * next read); a busy one whose buffer is over CONN_IBUF_RESIZE_MIN and more
 * than twice the most it held since the last check is cut to that peak.
 * Rejected: freeing a large buffer after every request (a client sending
 * large values in a loop reallocates it each time; CLIENT LIST never shows
 * what the buffer was); checking every client on every tick (10 000 idle
 * clients at hz 100 is a million cache misses a second).
 */
#include "conn.h"

#include "cmd.h"
#include "config.h"
#include "ev.h"
#include "localread.h"
#include "log.h"
#include "reply.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#define CONN_READ_CHUNK      16384 /* bytes read per read(2) normally */
#define CONN_IBUF_IDLE_MS    2000  /* ms idle before the input buffer shrinks */
#define CONN_IBUF_RESIZE_MIN 32768 /* bytes: smaller busy buffers are kept */
#define CONN_IBUF_CHECK_MS   500   /* ms between input buffer resize checks */
#define CONN_NOAUTH_MAX_ARGS 10    /* arguments per request before AUTH */
#define CONN_NOAUTH_MAX_BULK 16384 /* bytes per bulk string before AUTH */
#define CONN_OUT_CHUNK       16384 /* bytes per output chunk */
#define CONN_ZEROCOPY_MIN    16384 /* values this large are not copied */
#define CONN_IOV_MAX         64    /* chunks per writev(2) */
#define CONN_ARGS_INITIAL    16    /* argument slots of a new client */
#define CONN_READS_PER_EVENT 4     /* reads per readiness event */

struct out_chunk {
    struct out_chunk *next;
    size_t len;              /* bytes in data[] (or of the item's value) */
    size_t cap;              /* capacity of data[]; 0 for an item chunk */
    size_t sent;             /* bytes already written */
    struct engine_item item; /* the pinned value of an item chunk */
    char data[];
};

struct conn_stats conn_stats;
static struct conn *clients; /* list of all clients */
static size_t nclients;
static uint64_t next_client_id = 1;
static struct conn *current; /* the client whose input is being run */

static void conn_destroy(struct conn **cp);
static void check_output_limit(struct conn *c);
static bool conn_settle(struct conn *c);
static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

void
conn_setup(void)
{
    conn_teardown();
}

void
conn_teardown(void)
{
    while (clients != NULL) {
        struct conn *c = clients;
        conn_destroy(&c);
    }
}

struct conn *
conn_first(void)
{
    return clients;
}

size_t
conn_count(void)
{
    return nclients;
}

struct conn *
conn_by_id(uint64_t id)
{
    for (struct conn *c = clients; c != NULL; c = c->next) {
        if (c->id == id) {
            return c;
        }
    }
    return NULL;
}

/* ---- accepting ---- */

static void
format_addr(int fd, bool peer, bool is_unix, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                  : getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (is_unix || rc != 0) {
        snprintf(buf, cap, is_unix ? "%s:0" : "?:0",
                 is_unix ? (cfg.unixsocket != NULL ? cfg.unixsocket : "") : "");
        return;
    }
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        port = ntohs(s6->sin6_port);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        port = ntohs(s4->sin_port);
    }
    snprintf(buf, cap, "%s:%d", ip, port);
}

static bool
is_loopback_peer(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) {
        return false;
    }
    if (ss.ss_family == AF_INET) {
        uint32_t a = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);
        return (a >> 24) == 127;
    }
    if (ss.ss_family == AF_INET6) {
        struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) {
            return true;
        }
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

static void
refuse(int fd, const char *msg)
{
    conn_stats.rejected_connections++;
    ssize_t w = write(fd, msg, strlen(msg));
    (void)w;
    close(fd);
}

static void
tune_socket(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (cfg.tcp_keepalive > 0) {
        int secs = (int)cfg.tcp_keepalive;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof(secs));
    }
}

void
conn_accept(int fd, bool is_unix)
{
    conn_stats.connections_received++;
    if (nclients >= cfg.maxclients) {
        refuse(fd, "-ERR max number of clients reached\r\n");
        return;
    }
    if (!is_unix && cfg.protected_mode && cfg.requirepass[0] == '\0' &&
        !is_loopback_peer(fd)) {
        refuse(fd, "-DENIED offheapd is in protected mode: no requirepass is "
                   "set and the client is not on loopback. Set requirepass, "
                   "or turn protected-mode off.\r\n");
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return;
    }
    c->id = next_client_id++;
    c->fd = fd;
    c->is_unix = is_unix;
    c->resp = 2;
    c->authenticated = cfg.requirepass[0] == '\0';
    c->created = c->last_active = ev_now();
    c->last_cmd = -1;
    if (!is_unix) {
        tune_socket(fd);
    }
    format_addr(fd, true, is_unix, c->addr, sizeof(c->addr));
    format_addr(fd, false, is_unix, c->laddr, sizeof(c->laddr));
    c->ev_read = event_new(ev_base(), fd, EV_READ | EV_PERSIST, on_read, c);
    c->ev_write = event_new(ev_base(), fd, EV_WRITE | EV_PERSIST, on_write, c);
    event_add(c->ev_read, NULL);
    c->next = clients;
    if (clients != NULL) {
        clients->prev = c;
    }
    clients = c;
    nclients++;
}

/* ---- output queue ---- */

static void
chunk_free(struct out_chunk *ch)
{
    if (ch->cap == 0 && ch->item.pin != 0) {
        engine_release(&ch->item);
    }
    free(ch);
}

static struct out_chunk *
chunk_push(struct conn *c, size_t cap)
{
    struct out_chunk *ch = malloc(sizeof(*ch) + cap);
    if (ch == NULL) {
        abort(); /* out of memory for replies: nothing sane to do */
    }
    memset(ch, 0, sizeof(*ch));
    ch->cap = cap;
    if (c->out_tail != NULL) {
        c->out_tail->next = ch;
    } else {
        c->out_head = ch;
    }
    c->out_tail = ch;
    c->out_chunks++;
    return ch;
}

void
conn_out_append(struct conn *c, const void *p, size_t len)
{
    const char *src = p;
    c->out_bytes += len;
    while (len > 0) {
        struct out_chunk *ch = c->out_tail;
        if (ch == NULL || ch->cap == 0 || ch->len == ch->cap) {
            ch = chunk_push(c, len > CONN_OUT_CHUNK ? len : CONN_OUT_CHUNK);
        }
        size_t n = ch->cap - ch->len < len ? ch->cap - ch->len : len;
        memcpy(ch->data + ch->len, src, n);
        ch->len += n;
        src += n;
        len -= n;
    }
}

void
conn_out_item(struct conn *c, struct engine_item *item)
{
    if (item->vlen < CONN_ZEROCOPY_MIN) {
        conn_out_append(c, item->val, item->vlen);
        engine_release(item);
        return;
    }
    struct out_chunk *ch = chunk_push(c, 0);
    ch->item = *item;
    ch->len = item->vlen;
    c->out_bytes += item->vlen;
    item->pin = 0;
}

char *
conn_out_reserve(struct conn *c, size_t len, struct out_chunk **chunk)
{
    struct out_chunk *ch = c->out_tail;
    if (ch == NULL || ch->cap == 0 || ch->cap - ch->len < len) {
        ch = chunk_push(c, len > CONN_OUT_CHUNK ? len : CONN_OUT_CHUNK);
    }
    /* The reserved bytes must end their chunk so they can shrink later. */
    char *p = ch->data + ch->len;
    ch->len += len;
    c->out_bytes += len;
    *chunk = ch;
    chunk_push(c, CONN_OUT_CHUNK);
    return p;
}

char *
conn_out_reserved_ptr(struct out_chunk *chunk, size_t reserved)
{
    return chunk->data + chunk->len - reserved;
}

void
conn_out_fix(struct conn *c, struct out_chunk *chunk, size_t reserved,
             size_t used)
{
    chunk->len -= reserved - used;
    c->out_bytes -= reserved - used;
}

/* Writes as much of the output queue as the socket takes. Returns -1 on a
 * write error (the connection is then closed), else 0. */
static int
flush_output(struct conn *c)
{
    while (c->out_head != NULL) {
        struct iovec iov[CONN_IOV_MAX];
        int n = 0;
        for (struct out_chunk *ch = c->out_head; ch != NULL && n < CONN_IOV_MAX;
             ch = ch->next) {
            const char *base = ch->cap == 0 ? ch->item.val : ch->data;
            if (ch->len == ch->sent) {
                continue;
            }
            iov[n].iov_base = (void *)(uintptr_t)(base + ch->sent);
            iov[n].iov_len = ch->len - ch->sent;
            n++;
        }
        ssize_t w = n > 0 ? writev(c->fd, iov, n) : 0;
        if (w < 0) {
            return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                       ? 0
                       : -1;
        }
        conn_stats.net_output_bytes += (uint64_t)w;
        c->out_bytes -= (uint64_t)w;
        size_t left = (size_t)w;
        while (c->out_head != NULL) {
            struct out_chunk *ch = c->out_head;
            size_t rest = ch->len - ch->sent;
            if (left < rest) {
                ch->sent += left;
                return 0;
            }
            left -= rest;
            c->out_head = ch->next;
            if (c->out_head == NULL) {
                c->out_tail = NULL;
            }
            c->out_chunks--;
            chunk_free(ch);
        }
    }
    return 0;
}

void
conn_flush_all(int timeout_ms)
{
    uint64_t deadline = ev_monotonic_us() + (uint64_t)timeout_ms * 1000;
    for (;;) {
        struct pollfd fds[CONN_IOV_MAX];
        nfds_t n = 0;
        for (struct conn *c = clients; c != NULL; c = c->next) {
            if (c->out_head != NULL && !c->close_now && flush_output(c) == 0 &&
                c->out_head != NULL && n < CONN_IOV_MAX) {
                fds[n++] = (struct pollfd){.fd = c->fd, .events = POLLOUT};
            }
        }
        uint64_t now = ev_monotonic_us();
        if (n == 0 || now >= deadline) {
            return;
        }
        poll(fds, n, (int)((deadline - now) / 1000) + 1);
    }
}

/* ---- closing ---- */

static void
conn_destroy(struct conn **cp)
{
    struct conn *c = *cp;
    if (c == NULL) {
        return;
    }
    cmd_multi_reset(c);
    cmd_monitor_forget(c);
    localread_detach(c);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        clients = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    nclients--;
    event_free(c->ev_read);
    event_free(c->ev_write);
    close(c->fd);
    while (c->out_head != NULL) {
        struct out_chunk *ch = c->out_head;
        c->out_head = ch->next;
        chunk_free(ch);
    }
    free(c->ibuf);
    free(c->args);
    free(c->argv);
    free(c);
    *cp = NULL;
}

void
conn_out_push(struct conn *c)
{
    if (c == current) {
        return; /* written after its own request, as usual */
    }
    check_output_limit(c);
    conn_settle(c);
}

void
conn_close_after_reply(struct conn *c)
{
    c->closing = true;
}

void
conn_kill(struct conn *c)
{
    if (c == current) {
        c->close_now = true;
        return;
    }
    conn_destroy(&c);
}

/* Decides what to do after work on `c`: destroy it, wait for the socket
 * to take more output, or go on. Returns false if `c` was destroyed. */
static bool
conn_settle(struct conn *c)
{
    if (!c->close_now && flush_output(c) != 0) {
        c->close_now = true;
    }
    if (c->close_now || (c->closing && c->out_head == NULL)) {
        conn_destroy(&c);
        return false;
    }
    if (c->out_head != NULL) {
        event_add(c->ev_write, NULL);
    } else {
        event_del(c->ev_write);
    }
    return true;
}

/* Tells whether `c` is over the normal class's soft limit for longer
 * than it allows (the clock starts when the output first passes it). */
static bool
over_soft_limit(struct conn *c)
{
    const struct obuf_limit *l = &cfg_obuf[OBUF_NORMAL];
    if (l->soft == 0 || c->out_bytes <= l->soft) {
        c->obuf_soft_since = 0;
        return false;
    }
    oh_time now = ev_now();
    if (c->obuf_soft_since == 0) {
        c->obuf_soft_since = now;
    }
    return now - c->obuf_soft_since > (oh_time)l->soft_secs * 1000;
}

static void
check_output_limit(struct conn *c)
{
    const struct obuf_limit *l = &cfg_obuf[OBUF_NORMAL];
    bool over_hard = l->hard != 0 && c->out_bytes > l->hard;
    if ((over_hard || over_soft_limit(c)) && !c->close_now) {
        log_warn("client id=%" PRIu64 " addr=%s closed for overcoming of "
                 "output buffer limits (%" PRIu64 " bytes pending, %s limit)",
                 c->id, c->addr, c->out_bytes, over_hard ? "hard" : "soft");
        conn_stats.client_output_buffer_limit_disconnections++;
        c->close_now = true;
    }
    if (c->out_bytes > conn_stats.max_output_buffer) {
        conn_stats.max_output_buffer = c->out_bytes;
    }
}

/* ---- input ---- */

/* Where the output queue ends, so that a silenced command's replies can be
 * taken back (CLIENT REPLY OFF / SKIP). */
struct out_mark {
    struct out_chunk *tail;
    size_t tail_len;
    uint64_t bytes;
};

static void
out_mark_take(const struct conn *c, struct out_mark *m)
{
    m->tail = c->out_tail;
    m->tail_len = c->out_tail != NULL ? c->out_tail->len : 0;
    m->bytes = c->out_bytes;
}

/* Drops what was queued since `m` (nothing of it was written yet: output
 * is written only after the request). */
static void
out_rewind(struct conn *c, const struct out_mark *m)
{
    struct out_chunk *ch = m->tail != NULL ? m->tail->next : c->out_head;
    while (ch != NULL) {
        struct out_chunk *next = ch->next;
        c->out_chunks--;
        chunk_free(ch);
        ch = next;
    }
    if (m->tail != NULL) {
        m->tail->next = NULL;
        m->tail->len = m->tail_len;
    } else {
        c->out_head = NULL;
    }
    c->out_tail = m->tail;
    c->out_bytes = m->bytes;
}

static bool
grow(void **p, size_t *cap, size_t want, size_t elem)
{
    if (want <= *cap) {
        return true;
    }
    size_t ncap = *cap ? *cap : 16;
    while (ncap < want) {
        ncap *= 2;
    }
    void *np = realloc(*p, ncap * elem);
    if (np == NULL) {
        return false;
    }
    *p = np;
    *cap = ncap;
    return true;
}

static void
run_request(struct conn *c, char *req, size_t nargs)
{
    if (!grow((void **)&c->argv, &c->argv_cap, nargs,
              sizeof(struct resp_str))) {
        c->close_now = true;
        return;
    }
    for (size_t i = 0; i < nargs; i++) {
        c->argv[i].p = req + c->args[i].off;
        c->argv[i].len = c->args[i].len;
    }
    struct cmd_req r = {(int)nargs, c->argv, ev_now()};
    c->last_active = r.now;
    conn_stats.total_commands++;
    bool silenced = c->reply_off || c->reply_skip;
    c->reply_skip = false;
    struct out_mark mark;
    out_mark_take(c, &mark);
    cmd_dispatch(c, &r);
    if (silenced && !c->reply_keep) {
        out_rewind(c, &mark);
    }
    c->reply_keep = false;
    check_output_limit(c);
}

/* Tells whether `c` still has to AUTH (so gets the pre-AUTH limits). */
static bool
needs_auth(const struct conn *c)
{
    return !c->authenticated && cfg.requirepass[0] != '\0';
}

static struct resp_limits
full_limits(void)
{
    return (struct resp_limits){
        .max_args = RESP_MAX_ARGS,
        .max_bulk = (long long)cfg.proto_max_bulk_len,
        .max_inline = RESP_MAX_INLINE,
    };
}

/* The parser limits for the next request of `c`: checked per request, as
 * an AUTH earlier in the same batch lifts the pre-AUTH ones. */
static struct resp_limits
input_limits(const struct conn *c)
{
    struct resp_limits lim = full_limits();
    if (needs_auth(c)) {
        lim.max_args = CONN_NOAUTH_MAX_ARGS;
        lim.max_bulk = CONN_NOAUTH_MAX_BULK;
    }
    return lim;
}

/* Returns Redis's message if the protocol error of `c` came from a
 * pre-AUTH limit (the request parses under the full limits), else NULL.
 * Only multibulk requests are parsed again: parsing an inline one may have
 * unescaped it in place. */
static const char *
noauth_limit_error(struct conn *c)
{
    if (!needs_auth(c) || c->ibuf[c->ipos] != '*') {
        return NULL;
    }
    const struct resp_limits full = full_limits();
    struct resp_parser ps;
    resp_parser_reset(&ps);
    if (resp_parse_request(&ps, c->ibuf + c->ipos, c->ilen - c->ipos, c->args,
                           c->args_cap, &full) == RESP_EPROTO) {
        return NULL;
    }
    return strstr(c->parser.err, "multibulk") != NULL
               ? "Protocol error: unauthenticated multibulk length"
               : "Protocol error: unauthenticated bulk length";
}

static void
protocol_error(struct conn *c)
{
    const char *why = noauth_limit_error(c);
    conn_stats.protocol_errors++;
    if (why == NULL) {
        why = c->parser.err;
    }
    log_verbose("protocol error from client id=%" PRIu64 " addr=%s: %s", c->id,
                c->addr, why);
    reply_errorf(c, "ERR %s", why);
    conn_close_after_reply(c);
}

/* Requests looked at ahead; arguments the look-ahead parse takes (enough
 * for GET/SET/EXPIRE forms: a longer request ends the look-ahead); fewer
 * bytes pending than LOOKAHEAD_MIN_BYTES cannot hold two such requests. */
#define LOOKAHEAD_REQS      16
#define LOOKAHEAD_ARGS      8
#define LOOKAHEAD_MIN_BYTES 40

/* Looks at the complete requests ahead in the input buffer and has the
 * engine prefetch their keys (argument 1): first the index buckets of all,
 * then the entries those point at, so that a pipeline's lookups overlap
 * their cache misses instead of waiting for each. Only multibulk requests
 * are looked at: parsing an inline one unescapes its quoted arguments in
 * place, and the main loop must parse the bytes as they came. Returns how
 * many requests it looked at (0 if fewer than two: nothing to overlap, and
 * nothing is hashed). */
static size_t
prefetch_ahead(struct conn *c, const struct resp_limits *lim)
{
    struct resp_parser ps;
    struct resp_arg a[LOOKAHEAD_ARGS];
    const char *key[LOOKAHEAD_REQS];
    size_t klen[LOOKAHEAD_REQS];
    uint64_t hash[LOOKAHEAD_REQS];
    size_t pos = c->ipos, seen = 0, n = 0;
    resp_parser_reset(&ps);
    while (seen < LOOKAHEAD_REQS && pos < c->ilen && c->ibuf[pos] == '*') {
        int rc = resp_parse_request(&ps, c->ibuf + pos, c->ilen - pos, a,
                                    LOOKAHEAD_ARGS, lim);
        if (rc <= 0) {
            break; /* incomplete, long or malformed: the main loop decides */
        }
        if (ps.nargs >= 2) {
            key[n] = c->ibuf + pos + a[1].off;
            klen[n++] = a[1].len;
        }
        seen++;
        pos += (size_t)rc;
        resp_parser_reset(&ps);
    }
    if (seen < 2) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        hash[i] = engine_key_hash(key[i], klen[i]);
        engine_prefetch(hash[i], false);
    }
    for (size_t i = 0; n >= 2 && i < n; i++) {
        engine_prefetch_entry(hash[i]);
    }
    return seen;
}

/* Parses and runs every complete request in the input buffer. */
static void
process_input(struct conn *c)
{
    size_t prefetched = 0; /* requests ahead whose keys were prefetched */
    while (!c->close_now && !c->closing && c->ipos < c->ilen) {
        const struct resp_limits lim = input_limits(c);
        if (prefetched == 0 && c->parser.pos == 0 &&
            c->ilen - c->ipos > LOOKAHEAD_MIN_BYTES) {
            prefetched = prefetch_ahead(c, &lim);
        }
        char *req = c->ibuf + c->ipos;
        size_t avail = c->ilen - c->ipos;
        if (c->parser.need > avail) {
            break;
        }
        int rc = resp_parse_request(&c->parser, req, avail, c->args,
                                    c->args_cap, &lim);
        if (rc == RESP_NEEDARGS) {
            if (!grow((void **)&c->args, &c->args_cap, c->parser.args_want,
                      sizeof(struct resp_arg))) {
                c->close_now = true;
            }
            continue;
        }
        if (rc == RESP_INCOMPLETE) {
            break;
        }
        if (rc == RESP_EPROTO) {
            protocol_error(c);
            break;
        }
        size_t nargs = c->parser.nargs;
        resp_parser_reset(&c->parser);
        if (nargs > 0) {
            run_request(c, req, nargs); /* still in ibuf: CLIENT LIST qbuf */
        }
        c->ipos += (size_t)rc;
        prefetched -= prefetched > 0;
    }
    if (c->ipos == c->ilen) {
        c->ipos = c->ilen = 0;
    } else if (c->ipos > 0) {
        memmove(c->ibuf, c->ibuf + c->ipos, c->ilen - c->ipos);
        c->ilen -= c->ipos;
        c->ipos = 0;
    }
}

/* How many bytes to ask read(2) for: a normal chunk, or the rest of a large
 * bulk in one go. */
static size_t
read_size(const struct conn *c)
{
    size_t pending = c->ilen - c->ipos;
    if (c->parser.need > pending &&
        c->parser.need - pending > CONN_READ_CHUNK) {
        return c->parser.need - pending;
    }
    return CONN_READ_CHUNK;
}

/* Reads once. Returns bytes read, 0 on EOF, -1 on error, -2 if nothing was
 * available. */
static ssize_t
read_once(struct conn *c)
{
    size_t want = read_size(c);
    if (!grow((void **)&c->ibuf, &c->icap, c->ilen + want, 1)) {
        return -1;
    }
    ssize_t n = read(c->fd, c->ibuf + c->ilen, c->icap - c->ilen);
    if (n < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -2
                                                                           : -1;
    }
    c->ilen += (size_t)n;
    if (c->ilen > c->ipeak) {
        c->ipeak = c->ilen;
    }
    c->last_active = ev_now(); /* a client sending a large value is busy */
    conn_stats.net_input_bytes += (uint64_t)n;
    return n;
}

static bool
over_query_limit(struct conn *c)
{
    size_t pending = c->ilen - c->ipos;
    if (pending > conn_stats.max_input_buffer) {
        conn_stats.max_input_buffer = pending;
    }
    if (pending <= cfg.client_query_buffer_limit) {
        return false;
    }
    log_warn("closing client id=%" PRIu64 " addr=%s that reached max query "
             "buffer length (%zu bytes)",
             c->id, c->addr, pending);
    conn_stats.client_query_buffer_limit_disconnections++;
    return true;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct conn *c = arg;
    ev_clock_update();
    current = c;
    for (int i = 0; i < CONN_READS_PER_EVENT && !c->close_now; i++) {
        ssize_t n = read_once(c);
        if (n == -2) {
            break;
        }
        if (n <= 0 || over_query_limit(c)) {
            c->close_now = true;
            break;
        }
        process_input(c);
        if ((size_t)n < read_size(c) || c->closing) {
            break;
        }
    }
    current = NULL;
    if (conn_settle(c)) {
        if (c->closing) {
            event_del(c->ev_read);
        }
    }
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn_settle(arg);
}

/* ---- periodic work ---- */

/* Cuts the input buffer of `c` as the top of this file says. Runs between
 * requests (ipos is 0): arguments are offsets, so the buffer may move. */
static void
resize_input(struct conn *c, oh_time now)
{
    size_t want = c->icap;
    if (now - c->last_active >= CONN_IBUF_IDLE_MS) {
        want = c->ilen;
    } else if (c->icap > CONN_IBUF_RESIZE_MIN && c->icap / 2 > c->ipeak) {
        want = c->ipeak > c->ilen ? c->ipeak : c->ilen;
    }
    c->ipeak = c->ilen;
    if (want >= c->icap) {
        return;
    }
    if (want == 0) {
        free(c->ibuf);
        c->ibuf = NULL;
        c->icap = 0;
        return;
    }
    char *p = realloc(c->ibuf, want);
    if (p != NULL) {
        c->ibuf = p;
        c->icap = want;
    }
}

static void
resize_inputs(oh_time now)
{
    static oh_time next_check;
    if (now < next_check) {
        return;
    }
    next_check = now + CONN_IBUF_CHECK_MS;
    for (struct conn *c = clients; c != NULL; c = c->next) {
        resize_input(c, now);
    }
}

void
conn_cron(oh_time now)
{
    resize_inputs(now);
    bool soft_limit = cfg_obuf[OBUF_NORMAL].soft != 0;
    if (cfg.timeout == 0 && !soft_limit) {
        return;
    }
    struct conn *next;
    for (struct conn *c = clients; c != NULL; c = next) {
        next = c->next;
        if (soft_limit && c->obuf_soft_since != 0) {
            /* a client that stopped asking is still over its soft limit */
            check_output_limit(c);
            if (c->close_now) {
                conn_destroy(&c);
                continue;
            }
        }
        if (cfg.timeout == 0) {
            continue;
        }
        oh_time idle_ms = now - c->last_active;
        if (idle_ms > (oh_time)cfg.timeout * 1000 && !c->in_multi &&
            c->out_head == NULL) {
            log_verbose("closing idle client id=%" PRIu64, c->id);
            conn_destroy(&c);
        }
    }
}

size_t
conn_describe(const struct conn *c, oh_time now, char *buf, size_t cap)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "%s%s%s",
             c->last_cmd >= 0 ? cmd_table[c->last_cmd].name : "NULL",
             c->last_sub != NULL ? "|" : "",
             c->last_sub != NULL ? c->last_sub : "");
    int n = snprintf(
        buf, cap,
        "id=%" PRIu64 " addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld "
        "flags=%s db=0 sub=0 psub=0 ssub=0 multi=%d qbuf=%zu "
        "qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=%zu obl=0 "
        "oll=%zu omem=%" PRIu64 " tot-mem=%zu events=r%s cmd=%s user=default "
        "redir=-1 resp=%d lib-name=%s lib-ver=%s",
        c->id, c->addr, c->laddr, c->fd, c->name,
        (long long)((now - c->created) / 1000),
        (long long)((now - c->last_active) / 1000), c->in_multi ? "x" : "N",
        c->in_multi ? (int)c->multi_count : -1, c->ilen - c->ipos,
        c->icap - c->ilen, c->icap, c->icap, c->out_chunks, c->out_bytes,
        sizeof(*c) + c->icap, c->out_head != NULL ? "w" : "", cmd, c->resp,
        c->lib_name, c->lib_ver);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
