/* shm.h: the layout of offheapd's shared mapping, the format that local
 * readers (liboffheap) and the engine agree on. libc only.
 *
 * offheapd keeps its segments and its hash index in one memfd, which it
 * hands read-only to authenticated clients of its Unix socket (SCM_RIGHTS).
 * A client then looks keys up in that mapping itself, with no syscall:
 *
 *   offset 0          header (SHM_HDR_BYTES): sizes, hash seed, the index
 *                     tables, the seqlock, the liveness lock
 *   SHM_SEGTAB_OFF    struct shm_seg per segment id: epoch, live bit and
 *                     reuse count in one word, the expiry bases
 *   SHM_HEAP_OFF      the index: bucket tables and overflow chunks
 *   SHM_ARENA_OFF     the segments, seg_size bytes per id, seg_ids ids
 *
 * Pointers inside the index (a bucket's overflow link) are the server's
 * addresses: a reader subtracts shm_header.server_base and checks the
 * result against the heap's bounds before it follows one.
 *
 * Concurrency (one writer, the server's event loop; any number of readers):
 * - Items in a live segment never change once their slot is published,
 *   except the expiry field an EXPIRE rewrites in place, which the writer
 *   brackets with the seqlock.
 * - A slot changes by one 8-byte store (insert, overwrite, delete, a copy
 *   to another segment, ghosting).
 * - A segment that is returned gets a new shm_seg.word (epoch bumped, live
 *   bit cleared) before its memory is reused.
 * - Everything that moves slots between buckets or reuses index memory
 *   (a resize moving a chain, freeing overflow buckets, swapping tables)
 *   runs between shm_header.seq going odd and going even again.
 * A reader therefore validates what it copied: the seqlock was even and did
 * not move, the slot still holds the same entry, and the segment's word is
 * the one it checked first. Any failure means "read again". */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SHM_MAGIC      0x314d534855ull /* "UHSM1" */
#define SHM_VERSION    1u
#define SHM_HDR_BYTES  4096u
#define SHM_SEG_IDS    (1u << 20) /* segment ids (SEG_MAX) */
#define SHM_SEGTAB_OFF ((uint64_t)SHM_HDR_BYTES)
#define SHM_HEAP_OFF   (64ull << 20) /* bytes */
#define SHM_HEAP_BYTES (8ull << 30)  /* bytes of index heap */
#define SHM_ARENA_OFF  (SHM_HEAP_OFF + SHM_HEAP_BYTES)

/* shm_header.state */
#define SHM_STATE_LOADING 1u /* a snapshot loads: read over the socket */
#define SHM_STATE_READY   2u /* local reads are valid */
#define SHM_STATE_CLOSED  3u /* the server stopped: the mapping is stale */

/* Bits of the futex word of the robust mutex the server holds while it
 * lives (shm_header.alive, glibc's pthread_mutex_t starts with it): the
 * kernel sets OWNER_DIED when the server dies, however it dies. */
#define SHM_FUTEX_OWNER_DIED 0x40000000u
#define SHM_FUTEX_TID_MASK   0x3fffffffu

/* Slot bits (the engine's index.h pins the same values). */
#define SHM_SLOT_GHOST       (1ull << 63)
#define SHM_SLOT_FREQ_SHIFT  61
#define SHM_SLOT_FREQ_MASK   (3ull << SHM_SLOT_FREQ_SHIFT)
#define SHM_SLOT_TAG_SHIFT   49
#define SHM_SLOT_TAG_MASK    0xfffull
#define SHM_SLOT_EPOCH_SHIFT 40
#define SHM_SLOT_EPOCH_MASK  0x1ffull
#define SHM_SLOT_SEG_SHIFT   20
#define SHM_SLOT_SEG_MASK    0xfffffull
#define SHM_SLOT_OFF_MASK    0xfffffull

/* Index layout (index.c's buckets are these). */
#define SHM_BUCKET_SLOTS 7
#define SHM_OVF_SLOTS    3
#define SHM_CHAIN_MAX    4096 /* overflow buckets a reader follows */

/* shm_seg.word: epoch (bits 0-8), live (bit 9: young or old generation),
 * reuse count (bits 10-31, bumped at each borrow). */
#define SHM_SEG_EPOCH_MASK 0x1ffu
#define SHM_SEG_LIVE       0x200u
#define SHM_SEG_REUSE_ONE  0x400u

/* One segment as readers see it. */
struct shm_seg {
    _Atomic uint32_t word;
    uint32_t pad;
    _Atomic int64_t base;     /* origin of REL24/REL32 expiry fields (ms) */
    _Atomic int64_t exp_base; /* origin of REL16 fields, 0 when unset */
};
_Static_assert(sizeof(struct shm_seg) == 24, "shm_seg is 24 bytes");
_Static_assert(SHM_SEGTAB_OFF + (uint64_t)SHM_SEG_IDS * 24 <= SHM_HEAP_OFF,
               "segment table fits before the heap");

/* One index table: its buckets' offset in the file (0: absent) and mask. */
struct shm_table {
    _Atomic uint64_t off;
    _Atomic uint64_t mask;
};

struct shm_header {
    uint64_t magic;         /* SHM_MAGIC */
    uint32_t version;       /* SHM_VERSION */
    uint32_t seg_size;      /* bytes per segment */
    uint64_t file_bytes;    /* size of the memfd */
    uint64_t seed;          /* seed of shm_key_hash() */
    uint64_t server_base;   /* the server's address of offset 0 */
    uint64_t instance;      /* random id of this server process */
    _Atomic uint32_t state; /* SHM_STATE_* */
    uint32_t seg_ids;       /* segment ids the arena holds (<= SEG_IDS) */
    _Atomic uint64_t seq;   /* seqlock: odd while the index moves */
    struct shm_table t[2];  /* t[1] exists while a resize runs */
    _Atomic int64_t rehash; /* next t[0] bucket a resize moves, -1: none */
    uint64_t pad1[3];
    /* a robust, process-shared mutex the server locks at start and never
     * unlocks: its first word is the futex word (see above) */
    _Alignas(64) unsigned char alive[64];
};
_Static_assert(sizeof(struct shm_header) <= SHM_HDR_BYTES, "header fits");

/* ---- per-client feedback: the one region a client writes ---- */

/* Hits a reader reports so that local reads count for eviction, and its
 * counters for INFO. The server only reads it, and trusts nothing in it:
 * a hint names a hash and a slot, and the server marks the slot accessed
 * only if that hash's chain holds that very slot. */
#define SHM_FEEDBACK_BYTES (64u * 1024u)
#define SHM_RING           4094u /* hint entries */

struct shm_hint {
    uint64_t hash;
    uint64_t slot;
};

struct shm_feedback {
    _Atomic uint64_t hits;   /* local reads that found the key */
    _Atomic uint64_t misses; /* local reads that did not */
    _Atomic uint64_t head;   /* hints written so far (ring[head % RING]) */
    uint64_t pad;
    struct shm_hint ring[SHM_RING];
};
_Static_assert(sizeof(struct shm_feedback) <= SHM_FEEDBACK_BYTES,
               "feedback region fits");

/* ---- the key hash, the same on both sides ---- */

static inline uint64_t
shm_mix64(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dull;
    x ^= x >> 33;
    return x;
}

/* Returns the index hash of key under `seed`. */
static inline uint64_t
shm_key_hash(uint64_t seed, const char *key, size_t klen)
{
    uint64_t h = seed ^ ((uint64_t)klen * 0x9e3779b97f4a7c15ull);
    size_t i = 0;
    for (; i + 8 <= klen; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = (h ^ shm_mix64(w)) * 0xc2b2ae3d27d4eb4full;
        h = (h << 31) | (h >> 33);
    }
    uint64_t w = 0;
    memcpy(&w, key + i, klen - i);
    h ^= shm_mix64(w ^ ((uint64_t)(klen - i) << 56));
    return shm_mix64(h);
}

/* Returns the 12-bit slot tag of a hash (never 0). */
static inline uint64_t
shm_hash_tag(uint64_t hash)
{
    uint64_t t = hash >> 52;
    return t == 0 ? 1 : t;
}

/* ---- the reader (shm_read.c) ---- */

/* A mapping as a reader holds it. */
struct shm_map {
    const unsigned char *base; /* the reader's address of offset 0 */
    uint64_t bytes;            /* mapped bytes (the file's size) */
    const struct shm_header *h;
};

/* What shm_find() found: a value still to be validated after the copy. */
struct shm_found {
    const char *val; /* in the mapping: copy it, then shm_still_valid() */
    size_t vlen;
    uint64_t hash;
    uint64_t seq;
    uint64_t slot;
    const _Atomic uint64_t *slot_at;
    uint32_t seg_word;
    const struct shm_seg *seg;
};

/* Results of shm_find(). */
#define SHM_HIT      1    /* *f describes the value */
#define SHM_MISS     0    /* the key is absent or expired (validated) */
#define SHM_RETRY    (-1) /* a change ran during the read: read again */
#define SHM_FALLBACK (-2) /* ask the server (a large value, not ready) */
#define SHM_STALE    (-3) /* the server is gone: drop the mapping */

/* Checks a mapping of `bytes` at `base`. Returns 0 and fills *m, or -1 if
 * it is not an offheapd mapping of this version. */
int shm_map_init(struct shm_map *m, const void *base, uint64_t bytes);
/* Returns true while the server that made the mapping lives and serves. */
int shm_map_state(const struct shm_map *m);
/* Looks key up as of `now_ms` (the reader's CLOCK_REALTIME, in ms). */
int shm_find(const struct shm_map *m, const char *key, size_t klen,
             int64_t now_ms, struct shm_found *f);
/* After copying f->val: returns 1 if the copy is the entry's value. */
int shm_still_valid(const struct shm_map *m, const struct shm_found *f);
