/* index.h: the hash index from keys to items, 8-byte slots in 64-byte
 * buckets, resized incrementally, scanned with a reverse-binary cursor.
 * See index.c for the design.
 *
 * Slot (64 bits), live:              ghost:
 *   63     ghost = 0                   63     ghost = 1
 *   62-61  freq (access counter 0-3)   62-61  0
 *   60-49  tag (12 hash bits, != 0)    60-49  tag
 *   48-40  epoch of the segment        47-0   ghost clock when created
 *   39-20  segment id
 *   19-0   byte offset in the segment
 * An all-zero slot is empty. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seg.h"

#define SLOT_GHOST       (1ull << 63)
#define SLOT_FREQ_SHIFT  61
#define SLOT_FREQ_MAX    3u
#define SLOT_TAG_SHIFT   49
#define SLOT_TAG_MASK    0xfffull
#define SLOT_EPOCH_SHIFT 40
#define SLOT_SEG_SHIFT   20
#define SLOT_OFF_MASK    0xfffffull
#define SLOT_CLOCK_MASK  0xffffffffffffull

_Static_assert(SEG_ID_BITS == 20, "slot has 20 bits of segment id");
_Static_assert(SEG_EPOCH_BITS == 9, "slot has 9 bits of epoch");
_Static_assert(SEG_SIZE_MAX <= (1u << 20), "slot has 20 bits of offset");

static inline uint64_t
slot_make(uint64_t tag, uint32_t epoch, uint32_t seg, uint32_t off,
          unsigned freq)
{
    return ((uint64_t)freq << SLOT_FREQ_SHIFT) | (tag << SLOT_TAG_SHIFT) |
           ((uint64_t)epoch << SLOT_EPOCH_SHIFT) |
           ((uint64_t)seg << SLOT_SEG_SHIFT) | off;
}

static inline uint64_t
slot_tag(uint64_t s)
{
    return (s >> SLOT_TAG_SHIFT) & SLOT_TAG_MASK;
}

static inline uint32_t
slot_seg(uint64_t s)
{
    return (uint32_t)((s >> SLOT_SEG_SHIFT) & (SEG_MAX - 1));
}

static inline uint32_t
slot_off(uint64_t s)
{
    return (uint32_t)(s & SLOT_OFF_MASK);
}

static inline uint32_t
slot_epoch(uint64_t s)
{
    return (uint32_t)((s >> SLOT_EPOCH_SHIFT) & (SEG_EPOCHS - 1));
}

static inline unsigned
slot_freq(uint64_t s)
{
    return (unsigned)((s >> SLOT_FREQ_SHIFT) & 3u);
}

static inline uint64_t
slot_with_freq(uint64_t s, unsigned f)
{
    return (s & ~(3ull << SLOT_FREQ_SHIFT)) | ((uint64_t)f << SLOT_FREQ_SHIFT);
}

static inline bool
slot_is_ghost(uint64_t s)
{
    return (s & SLOT_GHOST) != 0;
}

/* Stores slot value s at p as one 8-byte write ordered after every write
 * before it (the item it points at): local readers load slots with
 * acquire (proto/shm.h). */
static inline void
index_slot_store(uint64_t *p, uint64_t s)
{
    __atomic_store_n(p, s, __ATOMIC_RELEASE);
}

/* Returns the 12-bit tag of a hash (never 0). */
static inline uint64_t
index_tag(uint64_t hash)
{
    uint64_t t = hash >> 52;
    return t == 0 ? 1 : t;
}

/* Returns true if slot s is a live (non-ghost, non-stale) entry. */
static inline bool
index_slot_live(uint64_t s)
{
    if (s == 0 || slot_is_ghost(s)) {
        return false;
    }
    const struct seg *g = seg_at(slot_seg(s));
    return g->epoch == slot_epoch(s) &&
           (g->state == SEG_YOUNG || g->state == SEG_OLD);
}

/* Returns the item memory a live slot points at (BORROWED). */
static inline char *
index_slot_item(uint64_t s)
{
    return seg_at(slot_seg(s))->mem + slot_off(s);
}

/* Creates the index with 2^log2_buckets buckets. Returns 0 or OH_NOMEM. */
int index_setup(unsigned log2_buckets, uint64_t seed);
void index_teardown(void);
/* Sizes an empty index for `keys` keys at once (no rehash while they are
 * inserted: no shrink either until index_reserve(0)); does not resize an
 * index that holds slots. Returns 0 or OH_NOMEM. */
int index_reserve(uint64_t keys);
/* Empties the index (O(1) for the caller: the old tables are freed). */
int index_flush(void);

uint64_t index_hash(const char *key, size_t klen);

/* Starts fetching the head bucket of `hash` into the cache (both tables
 * while rehashing), for an insert or lookup a few keys later. With
 * `chain`, also its first overflow bucket: call that a few keys after the
 * first hint, once the head is likely cached. Changes nothing. */
void index_prefetch(uint64_t hash, bool chain);
/* Starts fetching the items that the head bucket's slots with the tag of
 * `hash` point at: call it once that bucket is likely cached (after
 * index_prefetch() for a few other keys). Changes nothing. */
void index_prefetch_items(uint64_t hash);

/* Finds the live slot of key. Returns a pointer to it (valid until the next
 * index call that inserts or steps) or NULL. If ghost is not NULL, sets
 * *ghost to a matching, still valid ghost slot, or NULL. Stale slots met
 * on the way are cleared. */
uint64_t *index_lookup(const char *key, size_t klen, uint64_t hash,
                       uint64_t **ghost);
/* Finds the slot of hash's chain that holds entry `s` (compared without
 * its access bits) and is live. Returns it (valid as index_lookup's) or
 * NULL. */
uint64_t *index_find_slot(uint64_t hash, uint64_t s);
/* Stores live slot value `s` for a key known absent, in `reuse` (a ghost
 * slot from index_lookup) if not NULL. Returns 0 or OH_NOMEM. */
int index_insert(uint64_t hash, uint64_t s, uint64_t *reuse);
/* Empties a slot. */
void index_clear(uint64_t *slot);
/* Turns a live slot into a ghost of the same key. */
void index_ghost(uint64_t *slot);
/* Sets how many ghost creations a ghost survives. */
void index_set_ghost_window(uint64_t n);

/* Runs rehash or sweep work worth about *budget_ns, charging it. Returns
 * true while work remains (a rehash is in progress). */
bool index_step(int64_t *budget_ns);
/* Gives the overflow chunks of dead tables back to the OS (a munmap each)
 * while *budget_ns lasts. Returns true while some remain. */
bool index_release(int64_t *budget_ns);
/* Returns true if dead chunks wait for index_release() (their bytes count
 * in the index's until then). */
bool index_release_pending(void);

/* Tells the index how many of its slots are live (the engine's count), so
 * a shrink starts as soon as segments die, not after the sweep. */
void index_set_live(uint64_t n);
/* Tells the index that memory is limited (maxmemory): it then grows at a
 * higher load and shrinks sooner (see index.c), since every byte it holds
 * is a byte of entries evicted. */
void index_set_limited(bool limited);

/* True while a shrink is due but not started, or a rehash runs: the
 * engine then gives the index a larger share of a step. */
bool index_shrink_due(void);
/* True while a growing rehash runs. */
bool index_growing(void);
bool index_rehashing(void);

/* Visits the live slots of the buckets for `cursor` (see engine_scan()).
 * Returns the next cursor, 0 when done. */
typedef void index_visit_fn(void *arg, uint64_t *slot);
uint64_t index_scan(uint64_t cursor, size_t count, index_visit_fn *fn,
                    void *arg);
/* Returns the first live slot accepted by fn, searching from a bucket
 * picked by seed, or NULL. */
typedef bool index_accept_fn(void *arg, uint64_t *slot);
uint64_t *index_random(uint64_t seed, index_accept_fn *fn, void *arg);

/* State, for metrics. */
struct index_stats {
    uint64_t bytes;        /* tables and overflow buckets */
    uint64_t buckets;      /* primary buckets of both tables */
    uint64_t slots;        /* slots in primary and overflow buckets */
    uint64_t used;         /* live + stale slots */
    uint64_t ghosts;       /* ghost slots */
    uint64_t rehashing;    /* 1 while a resize is in progress */
    uint64_t stale_killed; /* stale slots cleared (counter) */
    uint64_t passes;       /* complete sweep passes (counter) */
};
void index_stats_get(struct index_stats *st);
