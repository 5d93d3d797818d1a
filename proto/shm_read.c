/*
 * shm_read.c -- the local reader: looks keys up in offheapd's shared,
 * read-only mapping without a syscall.
 *
 * Problem: the server changes its index and segments while any number of
 * other processes read them, and a reader may not take a lock (it would
 * make the writer wait on a client) nor write anything the server reads
 * as its own. The reader must still never return a torn value, another
 * key's value, an expired entry, or an entry older than a write the
 * server acknowledged before the read began.
 *
 * How: the lookup is the engine's own (index.c): bucket hash & mask of
 * t[0] unless a resize already moved it, then t[1]; slots whose tag
 * matches point at (segment, epoch, offset); the item there carries the
 * key. Around it the reader validates (see shm.h for what the writer
 * promises):
 *
 *   s0 = seq (even, else retry)         -- no move of the index running
 *   read tables, walk the chain, check the slot's segment word (epoch,
 *   live), decode the item within the segment, compare the key, check the
 *   expiry against the reader's clock (never earlier than the server's)
 *   caller copies the value
 *   seq == s0, slot unchanged (but its access bits), segment word
 *   unchanged                            -- else retry
 *
 * A miss is validated the same way before it is reported, so a key that
 * a resize was moving between tables is never missed. Every offset read
 * from the mapping is checked against its region before use and every
 * chain walk is bounded, so a reader racing a change reads nonsense at
 * worst, never outside the mapping, and the validation rejects it.
 *
 * Cost: one bucket line, the segment word, one item line; the checks are
 * loads of lines the lookup already touched.
 * Rejected: a reader lock table as lmdb's (the server would wait for
 * slow clients, and a hostile client could hold it); copying the value
 * before locating it (two copies).
 */
#include "shm.h"

#include <stdbool.h>

#define ITEM_KLEN_SHIFT 3
#define ITEM_KLEN_VAR   31u
#define ITEM_FORM_MASK  7u

struct chain {
    const unsigned char *base;
    uint64_t heap_lo, heap_hi; /* valid offsets of index memory */
    uint64_t server_base;
};

static inline uint64_t
ld64(const void *p)
{
    return atomic_load_explicit((const _Atomic uint64_t *)p,
                                memory_order_acquire);
}

int
shm_map_init(struct shm_map *m, const void *base, uint64_t bytes)
{
    const struct shm_header *h = base;
    if (base == NULL || bytes < SHM_ARENA_OFF || h->magic != SHM_MAGIC ||
        h->version != SHM_VERSION || h->file_bytes != bytes ||
        h->seg_size == 0 || h->seg_ids > SHM_SEG_IDS ||
        (bytes - SHM_ARENA_OFF) / h->seg_size < h->seg_ids) {
        return -1;
    }
    m->base = base;
    m->bytes = bytes;
    m->h = h;
    return 0;
}

int
shm_map_state(const struct shm_map *m)
{
    uint32_t lock = atomic_load_explicit(
        (const _Atomic uint32_t *)(const void *)m->h->alive,
        memory_order_acquire);
    if ((lock & SHM_FUTEX_OWNER_DIED) || (lock & SHM_FUTEX_TID_MASK) == 0) {
        return SHM_STALE; /* the server died (or never held it) */
    }
    uint32_t st = atomic_load_explicit(&m->h->state, memory_order_acquire);
    if (st == SHM_STATE_CLOSED) {
        return SHM_STALE;
    }
    return st == SHM_STATE_READY ? 0 : SHM_FALLBACK;
}

/* Returns the reader's address of a server pointer into the index heap
 * with `len` bytes behind it, or NULL if it points elsewhere. */
static const unsigned char *
heap_at(const struct chain *c, uint64_t ptr, uint64_t len)
{
    uint64_t off = ptr - c->server_base;
    if (ptr < c->server_base || off < c->heap_lo || off > c->heap_hi - len ||
        (off & 7) != 0) {
        return NULL;
    }
    return c->base + off;
}

/* Decodes a varint within [p, end). Returns bytes used, 0 if it runs out. */
static size_t
varint(const unsigned char *p, const unsigned char *end, uint64_t *v)
{
    uint64_t r = 0;
    size_t n = 0;
    for (unsigned shift = 0; p + n < end && n < 10; shift += 7) {
        uint8_t b = p[n++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = r;
            return n;
        }
    }
    return 0;
}

/* Expiry of a field of `form` at p (0: none); -1 if the form is bad. */
static int64_t
expiry(const unsigned char *p, unsigned form, const struct shm_seg *g)
{
    static const uint8_t bytes[8] = {0, 2, 3, 4, 8, 0, 4, 8};
    unsigned n = bytes[form];
    if (n == 0) {
        return 0;
    }
    if (n == 8) {
        int64_t a;
        memcpy(&a, p, 8);
        return a;
    }
    uint32_t d = 0;
    for (unsigned i = 0; i < n; i++) {
        d |= (uint32_t)p[i] << (8 * i);
    }
    if (d == (n == 4 ? 0xffffffffu : (1u << (8 * n)) - 1)) {
        return 0; /* persisted in place */
    }
    int64_t origin =
        n == 2 ? atomic_load_explicit(&g->exp_base, memory_order_acquire)
               : atomic_load_explicit(&g->base, memory_order_acquire);
    if (n == 2 && origin == 0) {
        return -1; /* REL16 before the base was published: retry */
    }
    return origin + (int64_t)d;
}

/* Result of decoding one item. */
struct item {
    const unsigned char *key, *val;
    uint64_t klen, vlen;
    int64_t expire_at;
    bool large;
};

/* Decodes the item at [p, end). Returns false if it does not fit. */
static bool
decode(const unsigned char *p, const unsigned char *end,
       const struct shm_seg *g, struct item *it)
{
    static const uint8_t exp_bytes[8] = {0, 2, 3, 4, 8, 0, 4, 8};
    size_t n = 1, k;
    unsigned flags = p[0], form = flags & ITEM_FORM_MASK;
    it->klen = flags >> ITEM_KLEN_SHIFT;
    if (it->klen == ITEM_KLEN_VAR) {
        if ((k = varint(p + n, end, &it->klen)) == 0) {
            return false;
        }
        n += k;
    }
    if ((k = varint(p + n, end, &it->vlen)) == 0 ||
        (uint64_t)(end - p) < n + k + exp_bytes[form]) {
        return false;
    }
    n += k;
    it->expire_at = expiry(p + n, form, g);
    n += exp_bytes[form];
    it->large = form >= 5;
    uint64_t room = (uint64_t)(end - p) - n;
    if (it->expire_at < 0 || it->klen > room ||
        (!it->large && it->vlen > room - it->klen)) {
        return false;
    }
    it->key = p + n;
    it->val = p + n + it->klen;
    return true;
}

/* Checks one slot against the key. Returns SHM_HIT, SHM_MISS (not this
 * key), SHM_RETRY or SHM_FALLBACK; on a hit fills *f. */
static int
try_slot(const struct shm_map *m, uint64_t s, const char *key, size_t klen,
         int64_t now_ms, struct shm_found *f)
{
    uint32_t id = (uint32_t)((s >> SHM_SLOT_SEG_SHIFT) & SHM_SLOT_SEG_MASK);
    uint32_t off = (uint32_t)(s & SHM_SLOT_OFF_MASK);
    if (id >= m->h->seg_ids) {
        return SHM_RETRY; /* a slot being rewritten under the read */
    }
    const struct shm_seg *g =
        (const struct shm_seg *)(const void *)(m->base + SHM_SEGTAB_OFF) + id;
    uint32_t w = atomic_load_explicit(&g->word, memory_order_acquire);
    if (!(w & SHM_SEG_LIVE) ||
        (w & SHM_SEG_EPOCH_MASK) !=
            ((s >> SHM_SLOT_EPOCH_SHIFT) & SHM_SLOT_EPOCH_MASK)) {
        return SHM_MISS; /* a stale slot: its segment was returned */
    }
    uint32_t seg = m->h->seg_size;
    if (off >= seg) {
        return SHM_RETRY;
    }
    const unsigned char *mem = m->base + SHM_ARENA_OFF + (uint64_t)id * seg;
    struct item it;
    if (!decode(mem + off, mem + seg, g, &it)) {
        return SHM_RETRY;
    }
    if (it.klen != klen || memcmp(it.key, key, klen) != 0) {
        return SHM_MISS; /* a tag collision */
    }
    if (it.expire_at != 0 && it.expire_at <= now_ms) {
        f->val = NULL; /* expired: a miss, once validated */
        f->vlen = 0;
    } else if (it.large) {
        return SHM_FALLBACK;
    } else {
        f->val = (const char *)it.val;
        f->vlen = (size_t)it.vlen;
    }
    f->slot = s;
    f->seg = g;
    f->seg_word = w;
    return SHM_HIT;
}

/* Searches one chain from head bucket `b`. */
static int
walk(const struct shm_map *m, const struct chain *c, const unsigned char *b,
     uint64_t tag, const char *key, size_t klen, int64_t now_ms,
     struct shm_found *f)
{
    unsigned nslots = SHM_BUCKET_SLOTS;
    for (unsigned hops = 0; b != NULL && hops < SHM_CHAIN_MAX; hops++) {
        for (unsigned i = 0; i < nslots; i++) {
            const _Atomic uint64_t *p =
                (const _Atomic uint64_t *)(const void *)(b + 8 * i);
            uint64_t s = atomic_load_explicit(p, memory_order_acquire);
            if (s == 0 || (s & SHM_SLOT_GHOST) ||
                ((s >> SHM_SLOT_TAG_SHIFT) & SHM_SLOT_TAG_MASK) != tag) {
                continue;
            }
            int rc = try_slot(m, s, key, klen, now_ms, f);
            if (rc != SHM_MISS) {
                f->slot_at = p;
                return rc;
            }
        }
        uint64_t next = ld64(b + 8 * nslots);
        nslots = SHM_OVF_SLOTS;
        b = next == 0 ? NULL : heap_at(c, next, 32);
        if (next != 0 && b == NULL) {
            return SHM_RETRY; /* a link changing under the read */
        }
    }
    return b == NULL ? SHM_MISS : SHM_RETRY;
}

/* Returns the head bucket of hash in table t, or NULL (absent, moved). */
static const unsigned char *
head_of(const struct shm_map *m, const struct chain *c, int t, uint64_t hash,
        int64_t rehash)
{
    uint64_t off = atomic_load_explicit(&m->h->t[t].off, memory_order_acquire);
    uint64_t mask =
        atomic_load_explicit(&m->h->t[t].mask, memory_order_acquire);
    uint64_t idx = hash & mask;
    if (off == 0 || (t == 0 && rehash >= 0 && idx < (uint64_t)rehash)) {
        return NULL;
    }
    if (off < c->heap_lo || off >= c->heap_hi ||
        mask >= (c->heap_hi - off) / 64) {
        return NULL; /* torn descriptors: the seqlock check rejects them */
    }
    return c->base + off + idx * 64;
}

int
shm_find(const struct shm_map *m, const char *key, size_t klen, int64_t now_ms,
         struct shm_found *f)
{
    int st = shm_map_state(m);
    if (st != 0) {
        return st;
    }
    struct chain c = {m->base, SHM_HEAP_OFF, SHM_HEAP_OFF + SHM_HEAP_BYTES,
                      m->h->server_base};
    f->seq = atomic_load_explicit(&m->h->seq, memory_order_acquire);
    if (f->seq & 1) {
        return SHM_RETRY;
    }
    f->hash = shm_key_hash(m->h->seed, key, klen);
    uint64_t tag = shm_hash_tag(f->hash);
    int64_t rehash = atomic_load_explicit(&m->h->rehash, memory_order_acquire);
    for (int t = 0; t < 2; t++) {
        const unsigned char *b = head_of(m, &c, t, f->hash, rehash);
        int rc = walk(m, &c, b, tag, key, klen, now_ms, f);
        if (rc == SHM_HIT && f->val == NULL) {
            rc = shm_still_valid(m, f) ? SHM_MISS : SHM_RETRY;
        }
        if (rc != SHM_MISS) {
            return rc;
        }
    }
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&m->h->seq, memory_order_relaxed) != f->seq) {
        return SHM_RETRY;
    }
    return SHM_MISS;
}

int
shm_still_valid(const struct shm_map *m, const struct shm_found *f)
{
    atomic_thread_fence(memory_order_acquire);
    uint64_t s = atomic_load_explicit(f->slot_at, memory_order_relaxed);
    return atomic_load_explicit(&m->h->seq, memory_order_relaxed) == f->seq &&
           (s & ~SHM_SLOT_FREQ_MASK) == (f->slot & ~SHM_SLOT_FREQ_MASK) &&
           atomic_load_explicit(&f->seg->word, memory_order_relaxed) ==
               f->seg_word;
}
