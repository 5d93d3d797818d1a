/*
 * cmd_keys.c -- the key-space command handlers: DEL/UNLINK, EXISTS, TYPE,
 * RENAME(NX), the EXPIRE family, TTL/PTTL/(P)EXPIRETIME, PERSIST, TOUCH,
 * SCAN, KEYS, RANDOMKEY.
 *
 * Replies and errors follow Redis 7. offheapd holds only strings, so TYPE
 * answers "string" or "none" and SCAN's TYPE filter matches only
 * "string". Reads that only look (EXISTS, TYPE, TTL...) use engine_peek()
 * so they do not count as accesses for eviction, as Redis's LOOKUP_NOTOUCH.
 *
 * Expiry arithmetic is done in milliseconds on long long with every step
 * checked, so a huge argument is "invalid expire time", never a time that
 * wrapped around. A resulting time at or before now deletes the key (and
 * counts as success), as Redis does; OH_TIME_NONE (0) is never passed to
 * the engine to mean "expire now".
 *
 * SCAN walks the index one bucket at a time until COUNT keys were seen or
 * 10 * COUNT buckets were visited (Redis's rule, so a small or sparse
 * keyspace finishes in one call). It copies the keys into a scratch buffer,
 * because the reply starts with the cursor, known only after the engine call,
 * and the engine's key pointers are valid only inside its callback.
 */
#include "cmd.h"
#include "engine/engine.h"
#include "reply.h"
#include "util.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_DEFAULT_COUNT   10   /* keys per SCAN call (Redis's default) */
#define SCAN_BUCKETS_PER_KEY 10   /* index buckets visited per key asked */
#define KEYS_BATCH_COUNT     1024 /* index slots per engine_scan() in KEYS */

/* Returns whether `key` is live; fills *expire_at (OH_TIME_NONE if none). */
static bool
peek_expire(const struct resp_str *key, oh_time now, oh_time *expire_at)
{
    struct engine_item it;

    if (!engine_peek(key->p, key->len, now, &it)) {
        return false;
    }
    *expire_at = it.expire_at;
    engine_release(&it);
    return true;
}

/* ---- DEL EXISTS TYPE TOUCH ---- */

void
cmd_del(struct conn *c, const struct cmd_req *r)
{
    long long n = 0;

    for (int j = 1; j < r->argc; j++) {
        const struct resp_str *k = &r->argv[j];
        if (engine_del(k->p, k->len, r->now) > 0) {
            cmd_key_modified(k->p, k->len);
            n++;
        }
    }
    reply_int(c, n);
}

void
cmd_exists(struct conn *c, const struct cmd_req *r)
{
    long long n = 0;
    oh_time at;

    for (int j = 1; j < r->argc; j++) {
        if (peek_expire(&r->argv[j], r->now, &at)) {
            n++;
        }
    }
    reply_int(c, n);
}

void
cmd_type(struct conn *c, const struct cmd_req *r)
{
    oh_time at;

    reply_status(c, peek_expire(&r->argv[1], r->now, &at) ? "string" : "none");
}

void
cmd_touch(struct conn *c, const struct cmd_req *r)
{
    long long n = 0;

    for (int j = 1; j < r->argc; j++) {
        if (engine_touch(r->argv[j].p, r->argv[j].len, r->now) > 0) {
            n++;
        }
    }
    reply_int(c, n);
}

/* ---- RENAME RENAMENX ---- */

/* Moves argv[1] to argv[2] with its TTL; with `nx`, only if argv[2] is
 * absent. Answers OK/1 on success, 0 if nx prevented it. */
static void
rename_generic(struct conn *c, const struct cmd_req *r, bool nx)
{
    const struct resp_str *src = &r->argv[1], *dst = &r->argv[2];
    struct engine_item it;
    int rc;

    if (!engine_get(src->p, src->len, r->now, &it)) {
        reply_error(c, "ERR no such key");
        return;
    }
    if (src->len == dst->len && memcmp(src->p, dst->p, src->len) == 0) {
        engine_release(&it);
        if (nx) {
            reply_int(c, 0);
        } else {
            reply_ok(c);
        }
        return;
    }
    rc = engine_set(dst->p, dst->len, it.val, it.vlen, it.expire_at,
                    nx ? ENGINE_SET_NX : 0, r->now);
    if (rc > 0) {
        engine_del(src->p, src->len, r->now);
        cmd_key_modified(src->p, src->len);
        cmd_key_modified(dst->p, dst->len);
    }
    engine_release(&it);
    if (rc < 0) {
        reply_engine_error(c, rc);
    } else if (nx) {
        reply_int(c, rc);
    } else {
        reply_ok(c);
    }
}

void
cmd_rename(struct conn *c, const struct cmd_req *r)
{
    rename_generic(c, r, false);
}

void
cmd_renamenx(struct conn *c, const struct cmd_req *r)
{
    rename_generic(c, r, true);
}

/* ---- COPY ---- */

/* COPY source destination [DB destination-db] [REPLACE]: the value and its
 * TTL. offheapd has only database 0, so DB takes only 0. */
void
cmd_copy(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *src = &r->argv[1], *dst = &r->argv[2];
    struct engine_item it;
    bool replace = false;

    for (int j = 3; j < r->argc; j++) {
        if (cmd_arg_is(&r->argv[j], "replace")) {
            replace = true;
        } else if (cmd_arg_is(&r->argv[j], "db") && j + 1 < r->argc) {
            long long db;
            if (!cmd_arg_ll(&r->argv[j + 1], &db) || db < INT_MIN ||
                db > INT_MAX) {
                reply_error_notint(c);
                return;
            }
            if (db != 0) {
                reply_error(c, "ERR DB index is out of range");
                return;
            }
            j++;
        } else {
            reply_error_syntax(c);
            return;
        }
    }
    if (src->len == dst->len && memcmp(src->p, dst->p, src->len) == 0) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    if (!engine_get(src->p, src->len, r->now, &it)) {
        reply_int(c, 0);
        return;
    }
    int rc = engine_set(dst->p, dst->len, it.val, it.vlen, it.expire_at,
                        replace ? 0 : ENGINE_SET_NX, r->now);
    engine_release(&it);
    if (rc < 0) {
        reply_engine_error(c, rc);
        return;
    }
    if (rc > 0) {
        cmd_key_modified(dst->p, dst->len);
    }
    reply_int(c, rc > 0);
}

/* ---- EXPIRE PEXPIRE EXPIREAT PEXPIREAT ---- */

#define EXP_NX 0x1u
#define EXP_XX 0x2u
#define EXP_GT 0x4u
#define EXP_LT 0x8u

/* Parses the NX XX GT LT options from argv[3]; answers if bad. */
static bool
parse_expire_opts(struct conn *c, const struct cmd_req *r, unsigned *flags)
{
    static const char *const words[] = {"nx", "xx", "gt", "lt"};
    unsigned f = 0;

    for (int j = 3; j < r->argc; j++) {
        unsigned bit = 0;
        for (unsigned w = 0; w < 4 && bit == 0; w++) {
            bit = cmd_arg_is(&r->argv[j], words[w]) ? 1u << w : 0;
        }
        if (bit == 0) {
            reply_errorf(c, "ERR Unsupported option %.*s", (int)r->argv[j].len,
                         r->argv[j].p);
            return false;
        }
        f |= bit;
    }
    if ((f & EXP_NX) && (f & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time "
                       "are not compatible");
        return false;
    }
    if ((f & EXP_GT) && (f & EXP_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not "
                       "compatible");
        return false;
    }
    *flags = f;
    return true;
}

/* Converts argv[2] to an absolute time in ms (may be negative): seconds
 * if `secs`, plus now if `relative`. Answers if it cannot. */
static bool
expire_when(struct conn *c, const struct cmd_req *r, bool secs, bool relative,
            const char *cmd, long long *when)
{
    long long v;

    if (!cmd_arg_ll(&r->argv[2], &v)) {
        reply_error_notint(c);
        return false;
    }
    if (!cmd_expiry_ms(v, secs, relative, r->now, when)) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", cmd);
        return false;
    }
    return true;
}

/* Returns whether the NX XX GT LT conditions allow replacing expiry `cur`
 * (OH_TIME_NONE: none, which counts as infinite) with `when`. */
static bool
expire_allowed(unsigned f, oh_time cur, long long when)
{
    bool none = cur == OH_TIME_NONE;

    if ((f & EXP_NX) && !none) {
        return false;
    }
    if ((f & EXP_XX) && none) {
        return false;
    }
    if ((f & EXP_GT) && (none || when <= cur)) {
        return false;
    }
    if ((f & EXP_LT) && !none && when >= cur) {
        return false;
    }
    return true;
}

static void
expire_generic(struct conn *c, const struct cmd_req *r, bool secs,
               bool relative, const char *cmd)
{
    const struct resp_str *key = &r->argv[1];
    unsigned flags = 0;
    long long when;
    oh_time cur;

    if (!parse_expire_opts(c, r, &flags) ||
        !expire_when(c, r, secs, relative, cmd, &when)) {
        return;
    }
    if (!peek_expire(key, r->now, &cur) || !expire_allowed(flags, cur, when)) {
        reply_int(c, 0);
        return;
    }
    if (when <= r->now) {
        engine_del(key->p, key->len, r->now);
    } else {
        engine_expire(key->p, key->len, (oh_time)when, r->now);
    }
    cmd_key_modified(key->p, key->len);
    reply_int(c, 1);
}

void
cmd_expire(struct conn *c, const struct cmd_req *r)
{
    expire_generic(c, r, true, true, "expire");
}

void
cmd_pexpire(struct conn *c, const struct cmd_req *r)
{
    expire_generic(c, r, false, true, "pexpire");
}

void
cmd_expireat(struct conn *c, const struct cmd_req *r)
{
    expire_generic(c, r, true, false, "expireat");
}

void
cmd_pexpireat(struct conn *c, const struct cmd_req *r)
{
    expire_generic(c, r, false, false, "pexpireat");
}

/* ---- TTL PTTL EXPIRETIME PEXPIRETIME PERSIST ---- */

/* Answers -2 (missing), -1 (no expiry), or the expiry of argv[1]: in ms
 * if `ms` else in seconds rounded to nearest, as an absolute time if
 * `abs` else as the time left. */
static void
ttl_generic(struct conn *c, const struct cmd_req *r, bool ms, bool abs)
{
    oh_time at;
    long long v;

    if (!peek_expire(&r->argv[1], r->now, &at)) {
        reply_int(c, -2);
        return;
    }
    if (at == OH_TIME_NONE) {
        reply_int(c, -1);
        return;
    }
    v = abs ? at : at - r->now;
    if (v < 0) {
        v = 0;
    }
    reply_int(c, ms ? v : v / 1000 + (v % 1000 >= 500));
}

void
cmd_ttl(struct conn *c, const struct cmd_req *r)
{
    ttl_generic(c, r, false, false);
}

void
cmd_pttl(struct conn *c, const struct cmd_req *r)
{
    ttl_generic(c, r, true, false);
}

void
cmd_expiretime(struct conn *c, const struct cmd_req *r)
{
    ttl_generic(c, r, false, true);
}

void
cmd_pexpiretime(struct conn *c, const struct cmd_req *r)
{
    ttl_generic(c, r, true, true);
}

void
cmd_persist(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1];
    oh_time at;

    if (!peek_expire(key, r->now, &at) || at == OH_TIME_NONE) {
        reply_int(c, 0);
        return;
    }
    engine_expire(key->p, key->len, OH_TIME_NONE, r->now);
    cmd_key_modified(key->p, key->len);
    reply_int(c, 1);
}

/* ---- SCAN KEYS RANDOMKEY ---- */

/* Parses a SCAN cursor as strtoull() would read it: an optional sign,
 * decimal digits, no leading space; "-n" wraps modulo 2^64; empty is 0. */
static bool
parse_cursor(const struct resp_str *a, uint64_t *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;

    if (a->len > 0 && (a->p[0] == '+' || a->p[0] == '-')) {
        neg = a->p[0] == '-';
        i = 1;
        if (a->len == 1) {
            return false;
        }
    }
    for (; i < a->len; i++) {
        unsigned d = (unsigned char)a->p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = neg ? (uint64_t)0 - v : v;
    return true;
}

/* The keys one SCAN call collects: (uint32 length, bytes) records. */
struct scan_ctx {
    const struct resp_str *pattern; /* NULL: all keys */
    bool none;                      /* TYPE filter excludes every key */
    char *buf;                      /* OWNED: free() */
    size_t len, cap, n;
    size_t seen; /* keys visited, matching or not */
    bool oom;
};

static void
scan_collect(void *arg, const char *key, size_t klen, oh_time expire_at)
{
    struct scan_ctx *x = arg;
    uint32_t l32 = (uint32_t)klen;

    (void)expire_at;
    x->seen++;
    if (x->none || x->oom ||
        (x->pattern != NULL &&
         !util_glob_match(x->pattern->p, x->pattern->len, key, klen, false))) {
        return;
    }
    if (x->cap - x->len < sizeof(l32) + klen) {
        size_t cap = (x->cap + sizeof(l32) + klen) * 2;
        char *p = realloc(x->buf, cap);
        if (p == NULL) {
            x->oom = true;
            return;
        }
        x->buf = p;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, &l32, sizeof(l32));
    memcpy(x->buf + x->len + sizeof(l32), key, klen);
    x->len += sizeof(l32) + klen;
    x->n++;
}

/* Parses SCAN's MATCH COUNT TYPE options into x and *count. */
static bool
parse_scan_opts(struct conn *c, const struct cmd_req *r, struct scan_ctx *x,
                long long *count)
{
    for (int j = 2; j < r->argc; j += 2) {
        const struct resp_str *a = &r->argv[j], *v;
        if (j + 1 >= r->argc) {
            reply_error_syntax(c);
            return false;
        }
        v = &r->argv[j + 1];
        if (cmd_arg_is(a, "count")) {
            if (!cmd_arg_ll(v, count)) {
                reply_error_notint(c);
                return false;
            }
            if (*count < 1) {
                reply_error_syntax(c);
                return false;
            }
        } else if (cmd_arg_is(a, "match")) {
            bool all = v->len == 1 && v->p[0] == '*';
            x->pattern = all ? NULL : v;
        } else if (cmd_arg_is(a, "type")) {
            x->none = !cmd_arg_is(v, "string");
        } else {
            reply_error_syntax(c);
            return false;
        }
    }
    return true;
}

/* Answers [cursor, [keys...]] from the records in x. */
static void
reply_scan(struct conn *c, uint64_t cursor, const struct scan_ctx *x)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRIu64, cursor);
    size_t off = 0;

    reply_array(c, 2);
    reply_bulk(c, num, (size_t)n);
    reply_array(c, x->n);
    for (size_t i = 0; i < x->n; i++) {
        uint32_t l32;
        memcpy(&l32, x->buf + off, sizeof(l32));
        reply_bulk(c, x->buf + off + sizeof(l32), l32);
        off += sizeof(l32) + l32;
    }
}

/* Visits index buckets one at a time from `cursor` until the keyspace is
 * done, `count` keys were seen (before filtering) or 10 * count buckets
 * were visited, as Redis does; returns the next cursor. */
static uint64_t
scan_steps(uint64_t cursor, uint64_t count, oh_time now, struct scan_ctx *x)
{
    uint64_t buckets = count > UINT64_MAX / SCAN_BUCKETS_PER_KEY
                           ? UINT64_MAX
                           : count * SCAN_BUCKETS_PER_KEY;

    do {
        cursor = engine_scan(cursor, 1, now, scan_collect, x);
    } while (cursor != 0 && --buckets > 0 && x->seen < count && !x->oom);
    return cursor;
}

void
cmd_scan(struct conn *c, const struct cmd_req *r)
{
    struct scan_ctx x = {0};
    long long count = SCAN_DEFAULT_COUNT;
    uint64_t cursor;

    if (!parse_cursor(&r->argv[1], &cursor)) {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    if (!parse_scan_opts(c, r, &x, &count)) {
        return;
    }
    cursor = scan_steps(cursor, (uint64_t)count, r->now, &x);
    if (x.oom) {
        reply_error_oom(c);
    } else {
        reply_scan(c, cursor, &x);
    }
    free(x.buf);
}

/* KEYS streams matches straight into the reply. */
struct keys_ctx {
    struct conn *c;
    const struct resp_str *pattern; /* NULL: all keys */
    size_t n;
};

static void
keys_emit(void *arg, const char *key, size_t klen, oh_time expire_at)
{
    struct keys_ctx *x = arg;

    (void)expire_at;
    if (x->pattern == NULL ||
        util_glob_match(x->pattern->p, x->pattern->len, key, klen, false)) {
        reply_bulk(x->c, key, klen);
        x->n++;
    }
}

void
cmd_keys(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *pat = &r->argv[1];
    bool all = pat->len == 1 && pat->p[0] == '*';
    struct keys_ctx x = {c, all ? NULL : pat, 0};
    void *len = reply_defer_len(c);
    uint64_t cursor = 0;

    do {
        cursor = engine_scan(cursor, KEYS_BATCH_COUNT, r->now, keys_emit, &x);
    } while (cursor != 0);
    reply_set_deferred(c, len, '*', x.n);
}

/* Returns the next value of a xorshift64 sequence seeded from `now`. */
static uint64_t
next_seed(oh_time now)
{
    static uint64_t s;

    if (s == 0) {
        s = (uint64_t)now ^ 0x9e3779b97f4a7c15ull;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

void
cmd_randomkey(struct conn *c, const struct cmd_req *r)
{
    struct engine_item it;

    if (!engine_random(r->now, next_seed(r->now), &it)) {
        reply_null(c);
        return;
    }
    reply_bulk(c, it.key, it.klen);
    engine_release(&it);
}
