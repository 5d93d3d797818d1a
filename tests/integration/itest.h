/* itest.h: helpers shared by the hiredis-driven integration tests.
 *
 * Each EXPECT_* macro sends one command (hiredis format string and
 * arguments), checks the reply's type and value, and fails the test at the
 * caller's line with the expected and actual reply printed. The server is
 * the one in itest_srv, started by itest_group_setup(). */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/spawn.h"

#define ITEST_TIMEOUT_S 10 /* s a hiredis command may take */

extern struct spawn_server itest_srv;

/* Connects to `s` with a timeout. Returns an OWNED context or NULL. */
static inline redisContext *
itest_connect_to(const struct spawn_server *s)
{
    struct timeval tv = {ITEST_TIMEOUT_S, 0};
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);

    if (c == NULL || c->err) {
        if (c != NULL) {
            print_error("connect %s:%d: %s\n", s->host, s->port, c->errstr);
            redisFree(c);
        }
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

/* Describes a reply for failure messages (one line, truncated). */
static inline void
itest_describe(const redisReply *r, char *out, size_t cap)
{
    if (r == NULL) {
        snprintf(out, cap, "(no reply: connection error or timeout)");
        return;
    }
    switch (r->type) {
    case REDIS_REPLY_STRING:
        snprintf(out, cap, "bulk \"%.*s\"", (int)(r->len > 200 ? 200 : r->len),
                 r->str);
        break;
    case REDIS_REPLY_STATUS:
        snprintf(out, cap, "status +%s", r->str);
        break;
    case REDIS_REPLY_ERROR:
        snprintf(out, cap, "error -%s", r->str);
        break;
    case REDIS_REPLY_INTEGER:
        snprintf(out, cap, "integer %lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        snprintf(out, cap, "nil");
        break;
    case REDIS_REPLY_ARRAY:
        snprintf(out, cap, "array of %zu", r->elements);
        break;
    default:
        snprintf(out, cap, "type %d", r->type);
    }
}

/* Fails the current test at file:line, printing what was expected. */
static inline void
itest_fail(const redisReply *r, const char *want, const char *cmd,
           const char *file, int line)
{
    char got[320];

    itest_describe(r, got, sizeof(got));
    print_error("%s:%d: %s\n    expected %s\n    got      %s\n", file, line,
                cmd, want, got);
    _fail(file, line);
}

/* Sends a command; fails the test if there is no reply at all. Returns an
 * OWNED reply (freeReplyObject). */
static inline redisReply *
itest_vcmd(redisContext *c, const char *file, int line, const char *fmt,
           va_list ap)
{
    redisReply *r = redisvCommand(c, fmt, ap);

    if (r == NULL) {
        print_error("%s:%d: %s: %s\n", file, line, fmt,
                    c->err ? c->errstr : "no reply");
        _fail(file, line);
    }
    return r;
}

static inline redisReply *
itest_cmd(redisContext *c, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = itest_vcmd(c, file, line, fmt, ap);
    va_end(ap);
    return r;
}

/* Checks a reply of `type`; str (with slen) or n is the expected value. A
 * negative slen means "str is a prefix". Frees the reply. */
static inline void
itest_check(redisReply *r, int type, const char *str, long long slen,
            long long n, const char *file, int line, const char *cmd)
{
    char want[320];
    bool ok = r != NULL && r->type == type;

    if (ok && (type == REDIS_REPLY_STRING || type == REDIS_REPLY_STATUS ||
               type == REDIS_REPLY_ERROR)) {
        size_t want_len = slen < 0 ? strlen(str) : (size_t)slen;

        ok = slen < 0
                 ? (r->len >= want_len && memcmp(r->str, str, want_len) == 0)
                 : (r->len == want_len && memcmp(r->str, str, want_len) == 0);
    } else if (ok && type == REDIS_REPLY_INTEGER) {
        ok = r->integer == n;
    }
    if (!ok) {
        redisReply tmp = {0};

        tmp.type = type;
        tmp.integer = n;
        tmp.str = (char *)(uintptr_t)str;
        tmp.len = str == NULL ? 0 : (slen < 0 ? strlen(str) : (size_t)slen);
        itest_describe(&tmp, want, sizeof(want));
        if (slen < 0) {
            strncat(want, " (prefix)", sizeof(want) - strlen(want) - 1);
        }
        itest_fail(r, want, cmd, file, line);
    }
    freeReplyObject(r);
}

#define CMD(c, ...) itest_cmd((c), __FILE__, __LINE__, __VA_ARGS__)

/* Sends a command that must answer an integer; returns it. */
static inline long long
itest_int(redisContext *c, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;
    long long v;

    va_start(ap, fmt);
    r = itest_vcmd(c, file, line, fmt, ap);
    va_end(ap);
    if (r->type != REDIS_REPLY_INTEGER) {
        itest_fail(r, "an integer", fmt, file, line);
    }
    v = r->integer;
    freeReplyObject(r);
    return v;
}
#define INT_REPLY(c, ...) itest_int((c), __FILE__, __LINE__, __VA_ARGS__)

#define EXPECT_STATUS(c, s, ...)                                               \
    itest_check(CMD(c, __VA_ARGS__), REDIS_REPLY_STATUS, (s),                  \
                (long long)strlen(s), 0, __FILE__, __LINE__, #__VA_ARGS__)
#define EXPECT_OK(c, ...) EXPECT_STATUS(c, "OK", __VA_ARGS__)
#define EXPECT_STR(c, s, ...)                                                  \
    itest_check(CMD(c, __VA_ARGS__), REDIS_REPLY_STRING, (s),                  \
                (long long)strlen(s), 0, __FILE__, __LINE__, #__VA_ARGS__)
#define EXPECT_BIN(c, p, n, ...)                                               \
    itest_check(CMD(c, __VA_ARGS__), REDIS_REPLY_STRING, (p), (long long)(n),  \
                0, __FILE__, __LINE__, #__VA_ARGS__)
#define EXPECT_INT(c, n, ...)                                                  \
    itest_check(CMD(c, __VA_ARGS__), REDIS_REPLY_INTEGER, NULL, 0, (n),        \
                __FILE__, __LINE__, #__VA_ARGS__)
#define EXPECT_NIL(c, ...)                                                     \
    itest_check(CMD(c, __VA_ARGS__), REDIS_REPLY_NIL, NULL, 0, 0, __FILE__,    \
                __LINE__, #__VA_ARGS__)
/* The exact error text, without the leading '-'. */
#define EXPECT_ERR(c, e, ...)                                                  \
    itest_check(CMD(c, __VA_ARGS__), REDIS_REPLY_ERROR, (e),                   \
                (long long)strlen(e), 0, __FILE__, __LINE__, #__VA_ARGS__)
/* An error starting with `e`. */
#define EXPECT_ERR_PREFIX(c, e, ...)                                           \
    itest_check(CMD(c, __VA_ARGS__), REDIS_REPLY_ERROR, (e), -1, 0, __FILE__,  \
                __LINE__, #__VA_ARGS__)

/* Checks an already received reply (not freed) is of `type`. */
#define ASSERT_TYPE(r, t)                                                      \
    do {                                                                       \
        if ((r) == NULL || (r)->type != (t)) {                                 \
            itest_fail((r), #t, #r, __FILE__, __LINE__);                       \
        }                                                                      \
    } while (0)

/* Checks that the bulk or status reply r equals the C string s. */
#define ASSERT_RSTR(r, s)                                                      \
    do {                                                                       \
        if ((r) == NULL ||                                                     \
            ((r)->type != REDIS_REPLY_STRING &&                                \
             (r)->type != REDIS_REPLY_STATUS) ||                               \
            (r)->len != strlen(s) || memcmp((r)->str, (s), (r)->len) != 0) {   \
            itest_fail((r), "\"" s "\"", #r, __FILE__, __LINE__);              \
        }                                                                      \
    } while (0)

/* Skips the test unless the server is offheapd (for behaviour where
 * offheapd differs from Redis by design). */
#define SKIP_UNLESS_OFFHEAP()                                                  \
    do {                                                                       \
        if (!spawn_is_offheap(&itest_srv)) {                                   \
            print_message(                                                     \
                "    (offheapd-specific: skipped on this server)\n");          \
            skip();                                                            \
        }                                                                      \
    } while (0)

/* Skips the test when an external server is in use (the test needs a
 * server started with its own options). */
#define SKIP_IF_EXTERNAL()                                                     \
    do {                                                                       \
        if (spawn_external()) {                                                \
            print_message("    (needs a spawned server: skipped)\n");          \
            skip();                                                            \
        }                                                                      \
    } while (0)

/* ---- raw replies ---- */

/* Writes `s` (n bytes) with \r \n and non-printables escaped. */
static inline void
itest_escape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '\r') {
            o += (size_t)snprintf(out + o, cap - o, "\\r");
        } else if (ch == '\n') {
            o += (size_t)snprintf(out + o, cap - o, "\\n");
        } else if (ch < 32 || ch > 126) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = '\0';
}

/* Reads the next raw reply and checks it equals (or, with prefix, starts
 * with) `want`. */
static inline void
itest_raw_expect(struct raw_conn *rc, const char *want, bool prefix,
                 const char *file, int line)
{
    size_t n = 0;
    char *r = rc == NULL ? NULL : raw_reply(rc, ITEST_TIMEOUT_S * 1000, &n);
    size_t wl = strlen(want);
    bool ok =
        r != NULL && (prefix ? n >= wl : n == wl) && memcmp(r, want, wl) == 0;

    if (!ok) {
        char w[400], g[400];

        itest_escape(want, wl, w, sizeof(w));
        if (r == NULL) {
            snprintf(g, sizeof(g), "(no complete reply: %s)",
                     rc != NULL && rc->closed ? "connection closed"
                                              : "timeout or bad RESP");
        } else {
            itest_escape(r, n, g, sizeof(g));
        }
        print_error("%s:%d: raw reply\n    expected %s%s\n    got      %s\n",
                    file, line, w, prefix ? " (prefix)" : "", g);
        free(r);
        _fail(file, line);
    }
    free(r);
}

#define RAW_EXPECT(rc, want)                                                   \
    itest_raw_expect((rc), (want), false, __FILE__, __LINE__)
#define RAW_EXPECT_PREFIX(rc, want)                                            \
    itest_raw_expect((rc), (want), true, __FILE__, __LINE__)

/* Returns the value of `field` in an INFO text as a long long, or -1. */
static inline long long
itest_info_ll(const char *info, const char *field)
{
    char pat[96];
    const char *p;

    snprintf(pat, sizeof(pat), "\n%s:", field);
    p = strstr(info, pat);
    if (p == NULL) {
        if (strncmp(info, pat + 1, strlen(pat) - 1) != 0) {
            return -1;
        }
        p = info - 1;
    }
    return atoll(p + strlen(pat));
}

/* Returns INFO [section] as an OWNED C string (free()), failing the test
 * if the reply is not a bulk string. */
#define INFO_TEXT(c, ...) itest_info((c), __FILE__, __LINE__, __VA_ARGS__)
static inline char *
itest_info(redisContext *c, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;
    char *out;

    va_start(ap, fmt);
    r = itest_vcmd(c, file, line, fmt, ap);
    va_end(ap);
    if (r->type != REDIS_REPLY_STRING) {
        itest_fail(r, "bulk INFO text", fmt, file, line);
    }
    out = strdup(r->str);
    freeReplyObject(r);
    return out;
}

/* ---- group and per-test fixtures ---- */

/* Starts the group's server (or attaches to OH_TEST_SERVER). */
static inline int
itest_group_setup(void **state)
{
    (void)state;
    return spawn_start(&itest_srv, NULL);
}

/* Stops it; fails the group if the server crashed or exited badly. */
static inline int
itest_group_teardown(void **state)
{
    (void)state;
    return spawn_stop(&itest_srv);
}

/* Per test: a fresh connection in *state and an empty keyspace. */
static inline int
itest_setup(void **state)
{
    redisContext *c = itest_connect_to(&itest_srv);
    redisReply *r;

    if (c == NULL) {
        return -1;
    }
    r = redisCommand(c, "FLUSHALL");
    if (r == NULL || r->type != REDIS_REPLY_STATUS) {
        print_error("FLUSHALL failed\n");
        freeReplyObject(r);
        redisFree(c);
        return -1;
    }
    freeReplyObject(r);
    *state = c;
    return 0;
}

/* Per test: closes the connection and checks the server is still up. */
static inline int
itest_teardown(void **state)
{
    redisFree(*state);
    *state = NULL;
    return spawn_alive(&itest_srv) ? 0 : -1;
}

#define ITEST(fn)                                                              \
    cmocka_unit_test_setup_teardown(fn, itest_setup, itest_teardown)

/* Returns the CLIENT ID of c. */
static inline long long
itest_client_id(redisContext *c)
{
    return INT_REPLY(c, "CLIENT ID");
}

/* Finds field "name=" in one CLIENT LIST line; copies its value. */
static inline bool
itest_client_field(const char *line, const char *name, char *out, size_t cap)
{
    char pat[64];
    const char *p;
    size_t n = 0;

    snprintf(pat, sizeof(pat), " %s=", name);
    p = strstr(line, pat);
    if (p == NULL && strncmp(line, pat + 1, strlen(pat) - 1) == 0) {
        p = line - 1;
    }
    if (p == NULL) {
        return false;
    }
    p += strlen(pat);
    while (p[n] != ' ' && p[n] != '\n' && p[n] != '\0' && n + 1 < cap) {
        n++;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}
