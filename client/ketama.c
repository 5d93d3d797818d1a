/*
 * ketama.c -- consistent hashing of keys onto servers, as twemproxy does it.
 *
 * Goal: a key lands on the same server whether it goes through liboffheap
 * or through a twemproxy pool with `distribution: ketama`, `hash:
 * fnv1a_64` (or md5) and `hash_tag: "{}"` over the same servers list.
 *
 * The continuum: server i with weight w_i gets
 *     points_i = floorf(w_i / W * 160 / 4 * n + 1e-10) * 4
 * points (W the total weight, n the server count; 160 for equal weights).
 * For k in 0 .. points_i/4 - 1, md5("<name>-<k>") gives 16 bytes, cut into
 * four little-endian 32-bit values, each a point owned by server i:
 *
 *   0 ---- p(b) -- p(a) ------- p(c) -- p(a) ---------- 2^32-1
 *          ^ keys hashing in (p(prev), p(b)] go to b; past the last point
 *            they wrap to the first.
 *
 * The name is what twemproxy uses: the explicit " name" of a server entry,
 * else "host:port" ("host" alone for port 11211, libmemcached's habit; for
 * a Unix socket "path:" as twemproxy's parser leaves it).
 *
 * The key hash is twemproxy's 32-bit fnv1a_64, which XORs each byte as a
 * *signed* char widened to 32 bits: bytes >= 0x80 set the high bits. We
 * keep that quirk, or such keys would land elsewhere. With a {hash tag},
 * only the bytes between the first '{' and the next '}' are hashed, when
 * there are any.
 *
 * Cost: the ring has 160 points per server (2.5 KiB for 2 servers), built
 * once per handle; a lookup is a binary search, log2(160 n) steps.
 * Rejected: jump hash or rendezvous hashing (better balance, but no proxy
 * to share placement with).
 */
#include "offheap_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KETAMA_POINTS   160 /* points per server at equal weights */
#define KETAMA_PER_HASH 4   /* points cut from one md5 digest */
#define KETAMA_NAME_LEN 86  /* bytes of "name-k", as twemproxy */
#define FNV1A_64_INIT   UINT64_C(0xcbf29ce484222325)
#define FNV1A_64_PRIME  UINT64_C(0x100000001b3)
#define MD5_BLOCK       64 /* bytes per MD5 block */

/* ---- MD5 (RFC 1321) ---- */

static const unsigned md5_shift[4][4] = {
    {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

static uint32_t md5_k[64];
static int md5_k_ready;

static void
md5_init_table(void)
{
    /* K[i] = floor(|sin(i + 1)| * 2^32): exact in IEEE double. */
    for (int i = 0; i < 64; i++) {
        md5_k[i] = (uint32_t)(fabs(sin((double)i + 1.0)) * 4294967296.0);
    }
    md5_k_ready = 1;
}

static inline uint32_t
rotl32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t
md5_mix(int i, uint32_t b, uint32_t c, uint32_t d, int *g)
{
    if (i < 16) {
        *g = i;
        return (b & c) | (~b & d);
    }
    if (i < 32) {
        *g = (5 * i + 1) % 16;
        return (d & b) | (~d & c);
    }
    if (i < 48) {
        *g = (3 * i + 5) % 16;
        return b ^ c ^ d;
    }
    *g = (7 * i) % 16;
    return c ^ (b | ~d);
}

static void
md5_block(uint32_t h[4], const unsigned char *p)
{
    uint32_t m[16];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];

    for (int i = 0; i < 16; i++) {
        m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
               (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
    }
    for (int i = 0; i < 64; i++) {
        int g;
        uint32_t f = md5_mix(i, b, c, d, &g) + a + md5_k[i] + m[g];

        a = d;
        d = c;
        c = b;
        b = b + rotl32(f, md5_shift[i / 16][i % 4]);
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

void
offheap_md5(const void *data, size_t len, unsigned char out[16])
{
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    const unsigned char *p = data;
    unsigned char tail[2 * MD5_BLOCK];
    size_t full = len - len % MD5_BLOCK, rest = len % MD5_BLOCK;
    size_t tlen = rest < 56 ? MD5_BLOCK : 2 * MD5_BLOCK;
    uint64_t bits = (uint64_t)len * 8;

    if (!md5_k_ready) {
        md5_init_table();
    }
    for (size_t off = 0; off < full; off += MD5_BLOCK) {
        md5_block(h, p + off);
    }
    memset(tail, 0, sizeof(tail));
    if (rest > 0) {
        memcpy(tail, p + full, rest);
    }
    tail[rest] = 0x80;
    for (int i = 0; i < 8; i++) {
        tail[tlen - 8 + i] = (unsigned char)(bits >> (8 * i));
    }
    for (size_t off = 0; off < tlen; off += MD5_BLOCK) {
        md5_block(h, tail + off);
    }
    for (int i = 0; i < 16; i++) {
        out[i] = (unsigned char)(h[i / 4] >> (8 * (i % 4)));
    }
}

/* ---- key hashes ---- */

static uint32_t
digest_word(const unsigned char d[16], unsigned i)
{
    return (uint32_t)d[3 + i * 4] << 24 | (uint32_t)d[2 + i * 4] << 16 |
           (uint32_t)d[1 + i * 4] << 8 | (uint32_t)d[i * 4];
}

static uint32_t
hash_fnv1a_64(const char *key, size_t len)
{
    uint32_t h = (uint32_t)FNV1A_64_INIT;

    for (size_t i = 0; i < len; i++) {
        /* signed char widened, as twemproxy does: see the top comment */
        h ^= (uint32_t)(int32_t)(signed char)key[i];
        h *= (uint32_t)FNV1A_64_PRIME;
    }
    return h;
}

uint32_t
offheap_hash(int hash, const char *key, size_t len)
{
    unsigned char d[16];

    if (hash == OFFHEAP_HASH_MD5) {
        offheap_md5(key, len, d);
        return digest_word(d, 0);
    }
    return hash_fnv1a_64(key, len);
}

void
offheap_hash_tag(const char **key, size_t *len)
{
    const char *k = *key, *end = *key + *len;
    const char *open = memchr(k, '{', *len);
    const char *close;

    if (open == NULL) {
        return;
    }
    close = memchr(open + 1, '}', (size_t)(end - open - 1));
    if (close == NULL || close - open <= 1) {
        return;
    }
    *key = open + 1;
    *len = (size_t)(close - open - 1);
}

/* ---- the continuum ---- */

static int
point_cmp(const void *a, const void *b)
{
    const struct offheap_point *x = a, *y = b;

    if (x->value == y->value) {
        return 0;
    }
    return x->value > y->value ? 1 : -1;
}

/* Returns the points of a server, with twemproxy's float arithmetic. */
static uint32_t
server_points(unsigned weight, unsigned total, size_t nsrv)
{
    float pct = (float)weight / (float)total;

    return (uint32_t)(floorf((float)(pct * KETAMA_POINTS / 4 * (float)nsrv +
                                     0.0000000001)) *
                      4);
}

static size_t
add_server_points(struct offheap_point *ring, size_t at, uint32_t index,
                  const char *name, uint32_t npoints)
{
    for (uint32_t k = 0; k < npoints / KETAMA_PER_HASH; k++) {
        char host[KETAMA_NAME_LEN];
        unsigned char d[16];
        int n = snprintf(host, sizeof(host), "%s-%u", name, (unsigned)k);

        if (n >= (int)sizeof(host)) {
            n = (int)sizeof(host) - 1; /* snprintf truncates, as twemproxy */
        }
        offheap_md5(host, (size_t)n, d);
        for (unsigned x = 0; x < KETAMA_PER_HASH; x++) {
            ring[at].value = digest_word(d, x);
            ring[at++].index = index;
        }
    }
    return at;
}

int
offheap_ketama_build(struct offheap_pool *p)
{
    unsigned total = 0;
    size_t at = 0, cap = 0;

    for (size_t i = 0; i < p->nsrv; i++) {
        total += p->srv[i].weight;
    }
    for (size_t i = 0; i < p->nsrv; i++) {
        cap += server_points(p->srv[i].weight, total, p->nsrv);
    }
    p->ring = calloc(cap > 0 ? cap : 1, sizeof(*p->ring));
    if (p->ring == NULL) {
        return OFFHEAP_ERR_NOMEM;
    }
    for (size_t i = 0; i < p->nsrv; i++) {
        uint32_t n = server_points(p->srv[i].weight, total, p->nsrv);

        at = add_server_points(p->ring, at, (uint32_t)i, p->srv[i].name, n);
    }
    p->nring = at;
    qsort(p->ring, p->nring, sizeof(*p->ring), point_cmp);
    return 0;
}

uint32_t
offheap_ketama_dispatch(const struct offheap_point *ring, size_t n,
                        uint32_t hash)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ring[mid].value < hash) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return ring[lo == n ? 0 : lo].index;
}
