/*
 * rdbstr.c -- the DUMP/RESTORE payload of a string value, in Redis's
 * format, so keys move between redis-server and offheapd both ways.
 *
 * Layout (all multi-byte footer fields little-endian):
 *
 *   +------+--------------------------+-----------+------------------+
 *   | 0x00 | RDB string (see below)   | version   | CRC-64           |
 *   | type |                          | u16 LE    | u64 LE           |
 *   +------+--------------------------+-----------+------------------+
 *   |<------------- covered by the CRC ------------->|
 *
 * An RDB string starts with a length byte whose top two bits say how to
 * read it:
 *   00LLLLLL                     length 0..63
 *   01LLLLLL LLLLLLLL            length 0..16383 (big-endian 14 bits)
 *   10000000 + u32 big-endian    32-bit length
 *   10000001 + u64 big-endian    64-bit length
 *   11EEEEEE                     a special encoding E instead of a length:
 *       0 INT8, 1 INT16, 2 INT32: a signed little-endian integer, the
 *         value being its decimal text;
 *       3 LZF: compressed length, uncompressed length (both RDB lengths),
 *         then the LZF stream.
 * A plain string is its length then its bytes.
 *
 * LZF streams are a sequence of
 *   000LLLLL + L+1 literal bytes
 *   LLLOOOOO OOOOOOOO            back reference: copy L+2 bytes from
 *   111OOOOO LLLLLLLL OOOOOOOO   distance O+1 (long form: length L+9)
 * The decoder below works on indices, checks every run against both ends
 * before copying, and never allocates: the caller gives the output size,
 * which the payload states up front.
 *
 * Hostile input: every length read is checked against the bytes left
 * before use; an LZF value's stated size must be within max_len and within
 * RDBSTR_LZF_MAX_RATIO times its compressed size, so a tiny payload cannot
 * make us allocate gigabytes; a body must end exactly at the footer.
 * That makes RESTORE stricter than Redis 7.0 in two cases no Redis ever
 * writes: bytes between the value and the footer (Redis ignores them) and
 * an LZF string of length 0 (Redis stores ""). Both are "Bad data format".
 *
 * Versions: DUMP writes RDBSTR_VERSION (10, Redis 7.0's: 7.0 refuses a
 * payload whose version is higher than its own, and 7.2+ accept 10).
 * RESTORE accepts any version up to RDBSTR_VERSION_MAX (12, Redis 7.4's),
 * since the string encodings have not changed across them.
 *
 * CRC-64: the Jones polynomial in reflected form, initial value 0, no
 * final xor; computed eight bytes at a time from eight 256-entry tables
 * built on first use (slicing-by-8), so a 512 MB value checks in well
 * under a second.
 *
 * Rejected: compressing on DUMP (Redis does for values over 20 bytes when
 * rdbcompression is on). Plain strings are valid payloads for every Redis
 * version, and offheapd would pay CPU on every DUMP to save bytes on the
 * wire only.
 */
#include "rdbstr.h"

#include "proto/resp.h"

#include <stdlib.h>
#include <string.h>

#define CRC64_POLY_REFLECTED 0x95ac9329ac4bc9b5ull /* Jones, bit-reversed */

#define RDB_LEN_6BIT   0u    /* top bits 00 */
#define RDB_LEN_14BIT  1u    /* top bits 01 */
#define RDB_LEN_32BIT  0x80u /* whole byte */
#define RDB_LEN_64BIT  0x81u /* whole byte */
#define RDB_LEN_ENCVAL 3u    /* top bits 11 */
#define RDB_ENC_INT8   0u
#define RDB_ENC_INT16  1u
#define RDB_ENC_INT32  2u
#define RDB_ENC_LZF    3u

#define INT_TEXT_MAX 11 /* bytes of the longest int32 text, "-2147483648" */

/* ---- CRC-64 ---- */

static uint64_t crc_table[8][256];
static bool crc_ready;

static void
crc_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        }
        crc_table[0][i] = c;
    }
    for (unsigned i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) {
            uint64_t prev = crc_table[t - 1][i];
            crc_table[t][i] = (prev >> 8) ^ crc_table[0][prev & 0xff];
        }
    }
    crc_ready = true;
}

static uint64_t
load_le64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

uint64_t
rdbstr_crc64(uint64_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;

    if (!crc_ready) {
        crc_init();
    }
    for (; n >= 8; n -= 8, b += 8) {
        crc ^= load_le64(b);
        crc = crc_table[7][crc & 0xff] ^ crc_table[6][(crc >> 8) & 0xff] ^
              crc_table[5][(crc >> 16) & 0xff] ^
              crc_table[4][(crc >> 24) & 0xff] ^
              crc_table[3][(crc >> 32) & 0xff] ^
              crc_table[2][(crc >> 40) & 0xff] ^
              crc_table[1][(crc >> 48) & 0xff] ^ crc_table[0][crc >> 56];
    }
    for (; n > 0; n--, b++) {
        crc = crc_table[0][(crc ^ *b) & 0xff] ^ (crc >> 8);
    }
    return crc;
}

/* ---- encoding ---- */

/* Returns the value of v[0..n) if it is the canonical decimal text of a
 * 32-bit integer (as Redis would print it back), in *out. */
static bool
int_text(const char *v, size_t n, int32_t *out)
{
    long long x;

    if (n > INT_TEXT_MAX || !resp_str2ll(v, n, &x) || x < INT32_MIN ||
        x > INT32_MAX) {
        return false;
    }
    *out = (int32_t)x;
    return true;
}

/* Returns how many value bytes the integer encoding of x takes (1, 2, 4). */
static size_t
int_width(int32_t x)
{
    if (x >= INT8_MIN && x <= INT8_MAX) {
        return 1;
    }
    return (x >= INT16_MIN && x <= INT16_MAX) ? 2 : 4;
}

static size_t
len_size(uint64_t len)
{
    if (len < (1u << 6)) {
        return 1;
    }
    if (len < (1u << 14)) {
        return 2;
    }
    return len <= UINT32_MAX ? 5 : 9;
}

/* Writes len as an RDB length; returns the bytes written. */
static size_t
put_len(unsigned char *o, uint64_t len)
{
    size_t n = len_size(len);

    if (n == 1) {
        o[0] = (unsigned char)len;
    } else if (n == 2) {
        o[0] = (unsigned char)((RDB_LEN_14BIT << 6) | (len >> 8));
        o[1] = (unsigned char)len;
    } else {
        o[0] = n == 5 ? RDB_LEN_32BIT : RDB_LEN_64BIT;
        for (size_t i = 1; i < n; i++) {
            o[i] = (unsigned char)(len >> (8 * (n - 1 - i)));
        }
    }
    return n;
}

/* Writes the integer encoding of x; returns the bytes written. */
static size_t
put_int(unsigned char *o, int32_t x)
{
    size_t w = int_width(x);
    uint32_t u = (uint32_t)x;
    unsigned enc = w == 1   ? RDB_ENC_INT8
                   : w == 2 ? RDB_ENC_INT16
                            : RDB_ENC_INT32;

    o[0] = (unsigned char)((RDB_LEN_ENCVAL << 6) | enc);
    for (size_t i = 0; i < w; i++) {
        o[1 + i] = (unsigned char)(u >> (8 * i));
    }
    return 1 + w;
}

size_t
rdbstr_dump_size(const char *val, size_t vlen)
{
    int32_t x;
    size_t body =
        int_text(val, vlen, &x) ? 1 + int_width(x) : len_size(vlen) + vlen;

    return 1 + body + RDBSTR_FOOTER_BYTES;
}

size_t
rdbstr_dump_head(const char *val, size_t vlen, char *head, bool *with_value)
{
    unsigned char *o = (unsigned char *)head;
    int32_t x;

    o[0] = RDBSTR_TYPE_STRING;
    *with_value = !int_text(val, vlen, &x);
    return 1 + (*with_value ? put_len(o + 1, vlen) : put_int(o + 1, x));
}

void
rdbstr_dump_foot(uint64_t crc, char *foot)
{
    unsigned char *o = (unsigned char *)foot;

    o[0] = (unsigned char)(RDBSTR_VERSION & 0xff);
    o[1] = (unsigned char)(RDBSTR_VERSION >> 8);
    crc = rdbstr_crc64(crc, o, 2);
    for (int i = 0; i < 8; i++) {
        o[2 + i] = (unsigned char)(crc >> (8 * i));
    }
}

size_t
rdbstr_dump(const char *val, size_t vlen, char *out)
{
    bool with_value;
    size_t n = rdbstr_dump_head(val, vlen, out, &with_value);

    if (with_value && vlen > 0) {
        memcpy(out + n, val, vlen);
        n += vlen;
    }
    rdbstr_dump_foot(rdbstr_crc64(0, out, n), out + n);
    return n + RDBSTR_FOOTER_BYTES;
}

/* ---- verification ---- */

int
rdbstr_verify(const char *p, size_t n, unsigned *version)
{
    const unsigned char *b = (const unsigned char *)p;
    const unsigned char *foot;
    unsigned ver;

    if (n < RDBSTR_FOOTER_BYTES) {
        return RDBSTR_EVERIFY;
    }
    foot = b + n - RDBSTR_FOOTER_BYTES;
    ver = (unsigned)foot[0] | (unsigned)foot[1] << 8;
    if (version != NULL) {
        *version = ver;
    }
    if (ver > RDBSTR_VERSION_MAX) {
        return RDBSTR_EVERIFY;
    }
    if (rdbstr_crc64(0, b, n - 8) != load_le64(foot + 2)) {
        return RDBSTR_EVERIFY;
    }
    return RDBSTR_OK;
}

/* ---- decoding ---- */

/* A read position in b[0..end). Invariant: pos <= end. */
struct cursor {
    const unsigned char *b;
    size_t pos, end;
};

/* Takes n bytes; returns them, or NULL if fewer are left. */
static const unsigned char *
take(struct cursor *c, size_t n)
{
    const unsigned char *p;

    if (n > c->end - c->pos) {
        return NULL;
    }
    p = c->b + c->pos;
    c->pos += n;
    return p;
}

/* Reads n big-endian bytes into *out. */
static bool
take_be(struct cursor *c, size_t n, uint64_t *out)
{
    const unsigned char *p = take(c, n);

    if (p == NULL) {
        return false;
    }
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        *out = (*out << 8) | p[i];
    }
    return true;
}

/* Reads an RDB length, or (with *enc set) a special encoding number. */
static bool
get_len(struct cursor *c, uint64_t *len, bool *enc)
{
    const unsigned char *p = take(c, 1);
    uint64_t lo;

    *enc = false;
    if (p == NULL) {
        return false;
    }
    switch (p[0] >> 6) {
    case RDB_LEN_6BIT:
        *len = p[0] & 0x3f;
        return true;
    case RDB_LEN_14BIT:
        if (!take_be(c, 1, &lo)) {
            return false;
        }
        *len = ((uint64_t)(p[0] & 0x3f) << 8) | lo;
        return true;
    case RDB_LEN_ENCVAL:
        *enc = true;
        *len = p[0] & 0x3f;
        return true;
    default:
        if (p[0] == RDB_LEN_32BIT) {
            return take_be(c, 4, len);
        }
        return p[0] == RDB_LEN_64BIT && take_be(c, 8, len);
    }
}

/* Reads a plain length (not a special encoding). */
static bool
get_plain_len(struct cursor *c, uint64_t *len)
{
    bool enc;

    return get_len(c, len, &enc) && !enc;
}

/* Decodes INT8/16/32 (w bytes, signed little-endian) into out->num. */
static int
load_int(struct cursor *c, size_t w, struct rdbstr_value *out)
{
    const unsigned char *p = take(c, w);
    uint32_t u = 0;
    int32_t x;

    if (p == NULL) {
        return RDBSTR_EFORMAT;
    }
    for (size_t i = 0; i < w; i++) {
        u |= (uint32_t)p[i] << (8 * i);
    }
    if (w < 4 && (u >> (8 * w - 1)) & 1) {
        u |= ~0u << (8 * w); /* sign-extend */
    }
    memcpy(&x, &u, sizeof(x));
    out->len = resp_fmt_ll(out->num, x);
    out->p = out->num;
    return RDBSTR_OK;
}

/* Decodes an LZF string: clen, len, then clen bytes of stream. */
static int
load_lzf(struct cursor *c, size_t max_len, struct rdbstr_value *out)
{
    uint64_t clen, len;
    const unsigned char *in;

    if (!get_plain_len(c, &clen) || !get_plain_len(c, &len) || clen == 0 ||
        len == 0 || (in = take(c, clen)) == NULL) {
        return RDBSTR_EFORMAT;
    }
    if (len / RDBSTR_LZF_MAX_RATIO > clen) {
        return RDBSTR_EFORMAT; /* no stream that short expands that far */
    }
    if (len > max_len) {
        return RDBSTR_ETOOBIG;
    }
    out->owned = malloc(len);
    if (out->owned == NULL) {
        return RDBSTR_ENOMEM;
    }
    if (rdbstr_lzf_decompress(in, clen, out->owned, len) != (long)len) {
        rdbstr_value_deinit(out);
        return RDBSTR_EFORMAT;
    }
    out->p = out->owned;
    out->len = len;
    return RDBSTR_OK;
}

/* Decodes one RDB string at c. */
static int
load_string(struct cursor *c, size_t max_len, struct rdbstr_value *out)
{
    static const size_t int_widths[] = {1, 2, 4};
    uint64_t len;
    bool enc;
    const unsigned char *p;

    if (!get_len(c, &len, &enc)) {
        return RDBSTR_EFORMAT;
    }
    if (enc && len <= RDB_ENC_INT32) {
        return load_int(c, int_widths[len], out);
    }
    if (enc) {
        return len == RDB_ENC_LZF ? load_lzf(c, max_len, out) : RDBSTR_EFORMAT;
    }
    if ((p = take(c, len)) == NULL) {
        return RDBSTR_EFORMAT;
    }
    if (len > max_len) {
        return RDBSTR_ETOOBIG;
    }
    out->p = (const char *)p;
    out->len = len;
    return RDBSTR_OK;
}

int
rdbstr_load(const char *p, size_t n, size_t max_len, struct rdbstr_value *out)
{
    struct cursor c = {(const unsigned char *)p, 0, 0};
    const unsigned char *type;
    int rc;

    memset(out, 0, sizeof(*out));
    out->p = "";
    rc = rdbstr_verify(p, n, NULL);
    if (rc != RDBSTR_OK) {
        return rc;
    }
    c.end = n - RDBSTR_FOOTER_BYTES;
    type = take(&c, 1);
    if (type == NULL || type[0] != RDBSTR_TYPE_STRING) {
        return RDBSTR_EFORMAT;
    }
    rc = load_string(&c, max_len, out);
    if (rc == RDBSTR_OK && c.pos != c.end) {
        rdbstr_value_deinit(out);
        rc = RDBSTR_EFORMAT; /* bytes after the value */
    }
    return rc;
}

void
rdbstr_value_deinit(struct rdbstr_value *v)
{
    free(v->owned);
    memset(v, 0, sizeof(*v));
    v->p = "";
}

/* ---- LZF ---- */

/* Positions in the LZF input and output. */
struct lzf {
    const unsigned char *in;
    unsigned char *out;
    size_t ilen, olen, i, o;
};

/* Copies a literal run of n bytes. */
static bool
lzf_literal(struct lzf *z, size_t n)
{
    if (n > z->ilen - z->i || n > z->olen - z->o) {
        return false;
    }
    memcpy(z->out + z->o, z->in + z->i, n);
    z->i += n;
    z->o += n;
    return true;
}

/* Copies a back reference whose control byte was ctrl. */
static bool
lzf_backref(struct lzf *z, unsigned ctrl)
{
    size_t n = ctrl >> 5, dist;

    if (n == 7) {
        if (z->i >= z->ilen) {
            return false;
        }
        n += z->in[z->i++];
    }
    if (z->i >= z->ilen) {
        return false;
    }
    dist = ((size_t)(ctrl & 0x1f) << 8) + z->in[z->i++] + 1;
    n += 2;
    if (dist > z->o || n > z->olen - z->o) {
        return false;
    }
    if (dist >= n) {
        memcpy(z->out + z->o, z->out + z->o - dist, n);
        z->o += n;
        return true;
    }
    for (size_t k = 0; k < n; k++, z->o++) {
        z->out[z->o] = z->out[z->o - dist]; /* overlapping: a repeat */
    }
    return true;
}

long
rdbstr_lzf_decompress(const void *in, size_t ilen, void *out, size_t olen)
{
    struct lzf z = {in, out, ilen, olen, 0, 0};

    while (z.i < z.ilen) {
        unsigned ctrl = z.in[z.i++];
        bool ok = ctrl < 32 ? lzf_literal(&z, (size_t)ctrl + 1)
                            : lzf_backref(&z, ctrl);
        if (!ok) {
            return -1;
        }
    }
    return (long)z.o;
}
