/* reply.h: how command handlers answer. Each call appends one RESP value
 * (or an aggregate header) to the client's output, encoded for the
 * connection's protocol (RESP2 or RESP3 after HELLO 3). Replies are
 * gathered and written with few syscalls by conn.c. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct engine_item;

/* "+OK" */
void reply_ok(struct conn *c);
/* "+<s>": s must not contain CR or LF. */
void reply_status(struct conn *c, const char *s);
/* "-<msg>": msg starts with the error code, e.g. "ERR syntax error",
 * "WRONGTYPE Operation against a key holding the wrong kind of value".
 * CR/LF in msg are replaced by spaces. Counts the error in the stats. */
void reply_error(struct conn *c, const char *msg);
/* Like reply_error() with printf formatting. */
void reply_errorf(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ":<v>" */
void reply_int(struct conn *c, long long v);
/* "$<len>\r\n<bytes>\r\n" (copies the bytes). */
void reply_bulk(struct conn *c, const void *p, size_t len);
/* reply_bulk() of a NUL-terminated string. */
void reply_bulk_cstr(struct conn *c, const char *s);
/* A bulk string of the decimal text of v. */
void reply_bulk_ll(struct conn *c, long long v);
/* The value of a PINNED item as a bulk string. Takes the pin: the reply
 * releases it once the bytes are out (zero-copy for large values); the
 * caller must not use or release `item` afterwards. */
void reply_item_value(struct conn *c, struct engine_item *item);
/* A bulk string of head, then the value of a PINNED item (not copied; NULL
 * for none; the pin goes as for reply_item_value), then tail. */
void reply_bulk_framed(struct conn *c, const void *head, size_t hn,
                       struct engine_item *item, const void *tail, size_t tn);
/* Null bulk: RESP2 "$-1", RESP3 "_". */
void reply_null(struct conn *c);
/* Null array: RESP2 "*-1", RESP3 "_". */
void reply_null_array(struct conn *c);
/* Aggregate headers; the caller then adds exactly n elements (2n for a
 * map: key, value, key, value...). In RESP2 a map is an array of 2n and a
 * set an array of n. */
void reply_array(struct conn *c, size_t n);
void reply_map(struct conn *c, size_t n);
void reply_set(struct conn *c, size_t n);
/* RESP3 ",<d>"; in RESP2 a bulk string of the same text. */
void reply_double(struct conn *c, double d);
/* RESP3 "#t"/"#f"; in RESP2 ":1"/":0". */
void reply_bool(struct conn *c, int b);
/* RESP3 verbatim "=<len>\r\ntxt:<s>"; in RESP2 a bulk string. */
void reply_verbatim(struct conn *c, const char *p, size_t len);
/* RESP3 big number "(<digits>"; in RESP2 a bulk string of the digits. */
void reply_bignum(struct conn *c, const char *digits);
/* RESP3 attribute header "|<n>" (then n key/value pairs, before the reply
 * they describe). RESP2 has no attributes: the caller must not send the
 * pairs either (it checks c->resp). */
void reply_attribute(struct conn *c, size_t n);
/* RESP3 push header "><n>" (out-of-band data); in RESP2 an array. */
void reply_push(struct conn *c, size_t n);

/* Deferred aggregate length, for replies whose count is known only at the
 * end (KEYS, COMMAND): take a placeholder, add the elements, then set it.
 * kind is '*' (array), '%' (map: n pairs) or '~' (set). */
void *reply_defer_len(struct conn *c);
void reply_set_deferred(struct conn *c, void *handle, char kind, size_t n);

/* Standard errors (Redis 7 texts) */
void reply_error_arity(struct conn *c, const char *cmdname);
void reply_error_syntax(struct conn *c); /* ERR syntax error */
void reply_error_notint(struct conn *c); /* ERR value is not an integer
                                             or out of range */
void reply_error_oom(struct conn *c);    /* OOM command not allowed ... */
/* Answers a failed engine call: OOM for OH_NOMEM, "ERR value too large"
 * for OH_TOOBIG, else "ERR <oh_strerror(rc)>". */
void reply_engine_error(struct conn *c, int rc);
/* Answers HELP: an array of the n status lines. */
void reply_help(struct conn *c, const char *const *lines, size_t n);

/* Error statistics (INFO stats total_error_replies, INFO errorstats). */
#define REPLY_ERRSTATS_MAX 32 /* distinct error codes counted */
#define REPLY_ERRCODE_MAX  32 /* bytes of an error code ("ERR", "OOM") */
struct reply_errstat {
    char code[REPLY_ERRCODE_MAX];
    uint64_t count;
};
extern uint64_t reply_error_count;
extern struct reply_errstat reply_errstats[REPLY_ERRSTATS_MAX];
