/* reply.c: RESP encoding of replies onto a connection's output queue (see
 * reply.h). RESP3-only types degrade to their RESP2 forms on RESP2
 * connections. */
#include "reply.h"

#include "conn.h"
#include "err.h"
#include "proto/resp.h"

#include <stdio.h>
#include <string.h>

uint64_t reply_error_count;
struct reply_errstat reply_errstats[REPLY_ERRSTATS_MAX];

static void
put_header(struct conn *c, char type, long long n)
{
    char buf[RESP_HEADER_MAX];
    conn_out_append(c, buf, resp_fmt_header(buf, type, n));
}

void
reply_ok(struct conn *c)
{
    conn_out_append(c, "+OK\r\n", 5);
}

void
reply_status(struct conn *c, const char *s)
{
    conn_out_append(c, "+", 1);
    conn_out_append(c, s, strlen(s));
    conn_out_append(c, "\r\n", 2);
}

/* Counts the error under its code (the first word). */
static void
count_error(const char *msg)
{
    char code[REPLY_ERRCODE_MAX];
    size_t n = strcspn(msg, " ");
    if (n >= sizeof(code)) {
        n = sizeof(code) - 1;
    }
    memcpy(code, msg, n);
    code[n] = '\0';
    reply_error_count++;
    for (int i = 0; i < REPLY_ERRSTATS_MAX; i++) {
        struct reply_errstat *e = &reply_errstats[i];
        if (e->code[0] == '\0') {
            memcpy(e->code, code, n + 1);
        }
        if (strcmp(e->code, code) == 0) {
            e->count++;
            return;
        }
    }
}

void
reply_error(struct conn *c, const char *msg)
{
    count_error(msg);
    conn_out_append(c, "-", 1);
    size_t len = strlen(msg);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || msg[i] == '\r' || msg[i] == '\n') {
            conn_out_append(c, msg + start, i - start);
            if (i < len) {
                conn_out_append(c, " ", 1);
            }
            start = i + 1;
        }
    }
    conn_out_append(c, "\r\n", 2);
}

void
reply_errorf(struct conn *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    reply_error(c, buf);
}

void
reply_int(struct conn *c, long long v)
{
    put_header(c, ':', v);
}

void
reply_bulk(struct conn *c, const void *p, size_t len)
{
    put_header(c, '$', (long long)len);
    conn_out_append(c, p, len);
    conn_out_append(c, "\r\n", 2);
}

void
reply_bulk_cstr(struct conn *c, const char *s)
{
    reply_bulk(c, s, strlen(s));
}

void
reply_bulk_ll(struct conn *c, long long v)
{
    char buf[32];
    reply_bulk(c, buf, resp_fmt_ll(buf, v));
}

void
reply_item_value(struct conn *c, struct engine_item *item)
{
    put_header(c, '$', (long long)item->vlen);
    conn_out_item(c, item);
    conn_out_append(c, "\r\n", 2);
}

void
reply_bulk_framed(struct conn *c, const void *head, size_t hn,
                  struct engine_item *item, const void *tail, size_t tn)
{
    put_header(c, '$', (long long)(hn + (item != NULL ? item->vlen : 0) + tn));
    conn_out_append(c, head, hn);
    if (item != NULL) {
        conn_out_item(c, item);
    }
    conn_out_append(c, tail, tn);
    conn_out_append(c, "\r\n", 2);
}

void
reply_null(struct conn *c)
{
    if (c->resp == 3) {
        conn_out_append(c, "_\r\n", 3);
    } else {
        conn_out_append(c, "$-1\r\n", 5);
    }
}

void
reply_null_array(struct conn *c)
{
    if (c->resp == 3) {
        conn_out_append(c, "_\r\n", 3);
    } else {
        conn_out_append(c, "*-1\r\n", 5);
    }
}

void
reply_array(struct conn *c, size_t n)
{
    put_header(c, '*', (long long)n);
}

void
reply_map(struct conn *c, size_t n)
{
    if (c->resp == 3) {
        put_header(c, '%', (long long)n);
    } else {
        put_header(c, '*', (long long)(2 * n));
    }
}

void
reply_set(struct conn *c, size_t n)
{
    put_header(c, c->resp == 3 ? '~' : '*', (long long)n);
}

void
reply_double(struct conn *c, double d)
{
    char buf[64];
    size_t len = resp_fmt_double(buf, d);
    if (c->resp == 3) {
        conn_out_append(c, ",", 1);
        conn_out_append(c, buf, len);
        conn_out_append(c, "\r\n", 2);
    } else {
        reply_bulk(c, buf, len);
    }
}

void
reply_bool(struct conn *c, int b)
{
    if (c->resp == 3) {
        conn_out_append(c, b ? "#t\r\n" : "#f\r\n", 4);
    } else {
        reply_int(c, b ? 1 : 0);
    }
}

void
reply_verbatim(struct conn *c, const char *p, size_t len)
{
    if (c->resp != 3) {
        reply_bulk(c, p, len);
        return;
    }
    put_header(c, '=', (long long)len + 4);
    conn_out_append(c, "txt:", 4);
    conn_out_append(c, p, len);
    conn_out_append(c, "\r\n", 2);
}

void
reply_bignum(struct conn *c, const char *digits)
{
    size_t len = strlen(digits);
    if (c->resp != 3) {
        reply_bulk(c, digits, len);
        return;
    }
    conn_out_append(c, "(", 1);
    conn_out_append(c, digits, len);
    conn_out_append(c, "\r\n", 2);
}

void
reply_attribute(struct conn *c, size_t n)
{
    if (c->resp == 3) {
        put_header(c, '|', (long long)n);
    }
}

void
reply_push(struct conn *c, size_t n)
{
    put_header(c, c->resp == 3 ? '>' : '*', (long long)n);
}

void *
reply_defer_len(struct conn *c)
{
    struct out_chunk *chunk;
    conn_out_reserve(c, RESP_HEADER_MAX, &chunk);
    return chunk;
}

void
reply_set_deferred(struct conn *c, void *handle, char kind, size_t n)
{
    struct out_chunk *chunk = handle;
    char *p = conn_out_reserved_ptr(chunk, RESP_HEADER_MAX);
    long long count = (long long)n;
    if (kind == '%' && c->resp != 3) {
        kind = '*';
        count *= 2;
    } else if (kind == '~' && c->resp != 3) {
        kind = '*';
    }
    size_t used = resp_fmt_header(p, kind, count);
    conn_out_fix(c, chunk, RESP_HEADER_MAX, used);
}

void
reply_error_arity(struct conn *c, const char *cmdname)
{
    reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmdname);
}

void
reply_error_syntax(struct conn *c)
{
    reply_error(c, "ERR syntax error");
}

void
reply_error_notint(struct conn *c)
{
    reply_error(c, "ERR value is not an integer or out of range");
}

void
reply_error_oom(struct conn *c)
{
    reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
}

void
reply_engine_error(struct conn *c, int rc)
{
    if (rc == OH_TOOBIG) {
        reply_error(c, "ERR value too large");
    } else if (rc == OH_NOMEM) {
        reply_error_oom(c);
    } else {
        reply_errorf(c, "ERR %s", oh_strerror(rc));
    }
}

void
reply_help(struct conn *c, const char *const *lines, size_t n)
{
    reply_array(c, n);
    for (size_t i = 0; i < n; i++) {
        reply_status(c, lines[i]);
    }
}
