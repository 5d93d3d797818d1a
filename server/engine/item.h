/* item.h: the byte-packed layout of one entry inside a segment.
 *
 *   +-------+---------+--------+-------------+--------+------------------+
 *   | flags | [klen]  | vlen   | expiry      | key    | value | large ptr|
 *   | 1 B   | varint  | varint | 0/3/4/8 B   | klen B | vlen B | 8 B     |
 *   +-------+---------+--------+-------------+--------+------------------+
 *
 * flags bits 0-1 give the expiry form: none (0 bytes), REL24 or REL32 (ms
 * after the segment's `base`; all ones means "persisted in place") or
 * ABS64 (ms since the epoch, 0 meaning none). Bit 2 (ITEM_LARGE) means the
 * value lives in its own allocation (struct large) and the segment holds
 * an 8-byte pointer. Bits 3-7 hold klen when it is below 31; 31 means a
 * varint klen follows. A 12-byte key with a 32-byte value and a 1 h TTL
 * takes 1 + 1 + 3 + 12 + 32 = 49 B.
 * Items carry no liveness bit: an item is live iff the index slot of its
 * key points at it (seg, offset, epoch). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../oh_time.h"

#define ITEM_EXP_NONE   0u /* no expiry field */
#define ITEM_EXP_REL24  1u /* 3 bytes: ms after the segment base (< 4.6 h) */
#define ITEM_EXP_REL32  2u /* 4 bytes: ms after the segment base (< 49 d) */
#define ITEM_EXP_ABS64  3u /* 8 bytes: absolute ms */
#define ITEM_EXP_MASK   3u
#define ITEM_LARGE      4u /* value is a pointer to a struct large */
#define ITEM_KLEN_SHIFT 3
#define ITEM_KLEN_VAR   31u /* klen field value: a varint klen follows */
#define ITEM_HDR_MAX    29u /* flags + two 10-byte varints + 8-byte expiry */
#define ITEM_REL24_NONE 0xffffffu   /* REL24 value meaning "no expiry" */
#define ITEM_REL32_NONE 0xffffffffu /* REL32 value meaning "no expiry" */

/* A value kept outside the segments (larger than the inline limit). Linked
 * into the list of the segment holding its item, freed with it. */
struct large {
    struct large *prev, *next;
    uint32_t len_lo; /* bytes of data, low 32 bits */
    uint16_t len_hi; /* bytes of data, high 16 bits */
    uint16_t dead;   /* its item died while the segment was pinned */
    char data[];
};
_Static_assert(sizeof(struct large) == 24, "large header grew");

static inline uint64_t
large_len(const struct large *lg)
{
    return ((uint64_t)lg->len_hi << 32) | lg->len_lo;
}

/* A decoded item. Pointers are into segment memory. */
struct item_view {
    unsigned flags;
    uint32_t total; /* bytes the item takes in the segment */
    const char *key;
    size_t klen;
    char *val; /* inline value, or the data of the large block */
    size_t vlen;
    struct large *large; /* NULL unless ITEM_LARGE */
    char *exp_field;     /* the expiry bytes, NULL for ITEM_EXP_NONE */
    oh_time expire_at;   /* OH_TIME_NONE if none */
};

static inline size_t
item_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline size_t
item_varint_put(char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (char)(0x80 | (v & 0x7f));
        v >>= 7;
    }
    p[n++] = (char)v;
    return n;
}

static inline size_t
item_varint_get(const char *p, uint64_t *v)
{
    uint64_t r = 0;
    size_t n = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = (uint8_t)p[n++];
        r |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) != 0 && n < 10);
    *v = r;
    return n;
}

/* Returns the expiry form for expire_at in a segment whose base is `base`. */
static inline unsigned
item_exp_mode(oh_time expire_at, oh_time base)
{
    if (expire_at == OH_TIME_NONE) {
        return ITEM_EXP_NONE;
    }
    if (expire_at >= base && expire_at - base < (oh_time)ITEM_REL24_NONE) {
        return ITEM_EXP_REL24;
    }
    if (expire_at >= base && expire_at - base < (oh_time)ITEM_REL32_NONE) {
        return ITEM_EXP_REL32;
    }
    return ITEM_EXP_ABS64;
}

/* Returns true if expire_at can be stored in place in a field of `mode`. */
static inline bool
item_exp_fits(unsigned mode, oh_time expire_at, oh_time base)
{
    if (expire_at == OH_TIME_NONE) {
        return true;
    }
    return mode != ITEM_EXP_NONE && item_exp_mode(expire_at, base) <= mode;
}

static inline size_t
item_exp_bytes(unsigned mode)
{
    static const uint8_t bytes[4] = {0, 3, 4, 8};
    return bytes[mode & ITEM_EXP_MASK];
}

/* Returns the bytes an item takes; vlen is the logical value length. */
static inline size_t
item_size(size_t klen, size_t vlen, unsigned mode, bool large)
{
    return 1 + (klen < ITEM_KLEN_VAR ? 0 : item_varint_len(klen)) +
           item_varint_len(vlen) + item_exp_bytes(mode) + klen +
           (large ? sizeof(void *) : vlen);
}

/* Writes the expiry field of form `mode`. */
static inline void
item_exp_put(char *p, unsigned mode, oh_time expire_at, oh_time base)
{
    if (mode == ITEM_EXP_REL24 || mode == ITEM_EXP_REL32) {
        uint32_t none =
            mode == ITEM_EXP_REL24 ? ITEM_REL24_NONE : ITEM_REL32_NONE;
        uint32_t d =
            expire_at == OH_TIME_NONE ? none : (uint32_t)(expire_at - base);
        uint8_t b[4] = {(uint8_t)d, (uint8_t)(d >> 8), (uint8_t)(d >> 16),
                        (uint8_t)(d >> 24)};
        memcpy(p, b, item_exp_bytes(mode));
    } else if (mode == ITEM_EXP_ABS64) {
        int64_t a = expire_at;
        memcpy(p, &a, 8);
    }
}

/* Writes an item at p (which has room for item_size()). `val` is ignored
 * when `large` is set. Returns the bytes written. */
static inline size_t
item_write(char *p, oh_time base, const char *key, size_t klen, const char *val,
           size_t vlen, oh_time expire_at, struct large *large)
{
    unsigned mode = item_exp_mode(expire_at, base);
    size_t n = 1;
    unsigned kf = klen < ITEM_KLEN_VAR ? (unsigned)klen : ITEM_KLEN_VAR;
    p[0] = (char)(mode | (large != NULL ? ITEM_LARGE : 0) |
                  (kf << ITEM_KLEN_SHIFT));
    if (kf == ITEM_KLEN_VAR) {
        n += item_varint_put(p + n, klen);
    }
    n += item_varint_put(p + n, vlen);
    item_exp_put(p + n, mode, expire_at, base);
    n += item_exp_bytes(mode);
    memcpy(p + n, key, klen);
    n += klen;
    if (large != NULL) {
        memcpy(p + n, &large, sizeof(large));
        return n + sizeof(large);
    }
    if (vlen > 0) {
        memcpy(p + n, val, vlen);
    }
    return n + vlen;
}

/* Decodes the item at p in a segment whose base is `base`. */
static inline void
item_parse(char *p, oh_time base, struct item_view *v)
{
    uint64_t klen, vlen;
    size_t n = 1;
    v->flags = (uint8_t)p[0];
    klen = v->flags >> ITEM_KLEN_SHIFT;
    if (klen == ITEM_KLEN_VAR) {
        n += item_varint_get(p + n, &klen);
    }
    n += item_varint_get(p + n, &vlen);
    v->exp_field = NULL;
    v->expire_at = OH_TIME_NONE;
    unsigned mode = v->flags & ITEM_EXP_MASK;
    if (mode == ITEM_EXP_REL24 || mode == ITEM_EXP_REL32) {
        uint8_t b[4] = {0, 0, 0, 0};
        size_t w = item_exp_bytes(mode);
        memcpy(b, p + n, w);
        uint32_t d = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
                     (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        uint32_t none =
            mode == ITEM_EXP_REL24 ? ITEM_REL24_NONE : ITEM_REL32_NONE;
        v->exp_field = p + n;
        v->expire_at = d == none ? OH_TIME_NONE : base + d;
        n += w;
    } else if (mode == ITEM_EXP_ABS64) {
        int64_t a;
        memcpy(&a, p + n, 8);
        v->exp_field = p + n;
        v->expire_at = a;
        n += 8;
    }
    v->key = p + n;
    v->klen = klen;
    n += klen;
    v->vlen = vlen;
    v->large = NULL;
    if (v->flags & ITEM_LARGE) {
        memcpy(&v->large, p + n, sizeof(v->large));
        v->val = v->large->data;
        n += sizeof(v->large);
    } else {
        v->val = p + n;
        n += vlen;
    }
    v->total = (uint32_t)n;
}

/* Returns true if an item with this expiry is gone at `now`. */
static inline bool
item_expired(oh_time expire_at, oh_time now)
{
    return expire_at != OH_TIME_NONE && expire_at <= now;
}

/* Returns the key of the item at p (BORROWED) and its length in *klen. */
static inline const char *
item_key(const char *p, size_t *klen)
{
    uint64_t k = (uint8_t)p[0] >> ITEM_KLEN_SHIFT, v;
    size_t n = 1;
    if (k == ITEM_KLEN_VAR) {
        n += item_varint_get(p + n, &k);
    }
    n += item_varint_get(p + n, &v);
    n += item_exp_bytes((uint8_t)p[0] & ITEM_EXP_MASK);
    *klen = k;
    return p + n;
}
