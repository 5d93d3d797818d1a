/*
 * resp_parse.c -- incremental, zero-copy parser for client requests.
 *
 * Problem: a connection's input buffer holds any prefix of a stream of
 * requests, cut wherever the kernel cut it. The parser must turn each
 * complete request into argument views without copying, resume cheaply
 * when more bytes arrive, refuse every length a hostile client could use to
 * make the server allocate or loop, and agree byte for byte with what Redis
 * 7 accepts and rejects, since real clients and Redis's own test-suite
 * depend on those answers.
 *
 * Layout: the caller's buffer starts at the request; every position below
 * is an offset from that start, so the caller may move the buffer between
 * calls. A multibulk request is parsed line by line:
 *
 *   *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel
 *   ^           ^            ^          ^ ps->pos = 24, ps->bulk = 5:
 *   |           |            |            waits for ps->need = 31
 *   |           |            args[1] = {off 17, len 1}
 *   |           args[0] = {off 8, len 3}
 *   count line: ps->argc = 3
 *
 *   state            fields                   waits for
 *   count line       pos == 0                 "\r\n" ending "*N"
 *   bulk line        pos > 0, bulk == -1      "\r\n" ending "$N"
 *   bulk data        pos > 0, bulk >= 0       pos + bulk + 2 bytes (need)
 *
 * While waiting for a line's "\r", ps->scan remembers how far the search
 * got. An inline request keeps pos at 0 until its "\n" arrives (scan again
 * remembers the search), then is split in two passes over the line: a
 * counting pass that writes nothing, so RESP_NEEDARGS and quote errors
 * leave buf intact, and a pass that unescapes in place and records args.
 *
 * Invariants: every byte read is below len; every line is bounded
 * (RESP_MAX_COUNT_LEN, lim->max_inline) and every count and length is
 * checked against lim before it sizes anything; pos never exceeds
 * RESP_MAX_REQUEST, so the success return fits in an int. The outcome
 * depends only on the request bytes, never on where calls cut them: each
 * decision is made on a fixed window of bytes, never on "what has arrived
 * so far". While unescaping, the write index never passes the read index.
 *
 * Cost: over all calls, each byte of a "*N" or "$N" line is searched once
 * by memchr and its digits read once by resp_str2ll (which gives up after
 * about 20); bulk data is not read at all. A call with nothing new costs
 * O(1), and ps->need lets the caller skip even that. An inline line is
 * searched once for its "\n" and walked twice when complete.
 *
 * Rejected: copying arguments out (the buffer is already the storage);
 * pointer arguments (the caller's buffer moves when it grows); rescanning a
 * line from its start on every call (quadratic for a byte-at-a-time
 * client); asking the caller for args[argc] as soon as "*N" arrives (a
 * 20-byte header could demand gigabytes); reading a NUL as the end of an
 * inline line as Redis does (it silently drops the rest of the line).
 */

#include "resp.h"

#include <string.h>

#define COUNT_LINE_MAX ((size_t)RESP_MAX_COUNT_LEN) /* bytes before "\r" */

static const char ERR_MBULK_LEN[] = "Protocol error: invalid multibulk length";
static const char ERR_MBULK_LINE[] =
    "Protocol error: too big mbulk count string";
static const char ERR_BULK_LEN[] = "Protocol error: invalid bulk length";
static const char ERR_BULK_LINE[] = "Protocol error: too big bulk count string";
static const char ERR_BULK_END[] =
    "Protocol error: bulk string not followed by CRLF";
static const char ERR_INLINE_LINE[] = "Protocol error: too big inline request";
static const char ERR_QUOTES[] = "Protocol error: unbalanced quotes in request";
static const char ERR_TOO_MANY[] = "Protocol error: too many arguments";
static const char ERR_TOO_BIG[] = "Protocol error: request too big";

/* ---- helpers shared by both request kinds ---- */

static int
fail(struct resp_parser *ps, const char *msg)
{
    ps->err = msg;
    return RESP_EPROTO;
}

static int
incomplete(struct resp_parser *ps, size_t need)
{
    ps->need = need;
    return RESP_INCOMPLETE;
}

static int
need_args(struct resp_parser *ps, size_t want)
{
    ps->args_want = want;
    return RESP_NEEDARGS;
}

/* Formats "expected '$', got 'c'" into errbuf; a byte that is not
 * printable ASCII (it could break the reply line) is shown as \xHH. */
static int
fail_expected_dollar(struct resp_parser *ps, unsigned char c)
{
    static const char head[] = "Protocol error: expected '$', got '";
    static const char hex[] = "0123456789abcdef";
    char *p = ps->errbuf + sizeof(head) - 1;

    memcpy(ps->errbuf, head, sizeof(head) - 1);
    if (c >= 0x20 && c < 0x7f) {
        *p++ = (char)c;
    } else {
        *p++ = '\\';
        *p++ = 'x';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 15];
    }
    *p++ = '\'';
    *p = '\0';
    return fail(ps, ps->errbuf);
}

/* ---- multibulk ---- */

/* Reads the "*N" or "$N" line starting at ps->pos (its type byte already
 * checked) into *n and moves pos past its "\r\n". The "\r" must come within
 * RESP_MAX_COUNT_LEN bytes of the type byte, else `too_long`; a line that
 * is not a strict decimal followed by "\r\n" is `bad`. Returns 0 or a
 * resp_parse_request() code. */
static int
read_number_line(struct resp_parser *ps, const char *buf, size_t len,
                 long long *n, const char *too_long, const char *bad)
{
    size_t from = ps->scan > ps->pos ? ps->scan : ps->pos + 1;
    size_t end = ps->pos + COUNT_LINE_MAX + 1;
    const char *cr;
    size_t at;

    end = end < len ? end : len;
    cr = from < end ? memchr(buf + from, '\r', end - from) : NULL;
    if (cr == NULL) {
        ps->scan = end > from ? end : from;
        if (len - ps->pos > COUNT_LINE_MAX) {
            return fail(ps, too_long);
        }
        return incomplete(ps, len + 1);
    }
    at = (size_t)(cr - buf);
    ps->scan = at;
    if (!resp_str2ll(buf + ps->pos + 1, at - ps->pos - 1, n)) {
        return fail(ps, bad);
    }
    if (at + 1 == len) {
        return incomplete(ps, at + 2);
    }
    if (buf[at + 1] != '\n') {
        return fail(ps, bad);
    }
    ps->pos = at + 2;
    return 0;
}

/* Parses the "*N" line; a count <= 0 leaves argc 0 (an empty request). */
static int
parse_count(struct resp_parser *ps, const char *buf, size_t len,
            const struct resp_limits *lim)
{
    long long n;
    int rc = read_number_line(ps, buf, len, &n, ERR_MBULK_LINE, ERR_MBULK_LEN);

    if (rc != 0) {
        return rc;
    }
    if (n > lim->max_args) {
        return fail(ps, ERR_MBULK_LEN);
    }
    ps->argc = n > 0 ? n : 0;
    ps->nargs = 0;
    ps->bulk = -1;
    return 0;
}

/* Parses the "$N" line of the next argument into ps->bulk. */
static int
parse_bulk_len(struct resp_parser *ps, const char *buf, size_t len,
               const struct resp_limits *lim)
{
    long long n;
    int rc;

    if (ps->pos == len) {
        return incomplete(ps, len + 1);
    }
    if (buf[ps->pos] != '$') {
        return fail_expected_dollar(ps, (unsigned char)buf[ps->pos]);
    }
    rc = read_number_line(ps, buf, len, &n, ERR_BULK_LINE, ERR_BULK_LEN);
    if (rc != 0) {
        return rc;
    }
    if (n < 0 || n > lim->max_bulk) {
        return fail(ps, ERR_BULK_LEN);
    }
    if (n > (long long)RESP_MAX_REQUEST - 2 - (long long)ps->pos) {
        return fail(ps, ERR_TOO_BIG);
    }
    ps->bulk = n;
    return 0;
}

/* Parses one argument: its "$N" line unless already read, then its data and
 * the "\r\n" after it. Asks for room in args[] before reading anything. */
static int
parse_arg(struct resp_parser *ps, const char *buf, size_t len,
          struct resp_arg *args, size_t args_cap, const struct resp_limits *lim)
{
    size_t end;

    if (ps->bulk < 0) {
        if (ps->nargs >= args_cap) {
            size_t want = 2 * ps->nargs + 64;
            size_t argc = (size_t)ps->argc;
            return need_args(ps, want < argc ? want : argc);
        }
        int rc = parse_bulk_len(ps, buf, len, lim);
        if (rc != 0) {
            return rc;
        }
    }
    end = ps->pos + (size_t)ps->bulk;
    if (len < end || len - end < 2) {
        return incomplete(ps, end + 2);
    }
    if (buf[end] != '\r' || buf[end + 1] != '\n') {
        return fail(ps, ERR_BULK_END);
    }
    args[ps->nargs].off = ps->pos;
    args[ps->nargs].len = (size_t)ps->bulk;
    ps->nargs++;
    ps->pos = end + 2;
    ps->bulk = -1;
    return 0;
}

static int
parse_multibulk(struct resp_parser *ps, const char *buf, size_t len,
                struct resp_arg *args, size_t args_cap,
                const struct resp_limits *lim)
{
    if (ps->pos == 0) {
        int rc = parse_count(ps, buf, len, lim);
        if (rc != 0) {
            return rc;
        }
    }
    while (ps->nargs < (size_t)ps->argc) {
        int rc = parse_arg(ps, buf, len, args, args_cap, lim);
        if (rc != 0) {
            return rc;
        }
    }
    return (int)ps->pos;
}

/* ---- inline ---- */

/* A cursor over one inline line. In the counting pass `write` is false and
 * buf is only read; w then advances without storing. */
struct splitter {
    char *buf;
    size_t r;   /* next byte to read */
    size_t end; /* end of the line, without its "\r\n" */
    size_t w;   /* next byte to write; w <= r */
    bool write;
};

/* Blanks skipped between arguments and accepted after a closing quote:
 * isspace() in the C locale, as Redis uses. */
static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Bytes that end an unquoted argument (Redis: not \v or \f). */
static bool
ends_word(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void
emit(struct splitter *sp, char c)
{
    if (sp->write) {
        sp->buf[sp->w] = c;
    }
    sp->w++;
}

static char
unescape(char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'a':
        return '\a';
    default:
        return c;
    }
}

/* Consumes the closing quote at sp->r; it must end the argument. */
static bool
close_quote(struct splitter *sp)
{
    sp->r++;
    return sp->r == sp->end || is_blank(sp->buf[sp->r]);
}

/* Reads a double-quoted section; sp->r is just past the opening quote. */
static bool
read_double_quoted(struct splitter *sp)
{
    const char *b = sp->buf;

    while (sp->r < sp->end) {
        char c = b[sp->r];
        if (c == '"') {
            return close_quote(sp);
        }
        if (c == '\\' && sp->r + 3 < sp->end && b[sp->r + 1] == 'x' &&
            hex_value(b[sp->r + 2]) >= 0 && hex_value(b[sp->r + 3]) >= 0) {
            emit(sp, (char)(hex_value(b[sp->r + 2]) * 16 +
                            hex_value(b[sp->r + 3])));
            sp->r += 4;
        } else if (c == '\\' && sp->r + 1 < sp->end) {
            emit(sp, unescape(b[sp->r + 1]));
            sp->r += 2;
        } else {
            emit(sp, c);
            sp->r++;
        }
    }
    return false;
}

/* Reads a single-quoted section; only \' is an escape there. */
static bool
read_single_quoted(struct splitter *sp)
{
    const char *b = sp->buf;

    while (sp->r < sp->end) {
        char c = b[sp->r];
        if (c == '\'') {
            return close_quote(sp);
        }
        if (c == '\\' && sp->r + 1 < sp->end && b[sp->r + 1] == '\'') {
            emit(sp, '\'');
            sp->r += 2;
        } else {
            emit(sp, c);
            sp->r++;
        }
    }
    return false;
}

/* Reads one argument starting at a non-blank byte. A quote may open after
 * unquoted bytes (a"b c" is `ab c`); its closing quote ends the argument. */
static bool
read_word(struct splitter *sp)
{
    while (sp->r < sp->end && !ends_word(sp->buf[sp->r])) {
        char c = sp->buf[sp->r++];
        if (c == '"') {
            return read_double_quoted(sp);
        }
        if (c == '\'') {
            return read_single_quoted(sp);
        }
        emit(sp, c);
    }
    return true;
}

/* Splits buf[0..end) into arguments, storing them in args unless args is
 * NULL (the counting pass). Returns the count, or -1 on bad quoting. */
static long long
split_line(char *buf, size_t end, struct resp_arg *args)
{
    struct splitter sp = {buf, 0, end, 0, args != NULL};
    long long n = 0;

    for (;;) {
        while (sp.r < sp.end && is_blank(buf[sp.r])) {
            sp.r++;
        }
        if (sp.r == sp.end) {
            return n;
        }
        sp.w = sp.r;
        size_t start = sp.w;
        if (!read_word(&sp)) {
            return -1;
        }
        if (args != NULL) {
            args[n].off = start;
            args[n].len = sp.w - start;
        }
        n++;
    }
}

/* Finds the "\n" ending the inline line, searching only the first
 * max_inline + 1 bytes so the outcome does not depend on arrival. */
static int
find_newline(struct resp_parser *ps, const char *buf, size_t len,
             const struct resp_limits *lim, size_t *nl)
{
    size_t max = lim->max_inline < (size_t)RESP_MAX_REQUEST - 1
                     ? lim->max_inline
                     : (size_t)RESP_MAX_REQUEST - 1;
    size_t end = len < max + 1 ? len : max + 1;
    size_t from = ps->scan;
    const char *p = from < end ? memchr(buf + from, '\n', end - from) : NULL;

    if (p == NULL) {
        ps->scan = end > from ? end : from;
        if (len > max) {
            return fail(ps, ERR_INLINE_LINE);
        }
        return incomplete(ps, len + 1);
    }
    *nl = (size_t)(p - buf);
    ps->scan = *nl;
    return 0;
}

static int
parse_inline(struct resp_parser *ps, char *buf, size_t len,
             struct resp_arg *args, size_t args_cap,
             const struct resp_limits *lim)
{
    size_t nl, end;
    long long n;
    int rc = find_newline(ps, buf, len, lim, &nl);

    if (rc != 0) {
        return rc;
    }
    end = nl > 0 && buf[nl - 1] == '\r' ? nl - 1 : nl;
    n = split_line(buf, end, NULL);
    if (n < 0) {
        return fail(ps, ERR_QUOTES);
    }
    if (n > lim->max_args) {
        return fail(ps, ERR_TOO_MANY);
    }
    ps->argc = n;
    if ((size_t)n > args_cap) {
        return need_args(ps, (size_t)n);
    }
    split_line(buf, end, args);
    ps->nargs = (size_t)n;
    ps->pos = nl + 1;
    return (int)ps->pos;
}

/* ---- entry points ---- */

void
resp_parser_reset(struct resp_parser *ps)
{
    ps->pos = 0;
    ps->need = 0;
    ps->argc = -1;
    ps->nargs = 0;
    ps->bulk = -1;
    ps->scan = 0;
    ps->args_want = 0;
    ps->is_inline = false;
    ps->err = NULL;
    ps->errbuf[0] = '\0';
}

int
resp_parse_request(struct resp_parser *ps, char *buf, size_t len,
                   struct resp_arg *args, size_t args_cap,
                   const struct resp_limits *lim)
{
    ps->need = 0;
    ps->args_want = 0;
    ps->err = NULL;
    if (len == 0 || len < ps->pos) {
        return incomplete(ps, (len > ps->pos ? len : ps->pos) + 1);
    }
    if (ps->pos == 0) {
        ps->is_inline = buf[0] != '*';
    }
    if (ps->is_inline) {
        return parse_inline(ps, buf, len, args, args_cap, lim);
    }
    return parse_multibulk(ps, buf, len, args, args_cap, lim);
}

/* ---- numbers ---- */

bool
resp_str2ll(const char *s, size_t len, long long *out)
{
    unsigned long long v = 0;
    unsigned long long limit = (unsigned long long)LLONG_MAX;
    bool neg = len > 0 && s[0] == '-';
    size_t i = neg ? 1 : 0;

    if (i == len || s[i] < '1' || s[i] > '9') {
        if (len == 1 && s[0] == '0') {
            *out = 0;
            return true;
        }
        return false;
    }
    if (neg) {
        limit++;
    }
    for (; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (s[i] < '0' || s[i] > '9' || v > (limit - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = neg ? -(long long)(v - 1) - 1 : (long long)v;
    return true;
}
