/* test_resp.c: unit tests of the RESP codec (proto/resp.h).
 *
 * Parser inputs are copied so that they end exactly where a PROT_NONE page
 * begins: a read of buf[len] crashes the test. The stream driver below
 * copies each prefix afresh for every call, so the buffer also moves between
 * calls, as a connection buffer does when it grows. */
#include "proto/resp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/support/guard.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_INLINE ((size_t)RESP_MAX_INLINE) /* bytes, as a size_t */

/* ---- helpers ---- */

static const struct resp_limits default_limits = {RESP_MAX_ARGS, RESP_MAX_BULK,
                                                  MAX_INLINE};

static struct resp_parser
fresh_parser(void)
{
    struct resp_parser ps;

    memset(&ps, 0xa5, sizeof(ps));
    resp_parser_reset(&ps);
    return ps;
}

/* Parses src[0..n) in one call against the guard page, with room for 64
 * args (none if args is NULL). Returns the parser's return code; *out gets
 * the buffer. */
static int
parse_once(struct resp_parser *ps, const char *src, size_t n,
           struct resp_arg *args, const struct resp_limits *lim, char **out)
{
    char *buf = guard_put(src, n);

    if (out != NULL) {
        *out = buf;
    }
    return resp_parse_request(ps, buf, n, args, args != NULL ? 64 : 0, lim);
}

/* Asserts that src (a C string) is one protocol error with message msg. */
static void
expect_error(const char *src, const struct resp_limits *lim, const char *msg)
{
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];

    assert_int_equal(parse_once(&ps, src, strlen(src), args, lim, NULL),
                     RESP_EPROTO);
    assert_non_null(ps.err);
    assert_string_equal(ps.err, msg);
}

/* ---- stream driver ----
 * Feeds a whole stream to the parser the way a connection does, and
 * renders what came out as text: each request as [arg|arg], an error as
 * ERR(<message>), bytes left inside an unfinished request as "...". Bytes
 * outside printable ASCII and the characters []|\ are written \xHH. */

struct feed {
    const char *in;   /* the stream */
    size_t n;         /* its length */
    size_t first;     /* bytes available at the first call */
    size_t step;      /* bytes that arrive per read after that */
    size_t cap0;      /* initial args[] entries */
    bool honour_need; /* skip calls until ps.need bytes are there */
    const struct resp_limits *lim;
    size_t calls;    /* out: resp_parse_request() calls */
    size_t needargs; /* out: RESP_NEEDARGS returns */
    char out[8192];  /* out: the rendering, cut to fit */
    size_t outlen;   /* out: its full length */
};

/* Appends s[0..n) as is; past the size of out, only counts it. */
static void
render_raw_n(struct feed *f, const char *s, size_t n)
{
    if (f->outlen + n < sizeof(f->out)) {
        memcpy(f->out + f->outlen, s, n);
        f->out[f->outlen + n] = '\0';
    }
    f->outlen += n;
}

static void
render_raw(struct feed *f, const char *s)
{
    render_raw_n(f, s, strlen(s));
}

static void
render(struct feed *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || strchr("[]|\\", c) != NULL) {
            char hex[5];
            snprintf(hex, sizeof(hex), "\\x%02x", c);
            render_raw_n(f, hex, 4);
        } else {
            render_raw_n(f, s + i, 1);
        }
    }
}

static void
render_request(struct feed *f, const char *buf, const struct resp_arg *args,
               size_t nargs, size_t used)
{
    render_raw(f, "[");
    for (size_t i = 0; i < nargs; i++) {
        assert_true(args[i].off + args[i].len <= used);
        if (i > 0) {
            render_raw(f, "|");
        }
        render(f, buf + args[i].off, args[i].len);
    }
    render_raw(f, "]");
}

/* Checks what the parser promises for one return code. */
static void
check_return(const struct resp_parser *ps, int rc, size_t len, size_t cap)
{
    if (rc == RESP_INCOMPLETE) {
        assert_true(ps->need > len);
    } else {
        assert_int_equal(ps->need, 0);
    }
    if (rc == RESP_NEEDARGS) {
        assert_true(ps->args_want > cap);
    }
    if (rc > 0) {
        assert_true((size_t)rc <= len);
        assert_true(ps->nargs <= cap);
    }
    if (rc == RESP_EPROTO) {
        assert_non_null(ps->err);
    } else {
        assert_null(ps->err);
    }
}

/* Parses the request at f->in + start with `*avail` stream bytes read so
 * far, reading more as needed. Returns the bytes it took, or 0 when the
 * stream ended (error or unfinished request). */
static size_t
feed_request(struct feed *f, size_t start, size_t *avail,
             struct resp_arg **args, size_t *cap)
{
    struct resp_parser ps;

    memset(&ps, 0, sizeof(ps)); /* a zeroed parser needs no reset */
    for (;;) {
        size_t len = *avail - start;
        int rc = RESP_INCOMPLETE;
        if (len > 0 && (!f->honour_need || len >= ps.need)) {
            char *buf = guard_put(f->in + start, len);
            f->calls++;
            rc = resp_parse_request(&ps, buf, len, *args, *cap, f->lim);
            check_return(&ps, rc, len, *cap);
            if (rc > 0) {
                render_request(f, buf, *args, ps.nargs, (size_t)rc);
                return (size_t)rc;
            }
        }
        if (rc == RESP_EPROTO) {
            render_raw(f, "ERR(");
            render_raw(f, ps.err);
            render_raw(f, ")");
            return 0;
        }
        if (rc == RESP_NEEDARGS) {
            f->needargs++;
            struct resp_arg *more =
                realloc(*args, ps.args_want * sizeof(**args));
            assert_non_null(more);
            *args = more;
            *cap = ps.args_want;
            continue;
        }
        if (*avail == f->n) {
            if (len > 0) {
                render_raw(f, "...");
            }
            return 0;
        }
        size_t more = *avail == 0 ? f->first : f->step;
        *avail = *avail + more < f->n ? *avail + more : f->n;
    }
}

static void
feed_all(struct feed *f)
{
    struct resp_arg *args = NULL;
    size_t cap = f->cap0, start = 0, avail = 0, used;

    args = malloc((cap > 0 ? cap : 1) * sizeof(*args));
    assert_non_null(args);
    f->outlen = 0;
    f->out[0] = '\0';
    f->calls = f->needargs = 0;
    while ((used = feed_request(f, start, &avail, &args, &cap)) > 0) {
        start += used;
    }
    free(args);
}

/* Renders src[0..n) fed in one read. */
static void
feed_whole(struct feed *f, const char *src, size_t n,
           const struct resp_limits *lim)
{
    memset(f, 0, sizeof(*f));
    f->in = src;
    f->n = n;
    f->first = f->step = n > 0 ? n : 1;
    f->cap0 = 64;
    f->lim = lim;
    feed_all(f);
}

/* Asserts that the C string src renders as `expect` in one read. */
static void
expect_stream(const char *src, const char *expect)
{
    struct feed f;

    feed_whole(&f, src, strlen(src), &default_limits);
    assert_string_equal(f.out, expect);
}

/* Asserts that src[0..n) renders as `expect` however it is cut: at every
 * split point, byte by byte, with and without need hints, and with args[]
 * starting empty, tiny or roomy. */
static void
expect_stream_any_split(const char *src, size_t n, const char *expect,
                        const struct resp_limits *lim)
{
    static const size_t caps[] = {0, 1, 64};
    struct feed f;

    for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        for (size_t first = 1; first <= n; first++) {
            memset(&f, 0, sizeof(f));
            f.in = src;
            f.n = n;
            f.first = first;
            f.step = n;
            f.cap0 = caps[c];
            f.honour_need = first % 2 == 0;
            f.lim = lim;
            feed_all(&f);
            assert_string_equal(f.out, expect);
        }
        for (int honour = 0; honour < 2; honour++) {
            memset(&f, 0, sizeof(f));
            f.in = src;
            f.n = n;
            f.first = f.step = 1;
            f.cap0 = caps[c];
            f.honour_need = honour;
            f.lim = lim;
            feed_all(&f);
            assert_string_equal(f.out, expect);
        }
    }
}

/* ---- multibulk ---- */

static void
test_resp_multibulk_set(void **state)
{
    static const char req[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    char *buf;

    (void)state;
    assert_int_equal(
        parse_once(&ps, req, sizeof(req) - 1, args, &default_limits, &buf),
        (int)sizeof(req) - 1);
    assert_int_equal(ps.nargs, 3);
    assert_int_equal(ps.argc, 3);
    assert_false(ps.is_inline);
    assert_int_equal(args[0].off, 8);
    assert_int_equal(args[0].len, 3);
    assert_memory_equal(buf + args[0].off, "SET", 3);
    assert_memory_equal(buf + args[1].off, "k", 1);
    assert_memory_equal(buf + args[2].off, "hello", 5);
    assert_null(ps.err);
    assert_int_equal(ps.need, 0);
}

static void
test_resp_multibulk_leaves_next_request(void **state)
{
    static const char two[] = "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPI";
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];

    (void)state;
    assert_int_equal(
        parse_once(&ps, two, sizeof(two) - 1, args, &default_limits, NULL), 14);
    assert_int_equal(ps.nargs, 1);
}

static void
test_resp_empty_multibulk(void **state)
{
    (void)state;
    expect_stream("*0\r\n", "[]");
    expect_stream("*-1\r\n", "[]");
    expect_stream("*-10\r\n", "[]");
    expect_stream("*-10\r\n*1\r\n$4\r\nPING\r\n", "[][PING]");

    struct resp_parser ps = fresh_parser();
    assert_int_equal(parse_once(&ps, "*0\r\n", 4, NULL, &default_limits, NULL),
                     4);
    assert_int_equal(ps.nargs, 0);
}

static void
test_resp_zero_length_bulk(void **state)
{
    (void)state;
    expect_stream("*2\r\n$3\r\nGET\r\n$0\r\n\r\n", "[GET|]");
    expect_stream("*1\r\n$0\r\n\r\n*1\r\n$0\r\n\r\n", "[][]");
}

static void
test_resp_binary_bulk(void **state)
{
    static const char req[] = "*2\r\n$3\r\nSET\r\n$9\r\na\0b\r\n$*\n\r\r\n";
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    char *buf;

    (void)state;
    assert_int_equal(
        parse_once(&ps, req, sizeof(req) - 1, args, &default_limits, &buf),
        (int)sizeof(req) - 1);
    assert_int_equal(args[1].len, 9);
    assert_memory_equal(buf + args[1].off, "a\0b\r\n$*\n\r", 9);
    expect_stream_any_split(req, sizeof(req) - 1,
                            "[SET|a\\x00b\\x0d\\x0a$*\\x0a\\x0d]",
                            &default_limits);
}

static void
test_resp_pipeline_every_split(void **state)
{
    static const char pipe[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
                               "PING\r\n"
                               "*0\r\n"
                               "*2\r\n$3\r\nGET\r\n$0\r\n\r\n"
                               "\r\n"
                               "set \"a b\" 'c\\'d' \"\\x41\\n\"\n"
                               "*-1\r\n"
                               "*1\r\n$4\r\nx\r\ny\r\n"
                               "*2\r\n$4\r\nECHO\r\n$3\r\nend\r\n";
    static const char expect[] = "[SET|k|hello][PING][][GET|][]"
                                 "[set|a b|c'd|A\\x0a][][x\\x0d\\x0ay]"
                                 "[ECHO|end]";

    (void)state;
    expect_stream_any_split(pipe, sizeof(pipe) - 1, expect, &default_limits);
}

static void
test_resp_pipeline_ending_in_error_every_split(void **state)
{
    static const char pipe[] = "*1\r\n$4\r\nPING\r\n"
                               "ECHO hi\r\n"
                               "*2\r\n$3\r\nGET\r\n$1\r\nkX\r\n"
                               "*1\r\n$4\r\nPING\r\n";

    (void)state;
    expect_stream_any_split(
        pipe, sizeof(pipe) - 1,
        "[PING][ECHO|hi]ERR(Protocol error: bulk string not followed by CRLF)",
        &default_limits);
}

static void
test_resp_unfinished_request_every_split(void **state)
{
    static const char pipe[] = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\n";

    (void)state;
    expect_stream_any_split(pipe, sizeof(pipe) - 1, "[PING]...",
                            &default_limits);
}

/* ---- multibulk errors, with Redis's messages ---- */

static void
test_resp_invalid_multibulk_length(void **state)
{
    static const char msg[] = "Protocol error: invalid multibulk length";
    const struct resp_limits small = {4, RESP_MAX_BULK, MAX_INLINE};

    (void)state;
    expect_error("*3000000000\r\n", &default_limits, msg);
    expect_error("*1073741825\r\n", &default_limits, msg);
    expect_error("*abc\r\n", &default_limits, msg);
    expect_error("*\r\n", &default_limits, msg);
    expect_error("*-0\r\n", &default_limits, msg);
    expect_error("*+1\r\n", &default_limits, msg);
    expect_error("*01\r\n", &default_limits, msg);
    expect_error("*1 \r\n", &default_limits, msg);
    expect_error("* 1\r\n", &default_limits, msg);
    expect_error("*1\rX", &default_limits, msg);
    expect_error("*99999999999999999999\r\n", &default_limits, msg);
    expect_error("*5\r\n", &small, msg);
    expect_stream("*3\n$3\r\n",
                  "ERR(Protocol error: invalid multibulk length)");

    struct resp_parser ps = fresh_parser();
    assert_int_equal(parse_once(&ps, "*4\r\n", 4, NULL, &small, NULL),
                     RESP_NEEDARGS);
}

static void
test_resp_too_big_mbulk_count_string(void **state)
{
    static const char msg[] = "Protocol error: too big mbulk count string";
    size_t n = RESP_MAX_COUNT_LEN + 1;
    char *line = malloc(n + 1);
    struct resp_parser ps = fresh_parser();
    struct feed f;

    (void)state;
    line[0] = '*';
    memset(line + 1, '1', n);
    /* The type byte and RESP_MAX_COUNT_LEN - 1 digits: may still end. */
    assert_int_equal(parse_once(&ps, line, n - 1, NULL, &default_limits, NULL),
                     RESP_INCOMPLETE);
    assert_int_equal(ps.need, n);
    assert_int_equal(parse_once(&ps, line, n, NULL, &default_limits, NULL),
                     RESP_EPROTO);
    assert_string_equal(ps.err, msg);
    /* Fed in pieces, the search resumes where it stopped. */
    memset(&f, 0, sizeof(f));
    f.in = line;
    f.n = n;
    f.first = 1;
    f.step = 997;
    f.lim = &default_limits;
    feed_all(&f);
    assert_string_equal(f.out,
                        "ERR(Protocol error: too big mbulk count string)");
    assert_int_equal(f.calls, 1 + (n - 1 + 996) / 997);
    free(line);
}

static void
test_resp_expected_dollar(void **state)
{
    (void)state;
    expect_error("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", &default_limits,
                 "Protocol error: expected '$', got 'f'");
    expect_error("*1\r\nfoo\r\n", &default_limits,
                 "Protocol error: expected '$', got 'f'");
    expect_error("*1\r\n*", &default_limits,
                 "Protocol error: expected '$', got '*'");
    expect_error("*1\r\n'", &default_limits,
                 "Protocol error: expected '$', got '''");
    expect_error("*1\r\n\r\n", &default_limits,
                 "Protocol error: expected '$', got '\\x0d'");
    expect_error("*1\r\n\xff", &default_limits,
                 "Protocol error: expected '$', got '\\xff'");

    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    assert_int_equal(
        parse_once(&ps, "*1\r\n\0", 5, args, &default_limits, NULL),
        RESP_EPROTO);
    assert_string_equal(ps.err, "Protocol error: expected '$', got '\\x00'");
    assert_ptr_equal(ps.err, ps.errbuf);
}

static void
test_resp_invalid_bulk_length(void **state)
{
    static const char msg[] = "Protocol error: invalid bulk length";
    const struct resp_limits small = {RESP_MAX_ARGS, 5, MAX_INLINE};

    (void)state;
    expect_error("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", &default_limits,
                 msg);
    expect_error("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
                 &default_limits, msg);
    expect_error("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", &default_limits,
                 msg);
    expect_error("*1\r\n$536870913\r\n", &default_limits, msg);
    expect_error("*1\r\n$\r\n", &default_limits, msg);
    expect_error("*1\r\n$-0\r\n", &default_limits, msg);
    expect_error("*1\r\n$01\r\n", &default_limits, msg);
    expect_error("*1\r\n$1\rx", &default_limits, msg);
    expect_error("*1\r\n$6\r\n", &small, msg);
    expect_stream("*1\r\n$5\r\nhello\r\n", "[hello]");

    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    assert_int_equal(parse_once(&ps, "*1\r\n$5\r\n", 8, args, &small, NULL),
                     RESP_INCOMPLETE);
}

static void
test_resp_too_big_bulk_count_string(void **state)
{
    size_t n = 4 + 1 + RESP_MAX_COUNT_LEN;
    char *req = malloc(n);
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];

    (void)state;
    memcpy(req, "*1\r\n$", 5);
    memset(req + 5, '1', n - 5);
    assert_int_equal(parse_once(&ps, req, n - 1, args, &default_limits, NULL),
                     RESP_INCOMPLETE);
    assert_int_equal(parse_once(&ps, req, n, args, &default_limits, NULL),
                     RESP_EPROTO);
    assert_string_equal(ps.err, "Protocol error: too big bulk count string");
    free(req);
}

static void
test_resp_bulk_not_followed_by_crlf(void **state)
{
    static const char msg[] =
        "Protocol error: bulk string not followed by CRLF";

    (void)state;
    expect_error("*1\r\n$3\r\nabcX\r\n", &default_limits, msg);
    expect_error("*1\r\n$3\r\nabc\rX", &default_limits, msg);
    expect_error("*1\r\n$3\r\nabc\n\r", &default_limits, msg);
    expect_error("*1\r\n$0\r\nXY", &default_limits, msg);
}

static void
test_resp_request_too_big(void **state)
{
    const struct resp_limits huge = {RESP_MAX_ARGS, LLONG_MAX, MAX_INLINE};
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    char line[64];
    int n;

    (void)state;
    /* The largest bulk whose request still fits in an int. */
    n = snprintf(line, sizeof(line), "*1\r\n$%d\r\n", INT_MAX - 2 - 17);
    assert_int_equal(parse_once(&ps, line, (size_t)n, args, &huge, NULL),
                     RESP_INCOMPLETE);
    assert_int_equal(ps.need, (size_t)INT_MAX);
    n = snprintf(line, sizeof(line), "*1\r\n$%d\r\n", INT_MAX - 2 - 16);
    ps = fresh_parser();
    assert_int_equal(parse_once(&ps, line, (size_t)n, args, &huge, NULL),
                     RESP_EPROTO);
    assert_string_equal(ps.err, "Protocol error: request too big");
}

/* Redis's "Protocol desync regression test": junk after a NUL must end in
 * a protocol error once the line limit is crossed, not in endless waiting. */
static void
test_resp_protocol_desync(void **state)
{
    static const char *const heads[] = {"\0", "*\0", "$\0"};
    static const size_t head_len[] = {1, 2, 2};
    static const char *const msgs[] = {
        "ERR(Protocol error: too big inline request)",
        "ERR(Protocol error: too big mbulk count string)",
        "ERR(Protocol error: too big inline request)"};
    size_t n = 70000;
    char *in = malloc(n);
    struct feed f;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        memset(in, 'x', n);
        memcpy(in, heads[i], head_len[i]);
        memset(&f, 0, sizeof(f));
        f.in = in;
        f.n = n;
        f.first = f.step = 1024;
        f.honour_need = true;
        f.lim = &default_limits;
        feed_all(&f);
        assert_string_equal(f.out, msgs[i]);
    }
    free(in);
}

/* ---- inline ---- */

static void
test_resp_inline_basic(void **state)
{
    (void)state;
    expect_stream("PING\r\n", "[PING]");
    expect_stream("PING\n", "[PING]");
    expect_stream("  set   a \t b  \r\n", "[set|a|b]");
    expect_stream("\r\n", "[]");
    expect_stream("\n", "[]");
    expect_stream(" \t \r\n", "[]");
    expect_stream("a\rb\n", "[a|b]");
    expect_stream("a\r\r\n", "[a]");
    expect_stream("$3\r\n", "[$3]");
    expect_stream(" *1\r\n", "[*1]");
    expect_stream("PING", "...");
    expect_stream("a\vb \vc\n", "[a\\x0bb|c]");

    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    char *buf;
    assert_int_equal(
        parse_once(&ps, "GET k\r\nX", 8, args, &default_limits, &buf), 7);
    assert_true(ps.is_inline);
    assert_int_equal(ps.nargs, 2);
    assert_int_equal(args[1].off, 4);
    assert_int_equal(args[1].len, 1);
}

static void
test_resp_inline_quotes(void **state)
{
    (void)state;
    expect_stream("set \"a b\" c\n", "[set|a b|c]");
    expect_stream("\"\\x41\\x4a\\x4b\\x6f\"\n", "[AJKo]");
    expect_stream("\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\n",
                  "[\\x0a\\x0d\\x09\\x08\\x07\\x5c\"q]");
    expect_stream("\"\\x4g\" \"\\x4\"\n", "[x4g|x4]");
    expect_stream("\"\\x00\"\n", "[\\x00]");
    expect_stream("'it\\'s'\n", "[it's]");
    expect_stream("'a\\\\b' 'a\\nb'\n", "[a\\x5c\\x5cb|a\\x5cnb]");
    expect_stream("'a\"b' \"a'b\"\n", "[a\"b|a'b]");
    expect_stream("\"\" ''\n", "[|]");
    expect_stream("a\"b c\"\n", "[ab c]");
    expect_stream("a'b c' d\n", "[ab c|d]");
    expect_stream("\"a\"\tb\n", "[a|b]");
    expect_stream("\"a\"\r\n", "[a]");
    expect_stream("\"a\r\"\r\n", "[a\\x0d]");
    expect_stream("\"a\"\vb\n", "[a|b]");
    expect_stream("\"a b\n",
                  "ERR(Protocol error: unbalanced quotes in request)");
}

static void
test_resp_inline_unbalanced_quotes(void **state)
{
    static const char msg[] = "Protocol error: unbalanced quotes in request";

    (void)state;
    expect_error("set \"\"\"test-key\"\"\" test-value\r\n", &default_limits,
                 msg);
    expect_error("\"abc\r\n", &default_limits, msg);
    expect_error("'abc\n", &default_limits, msg);
    expect_error("\"a\"b\n", &default_limits, msg);
    expect_error("'a'b\n", &default_limits, msg);
    expect_error("\"abc\\\"\n", &default_limits, msg);
    expect_error("\"abc\\\n", &default_limits, msg);
    expect_error("'abc\\'\n", &default_limits, msg);
    expect_error("\"\"\"\n", &default_limits, msg);
}

static void
test_resp_inline_unescapes_in_place(void **state)
{
    static const char line[] = "SET \"k\\x31\" 'v v'\r\n";
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    char *buf;

    (void)state;
    assert_int_equal(
        parse_once(&ps, line, sizeof(line) - 1, args, &default_limits, &buf),
        (int)sizeof(line) - 1);
    assert_int_equal(ps.nargs, 3);
    assert_int_equal(args[1].off, 4);
    assert_int_equal(args[1].len, 2);
    assert_memory_equal(buf + args[1].off, "k1", 2);
    assert_int_equal(args[2].off, 12);
    assert_memory_equal(buf + args[2].off, "v v", 3);
}

static void
test_resp_inline_nul_is_ordinary(void **state)
{
    static const char line[] = "SET a\0b \"c\0d\"\n";
    struct feed f;

    (void)state;
    feed_whole(&f, line, sizeof(line) - 1, &default_limits);
    assert_string_equal(f.out, "[SET|a\\x00b|c\\x00d]");
}

static void
test_resp_inline_quotes_every_split(void **state)
{
    static const char in[] = "set \"a\\\"b\" 'c\\'d' x\"y z\"\r\n"
                             "echo \"\\xff\\x00\"\n"
                             "\"unterminated\r\n"
                             "PING\r\n";

    (void)state;
    expect_stream_any_split(in, sizeof(in) - 1,
                            "[set|a\"b|c'd|xy z][echo|\\xff\\x00]"
                            "ERR(Protocol error: unbalanced quotes in request)",
                            &default_limits);
}

static void
test_resp_too_big_inline_request(void **state)
{
    const struct resp_limits small = {RESP_MAX_ARGS, RESP_MAX_BULK, 8};
    size_t n = MAX_INLINE + 1;
    char *line = malloc(n + 1);
    struct resp_parser ps;
    struct resp_arg args[64];
    struct feed f;

    (void)state;
    expect_stream("1234567\r\n", "[1234567]");
    expect_error("123456789", &small, "Protocol error: too big inline request");
    ps = fresh_parser();
    assert_int_equal(parse_once(&ps, "12345678", 8, args, &small, NULL),
                     RESP_INCOMPLETE);
    ps = fresh_parser();
    assert_int_equal(parse_once(&ps, "1234567\r\n", 9, args, &small, NULL), 9);
    ps = fresh_parser();
    assert_int_equal(parse_once(&ps, "12345678\n", 9, args, &small, NULL), 9);
    expect_error("123456789\n", &small,
                 "Protocol error: too big inline request");

    /* The default limit: a 64 KiB line is fine, one byte more is not. */
    memset(line, 'a', n);
    line[n - 1] = '\n';
    memset(&f, 0, sizeof(f));
    f.in = line;
    f.n = n;
    f.first = f.step = 4099;
    f.lim = &default_limits;
    feed_all(&f);
    assert_int_equal(f.outlen, 2 + MAX_INLINE);
    line[n - 1] = 'a';
    line[n] = '\n';
    f.n = n + 1;
    feed_all(&f);
    assert_string_equal(f.out, "ERR(Protocol error: too big inline request)");
    free(line);
}

static void
test_resp_inline_needargs(void **state)
{
    static const char line[] = "a \"b\\x41\" c d\n";
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[4];
    char *buf = guard_put(line, sizeof(line) - 1);

    (void)state;
    assert_int_equal(resp_parse_request(&ps, buf, sizeof(line) - 1, args, 2,
                                        &default_limits),
                     RESP_NEEDARGS);
    assert_int_equal(ps.args_want, 4);
    assert_int_equal(ps.argc, 4);
    assert_memory_equal(buf, line, sizeof(line) - 1); /* untouched */
    assert_int_equal(resp_parse_request(&ps, buf, sizeof(line) - 1, args, 4,
                                        &default_limits),
                     (int)sizeof(line) - 1);
    assert_int_equal(ps.nargs, 4);
    assert_memory_equal(buf + args[1].off, "bA", 2);
    assert_memory_equal(buf + args[3].off, "d", 1);
}

static void
test_resp_inline_too_many_arguments(void **state)
{
    const struct resp_limits small = {3, RESP_MAX_BULK, MAX_INLINE};

    (void)state;
    expect_error("a b c d\n", &small, "Protocol error: too many arguments");
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    assert_int_equal(parse_once(&ps, "a b c\n", 6, args, &small, NULL), 6);
}

/* ---- incremental behaviour ---- */

static void
test_resp_need_hints(void **state)
{
    static const char req[] = "*2\r\n$5\r\nhello\r\n$3\r\nabc\r\n";
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    /* Bytes available -> need expected after the call. */
    static const size_t steps[][2] = {
        {0, 1},  {1, 2},   {2, 3},   {3, 4},   {4, 5},   {5, 6},  {7, 8},
        {8, 15}, {14, 15}, {15, 16}, {18, 19}, {19, 24}, {23, 24}};

    (void)state;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int rc = parse_once(&ps, req, steps[i][0], args, &default_limits, NULL);
        assert_int_equal(rc, RESP_INCOMPLETE);
        assert_int_equal(ps.need, steps[i][1]);
    }
    assert_int_equal(ps.pos, 19);
    assert_int_equal(ps.nargs, 1);
    assert_int_equal(ps.bulk, 3);
    assert_int_equal(parse_once(&ps, req, 24, args, &default_limits, NULL), 24);
    assert_int_equal(ps.need, 0);
}

static void
test_resp_need_skips_bulk_bytes(void **state)
{
    size_t n = 13 + 100000 + 2;
    char *req = malloc(n);
    struct feed f;

    (void)state;
    memcpy(req, "*1\r\n$100000\r\n", 13);
    memset(req + 13, 'v', 100000);
    memcpy(req + n - 2, "\r\n", 2);
    memset(&f, 0, sizeof(f));
    f.in = req;
    f.n = n;
    f.first = 1;
    f.step = 1;
    f.cap0 = 1;
    f.honour_need = true;
    f.lim = &default_limits;
    feed_all(&f);
    assert_int_equal(f.outlen, 2 + 100000);
    /* One call per header byte, then one when the whole bulk is there. */
    assert_int_equal(f.calls, 14);
    free(req);
}

static void
test_resp_buffer_may_move(void **state)
{
    static const char req[] = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];
    char *first = malloc(sizeof(req)), *second = malloc(sizeof(req));

    (void)state;
    memcpy(first, req, 16);
    assert_int_equal(
        resp_parse_request(&ps, first, 16, args, 64, &default_limits),
        RESP_INCOMPLETE);
    memcpy(second, req, sizeof(req) - 1);
    memset(first, 'Z', 16);
    free(first);
    assert_int_equal(resp_parse_request(&ps, second, sizeof(req) - 1, args, 64,
                                        &default_limits),
                     (int)sizeof(req) - 1);
    assert_memory_equal(second + args[0].off, "GET", 3);
    assert_memory_equal(second + args[1].off, "key", 3);
    free(second);
}

static void
test_resp_zeroed_parser(void **state)
{
    struct resp_parser ps;
    struct resp_arg args[64];

    (void)state;
    memset(&ps, 0, sizeof(ps));
    assert_int_equal(
        parse_once(&ps, "*1\r\n$1\r\nx\r\n", 11, args, &default_limits, NULL),
        11);
    memset(&ps, 0, sizeof(ps));
    assert_int_equal(
        parse_once(&ps, "PING\r\n", 6, args, &default_limits, NULL), 6);
}

static void
test_resp_reset_clears_state(void **state)
{
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];

    (void)state;
    assert_int_equal(ps.pos, 0);
    assert_int_equal(ps.argc, -1);
    assert_int_equal(ps.bulk, -1);
    assert_int_equal(ps.nargs, 0);
    assert_null(ps.err);
    assert_int_equal(parse_once(&ps, "*1\r\nx", 5, args, &default_limits, NULL),
                     RESP_EPROTO);
    resp_parser_reset(&ps);
    assert_null(ps.err);
    assert_int_equal(
        parse_once(&ps, "PING\r\n", 6, args, &default_limits, NULL), 6);
}

/* ---- RESP_NEEDARGS ---- */

static void
test_resp_needargs_growth(void **state)
{
    size_t n = 0;
    char *req = malloc(16 + 150 * 16);
    struct resp_parser ps = fresh_parser();
    struct resp_arg *args = NULL;
    size_t cap = 0;
    static const size_t wants[] = {64, 150};
    size_t grown = 0;
    int rc;

    (void)state;
    n += (size_t)sprintf(req, "*150\r\n");
    for (int i = 0; i < 150; i++) {
        n += (size_t)sprintf(req + n, "$%d\r\n%d\r\n",
                             i < 10    ? 1
                             : i < 100 ? 2
                                       : 3,
                             i);
    }
    char *buf = guard_put(req, n);
    while ((rc = resp_parse_request(&ps, buf, n, args, cap, &default_limits)) ==
           RESP_NEEDARGS) {
        assert_true(grown < 2);
        assert_int_equal(ps.args_want, wants[grown]);
        assert_int_equal(ps.nargs, cap);
        cap = ps.args_want;
        struct resp_arg *more = realloc(args, cap * sizeof(*args));
        assert_non_null(more);
        args = more;
        grown++;
    }
    assert_int_equal(grown, 2);
    assert_non_null(args);
    assert_int_equal(rc, (int)n);
    assert_int_equal(ps.nargs, 150);
    for (int i = 0; i < 150; i++) {
        char want[8];
        int len = snprintf(want, sizeof(want), "%d", i);
        assert_int_equal(args[i].len, (size_t)len);
        assert_memory_equal(buf + args[i].off, want, (size_t)len);
    }
    free(args);
    free(req);
}

/* A hostile "*<huge>" must not make the caller allocate the huge count. */
static void
test_resp_needargs_huge_count(void **state)
{
    static const char req[] = "*1073741824\r\n$1\r\na\r\n";
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[64];

    (void)state;
    assert_int_equal(parse_once(&ps, req, 13, NULL, &default_limits, NULL),
                     RESP_NEEDARGS);
    assert_int_equal(ps.argc, 1073741824LL);
    assert_int_equal(ps.args_want, 64);
    ps = fresh_parser();
    assert_int_equal(resp_parse_request(&ps, guard_put(req, sizeof(req) - 1),
                                        sizeof(req) - 1, args, 64,
                                        &default_limits),
                     RESP_INCOMPLETE);
    assert_int_equal(ps.nargs, 1);
    assert_int_equal(ps.need, sizeof(req));
}

static void
test_resp_needargs_small_count(void **state)
{
    struct resp_parser ps = fresh_parser();
    struct resp_arg args[3];

    (void)state;
    assert_int_equal(
        parse_once(&ps, "*3\r\n$1\r\na\r\n", 11, NULL, &default_limits, NULL),
        RESP_NEEDARGS);
    assert_int_equal(ps.args_want, 3);
    assert_int_equal(ps.nargs, 0);
    assert_int_equal(resp_parse_request(&ps, guard_put("*3\r\n$1\r\na\r\n", 11),
                                        11, args, 3, &default_limits),
                     RESP_INCOMPLETE);
    assert_int_equal(ps.nargs, 1);
}

/* ---- numbers ---- */

static void
test_resp_str2ll(void **state)
{
    static const struct {
        const char *s;
        bool ok;
        long long v;
    } cases[] = {
        {"0", true, 0},
        {"1", true, 1},
        {"-1", true, -1},
        {"42", true, 42},
        {"9223372036854775807", true, LLONG_MAX},
        {"-9223372036854775808", true, LLONG_MIN},
        {"9223372036854775808", false, 0},
        {"-9223372036854775809", false, 0},
        {"18446744073709551616", false, 0},
        {"99999999999999999999", false, 0},
        {"", false, 0},
        {"-", false, 0},
        {"-0", false, 0},
        {"00", false, 0},
        {"01", false, 0},
        {"-01", false, 0},
        {"+1", false, 0},
        {" 1", false, 0},
        {"1 ", false, 0},
        {"1a", false, 0},
        {"a", false, 0},
        {"1.0", false, 0},
        {"--1", false, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long v = 12345;
        size_t len = strlen(cases[i].s);
        char *s = guard_put(cases[i].s, len);
        bool ok = resp_str2ll(s, len, &v);
        assert_int_equal(ok, cases[i].ok);
        assert_true(v == (ok ? cases[i].v : 12345));
    }
    long long v;
    assert_false(resp_str2ll("12", 0, &v));
    assert_true(resp_str2ll("123", 2, &v));
    assert_int_equal(v, 12);
    assert_false(resp_str2ll("1\0", 2, &v));
}

/* ---- encoding ---- */

static void
test_resp_fmt_ll(void **state)
{
    char dst[21];

    (void)state;
    assert_int_equal(resp_fmt_ll(dst, 0), 1);
    assert_string_equal(dst, "0");
    assert_int_equal(resp_fmt_ll(dst, -7), 2);
    assert_string_equal(dst, "-7");
    assert_int_equal(resp_fmt_ll(dst, 1234567890), 10);
    assert_string_equal(dst, "1234567890");
    assert_int_equal(resp_fmt_ll(dst, LLONG_MAX), 19);
    assert_string_equal(dst, "9223372036854775807");
    assert_int_equal(resp_fmt_ll(dst, LLONG_MIN), 20);
    assert_string_equal(dst, "-9223372036854775808");
}

static void
test_resp_fmt_header(void **state)
{
    char dst[RESP_HEADER_MAX];

    (void)state;
    assert_int_equal(resp_fmt_header(dst, '$', 5), 4);
    assert_string_equal(dst, "$5\r\n");
    assert_int_equal(resp_fmt_header(dst, '*', -1), 5);
    assert_string_equal(dst, "*-1\r\n");
    assert_int_equal(resp_fmt_header(dst, ':', 0), 4);
    assert_string_equal(dst, ":0\r\n");
    assert_int_equal(resp_fmt_header(dst, ':', LLONG_MIN), 23);
    assert_string_equal(dst, ":-9223372036854775808\r\n");
    assert_int_equal(resp_fmt_header(dst, '%', LLONG_MAX), 22);
    assert_string_equal(dst, "%9223372036854775807\r\n");
}

static void
test_resp_fmt_double(void **state)
{
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {3, "3"},
        {1.5, "1.5"},
        {0.1, "0.1"},
        {-2.25, "-2.25"},
        {0, "0"},
        {-0.0, "-0"},
        {1e300, "1e+300"},
        {1e-300, "1e-300"},
        {100, "100"},
        {123456789012345680.0, "1.2345678901234568e+17"},
        {1.0 / 3, "0.3333333333333333"},
        {0.1 + 0.2, "0.30000000000000004"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {-DBL_MIN, "-2.2250738585072014e-308"},
        {5e-324, "5e-324"},
        {3.14, "3.14"},
        {1e16, "10000000000000000"},
        {1.5e16, "15000000000000000"},
        {1e17, "1e+17"},
        {123456.0, "123456"},
        {0.0001, "0.0001"},
        {0.00012345, "0.00012345"},
        {1e-5, "1e-05"},
        {-1e-5, "-1e-05"},
        {9.99, "9.99"},
        {99999999999999984.0, "99999999999999984"},
    };
    char dst[32];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = resp_fmt_double(dst, cases[i].v);
        assert_string_equal(dst, cases[i].s);
        assert_int_equal(len, strlen(cases[i].s));
        assert_true(strtod(dst, NULL) == cases[i].v);
    }
    assert_int_equal(resp_fmt_double(dst, INFINITY), 3);
    assert_string_equal(dst, "inf");
    assert_int_equal(resp_fmt_double(dst, -INFINITY), 4);
    assert_string_equal(dst, "-inf");
    assert_int_equal(resp_fmt_double(dst, NAN), 3);
    assert_string_equal(dst, "nan");
    assert_int_equal(resp_fmt_double(dst, -NAN), 3);
    assert_string_equal(dst, "nan");
}

/* Every double drawn from random bits reads back exactly, in <= 24 bytes. */
static void
test_resp_fmt_double_round_trips(void **state)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    char dst[32];

    (void)state;
    for (int i = 0; i < 20000; i++) {
        double v;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&v, &x, sizeof(v));
        if (isnan(v) || isinf(v)) {
            continue;
        }
        size_t len = resp_fmt_double(dst, v);
        assert_true(len <= 24);
        assert_int_equal(len, strlen(dst));
        assert_true(strtod(dst, NULL) == v);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_multibulk_set),
        cmocka_unit_test(test_resp_multibulk_leaves_next_request),
        cmocka_unit_test(test_resp_empty_multibulk),
        cmocka_unit_test(test_resp_zero_length_bulk),
        cmocka_unit_test(test_resp_binary_bulk),
        cmocka_unit_test(test_resp_pipeline_every_split),
        cmocka_unit_test(test_resp_pipeline_ending_in_error_every_split),
        cmocka_unit_test(test_resp_unfinished_request_every_split),
        cmocka_unit_test(test_resp_invalid_multibulk_length),
        cmocka_unit_test(test_resp_too_big_mbulk_count_string),
        cmocka_unit_test(test_resp_expected_dollar),
        cmocka_unit_test(test_resp_invalid_bulk_length),
        cmocka_unit_test(test_resp_too_big_bulk_count_string),
        cmocka_unit_test(test_resp_bulk_not_followed_by_crlf),
        cmocka_unit_test(test_resp_request_too_big),
        cmocka_unit_test(test_resp_protocol_desync),
        cmocka_unit_test(test_resp_inline_basic),
        cmocka_unit_test(test_resp_inline_quotes),
        cmocka_unit_test(test_resp_inline_unbalanced_quotes),
        cmocka_unit_test(test_resp_inline_unescapes_in_place),
        cmocka_unit_test(test_resp_inline_nul_is_ordinary),
        cmocka_unit_test(test_resp_inline_quotes_every_split),
        cmocka_unit_test(test_resp_too_big_inline_request),
        cmocka_unit_test(test_resp_inline_needargs),
        cmocka_unit_test(test_resp_inline_too_many_arguments),
        cmocka_unit_test(test_resp_need_hints),
        cmocka_unit_test(test_resp_need_skips_bulk_bytes),
        cmocka_unit_test(test_resp_buffer_may_move),
        cmocka_unit_test(test_resp_zeroed_parser),
        cmocka_unit_test(test_resp_reset_clears_state),
        cmocka_unit_test(test_resp_needargs_growth),
        cmocka_unit_test(test_resp_needargs_huge_count),
        cmocka_unit_test(test_resp_needargs_small_count),
        cmocka_unit_test(test_resp_str2ll),
        cmocka_unit_test(test_resp_fmt_ll),
        cmocka_unit_test(test_resp_fmt_header),
        cmocka_unit_test(test_resp_fmt_double),
        cmocka_unit_test(test_resp_fmt_double_round_trips),
    };

    return cmocka_run_group_tests_name("resp", tests, guard_setup,
                                       guard_teardown);
}
