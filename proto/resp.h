/* resp.h: the Redis protocol (RESP2/RESP3) codec shared by server and client.
 * libc only. The request parser is zero-copy and never allocates: it records
 * each argument as an (offset, length) pair into the caller's buffer, so the
 * caller may grow (move) its buffer between calls while a request is still
 * incomplete. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes of resp_parse_request() (besides bytes consumed, > 0). */
#define RESP_EPROTO     (-1) /* protocol error; parser->err says why */
#define RESP_INCOMPLETE (-2) /* need more bytes; see parser->need */
#define RESP_NEEDARGS                                                          \
    (-3) /* args[] too small: grow it to                                       \
            parser->args_want entries, keeping the first                       \
            parser->nargs, and call again */

/* Default limits (the server takes them from its options). */
#define RESP_MAX_ARGS      (1024LL * 1024 * 1024) /* arguments per request */
#define RESP_MAX_BULK      (512LL * 1024 * 1024)  /* bytes per bulk string */
#define RESP_MAX_INLINE    (64 * 1024)            /* bytes per inline line */
#define RESP_MAX_COUNT_LEN (64 * 1024) /* bytes of a "*N" or "$N" line */
/* Bytes per request, whatever the limits: resp_parse_request() returns the
 * size as an int, so a larger request is a protocol error. */
#define RESP_MAX_REQUEST   INT_MAX

/* A zero-copy string: p points into a buffer the holder names. */
struct resp_str {
    const char *p;
    size_t len;
};

/* One parsed argument: bytes [off, off + len) of the request buffer. */
struct resp_arg {
    size_t off;
    size_t len;
};

struct resp_limits {
    long long max_args; /* > 0 */
    long long max_bulk; /* > 0 */
    size_t max_inline;  /* > 0 */
};

/* Incremental parser state, one per connection. Zero it (or call
 * resp_parser_reset) before the first request and after each complete one
 * or error. The caller reads need, nargs, args_want and err; the other
 * fields belong to the parser. */
struct resp_parser {
    size_t pos;       /* bytes of the current request already parsed */
    size_t need;      /* after RESP_INCOMPLETE: don't call again until the
                         buffer holds this many bytes from the request start
                         (always > the len passed); 0 after other returns */
    long long argc;   /* declared argument count (multibulk, negative counts
                         read as 0; inline: the count found), -1 unknown */
    size_t nargs;     /* arguments parsed so far */
    long long bulk;   /* length of the bulk being read, -1 if none */
    size_t scan;      /* where the search for the current line's end
                         resumes, so no byte is searched twice */
    size_t args_want; /* after RESP_NEEDARGS: entries args[] must hold */
    bool is_inline;   /* the current request is an inline command */
    const char *err;  /* message after RESP_EPROTO, e.g. "Protocol error:
                         invalid bulk length"; static, or errbuf when it
                         quotes the input; one line of printable ASCII */
    char errbuf[64];  /* backs err for "expected '$', got 'x'" */
};

/* Resets the parser for a new request. */
void resp_parser_reset(struct resp_parser *ps);

/* Parses one request from buf[0..len), where buf starts at the request's
 * first byte (the same request bytes on every call for one request; the
 * buffer itself may move and grow between calls). Resumes from ps->pos.
 *
 * Returns the number of bytes the request occupies (> 0, at most
 * RESP_MAX_REQUEST) with ps->nargs arguments in args[0..nargs): byte ranges
 * of buf, BORROWED like buf itself. An empty request (an empty inline line,
 * "*0\r\n" or "*-1\r\n") has 0 arguments; the caller skips it. The caller
 * then resets the parser.
 *
 * A request starting with '*' is a multibulk: "*<n>\r\n" then n times
 * "$<len>\r\n<len bytes>\r\n". Anything else is an inline command: one line
 * ending in "\n" (a "\r" before it is dropped), split on blanks, with
 * "double quoted" arguments taking the escapes \n \r \t \b \a \\ \" \xHH
 * and 'single quoted' ones taking \' only, as redis-cli and Redis read
 * them. A closing quote must be followed by a blank or the end of the
 * line. Inline arguments are unescaped in place in buf, hence the mutable
 * buf; buf is only written by the call that returns success. A NUL byte is
 * an ordinary byte (Redis ends an inline line at one).
 *
 * Returns RESP_INCOMPLETE when buf ends inside the request; ps->need then
 * says how many bytes to wait for.
 *
 * Returns RESP_NEEDARGS when the next argument does not fit in
 * args[0..args_cap); ps->args_want (> args_cap) says how many entries to
 * provide. The caller grows args, keeping args[0..nargs), and calls again.
 * For a multibulk args_want is min(argc, 2 * nargs + 64): the array grows
 * with the arguments that actually arrived, never with a count the client
 * merely declared. args may be NULL when args_cap is 0.
 *
 * Returns RESP_EPROTO with ps->err set on a protocol error; the caller
 * replies "-ERR <err>" and closes the connection, as Redis does. Every
 * count and length is checked against `lim` before use: a count (or an
 * inline line's arguments) above lim->max_args, a bulk above
 * lim->max_bulk, a request above RESP_MAX_REQUEST, an inline line of more than
 * lim->max_inline bytes before its "\n", a "*" or "$" line of more than
 * RESP_MAX_COUNT_LEN bytes before its "\r" are errors. The outcome never
 * depends on how the bytes were split over calls.
 *
 * Never allocates and never reads buf[len] or beyond. Work over all the
 * calls for one request is O(request bytes) plus O(1) per call. */
int resp_parse_request(struct resp_parser *ps, char *buf, size_t len,
                       struct resp_arg *args, size_t args_cap,
                       const struct resp_limits *lim);

/* ---- encoding: each writes its text and a terminating NUL into dst and
 * returns the length of the text (without the NUL). ---- */
#define RESP_HEADER_MAX 32 /* longest header: type byte, 20 digits, CRLF */

/* Writes "<type><n>\r\n" into dst (at least RESP_HEADER_MAX bytes), e.g.
 * resp_fmt_header(dst, '$', 5) -> "$5\r\n". Used for * $ % ~ > : and =
 * headers. */
size_t resp_fmt_header(char *dst, char type, long long n);
/* Writes the shortest decimal text of v into dst (at least 32 bytes) that
 * reads back as the same double, as Redis does ("inf", "-inf", "nan" for
 * the special values). The notation is that of %.17g: exponent form only
 * below 1e-4 or from 1e17, no ".0" on integral values ("3", "100", "1.5",
 * "0.1", "-0", "1e+300", "1e-05"). Assumes the "C" LC_NUMERIC locale.
 * Returns its length. */
size_t resp_fmt_double(char *dst, double v);
/* Writes the decimal text of v into dst (at least 21 bytes); returns its
 * length. */
size_t resp_fmt_ll(char *dst, long long v);

/* Parses the whole of s[0..len) as a decimal long long with no leading
 * spaces or '+', no leading zeros and no "-0" (as Redis's string2ll).
 * Returns true and *out on success; false for len 0 or out of range, with
 * *out untouched. */
bool resp_str2ll(const char *s, size_t len, long long *out);
