/*
 * cmd_bits.c -- the bit commands on string values: GETBIT SETBIT BITCOUNT
 * BITPOS BITOP, answering as Redis 7.0 does, errors included.
 *
 * Bits are numbered from the most significant bit of the first byte (bit 0
 * is 0x80 of byte 0), as in Redis. A missing key is an infinite string of
 * zero bits. Writes are read-modify-write through a pinned item (as
 * SETRANGE in cmd_string.c): the new value is built in a buffer, stored
 * with the key's TTL kept (SETBIT) or dropped (BITOP's destination), then
 * the pin is released.
 */
#include "cmd.h"
#include "config.h"
#include "engine/engine.h"
#include "reply.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Declared in cmd.h's handler list too; repeated here so this file builds
 * before the table rows are added. */

#define BIT_OFFSET_ERR "ERR bit offset is not an integer or out of range"

/* Parses a bit offset: an integer >= 0 whose byte is below
 * proto-max-bulk-len. Answers and returns false if it is not. */
static bool
parse_bit_offset(struct conn *c, const struct resp_str *a, uint64_t *out)
{
    long long v;

    if (!cmd_arg_ll(a, &v) || v < 0 ||
        (uint64_t)(v >> 3) >= cfg.proto_max_bulk_len) {
        reply_error(c, BIT_OFFSET_ERR);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* The bit at `pos` of p[0..len) (0 beyond the end). */
static int
bit_at(const unsigned char *p, size_t len, uint64_t pos)
{
    uint64_t byte = pos >> 3;

    if (byte >= len) {
        return 0;
    }
    return (p[byte] >> (7 - (pos & 7))) & 1;
}

/* ---- GETBIT SETBIT ---- */

void
cmd_getbit(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1];
    struct engine_item it;
    uint64_t off;

    if (!parse_bit_offset(c, &r->argv[2], &off)) {
        return;
    }
    if (!engine_get(key->p, key->len, r->now, &it)) {
        reply_int(c, 0);
        return;
    }
    int bit = bit_at((const unsigned char *)it.val, it.vlen, off);
    engine_release(&it);
    reply_int(c, bit);
}

void
cmd_setbit(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1];
    struct engine_item it;
    uint64_t off;
    long long on;

    if (!parse_bit_offset(c, &r->argv[2], &off)) {
        return;
    }
    if (!cmd_arg_ll(&r->argv[3], &on) || (on & ~1LL)) {
        reply_error(c, "ERR bit is not an integer or out of range");
        return;
    }
    int found = engine_get(key->p, key->len, r->now, &it);
    size_t oldlen = found ? it.vlen : 0;
    size_t byte = (size_t)(off >> 3);
    size_t newlen = byte + 1 > oldlen ? byte + 1 : oldlen;
    int old = found ? bit_at((const unsigned char *)it.val, it.vlen, off) : 0;

    if (found && newlen == oldlen && old == on) {
        /* nothing changes: no write, as Redis */
        engine_release(&it);
        reply_int(c, old);
        return;
    }
    unsigned char *buf = malloc(newlen);
    if (buf == NULL) {
        if (found) {
            engine_release(&it);
        }
        reply_error_oom(c);
        return;
    }
    if (oldlen > 0) {
        memcpy(buf, it.val, oldlen);
    }
    memset(buf + oldlen, 0, newlen - oldlen);
    unsigned char mask = (unsigned char)(1u << (7 - (off & 7)));
    buf[byte] = on ? (unsigned char)(buf[byte] | mask)
                   : (unsigned char)(buf[byte] & ~mask);
    int rc = engine_set(key->p, key->len, (const char *)buf, newlen,
                        OH_TIME_NONE, found ? ENGINE_SET_KEEPTTL : 0, r->now);
    free(buf);
    if (found) {
        engine_release(&it);
    }
    if (rc < 0) {
        reply_engine_error(c, rc);
        return;
    }
    cmd_key_modified(key->p, key->len);
    reply_int(c, old);
}

/* ---- BITCOUNT BITPOS ---- */

/* Converts a Redis [start, end] range (negative from the end, clamped) over
 * a string of `len` bytes, in bytes or bits, into an inclusive bit range
 * [*sbit, *ebit]. Returns false if the range is empty. */
static bool
bit_range(long long start, long long end, bool isbit, size_t len,
          uint64_t *sbit, uint64_t *ebit)
{
    long long total = (long long)len;

    if (isbit) {
        total <<= 3;
    }
    if (start < 0) {
        start = total + start;
    }
    if (end < 0) {
        end = total + end;
    }
    if (start < 0) {
        start = 0;
    }
    if (end < 0) {
        end = 0;
    }
    if (end >= total) {
        end = total - 1;
    }
    if (start > end) {
        return false;
    }
    *sbit = isbit ? (uint64_t)start : (uint64_t)start << 3;
    *ebit = isbit ? (uint64_t)end : ((uint64_t)end << 3) + 7;
    return true;
}

/* Parses the optional BYTE|BIT unit argument. */
static bool
parse_unit(struct conn *c, const struct resp_str *a, bool *isbit)
{
    if (cmd_arg_is(a, "bit")) {
        *isbit = true;
    } else if (cmd_arg_is(a, "byte")) {
        *isbit = false;
    } else {
        reply_error_syntax(c);
        return false;
    }
    return true;
}

/* Counts the set bits of p in the inclusive bit range [s, e]. */
static long long
popcount_range(const unsigned char *p, uint64_t s, uint64_t e)
{
    long long n = 0;

    while (s <= e && (s & 7) != 0) {
        n += (p[s >> 3] >> (7 - (s & 7))) & 1;
        s++;
    }
    size_t i = (size_t)(s >> 3);
    size_t whole = s <= e ? (size_t)((e + 1 - s) >> 3) : 0;
    size_t j = 0;
    for (; j + 8 <= whole; j += 8) {
        uint64_t w;
        memcpy(&w, p + i + j, sizeof(w));
        n += __builtin_popcountll(w);
    }
    for (; j < whole; j++) {
        n += __builtin_popcount(p[i + j]);
    }
    s += (uint64_t)whole << 3;
    while (s <= e) {
        n += (p[s >> 3] >> (7 - (s & 7))) & 1;
        s++;
    }
    return n;
}

/* Parses BITCOUNT's [start end [BYTE|BIT]], whether or not the key
 * exists (a bad argument is an error even for a missing key). */
static bool
parse_bitcount_args(struct conn *c, const struct cmd_req *r, long long *start,
                    long long *end, bool *isbit)
{
    if (r->argc == 2) {
        return true;
    }
    if (r->argc != 4 && r->argc != 5) {
        reply_error_syntax(c);
        return false;
    }
    if (!cmd_arg_ll(&r->argv[2], start) || !cmd_arg_ll(&r->argv[3], end)) {
        reply_error_notint(c);
        return false;
    }
    return r->argc == 4 || parse_unit(c, &r->argv[4], isbit);
}

void
cmd_bitcount(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1];
    struct engine_item it;
    long long start = 0, end = -1;
    bool isbit = false;

    if (!parse_bitcount_args(c, r, &start, &end, &isbit)) {
        return;
    }
    if ((start < 0 && end < 0 && start > end) ||
        !engine_get(key->p, key->len, r->now, &it)) {
        reply_int(c, 0);
        return;
    }
    uint64_t s, e;
    long long n = 0;
    if (bit_range(start, end, isbit, it.vlen, &s, &e)) {
        n = popcount_range((const unsigned char *)it.val, s, e);
    }
    engine_release(&it);
    reply_int(c, n);
}

/* The first bit equal to `bit` in the inclusive bit range [s, e] of p, or
 * -1. */
static long long
find_bit(const unsigned char *p, uint64_t s, uint64_t e, int bit)
{
    unsigned char skip = bit ? 0x00 : 0xff;

    while (s <= e) {
        if ((s & 7) == 0 && s + 7 <= e && p[s >> 3] == skip) {
            s += 8;
            continue;
        }
        if (((p[s >> 3] >> (7 - (s & 7))) & 1) == bit) {
            return (long long)s;
        }
        s++;
    }
    return -1;
}

/* Parses BITPOS's [start [end [BYTE|BIT]]], whether or not the key
 * exists. */
static bool
parse_bitpos_args(struct conn *c, const struct cmd_req *r, long long *start,
                  long long *end, bool *isbit)
{
    if (r->argc > 6) {
        reply_error_syntax(c);
        return false;
    }
    if (r->argc >= 4 && !cmd_arg_ll(&r->argv[3], start)) {
        reply_error_notint(c);
        return false;
    }
    if (r->argc == 6 && !parse_unit(c, &r->argv[5], isbit)) {
        return false; /* the unit is checked before the end, as Redis does */
    }
    if (r->argc >= 5 && !cmd_arg_ll(&r->argv[4], end)) {
        reply_error_notint(c);
        return false;
    }
    return true;
}

void
cmd_bitpos(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1];
    struct engine_item it;
    long long bit, start = 0, end = -1;
    bool isbit = false, end_given = false;

    if (!cmd_arg_ll(&r->argv[2], &bit)) {
        reply_error_notint(c);
        return;
    }
    if (bit != 0 && bit != 1) {
        reply_error(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    if (!parse_bitpos_args(c, r, &start, &end, &isbit)) {
        return;
    }
    end_given = r->argc >= 5;
    if (!engine_get(key->p, key->len, r->now, &it)) {
        /* an infinite string of zeros */
        reply_int(c, bit ? -1 : 0);
        return;
    }
    uint64_t s, e;
    long long pos = -1;
    if (bit_range(start, end, isbit, it.vlen, &s, &e)) {
        pos = find_bit((const unsigned char *)it.val, s, e, (int)bit);
        /* Without an explicit end, the string is followed by zeros: the
         * first clear bit is then the one after the string. */
        if (pos < 0 && bit == 0 && !end_given) {
            pos = (long long)it.vlen << 3;
        }
    }
    engine_release(&it);
    reply_int(c, pos);
}

/* ---- BITOP ---- */

enum bitop { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

void
cmd_bitop(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *dst = &r->argv[2];
    enum bitop op;
    int nsrc = r->argc - 3;

    if (cmd_arg_is(&r->argv[1], "and")) {
        op = BITOP_AND;
    } else if (cmd_arg_is(&r->argv[1], "or")) {
        op = BITOP_OR;
    } else if (cmd_arg_is(&r->argv[1], "xor")) {
        op = BITOP_XOR;
    } else if (cmd_arg_is(&r->argv[1], "not")) {
        op = BITOP_NOT;
    } else {
        reply_error_syntax(c);
        return;
    }
    if (op == BITOP_NOT && nsrc != 1) {
        reply_error(c,
                    "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    struct engine_item *src = calloc((size_t)nsrc, sizeof(*src));
    int *found = calloc((size_t)nsrc, sizeof(*found));
    unsigned char *out = NULL;
    size_t maxlen = 0;
    if (src == NULL || found == NULL) {
        reply_error_oom(c);
        goto done;
    }
    for (int i = 0; i < nsrc; i++) {
        const struct resp_str *k = &r->argv[3 + i];
        found[i] = engine_get(k->p, k->len, r->now, &src[i]);
        if (found[i] && src[i].vlen > maxlen) {
            maxlen = src[i].vlen;
        }
    }
    if (maxlen > 0) {
        out = malloc(maxlen);
        if (out == NULL) {
            reply_error_oom(c);
            goto done;
        }
        for (size_t j = 0; j < maxlen; j++) {
            unsigned char acc = 0;
            for (int i = 0; i < nsrc; i++) {
                unsigned char b = found[i] && j < src[i].vlen
                                      ? (unsigned char)src[i].val[j]
                                      : 0;
                if (i == 0) {
                    acc = op == BITOP_NOT ? (unsigned char)~b : b;
                } else if (op == BITOP_AND) {
                    acc &= b;
                } else if (op == BITOP_OR) {
                    acc |= b;
                } else {
                    acc ^= b;
                }
            }
            out[j] = acc;
        }
        int rc = engine_set(dst->p, dst->len, (const char *)out, maxlen,
                            OH_TIME_NONE, 0, r->now);
        if (rc < 0) {
            reply_engine_error(c, rc);
            goto done;
        }
        cmd_key_modified(dst->p, dst->len);
    } else if (engine_del(dst->p, dst->len, r->now)) {
        /* an empty result deletes the destination */
        cmd_key_modified(dst->p, dst->len);
    }
    reply_int(c, (long long)maxlen);
done:
    for (int i = 0; found != NULL && src != NULL && i < nsrc; i++) {
        if (found[i]) {
            engine_release(&src[i]);
        }
    }
    free(out);
    free(src);
    free(found);
}
