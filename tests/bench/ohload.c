/*
 * ohload.c -- the load generator behind the tests/bench scripts.
 *
 * One binary, libc only, that speaks RESP (offheapd, redis-server) and the
 * memcached text protocol, so every peer sees the same requests from the
 * same code. Modes:
 *
 *   load    SET (or GET, DEL, EXISTS) keys [first, first+keys), pipelined
 *           over `conns` connections, `pipeline` requests per round trip
 *   replay  look-aside replay: GET, and SET on a miss; Zipf, scan-heavy or
 *           shifting-popularity key streams; miss ratio after a warm-up
 *   rounds  look-aside rounds over a working set (a random permutation per
 *           round); after each round counts the live keys without touching
 *           them and prints hit ratio, RSS and RSS / live data
 *   probe   open-loop GETs at a fixed rate with a latency histogram,
 *           optionally next to a paced background stream (get|set|del)
 *   expiry  samples memory and probes expiring and live keys around a mass
 *           expiry at unix second T
 *   stat    prints INFO / stats fields
 *   steps   times calls of functions in a running process with uprobes
 *           (perf_event_open), e.g. offheapd's engine_step
 *   jitter  spins on this CPU and reports how long it was taken away
 *
 * Keys are `prefix` + a zero-padded decimal id, `key_len` bytes in all.
 * Values are a slice of a fixed pseudo-random pattern chosen by the id, so
 * a GET can be checked (--verify): a value of the wrong length or bytes is
 * counted as `bad`. A key's value length is val_min + h(id) % (val_max -
 * val_min + 1). Everything random comes from splitmix64 seeded by --seed.
 *
 * Latency histogram: log-linear over nanoseconds, 64 sub-buckets per power
 * of two (<= 1.6 % error), percentiles report the bucket's upper bound.
 * The probe is open loop: latency is measured from the time a request was
 * due, not when it was sent, so a stalled server is not hidden by a
 * stalled client (coordinated omission).
 *
 * Look-aside batches: a batch of `pipeline` GETs is sent, then SETs for
 * the misses. A key that misses twice in one batch counts one miss (a
 * sequential replay would have stored it after the first), so the miss
 * ratio equals a sequential replay's up to eviction order inside a batch.
 *
 * Rejected: hiredis (no memcached protocol, and one parser for both keeps
 * the cost per request equal); memaslap / redis-benchmark (neither does
 * look-aside replay, Zipf or open-loop latency).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RBUF_MIN       (1u << 20) /* bytes of read buffer per connection */
#define PATTERN_SLACK  4096u      /* offsets into the value pattern */
#define EXISTS_GROUP   64u        /* keys per RESP EXISTS */
#define BATCH_MAX      4096u      /* pipeline depth limit */
#define CONNS_MAX      64u
#define HIST_SUB       64u /* sub-buckets per power of two */
#define HIST_N         (2 * HIST_SUB + 40 * HIST_SUB)
#define PENDING_MAX    (1u << 21) /* outstanding probe requests */
#define BG_OUTSTANDING 8u         /* background batches in flight */
#define FUNCS_MAX      8u

/* ---- options ---- */

enum otype { O_STR, O_U64, O_DBL, O_BOOL };

/* clang-format off */
/*  name          type    default        description */
#define OPTIONS(X)                                                                       \
    X(host,        O_STR,  "127.0.0.1",  "server address")                              \
    X(port,        O_U64,  "6388",       "server port")                                 \
    X(proto,       O_STR,  "resp",       "resp | mc (memcached text protocol)")         \
    X(seed,        O_U64,  "1",          "random seed")                                 \
    X(conns,       O_U64,  "1",          "connections (load)")                          \
    X(pipeline,    O_U64,  "64",         "requests per round trip / batch")             \
    X(op,          O_STR,  "set",        "load: set | get | del | exists")              \
    X(keys,        O_U64,  "1000000",    "keys (load, replay, rounds, probe)")          \
    X(first,       O_U64,  "0",          "first key id")                                \
    X(prefix,      O_STR,  "k",          "key prefix")                                  \
    X(key_len,     O_U64,  "12",         "key length incl. prefix")                     \
    X(val_min,     O_U64,  "32",         "smallest value length")                       \
    X(val_max,     O_U64,  "32",         "largest value length")                        \
    X(ttl,         O_U64,  "0",          "SET EX seconds (0: none)")                    \
    X(expire_at,   O_U64,  "0",          "SET EXAT unix seconds (expiry: T)")           \
    X(verify,      O_BOOL, "1",          "check values returned by GET")                \
    X(requests,    O_U64,  "3000000",    "replay: requests")                            \
    X(warmup,      O_DBL,  "0.2",        "replay: share of requests not counted")       \
    X(zipf,        O_DBL,  "1.0",        "replay: Zipf exponent")                       \
    X(workload,    O_STR,  "zipf",       "replay: zipf | scan | shift")                 \
    X(scan_frac,   O_DBL,  "0.25",       "replay scan: share of requests in scans")     \
    X(scan_len,    O_U64,  "20000",      "replay scan: keys per scan burst")            \
    X(shift_every, O_U64,  "0",          "replay shift: requests per epoch (0: requests/10)") \
    X(shift_by,    O_U64,  "0",          "replay shift: ranks moved per epoch (0: keys/10)")  \
    X(secs,        O_DBL,  "10",         "duration (probe, rounds, steps, expiry: after T)")  \
    X(rate,        O_DBL,  "20000",      "probe: GETs per second")                      \
    X(bg_op,       O_STR,  "",           "probe: background get | set | del")           \
    X(bg_rate,     O_DBL,  "0",          "probe: background requests per second")       \
    X(bg_keys,     O_U64,  "1000000",    "probe: background key range")                 \
    X(bg_first,    O_U64,  "0",          "probe: background first id")                  \
    X(bg_prefix,   O_STR,  "b",          "probe: background key prefix")                \
    X(bg_val,      O_U64,  "32",         "probe: background SET value length")          \
    X(bg_keep,     O_U64,  "0",          "probe: set/del skip ids divisible by this")   \
    X(pid,         O_U64,  "0",          "server pid (RSS from /proc; steps target)")   \
    X(old_item,    O_U64,  "112",        "rounds: live bytes of an item not in the set")\
    X(steady,      O_DBL,  "0",          "rounds: hit ratio bar (0: last quarter's - 0.02)")\
    X(live_keys,   O_U64,  "0",          "expiry: live keys (prefix live_prefix)")      \
    X(live_prefix, O_STR,  "l",          "expiry: live key prefix")                     \
    X(sample,      O_U64,  "50",         "expiry: keys of each kind probed per tick")   \
    X(interval_ms, O_U64,  "50",         "expiry: sampling period")                     \
    X(base_used,   O_U64,  "0",          "expiry: used memory before the expiring load")\
    X(base_entries,O_U64,  "0",          "expiry: used_memory before the expiring load")\
    X(field,       O_STR,  "used,items", "stat: comma-separated fields")                \
    X(exe,         O_STR,  "",           "steps: executable of the process")            \
    X(func,        O_STR,  "engine_step","steps: comma-separated functions")            \
    X(verbose,     O_BOOL, "0",          "print series / per-round lines")
/* clang-format on */

static struct opts {
#define O_FIELD_O_STR            const char *
#define O_FIELD_O_U64            uint64_t
#define O_FIELD_O_DBL            double
#define O_FIELD_O_BOOL           bool
#define X(name, type, def, desc) O_FIELD_##type name;
    OPTIONS(X)
#undef X
} o;

struct optdesc {
    const char *name;
    enum otype type;
    size_t off;
    const char *def;
    const char *desc;
};

static const struct optdesc optdescs[] = {
#define X(name, type, def, desc)                                               \
    {#name, type, offsetof(struct opts, name), def, desc},
    OPTIONS(X)
#undef X
};
#define NOPTS (sizeof(optdescs) / sizeof(optdescs[0]))

static bool mc; /* memcached protocol */

static void
die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ohload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void
opt_set(const struct optdesc *d, const char *v)
{
    char *p = (char *)&o + d->off;
    char *end = NULL;
    switch (d->type) {
    case O_STR:
        *(const char **)(void *)p = v;
        return;
    case O_U64:
        *(uint64_t *)(void *)p = strtoull(v, &end, 10);
        break;
    case O_DBL:
        *(double *)(void *)p = strtod(v, &end);
        break;
    case O_BOOL:
        *(bool *)(void *)p = strtoul(v, &end, 10) != 0;
        break;
    }
    if (end == v || *end != '\0') {
        die("bad value '%s' for --%s", v, d->name);
    }
}

static void
usage(void)
{
    fputs("usage: ohload load|replay|rounds|probe|expiry|stat|steps|jitter "
          "[--option value ...]\n",
          stderr);
    for (size_t i = 0; i < NOPTS; i++) {
        fprintf(stderr, "  --%-12s %-12s %s\n", optdescs[i].name,
                optdescs[i].def, optdescs[i].desc);
    }
    exit(2);
}

static const char *
opts_parse(int argc, char **argv)
{
    for (size_t i = 0; i < NOPTS; i++) {
        opt_set(&optdescs[i], optdescs[i].def);
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage();
    }
    for (int a = 2; a < argc; a += 2) {
        char name[64];
        if (strncmp(argv[a], "--", 2) != 0 || a + 1 >= argc ||
            strlen(argv[a]) >= sizeof(name) + 2) {
            usage();
        }
        snprintf(name, sizeof(name), "%s", argv[a] + 2);
        for (char *p = name; *p; p++) {
            *p = *p == '-' ? '_' : *p;
        }
        size_t i = 0;
        while (i < NOPTS && strcmp(optdescs[i].name, name) != 0) {
            i++;
        }
        if (i == NOPTS) {
            die("unknown option %s", argv[a]);
        }
        opt_set(&optdescs[i], argv[a + 1]);
    }
    mc = strcmp(o.proto, "mc") == 0;
    if (o.pipeline < 1 || o.pipeline > BATCH_MAX || o.conns < 1 ||
        o.conns > CONNS_MAX || o.val_min > o.val_max) {
        die("pipeline 1..%u, conns 1..%u, val_min <= val_max", BATCH_MAX,
            CONNS_MAX);
    }
    return argv[1];
}

/* ---- time, randomness ---- */

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
sleep_until_wall_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_state;

static uint64_t
rnd(void)
{
    rng_state += 0x9e3779b97f4a7c15ull;
    return mix64(rng_state);
}

static double
rnd01(void)
{
    return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t
rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* ---- keys and values ---- */

static char *pattern;

static void
pattern_setup(void)
{
    size_t n = o.val_max + PATTERN_SLACK;
    if (o.bg_val + PATTERN_SLACK > n) {
        n = o.bg_val + PATTERN_SLACK;
    }
    pattern = malloc(n);
    if (pattern == NULL) {
        die("out of memory");
    }
    uint64_t s = mix64(o.seed ^ 0x5eed);
    for (size_t i = 0; i < n; i++) {
        s = mix64(s + i);
        pattern[i] = (char)('a' + s % 26);
    }
}

static size_t
val_len(uint64_t id)
{
    uint64_t span = o.val_max - o.val_min + 1;
    return o.val_min + (size_t)(mix64(id ^ 0xa5a5a5a5u) % span);
}

static const char *
val_ptr(uint64_t id)
{
    return pattern + mix64(id) % PATTERN_SLACK;
}

/* Writes prefix + zero-padded id into buf (key_len bytes). */
static size_t
key_fmt(char *buf, const char *prefix, uint64_t id)
{
    size_t plen = strlen(prefix);
    size_t n = o.key_len;
    if (plen >= n || n > 250) {
        die("key_len %zu too small for prefix '%s' (max 250)", n, prefix);
    }
    memcpy(buf, prefix, plen);
    for (size_t i = n; i > plen; i--) {
        buf[i - 1] = (char)('0' + id % 10);
        id /= 10;
    }
    if (id != 0) {
        die("key id does not fit in %zu bytes", n);
    }
    return n;
}

/* ---- connections ---- */

struct conn {
    int fd;
    char *rbuf;
    size_t rcap, rpos, rlen; /* unparsed input is rbuf[rpos, rlen) */
    char *wbuf;
    size_t wcap, wlen, wpos; /* unsent output is wbuf[wpos, wlen) */
};

static void
conn_open(struct conn *c)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char port[16];
    memset(c, 0, sizeof(*c));
    snprintf(port, sizeof(port), "%llu", (unsigned long long)o.port);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(o.host, port, &hints, &ai) != 0 || ai == NULL) {
        die("cannot resolve %s", o.host);
    }
    c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        die("cannot connect to %s:%s: %s", o.host, port, strerror(errno));
    }
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->rcap = RBUF_MIN;
    c->rbuf = malloc(c->rcap);
    c->wcap = 1u << 16;
    c->wbuf = malloc(c->wcap);
    if (c->rbuf == NULL || c->wbuf == NULL) {
        die("out of memory");
    }
}

static void
conn_close(struct conn *c)
{
    close(c->fd);
    free(c->rbuf);
    free(c->wbuf);
    memset(c, 0, sizeof(*c));
}

static void
put(struct conn *c, const void *p, size_t n)
{
    if (c->wlen + n > c->wcap) {
        while (c->wlen + n > c->wcap) {
            c->wcap *= 2;
        }
        c->wbuf = realloc(c->wbuf, c->wcap);
        if (c->wbuf == NULL) {
            die("out of memory");
        }
    }
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
}

static void
put_s(struct conn *c, const char *s)
{
    put(c, s, strlen(s));
}

static void
put_u(struct conn *c, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(c, tmp + i, sizeof(tmp) - i);
}

static void
put_bulk(struct conn *c, const char *p, size_t n)
{
    put(c, "$", 1);
    put_u(c, n);
    put(c, "\r\n", 2);
    put(c, p, n);
    put(c, "\r\n", 2);
}

static void
put_arr(struct conn *c, unsigned n)
{
    put(c, "*", 1);
    put_u(c, n);
    put(c, "\r\n", 2);
}

/* Sends what can be sent; blocks unless nonblock. */
static void
conn_flush(struct conn *c, bool nonblock)
{
    while (c->wpos < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->wpos, c->wlen - c->wpos,
                         nonblock ? MSG_DONTWAIT : 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && nonblock) {
            return;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            die("send: %s", strerror(errno));
        }
        c->wpos += (size_t)n;
    }
    c->wpos = c->wlen = 0;
}

/* Reads more input. Returns bytes read (0 if nonblock and none ready). */
static size_t
conn_fill(struct conn *c, bool nonblock)
{
    if (c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
    if (c->rlen + 4096 > c->rcap) {
        c->rcap *= 2;
        c->rbuf = realloc(c->rbuf, c->rcap);
        if (c->rbuf == NULL) {
            die("out of memory");
        }
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen,
                         nonblock ? MSG_DONTWAIT : 0);
        if (n > 0) {
            c->rlen += (size_t)n;
            return (size_t)n;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && nonblock && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        }
        die("connection to %s:%llu lost: %s", o.host,
            (unsigned long long)o.port, n == 0 ? "closed" : strerror(errno));
    }
}

/* ---- requests ---- */

static void
req_get(struct conn *c, const char *k, size_t kl)
{
    if (mc) {
        put(c, "get ", 4);
        put(c, k, kl);
        put(c, "\r\n", 2);
        return;
    }
    put(c, "*2\r\n$3\r\nGET\r\n", 13);
    put_bulk(c, k, kl);
}

/* SET with the options' expiry (ttl or expire_at). */
static void
req_set(struct conn *c, const char *k, size_t kl, const char *v, size_t vl)
{
    uint64_t exp = o.expire_at ? o.expire_at : o.ttl;
    if (mc) {
        put(c, "set ", 4);
        put(c, k, kl);
        put(c, " 0 ", 3);
        put_u(c, exp);
        put(c, " ", 1);
        put_u(c, vl);
        put(c, "\r\n", 2);
        put(c, v, vl);
        put(c, "\r\n", 2);
        return;
    }
    put_arr(c, exp ? 5 : 3);
    put(c, "$3\r\nSET\r\n", 9);
    put_bulk(c, k, kl);
    put_bulk(c, v, vl);
    if (exp) {
        put_bulk(c, o.expire_at ? "EXAT" : "EX", o.expire_at ? 4 : 2);
        char tmp[24];
        int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)exp);
        put_bulk(c, tmp, (size_t)n);
    }
}

static void
req_del(struct conn *c, const char *k, size_t kl)
{
    if (mc) {
        put(c, "delete ", 7);
        put(c, k, kl);
        put(c, "\r\n", 2);
        return;
    }
    put(c, "*2\r\n$3\r\nDEL\r\n", 13);
    put_bulk(c, k, kl);
}

/* Asks whether keys exist without marking them accessed: RESP EXISTS of
 * up to n keys (one reply), memcached `mg <key> u` (one reply each). */
static unsigned
req_exists(struct conn *c, const char *prefix, uint64_t id, unsigned n)
{
    char k[256];
    if (mc) {
        for (unsigned i = 0; i < n; i++) {
            put(c, "mg ", 3);
            put(c, k, key_fmt(k, prefix, id + i));
            put(c, " u\r\n", 4);
        }
        return n;
    }
    put_arr(c, n + 1);
    put(c, "$6\r\nEXISTS\r\n", 12);
    for (unsigned i = 0; i < n; i++) {
        put_bulk(c, k, key_fmt(k, prefix, id + i));
    }
    return 1;
}

/* ---- replies ---- */

enum rtype { RP_OK, RP_NIL, RP_VAL, RP_INT, RP_ERR };

struct reply {
    enum rtype type;
    const char *p; /* RP_VAL data, RP_ERR text; BORROWED until conn_fill() */
    size_t len;
    const char *key; /* memcached multi-get: the VALUE's key (BORROWED) */
    size_t klen;
    long long i;
};

static bool
starts(const char *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    return n >= l && memcmp(p, s, l) == 0;
}

/* Parses one RESP reply at p[0, n). Returns bytes used, 0 if incomplete,
 * -1 on a reply this tool does not handle. */
static long
parse_resp(const char *p, size_t n, struct reply *r)
{
    const char *nl = memchr(p, '\n', n);
    if (nl == NULL) {
        return 0;
    }
    size_t line = (size_t)(nl - p) + 1;
    r->p = p + 1;
    r->len = line >= 3 ? line - 3 : 0;
    switch (p[0]) {
    case '+':
        r->type = RP_OK;
        return (long)line;
    case '-':
        r->type = RP_ERR;
        return (long)line;
    case ':':
        r->type = RP_INT;
        r->i = strtoll(p + 1, NULL, 10);
        return (long)line;
    case '_':
        r->type = RP_NIL;
        return (long)line;
    case '$':
    case '=': {
        long long len = strtoll(p + 1, NULL, 10);
        if (len < 0) {
            r->type = RP_NIL;
            return (long)line;
        }
        if (n < line + (size_t)len + 2) {
            return 0;
        }
        r->type = RP_VAL;
        r->p = p + line;
        r->len = (size_t)len;
        return (long)(line + (size_t)len + 2);
    }
    default:
        return -1;
    }
}

/* Parses one memcached reply (same contract as parse_resp). */
static long
parse_mc(const char *p, size_t n, struct reply *r)
{
    const char *nl = memchr(p, '\n', n);
    if (nl == NULL) {
        return 0;
    }
    size_t line = (size_t)(nl - p) + 1;
    r->p = p;
    r->len = line - 2;
    if (starts(p, n, "VALUE ")) {
        const char *sp = memrchr(p, ' ', line);
        size_t len = (size_t)strtoull(sp + 1, NULL, 10);
        if (n < line + len + 2 + 5) {
            return 0;
        }
        r->type = RP_VAL;
        r->p = p + line;
        r->len = len;
        return (long)(line + len + 2 + 5); /* data \r\n END\r\n */
    }
    if (starts(p, n, "STAT ")) {
        const char *end = memmem(p, n, "END\r\n", 5);
        if (end == NULL) {
            return 0;
        }
        r->type = RP_VAL;
        r->len = (size_t)(end - p);
        return (long)(r->len + 5);
    }
    if (starts(p, n, "END") || starts(p, n, "NOT_FOUND") ||
        starts(p, n, "EN") || starts(p, n, "NOT_STORED")) {
        r->type = RP_NIL;
    } else if (starts(p, n, "ERROR") || starts(p, n, "CLIENT_ERROR") ||
               starts(p, n, "SERVER_ERROR")) {
        r->type = RP_ERR;
    } else {
        r->type = RP_OK; /* STORED DELETED HD OK */
    }
    return (long)line;
}

/* Parses one element of a memcached multi-get reply: a VALUE block (key
 * in r->key) or the closing END (RP_NIL). Same contract as parse_resp. */
static long
parse_mc_multi(const char *p, size_t n, struct reply *r)
{
    const char *nl = memchr(p, '\n', n);
    if (nl == NULL || !starts(p, n, "VALUE ")) {
        return nl == NULL ? 0 : parse_mc(p, n, r);
    }
    size_t line = (size_t)(nl - p) + 1;
    const char *sp = memrchr(p, ' ', line);
    const char *kend = memchr(p + 6, ' ', line - 6);
    size_t len = (size_t)strtoull(sp + 1, NULL, 10);
    if (kend == NULL || n < line + len + 2) {
        return kend == NULL ? -1 : 0;
    }
    r->type = RP_VAL;
    r->key = p + 6;
    r->klen = (size_t)(kend - r->key);
    r->p = p + line;
    r->len = len;
    return (long)(line + len + 2);
}

/* Takes the next complete reply, if one is buffered. `multi`: parse the
 * elements of a memcached multi-get. */
static bool
reply_take_as(struct conn *c, struct reply *r, bool multi)
{
    const char *p = c->rbuf + c->rpos;
    size_t n = c->rlen - c->rpos;
    if (n == 0) {
        return false;
    }
    long used = !mc ? parse_resp(p, n, r)
                    : (multi ? parse_mc_multi(p, n, r) : parse_mc(p, n, r));
    if (used < 0) {
        die("unexpected reply '%.40s'", p);
    }
    c->rpos += (size_t)used;
    return used > 0;
}

static bool
reply_take(struct conn *c, struct reply *r)
{
    return reply_take_as(c, r, false);
}

static void
reply_read_as(struct conn *c, struct reply *r, bool multi)
{
    while (!reply_take_as(c, r, multi)) {
        conn_fill(c, false);
    }
}

static void
reply_read(struct conn *c, struct reply *r)
{
    reply_read_as(c, r, false);
}

/* ---- counters shared by the modes ---- */

struct tally {
    uint64_t ops, hits, misses, bad, errors;
};

/* Counts a GET reply for key id; returns true on a hit. */
static bool
tally_get(struct tally *t, const struct reply *r, uint64_t id)
{
    t->ops++;
    if (r->type == RP_ERR) {
        t->errors++;
        return false;
    }
    if (r->type != RP_VAL) {
        t->misses++;
        return false;
    }
    t->hits++;
    if (o.verify &&
        (r->len != val_len(id) || memcmp(r->p, val_ptr(id), r->len) != 0)) {
        t->bad++;
    }
    return true;
}

static void
tally_other(struct tally *t, const struct reply *r)
{
    t->ops++;
    if (r->type == RP_ERR) {
        t->errors++;
    } else if (r->type == RP_NIL || (r->type == RP_INT && r->i == 0)) {
        t->misses++;
    } else {
        t->hits += r->type == RP_INT ? (uint64_t)r->i : 1;
    }
}

static uint64_t
rss_of(uint64_t pid)
{
    char path[64], line[256];
    uint64_t kb = 0;
    if (pid == 0) {
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/%llu/status", (unsigned long long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoull(line + 6, NULL, 10);
        }
    }
    fclose(f);
    return kb * 1024;
}

/* ---- stat: INFO / stats fields ---- */

/* Finds `name` in an INFO ("name:value") or stats ("STAT name value")
 * text. Returns false if absent. */
static bool
field_in(const char *txt, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = txt, *end = txt + n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        eol = eol ? eol : end;
        const char *q = p;
        if (mc && starts(q, (size_t)(eol - q), "STAT ")) {
            q += 5;
        }
        if ((size_t)(eol - q) > nl && memcmp(q, name, nl) == 0 &&
            (q[nl] == ':' || q[nl] == ' ')) {
            size_t vl = (size_t)(eol - q) - nl - 1;
            vl = vl > 0 && q[nl + vl] == '\r' ? vl - 1 : vl;
            vl = vl < cap ? vl : cap - 1;
            memcpy(out, q + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        p = eol + 1;
    }
    return false;
}

/* Reads one field. Aliases: used (all memory the server accounts for:
 * offheapd maxmemory_used = entries + index, since its used_memory leaves
 * the index out; Redis used_memory; memcached bytes), items (DBSIZE |
 * curr_items), rss (VmRSS of --pid). Returns the value as a number. */
static uint64_t
stat_get(struct conn *c, const char *name, char *out, size_t cap)
{
    struct reply r;
    snprintf(out, cap, "?");
    if (strcmp(name, "rss") == 0) {
        snprintf(out, cap, "%llu", (unsigned long long)rss_of(o.pid));
        return rss_of(o.pid);
    }
    bool items = strcmp(name, "items") == 0;
    if (items && !mc) {
        put_s(c, "*1\r\n$6\r\nDBSIZE\r\n");
        conn_flush(c, false);
        reply_read(c, &r);
        snprintf(out, cap, "%lld", r.i);
        return (uint64_t)r.i;
    }
    bool used = strcmp(name, "used") == 0;
    if (used) {
        name = mc ? "bytes" : "used_memory";
    } else if (items) {
        name = "curr_items";
    }
    if (mc) {
        put_s(c, "stats\r\n");
    } else if (strcmp(name, "used_memory") == 0) {
        put_s(c, "*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n");
    } else {
        put_s(c, "*2\r\n$4\r\nINFO\r\n$3\r\nall\r\n");
    }
    conn_flush(c, false);
    reply_read(c, &r);
    if (r.type == RP_VAL &&
        !(used && !mc && field_in(r.p, r.len, "maxmemory_used", out, cap))) {
        field_in(r.p, r.len, name, out, cap);
    }
    return strtoull(out, NULL, 10);
}

static int
mode_stat(void)
{
    struct conn c;
    char buf[256], val[128];
    conn_open(&c);
    snprintf(buf, sizeof(buf), "%s", o.field);
    for (char *save = NULL, *f = strtok_r(buf, ",", &save); f != NULL;
         f = strtok_r(NULL, ",", &save)) {
        stat_get(&c, f, val, sizeof(val));
        printf("%s=%s\n", f, val);
    }
    conn_close(&c);
    return 0;
}

/* ---- load ---- */

/* Appends one request of the load op for key id; returns replies due. */
static unsigned
load_req(struct conn *c, uint64_t id, uint64_t last)
{
    char k[256];
    size_t kl;
    if (strcmp(o.op, "exists") == 0) {
        uint64_t n = last - id < EXISTS_GROUP ? last - id : EXISTS_GROUP;
        return req_exists(c, o.prefix, id, mc ? 1 : (unsigned)n);
    }
    kl = key_fmt(k, o.prefix, id);
    if (strcmp(o.op, "set") == 0) {
        req_set(c, k, kl, val_ptr(id), val_len(id));
    } else if (strcmp(o.op, "get") == 0) {
        req_get(c, k, kl);
    } else if (strcmp(o.op, "del") == 0) {
        req_del(c, k, kl);
    } else {
        die("unknown op '%s'", o.op);
    }
    return 1;
}

static int
mode_load(void)
{
    struct conn cs[CONNS_MAX];
    uint64_t due_ids[CONNS_MAX][2];
    unsigned due[CONNS_MAX];
    struct tally t = {0};
    struct reply r;
    uint64_t id = o.first, last = o.first + o.keys;
    bool exists = strcmp(o.op, "exists") == 0;
    bool get = strcmp(o.op, "get") == 0;
    unsigned step = exists && !mc ? EXISTS_GROUP : 1;
    for (unsigned i = 0; i < o.conns; i++) {
        conn_open(&cs[i]);
    }
    uint64_t t0 = mono_ns();
    while (id < last) {
        for (unsigned i = 0; i < o.conns; i++) {
            due[i] = 0;
            due_ids[i][0] = id;
            for (unsigned j = 0; j < o.pipeline && id < last; j++) {
                due[i] += load_req(&cs[i], id, last);
                id = id + step < last ? id + step : last;
            }
            due_ids[i][1] = id;
            conn_flush(&cs[i], false);
        }
        for (unsigned i = 0; i < o.conns; i++) {
            for (unsigned j = 0; j < due[i]; j++) {
                reply_read(&cs[i], &r);
                if (get) {
                    tally_get(&t, &r, due_ids[i][0] + j);
                } else {
                    tally_other(&t, &r);
                }
            }
        }
    }
    double secs = (double)(mono_ns() - t0) / 1e9;
    for (unsigned i = 0; i < o.conns; i++) {
        conn_close(&cs[i]);
    }
    if (exists) {
        t.misses = o.keys - t.hits; /* RESP EXISTS replies count keys */
    }
    printf("op=%s keys=%llu secs=%.3f rate=%.0f hits=%llu misses=%llu "
           "bad=%llu errors=%llu\n",
           o.op, (unsigned long long)o.keys, secs, (double)o.keys / secs,
           (unsigned long long)t.hits, (unsigned long long)t.misses,
           (unsigned long long)t.bad, (unsigned long long)t.errors);
    return 0;
}

/* ---- key streams for replay ---- */

struct stream {
    double *cdf;        /* Zipf CDF over ranks [0, keys) */
    uint64_t mult, add; /* rank -> key permutation */
    uint64_t n;         /* requests generated */
    uint64_t scan_pos, hot_left, scan_left;
};

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void
stream_init(struct stream *s)
{
    memset(s, 0, sizeof(*s));
    s->cdf = malloc(o.keys * sizeof(double));
    if (s->cdf == NULL || o.keys == 0) {
        die("cannot build a Zipf table of %llu keys",
            (unsigned long long)o.keys);
    }
    double sum = 0;
    for (uint64_t i = 0; i < o.keys; i++) {
        sum += 1.0 / pow((double)(i + 1), o.zipf);
        s->cdf[i] = sum;
    }
    for (uint64_t i = 0; i < o.keys; i++) {
        s->cdf[i] /= sum;
    }
    s->mult = (mix64(o.seed) | 1) % o.keys;
    while (s->mult == 0 || gcd64(s->mult, o.keys) != 1) {
        s->mult++;
    }
    s->add = mix64(o.seed + 1) % o.keys;
    if (o.shift_every == 0) {
        o.shift_every = o.requests / 10 ? o.requests / 10 : 1;
    }
    if (o.shift_by == 0) {
        o.shift_by = o.keys / 10;
    }
    s->hot_left = (uint64_t)((double)o.scan_len * (1 - o.scan_frac) /
                             (o.scan_frac > 0 ? o.scan_frac : 1));
}

static uint64_t
zipf_rank(const struct stream *s)
{
    double u = rnd01();
    uint64_t lo = 0, hi = o.keys - 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (s->cdf[mid] < u) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Next key id; *scan is set for keys of a scan burst (ids >= keys, each
 * used once). */
static uint64_t
stream_next(struct stream *s, bool *scan)
{
    *scan = false;
    if (strcmp(o.workload, "scan") == 0 && o.scan_frac > 0) {
        if (s->hot_left == 0 && s->scan_left == 0) {
            s->scan_left = o.scan_len;
        }
        if (s->scan_left > 0) {
            if (--s->scan_left == 0) {
                s->hot_left = (uint64_t)((double)o.scan_len *
                                         (1 - o.scan_frac) / o.scan_frac);
            }
            s->n++;
            *scan = true;
            return o.keys + s->scan_pos++;
        }
        s->hot_left--;
    }
    uint64_t rank = zipf_rank(s);
    if (strcmp(o.workload, "shift") == 0) {
        rank = (rank + (s->n / o.shift_every) * o.shift_by) % o.keys;
    }
    s->n++;
    return (rank * s->mult + s->add) % o.keys;
}

/* ---- replay ---- */

struct batch {
    uint64_t id[BATCH_MAX];
    bool scan[BATCH_MAX], counted[BATCH_MAX], miss[BATCH_MAX];
    unsigned n;
};

struct replay_tally {
    struct tally all, hot;
    uint64_t sets, set_errors, rss_peak;
};

static bool
missed_before(const struct batch *b, unsigned i)
{
    for (unsigned j = 0; j < i; j++) {
        if (b->miss[j] && b->id[j] == b->id[i]) {
            return true;
        }
    }
    return false;
}

/* GETs the batch's keys, one tally per key in res[]. memcached gets one
 * multi-get (its text protocol answers each pipelined `get` with its own
 * sendmsg(), ~10x slower than one multi-get); RESP pipelines GETs. */
static void
batch_get(struct conn *c, const struct batch *b, const char *prefix,
          struct tally *res)
{
    char k[256];
    struct reply r;
    memset(res, 0, b->n * sizeof(*res));
    put_s(c, mc ? "get" : "");
    for (unsigned i = 0; i < b->n; i++) {
        size_t kl = key_fmt(k, prefix, b->id[i]);
        if (mc) {
            put(c, " ", 1);
            put(c, k, kl);
        } else {
            req_get(c, k, kl);
        }
    }
    put_s(c, mc ? "\r\n" : "");
    conn_flush(c, false);
    unsigned i = 0;
    while (i < b->n) {
        reply_read_as(c, &r, true);
        if (mc && r.type == RP_VAL) { /* misses have no VALUE: skip them */
            while (i < b->n && (r.klen != key_fmt(k, prefix, b->id[i]) ||
                                memcmp(k, r.key, r.klen) != 0)) {
                res[i++].misses = 1;
            }
            if (i == b->n) {
                die("multi-get returned key '%.*s' not asked for", (int)r.klen,
                    r.key);
            }
        } else if (mc) { /* END (or an error) closes the multi-get */
            for (; i < b->n; i++) {
                tally_get(&res[i], &r, b->id[i]);
            }
            return;
        }
        tally_get(&res[i], &r, b->id[i]);
        i++;
    }
    if (mc) {
        reply_read_as(c, &r, true); /* END */
    }
}

/* Sends the batch's GETs, counts them, sends SETs for the first miss of
 * each key. */
static void
lookaside(struct conn *c, struct batch *b, const char *prefix,
          struct replay_tally *rt)
{
    static struct tally res[BATCH_MAX];
    char k[256];
    struct reply r;
    unsigned sets = 0;
    batch_get(c, b, prefix, res);
    for (unsigned i = 0; i < b->n; i++) {
        struct tally *x = &res[i];
        x->ops = 1;
        bool hit = x->hits > 0;
        b->miss[i] = !hit && !missed_before(b, i);
        if (!hit && !b->miss[i]) { /* stored by the earlier miss */
            x->misses = 0;
            x->hits = 1;
        }
        if (b->counted[i]) {
            struct tally *t[2] = {&rt->all, b->scan[i] ? NULL : &rt->hot};
            for (unsigned j = 0; j < 2 && t[j] != NULL; j++) {
                t[j]->ops += x->ops;
                t[j]->hits += x->hits;
                t[j]->misses += x->misses;
                t[j]->bad += x->bad;
                t[j]->errors += x->errors;
            }
        }
        if (b->miss[i]) {
            size_t kl = key_fmt(k, prefix, b->id[i]);
            req_set(c, k, kl, val_ptr(b->id[i]), val_len(b->id[i]));
            sets++;
        }
    }
    conn_flush(c, false);
    for (unsigned i = 0; i < sets; i++) {
        reply_read(c, &r);
        rt->set_errors += r.type == RP_ERR;
    }
    rt->sets += sets;
}

static void
print_tally(const char *name, const struct tally *t)
{
    printf("%s_counted=%llu %s_misses=%llu %s_miss_ratio=%.4f ", name,
           (unsigned long long)t->ops, name, (unsigned long long)t->misses,
           name, t->ops ? (double)t->misses / (double)t->ops : 0.0);
}

static int
mode_replay(void)
{
    struct conn c;
    struct stream s;
    struct replay_tally rt;
    struct batch *b = calloc(1, sizeof(*b));
    memset(&rt, 0, sizeof(rt));
    conn_open(&c);
    stream_init(&s);
    uint64_t skip = (uint64_t)(o.warmup * (double)o.requests);
    uint64_t t0 = mono_ns(), done = 0;
    while (done < o.requests) {
        b->n = 0;
        while (b->n < o.pipeline && done < o.requests) {
            b->counted[b->n] = done >= skip;
            b->id[b->n] = stream_next(&s, &b->scan[b->n]);
            b->n++;
            done++;
        }
        lookaside(&c, b, o.prefix, &rt);
        if (o.pid && done % 65536 < o.pipeline) {
            uint64_t rss = rss_of(o.pid);
            rt.rss_peak = rss > rt.rss_peak ? rss : rt.rss_peak;
        }
    }
    double secs = (double)(mono_ns() - t0) / 1e9;
    printf("workload=%s requests=%llu ", o.workload,
           (unsigned long long)o.requests);
    print_tally("all", &rt.all);
    print_tally("hot", &rt.hot);
    printf("sets=%llu set_errors=%llu bad=%llu errors=%llu rss_peak=%llu "
           "secs=%.2f rate=%.0f\n",
           (unsigned long long)rt.sets, (unsigned long long)rt.set_errors,
           (unsigned long long)rt.all.bad, (unsigned long long)rt.all.errors,
           (unsigned long long)rt.rss_peak, secs, (double)o.requests / secs);
    conn_close(&c);
    free(s.cdf);
    free(b);
    return 0;
}

/* ---- rounds: a size shift's new working set ---- */

/* Counts live keys of [0, keys) with `prefix` without touching them. */
static uint64_t
count_live(struct conn *c, const char *prefix)
{
    struct tally t = {0};
    struct reply r;
    uint64_t id = 0;
    while (id < o.keys) {
        unsigned due = 0;
        for (unsigned j = 0; j < 16 && id < o.keys; j++) {
            uint64_t n =
                o.keys - id < EXISTS_GROUP ? o.keys - id : EXISTS_GROUP;
            due += req_exists(c, prefix, id, (unsigned)n);
            id += n;
        }
        conn_flush(c, false);
        for (unsigned j = 0; j < due; j++) {
            reply_read(c, &r);
            tally_other(&t, &r);
        }
    }
    return t.hits;
}

struct round {
    double t_end, hit;
    uint64_t rss, items, live_new;
    double live_bytes;
};

static void
round_run(struct conn *c, uint64_t *perm, struct batch *b,
          struct replay_tally *rt)
{
    for (uint64_t i = o.keys; i > 1; i--) { /* Fisher-Yates */
        uint64_t j = rnd_below(i);
        uint64_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    for (uint64_t i = 0; i < o.keys;) {
        b->n = 0;
        while (b->n < o.pipeline && i < o.keys) {
            b->counted[b->n] = true;
            b->scan[b->n] = false;
            b->id[b->n++] = perm[i++];
        }
        lookaside(c, b, o.prefix, rt);
    }
}

static void
rounds_summary(const struct round *rs, unsigned n)
{
    unsigned tail = n / 4 ? n / 4 : 1;
    double steady = 0, peak = 0;
    uint64_t rss_peak = 0;
    for (unsigned i = n - tail; i < n; i++) {
        steady += rs[i].hit / tail;
    }
    double bar = o.steady > 0 ? o.steady : steady - 0.02;
    unsigned first = n; /* first round from which all reach the bar */
    for (unsigned i = n; i > 0 && rs[i - 1].hit >= bar; i--) {
        first = i - 1;
    }
    for (unsigned i = 0; i < n; i++) {
        double ratio = rs[i].live_bytes > 0 ? rs[i].rss / rs[i].live_bytes : 0;
        peak = ratio > peak ? ratio : peak;
        rss_peak = rs[i].rss > rss_peak ? rs[i].rss : rss_peak;
    }
    const struct round *last = &rs[n - 1];
    printf("rounds=%u steady_hit=%.4f t_steady=%.2f rss_peak=%llu "
           "ratio_peak=%.3f ratio_settled=%.3f hit_last=%.4f "
           "live_bytes_last=%.0f rss_last=%llu items_last=%llu "
           "new_live_last=%llu\n",
           n, steady,
           first == n ? -1.0 : (first > 0 ? rs[first - 1].t_end : 0.0),
           (unsigned long long)rss_peak, peak,
           last->live_bytes > 0 ? last->rss / last->live_bytes : 0, last->hit,
           last->live_bytes, (unsigned long long)last->rss,
           (unsigned long long)last->items, (unsigned long long)last->live_new);
}

static int
mode_rounds(void)
{
    struct conn c;
    struct round rs[4096];
    char val[64];
    unsigned n = 0;
    uint64_t *perm = malloc(o.keys * sizeof(uint64_t));
    struct batch *b = calloc(1, sizeof(*b));
    if (perm == NULL || b == NULL) {
        die("out of memory");
    }
    for (uint64_t i = 0; i < o.keys; i++) {
        perm[i] = i;
    }
    conn_open(&c);
    double t = 0;
    while (t < o.secs && n < 4096) {
        struct replay_tally rt;
        memset(&rt, 0, sizeof(rt));
        uint64_t t0 = mono_ns();
        round_run(&c, perm, b, &rt);
        t += (double)(mono_ns() - t0) / 1e9; /* counting is not timed */
        struct round *r = &rs[n++];
        r->t_end = t;
        r->hit = (double)rt.all.hits / (double)rt.all.ops;
        r->live_new = count_live(&c, o.prefix);
        r->items = stat_get(&c, "items", val, sizeof(val));
        r->rss = rss_of(o.pid);
        r->live_bytes = (double)r->live_new * (double)(o.key_len + o.val_max) +
                        (double)(r->items - r->live_new) * (double)o.old_item;
        if (o.verbose) {
            printf("round=%u t=%.2f hit=%.4f items=%llu new_live=%llu "
                   "live_bytes=%.0f rss=%llu ratio=%.3f bad=%llu sets=%llu "
                   "set_errors=%llu\n",
                   n, r->t_end, r->hit, (unsigned long long)r->items,
                   (unsigned long long)r->live_new, r->live_bytes,
                   (unsigned long long)r->rss,
                   r->live_bytes > 0 ? r->rss / r->live_bytes : 0,
                   (unsigned long long)rt.all.bad, (unsigned long long)rt.sets,
                   (unsigned long long)rt.set_errors);
            fflush(stdout);
        }
    }
    rounds_summary(rs, n);
    conn_close(&c);
    free(perm);
    free(b);
    return 0;
}

/* ---- latency histogram ---- */

struct hist {
    uint64_t b[HIST_N];
    uint64_t n, max, max_at;
};

static unsigned
hist_idx(uint64_t v)
{
    if (v < 2 * HIST_SUB) {
        return (unsigned)v;
    }
    unsigned e = 63u - (unsigned)__builtin_clzll(v) - 6u; /* >= 1 */
    unsigned idx =
        2 * HIST_SUB + (e - 1) * HIST_SUB + (unsigned)((v >> e) - HIST_SUB);
    return idx < HIST_N ? idx : HIST_N - 1;
}

static uint64_t
hist_upper(unsigned idx)
{
    if (idx < 2 * HIST_SUB) {
        return idx;
    }
    unsigned e = (idx - 2 * HIST_SUB) / HIST_SUB + 1;
    uint64_t m = (idx - 2 * HIST_SUB) % HIST_SUB + HIST_SUB;
    return ((m + 1) << e) - 1;
}

static void
hist_add(struct hist *h, uint64_t v, uint64_t at)
{
    h->b[hist_idx(v)]++;
    h->n++;
    if (v > h->max) {
        h->max = v;
        h->max_at = at;
    }
}

static double
hist_pct_us(const struct hist *h, double pct)
{
    uint64_t want = (uint64_t)ceil(pct / 100.0 * (double)h->n), seen = 0;
    for (unsigned i = 0; i < HIST_N; i++) {
        seen += h->b[i];
        if (seen >= want && seen > 0) {
            uint64_t v = hist_upper(i);
            return (double)(v < h->max ? v : h->max) / 1000.0;
        }
    }
    return 0;
}

/* Returns the share (percent) of values over `ns` (bucket resolution). */
static double
hist_over_pct(const struct hist *h, uint64_t ns)
{
    uint64_t over = 0;
    for (unsigned i = 0; i < HIST_N; i++) {
        over += hist_upper(i) > ns ? h->b[i] : 0;
    }
    return h->n ? (double)over * 100.0 / (double)h->n : 0;
}

static void
hist_print(const char *pre, const struct hist *h)
{
    printf("%scount=%llu %sp50_us=%.1f %sp99_us=%.1f %sp999_us=%.1f "
           "%smax_us=%.1f ",
           pre, (unsigned long long)h->n, pre, hist_pct_us(h, 50), pre,
           hist_pct_us(h, 99), pre, hist_pct_us(h, 99.9), pre,
           (double)h->max / 1000.0);
}

/* ---- probe: open-loop GET latency, optional background stream ---- */

struct probe {
    struct conn pc, bc;
    uint64_t *due; /* due times of outstanding probe GETs (ring) */
    uint64_t *due_id;
    uint64_t head, tail;
    uint64_t bg_sent, bg_done, bg_next_id;
    struct hist h;
    struct tally t, bg;
};

static void
probe_send(struct probe *p, uint64_t due)
{
    char k[256];
    uint64_t id = o.first + rnd_below(o.keys);
    if (p->head - p->tail >= PENDING_MAX) {
        die("more than %u probe requests outstanding", PENDING_MAX);
    }
    p->due[p->head % PENDING_MAX] = due;
    p->due_id[p->head % PENDING_MAX] = id;
    p->head++;
    req_get(&p->pc, k, key_fmt(k, o.prefix, id));
}

static void
bg_send(struct probe *p, unsigned n)
{
    char k[256];
    for (unsigned i = 0; i < n; i++) {
        uint64_t id;
        uint64_t seq = p->bg_next_id++;
        if (strcmp(o.bg_op, "get") == 0) {
            id = o.bg_first + rnd_below(o.bg_keys);
        } else if (o.bg_keep > 1) { /* skip every bg_keep-th id */
            seq %= o.bg_keys - o.bg_keys / o.bg_keep;
            id = o.bg_first + seq / (o.bg_keep - 1) * o.bg_keep +
                 seq % (o.bg_keep - 1) + 1;
        } else {
            id = o.bg_first + seq % o.bg_keys;
        }
        size_t kl = key_fmt(k, o.bg_prefix, id);
        if (strcmp(o.bg_op, "set") == 0) {
            req_set(&p->bc, k, kl, val_ptr(id), o.bg_val);
        } else if (strcmp(o.bg_op, "del") == 0) {
            req_del(&p->bc, k, kl);
        } else {
            req_get(&p->bc, k, kl);
        }
    }
    p->bg_sent += n;
}

static void
probe_drain(struct probe *p, bool bg)
{
    struct reply r;
    if (conn_fill(&p->pc, true) > 0) {
        uint64_t now = mono_ns();
        while (reply_take(&p->pc, &r)) {
            uint64_t slot = p->tail++ % PENDING_MAX;
            tally_get(&p->t, &r, p->due_id[slot]);
            hist_add(&p->h, now - p->due[slot], now);
        }
    }
    if (bg && conn_fill(&p->bc, true) > 0) {
        while (reply_take(&p->bc, &r)) {
            tally_other(&p->bg, &r);
            p->bg_done++;
        }
    }
}

static int
mode_probe(void)
{
    struct probe *p = calloc(1, sizeof(*p));
    bool bg = o.bg_op[0] != '\0' && o.bg_rate > 0;
    unsigned bg_batch = o.pipeline;
    p->due = malloc(PENDING_MAX * sizeof(uint64_t));
    p->due_id = malloc(PENDING_MAX * sizeof(uint64_t));
    if (p->due == NULL || p->due_id == NULL) {
        die("out of memory");
    }
    conn_open(&p->pc);
    if (bg) {
        conn_open(&p->bc);
    }
    uint64_t period = (uint64_t)(1e9 / o.rate);
    uint64_t bg_period = bg ? (uint64_t)(1e9 * bg_batch / o.bg_rate) : 0;
    uint64_t t0 = mono_ns(), end = t0 + (uint64_t)(o.secs * 1e9);
    uint64_t next = t0, bg_next = t0, now;
    uint64_t wall0 = wall_ms();
    while ((now = mono_ns()) < end) {
        while (next <= now) {
            probe_send(p, next);
            next += period;
        }
        if (bg && bg_next <= now) {
            if (p->bg_sent - p->bg_done < BG_OUTSTANDING * bg_batch) {
                bg_send(p, bg_batch);
            }
            bg_next = bg_next + bg_period < now ? now : bg_next + bg_period;
        }
        conn_flush(&p->pc, true);
        if (bg) {
            conn_flush(&p->bc, true);
        }
        probe_drain(p, bg);
    }
    while (p->tail < p->head || (bg && p->bg_done < p->bg_sent)) {
        conn_flush(&p->pc, false);
        if (bg) {
            conn_flush(&p->bc, false);
        }
        probe_drain(p, bg);
    }
    double secs = (double)(mono_ns() - t0) / 1e9;
    hist_print("", &p->h);
    printf("max_at_ms=%llu hits=%llu misses=%llu bad=%llu errors=%llu "
           "bg_ops=%llu bg_rate=%.0f bg_errors=%llu secs=%.2f\n",
           (unsigned long long)(wall0 + (p->h.max_at - t0) / 1000000),
           (unsigned long long)p->t.hits, (unsigned long long)p->t.misses,
           (unsigned long long)p->t.bad, (unsigned long long)p->t.errors,
           (unsigned long long)p->bg_done, (double)p->bg_done / secs,
           (unsigned long long)p->bg.errors, secs);
    return 0;
}

/* ---- expiry: memory and correctness around a mass expiry at T ---- */

struct expiry_sample {
    long t_rel;       /* ms after T */
    uint64_t used;    /* accounted memory (stat alias "used") */
    uint64_t entries; /* used_memory (memcached: bytes) */
    uint64_t rss;
};

struct expiry_tally {
    uint64_t served_after, early_miss, live_miss, probed_after;
};

/* One tick: memory, then `sample` expiring and live keys. */
static void
expiry_tick(struct conn *c, uint64_t t_ms, struct expiry_sample *s,
            struct expiry_tally *et)
{
    char val[64], k[256];
    struct reply r;
    s->used = stat_get(c, "used", val, sizeof(val));
    s->entries = mc ? s->used : stat_get(c, "used_memory", val, sizeof(val));
    s->rss = rss_of(o.pid);
    uint64_t sent = wall_ms();
    s->t_rel = (long)sent - (long)t_ms;
    for (uint64_t i = 0; i < o.sample; i++) {
        req_get(c, k, key_fmt(k, o.prefix, o.first + rnd_below(o.keys)));
    }
    for (uint64_t i = 0; i < o.sample && o.live_keys > 0; i++) {
        req_get(c, k, key_fmt(k, o.live_prefix, rnd_below(o.live_keys)));
    }
    conn_flush(c, false);
    uint64_t exp_hits = 0, exp_miss = 0;
    for (uint64_t i = 0; i < o.sample; i++) {
        reply_read(c, &r);
        exp_hits += r.type == RP_VAL;
        exp_miss += r.type != RP_VAL;
    }
    for (uint64_t i = 0; i < o.sample && o.live_keys > 0; i++) {
        reply_read(c, &r);
        et->live_miss += r.type != RP_VAL;
    }
    if (sent > t_ms) {
        et->served_after += exp_hits;
        et->probed_after += o.sample;
    }
    if (wall_ms() < t_ms) {
        et->early_miss += exp_miss;
    }
}

/* Share of (u1 - base) given back at `used`. */
static double
reclaimed(uint64_t u1, uint64_t used, uint64_t base)
{
    double span = (double)u1 - (double)base;
    return span > 0 ? ((double)u1 - (double)used) / span : 0;
}

/* Prints name_<mark>ms for the marks, and when 99 % and 100 % were
 * reached, for one memory series (entries or accounted). */
static void
expiry_series(const struct expiry_sample *ss, unsigned n, bool entries,
              uint64_t u1, uint64_t base)
{
    static const long marks[] = {500, 1000, 2000, 5000, 10000, 30000, 60000};
    const char *pre = entries ? "entries_" : "";
    long t99 = -1, t100 = -1;
    for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
        for (unsigned i = 0; i < n; i++) {
            if (ss[i].t_rel >= marks[m]) {
                uint64_t u = entries ? ss[i].entries : ss[i].used;
                printf("%sreclaimed_%ldms=%.4f ", pre, marks[m],
                       reclaimed(u1, u, base));
                break;
            }
        }
    }
    for (unsigned i = 0; i < n; i++) {
        double f = reclaimed(u1, entries ? ss[i].entries : ss[i].used, base);
        t99 = t99 < 0 && ss[i].t_rel >= 0 && f >= 0.99 ? ss[i].t_rel : t99;
        t100 = t100 < 0 && ss[i].t_rel >= 0 && f >= 1.0 ? ss[i].t_rel : t100;
    }
    printf("%st99_ms=%ld %st100_ms=%ld %sreclaimed_end=%.4f ", pre, t99, pre,
           t100, pre,
           n ? reclaimed(u1, entries ? ss[n - 1].entries : ss[n - 1].used, base)
             : 0.0);
}

static void
expiry_summary(const struct expiry_sample *ss, unsigned n,
               const struct expiry_tally *et)
{
    const struct expiry_sample *before = NULL; /* last sample before T */
    for (unsigned i = 0; i < n && ss[i].t_rel < 0; i++) {
        before = &ss[i];
    }
    if (before == NULL) {
        die("no sample before T");
    }
    printf("base_used=%llu used_before_T=%llu entries_before_T=%llu "
           "rss_before_T=%llu ",
           (unsigned long long)o.base_used, (unsigned long long)before->used,
           (unsigned long long)before->entries,
           (unsigned long long)before->rss);
    for (unsigned i = 0; i < n; i++) {
        if (ss[i].t_rel >= 1000) {
            printf("rss_1000ms=%llu ", (unsigned long long)ss[i].rss);
            break;
        }
    }
    expiry_series(ss, n, false, before->used, o.base_used);
    expiry_series(ss, n, true, before->entries, o.base_entries);
    printf("served_after_T=%llu probed_after_T=%llu early_misses=%llu "
           "live_sample_misses=%llu\n",
           (unsigned long long)et->served_after,
           (unsigned long long)et->probed_after,
           (unsigned long long)et->early_miss,
           (unsigned long long)et->live_miss);
}

static int
mode_expiry(void)
{
    struct conn c;
    struct expiry_tally et = {0};
    uint64_t t_ms = o.expire_at * 1000;
    uint64_t start = t_ms - 1000, stop = t_ms + (uint64_t)(o.secs * 1000);
    uint64_t now = wall_ms();
    if (o.expire_at == 0 || now >= t_ms) {
        die("expire_at must be in the future (now %llu ms, T %llu ms)",
            (unsigned long long)now, (unsigned long long)t_ms);
    }
    while (start < now) {
        start += o.interval_ms; /* stay on the grid T + k * interval */
    }
    unsigned cap = (unsigned)((stop - start) / o.interval_ms + 2), n = 0;
    struct expiry_sample *ss = calloc(cap, sizeof(*ss));
    conn_open(&c);
    for (uint64_t at = start; at <= stop && n < cap; at += o.interval_ms) {
        sleep_until_wall_ms(at);
        expiry_tick(&c, t_ms, &ss[n], &et);
        if (o.verbose) {
            printf("t_rel_ms=%ld used=%llu entries=%llu rss=%llu\n",
                   ss[n].t_rel, (unsigned long long)ss[n].used,
                   (unsigned long long)ss[n].entries,
                   (unsigned long long)ss[n].rss);
        }
        n++;
    }
    expiry_summary(ss, n, &et);
    conn_close(&c);
    free(ss);
    return 0;
}

/* ---- steps: function call durations with uprobes ---- */

/* Looks `name` up in one symbol table section; "file.c:func" picks a
 * static function of that source file. Returns its address or 0. */
static uint64_t
sym_find(const char *m, const Elf64_Shdr *sh, const Elf64_Shdr *sec,
         const char *name)
{
    const char *colon = strchr(name, ':');
    const char *func = colon ? colon + 1 : name;
    size_t flen = colon ? (size_t)(colon - name) : 0;
    const Elf64_Sym *sym =
        (const Elf64_Sym *)(const void *)(m + sec->sh_offset);
    const char *str = m + sh[sec->sh_link].sh_offset;
    bool in_file = colon == NULL;
    for (size_t j = 0; j < sec->sh_size / sizeof(*sym); j++) {
        const char *sn = str + sym[j].st_name;
        if (ELF64_ST_TYPE(sym[j].st_info) == STT_FILE) {
            in_file = colon == NULL ||
                      (strlen(sn) == flen && memcmp(sn, name, flen) == 0);
        } else if (in_file && ELF64_ST_TYPE(sym[j].st_info) == STT_FUNC &&
                   sym[j].st_value != 0 && strcmp(sn, func) == 0) {
            return sym[j].st_value;
        }
    }
    return 0;
}

/* Returns the file offset of function `name` in the ELF file at `path`
 * (symtab, else dynsym), or 0 if absent. */
static uint64_t
elf_func_offset(const char *path, const char *name)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        die("cannot open %s", path);
    }
    const char *m =
        mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED || memcmp(m, ELFMAG, SELFMAG) != 0) {
        die("%s is not an ELF file", path);
    }
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)m;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(const void *)(m + eh->e_shoff);
    uint64_t vaddr = 0;
    for (int pass = 0; pass < 2 && vaddr == 0; pass++) {
        for (unsigned i = 0; i < eh->e_shnum && vaddr == 0; i++) {
            if (sh[i].sh_type == (pass == 0 ? SHT_SYMTAB : SHT_DYNSYM)) {
                vaddr = sym_find(m, sh, &sh[i], name);
            }
        }
    }
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(const void *)(m + eh->e_phoff);
    uint64_t off = 0;
    for (unsigned i = 0; i < eh->e_phnum && vaddr != 0; i++) {
        if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
            vaddr < ph[i].p_vaddr + ph[i].p_filesz) {
            off = vaddr - ph[i].p_vaddr + ph[i].p_offset;
        }
    }
    munmap((void *)(uintptr_t)m, (size_t)st.st_size);
    return off;
}

static uint64_t
sysfs_u64(const char *path)
{
    char buf[64] = {0};
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        die("cannot read %s (no uprobe PMU?)", path);
    }
    fclose(f);
    return strtoull(buf, NULL, 10);
}

/* Opens a counter of the target thread's on-CPU time, to lead a group. */
static int
task_clock_open(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID;
    a.use_clockid = 1; /* a group shares one time domain */
    a.clockid = CLOCK_MONOTONIC;
    return (int)syscall(SYS_perf_event_open, &a, (pid_t)o.pid, -1, -1, 0);
}

/* Opens an entry (or return) uprobe sampling every hit with its time and,
 * in a group, the leader's on-CPU time. */
static int
uprobe_open(const char *path, uint64_t off, bool ret, int group)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = (uint32_t)sysfs_u64("/sys/bus/event_source/devices/uprobe/type");
    a.config = ret ? 1 : 0; /* format/retprobe: config:0 */
    a.config1 = (uint64_t)(uintptr_t)path;
    a.config2 = off;
    a.sample_period = 1;
    a.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TIME;
    if (group >= 0) {
        a.sample_type |= PERF_SAMPLE_READ;
        a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID;
    }
    a.use_clockid = 1;
    a.clockid = CLOCK_MONOTONIC;
    a.wakeup_events = 64;
    int fd = (int)syscall(SYS_perf_event_open, &a, (pid_t)o.pid, -1, group, 0);
    if (fd < 0) {
        die("perf_event_open(uprobe %s+0x%llx): %s", path,
            (unsigned long long)off, strerror(errno));
    }
    return fd;
}

struct func_probe {
    const char *name;
    uint64_t id[2];        /* entry, return */
    uint64_t entered, min; /* wall clock */
    uint64_t entered_cpu;  /* on-CPU time at entry */
    struct hist h, hc;     /* wall and on-CPU durations */
};

static volatile sig_atomic_t stop_flag;

static void
on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void
steps_record(struct func_probe *fp, unsigned nf, uint64_t id, uint64_t t,
             uint64_t cpu)
{
    for (unsigned i = 0; i < nf; i++) {
        if (id == fp[i].id[0]) {
            fp[i].entered = t;
            fp[i].entered_cpu = cpu;
        } else if (id == fp[i].id[1] && fp[i].entered != 0) {
            uint64_t d = t - fp[i].entered;
            hist_add(&fp[i].h, d, t);
            if (cpu != 0) {
                hist_add(&fp[i].hc, cpu - fp[i].entered_cpu, t);
            }
            fp[i].min = fp[i].min == 0 || d < fp[i].min ? d : fp[i].min;
            fp[i].entered = 0;
        }
    }
}

/* Consumes the ring buffer; returns records lost. A sample is {id, time,
 * [nr, {value, id} x nr]}: the group leader's value (on-CPU ns) first. */
static uint64_t
steps_drain(struct perf_event_mmap_page *mp, size_t size, struct func_probe *fp,
            unsigned nf, bool grouped)
{
    const char *data = (const char *)mp + mp->data_offset;
    uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = mp->data_tail, lost = 0;
    uint64_t rec[128];
    while (tail < head) {
        struct perf_event_header hdr;
        for (size_t i = 0; i < sizeof(hdr); i++) {
            ((char *)&hdr)[i] = data[(tail + i) % size];
        }
        for (size_t i = 0; i < hdr.size && i < sizeof(rec); i++) {
            ((char *)rec)[i] = data[(tail + i) % size];
        }
        const uint64_t *w = rec + 1;
        if (hdr.type == PERF_RECORD_SAMPLE) {
            steps_record(fp, nf, w[0], w[1], grouped ? w[3] : 0);
        } else if (hdr.type == PERF_RECORD_LOST) {
            lost += w[1];
        }
        tail += hdr.size;
    }
    __atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
    return lost;
}

static int
mode_steps(void)
{
    struct func_probe fp[FUNCS_MAX];
    char names[512];
    unsigned nf = 0;
    int lead = -1;
    memset(fp, 0, sizeof(fp));
    snprintf(names, sizeof(names), "%s", o.func);
    int fds[2 * FUNCS_MAX];
    int clock = task_clock_open(); /* -1: wall times only */
    for (char *save = NULL, *f = strtok_r(names, ",", &save);
         f != NULL && nf < FUNCS_MAX; f = strtok_r(NULL, ",", &save)) {
        uint64_t off = elf_func_offset(o.exe, f);
        if (off == 0) {
            die("no function %s in %s", f, o.exe);
        }
        fp[nf].name = f;
        for (int ret = 0; ret < 2; ret++) {
            fds[2 * nf + ret] = uprobe_open(o.exe, off, ret, clock);
            ioctl(fds[2 * nf + ret], PERF_EVENT_IOC_ID, &fp[nf].id[ret]);
        }
        nf++;
    }
    if (nf == 0) {
        die("--func names no function");
    }
    lead = fds[0];
    size_t size = (size_t)sysconf(_SC_PAGESIZE) * 256;
    struct perf_event_mmap_page *mp =
        mmap(NULL, size + (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
             MAP_SHARED, lead, 0);
    if (mp == MAP_FAILED) {
        die("mmap of the perf buffer: %s", strerror(errno));
    }
    for (unsigned i = 1; i < 2 * nf; i++) {
        if (ioctl(fds[i], PERF_EVENT_IOC_SET_OUTPUT, lead) != 0) {
            die("PERF_EVENT_IOC_SET_OUTPUT: %s", strerror(errno));
        }
    }
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    uint64_t end = mono_ns() + (uint64_t)(o.secs * 1e9), lost = 0;
    struct pollfd pfd = {lead, POLLIN, 0};
    while (!stop_flag && mono_ns() < end) {
        poll(&pfd, 1, 20);
        lost += steps_drain(mp, size, fp, nf, clock >= 0);
    }
    lost += steps_drain(mp, size, fp, nf, clock >= 0);
    for (unsigned i = 0; i < nf; i++) {
        printf("func=%s calls=%llu min_us=%.1f ", fp[i].name,
               (unsigned long long)fp[i].h.n, (double)fp[i].min / 1000.0);
        hist_print("", &fp[i].h);
        hist_print("cpu_", &fp[i].hc);
        printf("cpu_over_50us_pct=%.3f lost=%llu\n",
               hist_over_pct(&fp[i].hc, 50000), (unsigned long long)lost);
    }
    return 0;
}

/* ---- jitter: how long this CPU is taken away from a spinning thread ---- */

static uint64_t
thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall gaps (the CPU taken away: preemption), then on-CPU gaps: time the
 * kernel charges to the spinning thread while it does not run its code
 * (interrupts, IPIs, VM exits). The second kind lands inside any timed
 * function as on-CPU time (m5's step times). */
static int
mode_jitter(void)
{
    struct hist *h = calloc(1, sizeof(*h));
    uint64_t t0 = mono_ns(), end = t0 + (uint64_t)(o.secs * 1e9);
    uint64_t prev = t0, now, over50 = 0, cover20 = 0, cover50 = 0, cmax = 0;
    while ((now = mono_ns()) < end) {
        if (now - prev > 1000) { /* gaps over 1 us only */
            hist_add(h, now - prev, now);
            over50 += now - prev > 50000;
        }
        prev = now;
    }
    end = mono_ns() + (uint64_t)(o.secs * 1e9);
    uint64_t cprev = thread_cpu_ns(), c;
    while (mono_ns() < end) {
        c = thread_cpu_ns();
        cover20 += c - cprev > 20000;
        cover50 += c - cprev > 50000;
        cmax = c - cprev > cmax ? c - cprev : cmax;
        cprev = c;
    }
    hist_print("gap_", h);
    printf("gaps_over_50us=%llu secs=%.1f cpu_gaps_over_20us_per_s=%.0f "
           "cpu_gaps_over_50us_per_s=%.0f cpu_gap_max_us=%.1f\n",
           (unsigned long long)over50, o.secs, (double)cover20 / o.secs,
           (double)cover50 / o.secs, (double)cmax / 1000.0);
    free(h);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *mode = opts_parse(argc, argv);
    rng_state = mix64(o.seed);
    pattern_setup();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "load") == 0) {
        return mode_load();
    } else if (strcmp(mode, "replay") == 0) {
        return mode_replay();
    } else if (strcmp(mode, "rounds") == 0) {
        return mode_rounds();
    } else if (strcmp(mode, "probe") == 0) {
        return mode_probe();
    } else if (strcmp(mode, "expiry") == 0) {
        return mode_expiry();
    } else if (strcmp(mode, "stat") == 0) {
        return mode_stat();
    } else if (strcmp(mode, "steps") == 0) {
        return mode_steps();
    } else if (strcmp(mode, "jitter") == 0) {
        return mode_jitter();
    }
    usage();
    return 2;
}
