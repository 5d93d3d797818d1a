/* item.h: the byte-packed layout of one entry inside a segment.
 *
 *   +-------+---------+--------+-------------+--------+------------------+
 *   | flags | [klen]  | vlen   | expiry      | key    | value | large ptr|
 *   | 1 B   | varint  | varint | 0/2/3/4/8 B | klen B | vlen B | 8 B     |
 *   +-------+---------+--------+-------------+--------+------------------+
 *
 * flags bits 0-2 give the form (how the value is kept, which expiry field
 * follows); bits 3-7 hold klen when it is below 31, 31 meaning a varint
 * klen follows.
 *
 *   form  value  expiry  bytes  expiry field holds
 *   0     inline NONE    0      -
 *   1     inline REL16   2      ms after the segment's exp_base (< 65.5 s)
 *   2     inline REL24   3      ms after the segment's base (< 4.6 h)
 *   3     inline REL32   4      ms after the segment's base (< 49.7 d)
 *   4     inline ABS64   8      ms since the epoch, 0 meaning none
 *   5     large  NONE    0      -
 *   6     large  REL32   4      as form 3
 *   7     large  ABS64   8      as form 4
 *
 * A relative field's all-ones value means "persisted in place" (PERSIST of
 * an item that had an expiry). A segment has two bases (struct
 * item_bases): `base`, its open time, and `exp_base`, the expiry of the
 * first REL16 item written into it (unset until then). Items written
 * close together with the same TTL, the common case and every
 * old-generation segment (grouped by expiry), fall within 65.5 s after
 * exp_base and take 2 bytes; any other expiry takes the smallest of
 * REL24, REL32 and ABS64. A large value lives in its own allocation
 * (struct large) and the segment holds an 8-byte pointer; large items
 * (above inline_max, at least 8 KiB) use only NONE, REL32 or ABS64, which
 * costs them at most 1 byte (REL24 -> REL32) and costs inline items
 * nothing. A 12-byte key with a 32-byte value and a 1 h TTL takes
 * 1 + 1 + 2 + 12 + 32 = 48 B (49 B with REL24 when its expiry is more than
 * 65.5 s after its segment's exp_base).
 * Items carry no liveness bit: an item is live iff the index slot of its
 * key points at it (seg, offset, epoch).
 * Rejected: a separate LARGE bit (leaves 4 bits of klen: keys of 15-30
 * bytes would take a varint byte); marking large items by a klen code (30
 * = large, a varint klen follows: costs every inline 30-byte key a byte);
 * REL16 after `base` (covers only the first 65.5 s after the open, so a
 * TTL of more than a minute would never fit). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../oh_time.h"

/* Expiry forms, in order of size (flags hold them as a form, see above). */
#define ITEM_EXP_NONE  0u /* no expiry field */
#define ITEM_EXP_REL16 1u /* 2 bytes: ms after the exp_base (< 65.5 s) */
#define ITEM_EXP_REL24 2u /* 3 bytes: ms after the segment base (< 4.6 h) */
#define ITEM_EXP_REL32 3u /* 4 bytes: ms after the segment base (< 49 d) */
#define ITEM_EXP_ABS64 4u /* 8 bytes: absolute ms */

/* Forms of large items (inline items' forms are their expiry forms). */
#define ITEM_FORM_LARGE_NONE  5u /* no expiry */
#define ITEM_FORM_LARGE_REL32 6u /* REL32 expiry */
#define ITEM_FORM_LARGE_ABS64 7u /* ABS64 expiry */
#define ITEM_FORM_MASK        7u /* flags bits holding the form */

#define ITEM_KLEN_SHIFT 3
#define ITEM_KLEN_VAR   31u /* klen field value: a varint klen follows */
#define ITEM_HDR_MAX    29u /* flags + two 10-byte varints + 8-byte expiry */
#define ITEM_REL16_NONE 0xffffu     /* REL16 value meaning "no expiry" */
#define ITEM_REL24_NONE 0xffffffu   /* REL24 value meaning "no expiry" */
#define ITEM_REL32_NONE 0xffffffffu /* REL32 value meaning "no expiry" */

_Static_assert(ITEM_EXP_ABS64 < ITEM_FORM_LARGE_NONE,
               "inline forms are the expiry forms");
_Static_assert(ITEM_HDR_MAX == 1 + 2 * 10 + 8, "worst-case item header");

/* The origins of the relative expiry fields of one segment. */
struct item_bases {
    oh_time base;     /* open time: origin of REL24/REL32 (and the age) */
    oh_time exp_base; /* origin of REL16: the expiry of the first REL16
                         item written, OH_TIME_NONE until then */
};

/* Sets the bases of a segment opened (or reused) at `now`. */
static inline void
item_bases_init(struct item_bases *b, oh_time now)
{
    b->base = now;
    b->exp_base = OH_TIME_NONE;
}

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
    unsigned flags;    /* the flags byte */
    unsigned exp_mode; /* ITEM_EXP_* form of exp_field */
    uint32_t total;    /* bytes the item takes in the segment */
    const char *key;
    size_t klen;
    char *val; /* inline value, or the data of the large block */
    size_t vlen;
    struct large *large; /* NULL unless a large item */
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

/* Returns the expiry form (ITEM_EXP_*) of an item's flags byte. */
static inline unsigned
item_flags_exp(unsigned flags)
{
    static const uint8_t exp[ITEM_FORM_MASK + 1] = {
        ITEM_EXP_NONE,  ITEM_EXP_REL16, ITEM_EXP_REL24, ITEM_EXP_REL32,
        ITEM_EXP_ABS64, ITEM_EXP_NONE,  ITEM_EXP_REL32, ITEM_EXP_ABS64};
    return exp[flags & ITEM_FORM_MASK];
}

/* Returns true if an item's flags byte marks a large value. */
static inline bool
item_flags_large(unsigned flags)
{
    return (flags & ITEM_FORM_MASK) >= ITEM_FORM_LARGE_NONE;
}

/* Returns the form (flags bits 0-2) of an item with expiry form `mode`; a
 * large item's mode is NONE, REL32 or ABS64. */
static inline unsigned
item_form(unsigned mode, bool large)
{
    if (!large) {
        return mode;
    }
    if (mode == ITEM_EXP_NONE) {
        return ITEM_FORM_LARGE_NONE;
    }
    return mode == ITEM_EXP_REL32 ? ITEM_FORM_LARGE_REL32
                                  : ITEM_FORM_LARGE_ABS64;
}

/* Returns the bytes of an expiry field of form `mode`. */
static inline size_t
item_exp_bytes(unsigned mode)
{
    static const uint8_t bytes[ITEM_FORM_MASK + 1] = {0, 2, 3, 4, 8};
    return bytes[mode & ITEM_FORM_MASK];
}

/* Returns true if `mode` is a form relative to a base. */
static inline bool
item_exp_relative(unsigned mode)
{
    return mode == ITEM_EXP_REL16 || mode == ITEM_EXP_REL24 ||
           mode == ITEM_EXP_REL32;
}

/* Returns the all-ones value of relative form `mode` (no expiry). */
static inline uint32_t
item_exp_rel_none(unsigned mode)
{
    if (mode == ITEM_EXP_REL16) {
        return ITEM_REL16_NONE;
    }
    return mode == ITEM_EXP_REL24 ? ITEM_REL24_NONE : ITEM_REL32_NONE;
}

/* Returns the time relative form `mode` counts from. */
static inline oh_time
item_exp_origin(unsigned mode, const struct item_bases *b)
{
    return mode == ITEM_EXP_REL16 ? b->exp_base : b->base;
}

/* Returns true if the expiry expire_at (not OH_TIME_NONE) is within the
 * range of form `mode` in a segment with bases b. */
static inline bool
item_exp_in_range(unsigned mode, oh_time expire_at, const struct item_bases *b)
{
    if (mode == ITEM_EXP_ABS64) {
        return true;
    }
    if (!item_exp_relative(mode) ||
        (mode == ITEM_EXP_REL16 && b->exp_base == OH_TIME_NONE)) {
        return false;
    }
    oh_time from = item_exp_origin(mode, b);
    return expire_at >= from &&
           (uint64_t)expire_at - (uint64_t)from < item_exp_rel_none(mode);
}

/* Returns the smallest expiry form for expire_at in a segment with bases
 * b. REL16 is also chosen while b->exp_base is unset: item_write() then
 * sets it to expire_at. A large item takes NONE, REL32 or ABS64. */
static inline unsigned
item_exp_mode(oh_time expire_at, const struct item_bases *b, bool large)
{
    if (expire_at == OH_TIME_NONE) {
        return ITEM_EXP_NONE;
    }
    if (!large && (b->exp_base == OH_TIME_NONE ||
                   item_exp_in_range(ITEM_EXP_REL16, expire_at, b))) {
        return ITEM_EXP_REL16;
    }
    if (!large && item_exp_in_range(ITEM_EXP_REL24, expire_at, b)) {
        return ITEM_EXP_REL24;
    }
    if (item_exp_in_range(ITEM_EXP_REL32, expire_at, b)) {
        return ITEM_EXP_REL32;
    }
    return ITEM_EXP_ABS64;
}

/* Returns true if expire_at can be stored in place in a field of `mode`
 * (OH_TIME_NONE always can: all ones, or 0 for ABS64). */
static inline bool
item_exp_fits(unsigned mode, oh_time expire_at, const struct item_bases *b)
{
    return expire_at == OH_TIME_NONE || item_exp_in_range(mode, expire_at, b);
}

/* Returns the bytes an item takes; vlen is the logical value length. */
static inline size_t
item_size(size_t klen, size_t vlen, unsigned mode, bool large)
{
    return 1 + (klen < ITEM_KLEN_VAR ? 0 : item_varint_len(klen)) +
           item_varint_len(vlen) + item_exp_bytes(mode) + klen +
           (large ? sizeof(void *) : vlen);
}

/* Writes the expiry field of form `mode`; expire_at must fit it. */
static inline void
item_exp_put(char *p, unsigned mode, oh_time expire_at,
             const struct item_bases *b)
{
    if (item_exp_relative(mode)) {
        uint32_t d = expire_at == OH_TIME_NONE
                         ? item_exp_rel_none(mode)
                         : (uint32_t)((uint64_t)expire_at -
                                      (uint64_t)item_exp_origin(mode, b));
        uint8_t le[4] = {(uint8_t)d, (uint8_t)(d >> 8), (uint8_t)(d >> 16),
                         (uint8_t)(d >> 24)};
        memcpy(p, le, item_exp_bytes(mode));
    } else if (mode == ITEM_EXP_ABS64) {
        int64_t a = expire_at;
        memcpy(p, &a, 8);
    }
}

/* Returns the expiry held by the field of form `mode` (not NONE) at p. */
static inline oh_time
item_exp_get(const char *p, unsigned mode, const struct item_bases *b)
{
    if (mode == ITEM_EXP_ABS64) {
        int64_t a;
        memcpy(&a, p, 8);
        return a;
    }
    uint8_t le[4] = {0, 0, 0, 0};
    memcpy(le, p, item_exp_bytes(mode));
    uint32_t d = (uint32_t)le[0] | (uint32_t)le[1] << 8 |
                 (uint32_t)le[2] << 16 | (uint32_t)le[3] << 24;
    return d == item_exp_rel_none(mode) ? OH_TIME_NONE
                                        : item_exp_origin(mode, b) + d;
}

/* Writes an item at p (which has room for item_size() with the mode
 * item_exp_mode() gives) in a segment with bases b, setting b->exp_base
 * if this is its first REL16 item. `val` is ignored when `large` is set.
 * Returns the bytes written. */
static inline size_t
item_write(char *p, struct item_bases *b, const char *key, size_t klen,
           const char *val, size_t vlen, oh_time expire_at, struct large *large)
{
    unsigned mode = item_exp_mode(expire_at, b, large != NULL);
    if (mode == ITEM_EXP_REL16 && b->exp_base == OH_TIME_NONE) {
        b->exp_base = expire_at;
    }
    size_t n = 1;
    unsigned kf = klen < ITEM_KLEN_VAR ? (unsigned)klen : ITEM_KLEN_VAR;
    p[0] = (char)(item_form(mode, large != NULL) | (kf << ITEM_KLEN_SHIFT));
    if (kf == ITEM_KLEN_VAR) {
        n += item_varint_put(p + n, klen);
    }
    n += item_varint_put(p + n, vlen);
    item_exp_put(p + n, mode, expire_at, b);
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

/* Decodes the item at p in a segment with bases b. */
static inline void
item_parse(char *p, const struct item_bases *b, struct item_view *v)
{
    uint64_t klen, vlen;
    size_t n = 1;
    v->flags = (uint8_t)p[0];
    klen = v->flags >> ITEM_KLEN_SHIFT;
    if (klen == ITEM_KLEN_VAR) {
        n += item_varint_get(p + n, &klen);
    }
    n += item_varint_get(p + n, &vlen);
    v->exp_mode = item_flags_exp(v->flags);
    v->exp_field = v->exp_mode == ITEM_EXP_NONE ? NULL : p + n;
    v->expire_at = v->exp_mode == ITEM_EXP_NONE
                       ? OH_TIME_NONE
                       : item_exp_get(p + n, v->exp_mode, b);
    n += item_exp_bytes(v->exp_mode);
    v->key = p + n;
    v->klen = klen;
    n += klen;
    v->vlen = vlen;
    v->large = NULL;
    if (item_flags_large(v->flags)) {
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
    n += item_exp_bytes(item_flags_exp((uint8_t)p[0]));
    *klen = k;
    return p + n;
}
