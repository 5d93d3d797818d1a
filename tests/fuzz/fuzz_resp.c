/* fuzz_resp.c: libFuzzer harness for the RESP codec (proto/resp.h).
 *
 * The first input byte is the configuration, the rest is a stream of
 * requests as a client would send it:
 *
 *   byte 0:  bits 0-1  limits (default, small, tiny, medium)
 *            bits 2-4  largest read: 1 << n bytes (1 to 128)
 *            bit  5    honour ps->need (skip calls until that many bytes)
 *            bits 6-7  initial args[] entries (0, 1, 4, 64)
 *   byte 1-: the stream
 *
 * The stream is parsed twice: once with every byte present, and once as a
 * connection sees it, in reads whose sizes come from a generator seeded by
 * a hash of the input, so the split points are a function of the input
 * bytes. Both runs log every request (offset, size, arguments), the error
 * and its message, or the unfinished tail; the logs must be identical.
 * Every call gets a heap copy of exactly the bytes it may read, so
 * AddressSanitizer catches any read past len, and the copy is checked to be
 * untouched by every call that does not return a request.
 *
 * The number helpers are checked on the side: resp_str2ll accepts only
 * the text resp_fmt_ll would write for the value, resp_fmt_ll output reads
 * back, and resp_fmt_double output reads back as the same double. */
#include "proto/resp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* clang-format off */
static const struct resp_limits limit_sets[4] = {
    {RESP_MAX_ARGS, RESP_MAX_BULK, (size_t)RESP_MAX_INLINE},
    {8,             16,            32},
    {1,             1,             1},
    {100,           1000,          200},
};
/* clang-format on */
static const size_t initial_caps[4] = {0, 1, 4, 64};

/* ---- a growable log ---- */

struct log {
    unsigned char *p;
    size_t len, cap;
};

static void
log_put(struct log *lg, const void *src, size_t n)
{
    if (lg->len + n > lg->cap) {
        lg->cap = (lg->len + n) * 2;
        lg->p = realloc(lg->p, lg->cap);
        if (lg->p == NULL) {
            abort();
        }
    }
    memcpy(lg->p + lg->len, src, n);
    lg->len += n;
}

static void
log_size(struct log *lg, char tag, size_t v)
{
    log_put(lg, &tag, 1);
    log_put(lg, &v, sizeof(v));
}

static void
check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_resp: %s\n", what);
        abort();
    }
}

/* ---- one parser run ---- */

struct run {
    const char *in; /* the stream */
    size_t n;       /* its length */
    const struct resp_limits *lim;
    struct resp_arg *args;
    size_t cap;
    struct log log;
};

/* Checks the promises of one return code and logs a completed request. */
static void
after_call(struct run *r, const struct resp_parser *ps, int rc, const char *buf,
           size_t len, size_t start)
{
    check(rc > 0 || rc == RESP_INCOMPLETE || rc == RESP_NEEDARGS ||
              rc == RESP_EPROTO,
          "unknown return code");
    check(rc == RESP_INCOMPLETE ? ps->need > len : ps->need == 0, "need hint");
    check((rc == RESP_EPROTO) == (ps->err != NULL), "err set iff EPROTO");
    if (rc == RESP_NEEDARGS) {
        check(ps->args_want > r->cap, "args_want does not grow args");
        size_t want = 2 * ps->nargs + 64;
        if (!ps->is_inline && (size_t)ps->argc < want) {
            want = (size_t)ps->argc;
        }
        if (ps->is_inline) {
            want = (size_t)ps->argc;
        }
        check(ps->args_want == want, "args_want is not the documented size");
    }
    if (rc <= 0) {
        check(memcmp(buf, r->in + start, len) == 0, "buf written");
        return;
    }
    check((size_t)rc <= len, "consumed more than len");
    check(ps->nargs <= r->cap, "more args than room");
    log_size(&r->log, 'R', start);
    log_size(&r->log, 'n', (size_t)rc);
    log_size(&r->log, 'a', ps->nargs);
    for (size_t i = 0; i < ps->nargs; i++) {
        check(r->args[i].off <= (size_t)rc &&
                  r->args[i].len <= (size_t)rc - r->args[i].off,
              "arg outside the request");
        log_size(&r->log, 'l', r->args[i].len);
        log_put(&r->log, buf + r->args[i].off, r->args[i].len);
    }
}

static void
grow_args(struct run *r, const struct resp_parser *ps)
{
    r->cap = ps->args_want;
    r->args = realloc(r->args, r->cap * sizeof(*r->args));
    check(r->args != NULL, "out of memory");
}

/* Calls the parser on an exact-size copy of in[start..start+len). */
static int
call(struct run *r, struct resp_parser *ps, size_t start, size_t len)
{
    char *buf = malloc(len > 0 ? len : 1);
    int rc;

    check(buf != NULL, "out of memory");
    memcpy(buf, r->in + start, len);
    rc = resp_parse_request(ps, buf, len, r->args, r->cap, r->lim);
    after_call(r, ps, rc, buf, len, start);
    free(buf);
    return rc;
}

/* Logs how the stream ended: an error, an unfinished request, or nothing. */
static void
log_end(struct run *r, const struct resp_parser *ps, int rc, size_t start)
{
    if (rc == RESP_EPROTO) {
        log_size(&r->log, 'E', start);
        log_put(&r->log, ps->err, strlen(ps->err));
    } else if (start < r->n) {
        log_size(&r->log, 'I', start);
    }
}

/* Every byte present from the start. */
static void
run_whole(struct run *r)
{
    struct resp_parser ps;
    size_t start = 0;
    int rc = RESP_INCOMPLETE;

    resp_parser_reset(&ps);
    while (start < r->n) {
        rc = call(r, &ps, start, r->n - start);
        if (rc == RESP_NEEDARGS) {
            grow_args(r, &ps);
            continue;
        }
        if (rc <= 0) {
            break;
        }
        start += (size_t)rc;
        resp_parser_reset(&ps);
    }
    log_end(r, &ps, rc, start);
}

/* xorshift64: the read sizes. */
static size_t
next_read(uint64_t *x, size_t max_read)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return 1 + (size_t)(*x % max_read);
}

/* Bytes arrive in reads of 1..max_read; the parser is called after each
 * read (or only once ps->need bytes are there). */
static void
run_split(struct run *r, uint64_t seed, size_t max_read, int honour_need)
{
    struct resp_parser ps;
    size_t start = 0, avail = 0;
    int rc = RESP_INCOMPLETE;

    memset(&ps, 0, sizeof(ps));
    while (avail < r->n) {
        avail += next_read(&seed, max_read);
        avail = avail < r->n ? avail : r->n;
        while (start < avail && (!honour_need || avail - start >= ps.need)) {
            rc = call(r, &ps, start, avail - start);
            if (rc == RESP_NEEDARGS) {
                grow_args(r, &ps);
                continue;
            }
            if (rc == RESP_EPROTO) {
                log_end(r, &ps, rc, start);
                return;
            }
            if (rc == RESP_INCOMPLETE) {
                break;
            }
            start += (size_t)rc;
            memset(&ps, 0, sizeof(ps));
            rc = RESP_INCOMPLETE;
        }
    }
    log_end(r, &ps, rc, start);
}

/* ---- numbers ---- */

static void
check_numbers(const uint8_t *data, size_t size)
{
    char text[32];
    long long v, back;
    double d;
    size_t n = size < 24 ? size : 24;

    if (resp_str2ll((const char *)data, n, &v)) {
        check(resp_fmt_ll(text, v) == n && memcmp(text, data, n) == 0,
              "str2ll accepted a non-canonical number");
    }
    if (size >= sizeof(v)) {
        memcpy(&v, data, sizeof(v));
        n = resp_fmt_ll(text, v);
        check(resp_str2ll(text, n, &back) && back == v, "fmt_ll round trip");
        memcpy(&d, data, sizeof(d));
        n = resp_fmt_double(text, d);
        check(n == strlen(text) && n <= 24, "fmt_double length");
        check(d != d || strtod(text, NULL) == d, "fmt_double round trip");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run whole = {0}, split = {0};
    uint64_t seed = 0xcbf29ce484222325u;
    uint8_t cfg;

    check_numbers(data, size);
    if (size == 0) {
        return 0;
    }
    cfg = data[0];
    for (size_t i = 0; i < size; i++) {
        seed = (seed ^ data[i]) * 0x100000001b3u;
    }
    whole.in = split.in = (const char *)data + 1;
    whole.n = split.n = size - 1;
    whole.lim = split.lim = &limit_sets[cfg & 3];
    whole.cap = split.cap = initial_caps[cfg >> 6];
    whole.args = malloc(sizeof(struct resp_arg) * (whole.cap + 1));
    split.args = malloc(sizeof(struct resp_arg) * (split.cap + 1));
    check(whole.args != NULL && split.args != NULL, "out of memory");

    run_whole(&whole);
    run_split(&split, seed | 1, (size_t)1 << ((cfg >> 2) & 7), cfg & 32);
    if (whole.log.len != split.log.len ||
        (whole.log.len > 0 &&
         memcmp(whole.log.p, split.log.p, whole.log.len) != 0)) {
        fprintf(stderr,
                "fuzz_resp: one-shot and split parses differ "
                "(log %zu vs %zu bytes)\n",
                whole.log.len, split.log.len);
        abort();
    }
    free(whole.args);
    free(split.args);
    free(whole.log.p);
    free(split.log.p);
    return 0;
}
