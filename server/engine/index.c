/*
 * index.c -- hash index: 8-byte slots, incremental resize, SCAN cursor.
 *
 * Problem: map a key to (segment, offset) with about 8-12 bytes per key,
 * never pause in proportion to the key count, let SCAN return every key
 * present during a whole iteration, and absorb O(1) segment frees.
 *
 * Layout: power-of-two tables of 64-byte buckets (7 slots + a chain link
 * to 32-byte overflow buckets of 3 slots: chains only hold the Poisson
 * tail). Each table carves its overflow buckets from 32 KiB chunks of its
 * own (mmap'd; a free list reuses buckets) and unmaps the chunks when it
 * dies (after a resize or a flush: index_release(), from what is left of
 * a step after the time-critical work, like the segment pool's trimming;
 * ~8 us a chunk, so charged to the index's own share it slowed expiry
 * reclaim in test_engine_bench's M2 below 99 % at T+1 s), so RSS falls
 * within a few ticks. Malloc'd one by one, the buckets of a dead table
 * fragmented jemalloc's 32-byte slabs (M4: 23 MB resident for 4.6 MB
 * allocated after a size shift); malloc'd chunks waited for jemalloc's
 * decay (~10 s) before their pages went back. A table keeps the chunks of
 * its peak: when over half of its carved buckets are free (and at least
 * OVF_WASTE_CHUNKS chunks' worth), a rehash to the same size repacks the
 * chains into fresh chunks (the shrink's path, mask unchanged), e.g. after
 * a shrink that happened early in a value-size shift. A key lives in bucket
 * (hash & mask) or its chain. The slot keeps 12 more hash bits (the tag) so
 * most non-matching slots are rejected without touching the item.
 *
 *   t[0]: [s s s s s s s |->] [s s s s s s s |/] ...     rehash -> t[1]
 *                         `-> [s s . |->] [s . . |/]  overflow
 *
 * Resize (Redis-dict style): a second table is allocated and bucket chains
 * move from t[0] to t[1], one chain per insert plus index_step() budget.
 * Growing needs the hash bit the slot lacks, so it reads the key from the
 * item; shrinking does not. Lookups search both tables while rehashing.
 * Growth starts at an average of 8 live slots per bucket (the chains
 * absorb the Poisson tail): at 1 M keys that is 2^17 buckets plus ~0.6
 * overflow buckets per bucket, about 10.6 B per key. "Live" is the
 * engine's count (index_set_live() each step, plus inserts since): stale
 * slots die with their segment long before a sweep clears them, and
 * inserts reuse them, so they neither trigger a growth nor delay a
 * shrink.
 *
 * SCAN: the cursor counts buckets in reverse-binary order (increment the
 * reversed bits), so when the table doubles or halves, the buckets already
 * visited map onto buckets that stay visited. While two tables exist the
 * smaller table's bucket is visited together with all its expansions in the
 * larger one. A chain moves between tables in one step, never during a
 * scan call.
 *
 * Local readers (share.c, proto/shm_read.c) walk these tables from other
 * processes. A slot changes by one 8-byte store (index_slot_store, after
 * the item it points at is written); whatever moves slots between buckets
 * or lets bucket memory be reused runs between share_change_begin() and
 * share_change_end() (one chain moved by a resize, an emptied overflow
 * bucket unlinked, tables swapped by a flush or a reserve), and publish()
 * gives readers the tables and the resize cursor. Index memory comes from
 * share_map(): the shared heap when sharing is on, else mmap as before.
 *
 * Stale slots: a slot is stale when its epoch differs from its segment's
 * (seg.c). Lookups, inserts, the rehash and a background sweep clear them.
 * The sweep walks t[0] bucket by bucket when no rehash runs; each finished
 * pass (or finished rehash, which checks every slot it moves) calls
 * seg_pass_complete(), which is what lets segment epochs advance safely.
 * Idle skip: if no epoch was bumped (seg_bumps()) since the last complete
 * pass started and no slot was cleared nor ghost made since, no stale
 * slot, dead ghost or emptied overflow bucket can exist, so the next pass
 * is complete without a walk: an idle index_step is O(1) (~0.2 us
 * instead of filling its budget with a sweep).
 *
 * Ghosts: a slot with the ghost bit keeps only the tag of a key dropped
 * from the young generation, stamped with a clock of ghost creations; it
 * is valid while fewer than `ghost_window` ghosts were made since. Ghosts
 * only take slots that are free anyway (never a new overflow bucket), give
 * way to an insert into a full chain (the oldest of the chain goes), are
 * dropped when a growing rehash meets them, and a tag collision only
 * misplaces one write in the old generation. Under maxmemory the sweep
 * drops the ghosts of an overflow bucket that holds no live slot, so the
 * bucket goes: they took the slots that eviction left stale, and then
 * kept those buckets (M4: 1.6 M ghosts beside 1.85 M keys held a 38 MB
 * index, 21 MB of it overflow buckets the live keys did not need).
 *
 * index_reserve() swaps an empty table for one sized for the coming keys
 * (a snapshot load) and holds off shrinking until index_reserve(0), so the
 * load never rehashes.
 *
 * Shrink starts as soon as the live slots fall below SHRINK_LOAD per
 * bucket (3/8 of the growth load) and goes straight to the smallest size
 * that holds them below GROW_LOAD per bucket, however many halvings that
 * is (one rehash, not one per halving; bucket i of t[0] goes to i & new
 * mask, and SCAN's two-table walk handles any power-of-two ratio). The
 * engine gives a due or running resize a larger share of each step.
 * Hysteresis: after a shrink the load is 4-8 (growth at 8), after a growth
 * 4 (shrink below 3), so a growth after a shrink needs up to twice the
 * keys, a shrink after a growth a quarter fewer. Landing at load 4-8
 * rather than 2-4 is what lets M2 have its memory back: 500 k keys left
 * after 1 M expire go from 2^18 buckets to 2^16 (load 7.6, 6.3 MB) rather
 * than 2^17 (load 3.8, 8.6 MB), the size the table had before the 1 M
 * keys came.
 *
 * Under maxmemory (index_set_limited) the index's bytes are taken from the
 * entries, so it grows at GROW_LOAD_LIMITED (12) and shrinks below
 * SHRINK_LOAD_LIMITED (4): a doubling at load 8 costs ~6 B per key for
 * chains one overflow bucket shorter, and a table left at load 3-4 after
 * a value-size shift costs ~20 B per key (measured in M4: a 38 MB index
 * beside 207 MB of 100 B entries, then 18 MB beside 210 MB of mostly 1 KB
 * ones). Bytes per key stay ~10.5 at load 8-12 (overflow buckets hold 3
 * slots in 32 B). Hysteresis: after a growth the load is 6 (shrink below
 * 4), after a shrink 4-8 (growth at 12); a shrink frees 32 B per old
 * bucket, room for too few entries to climb back from 4 to 12 per bucket.
 * During a shrink ghosts only take free slots of the new chain, else they are
 * dropped. index_flush() swaps in a 16-bucket table and queues the old ones in
 * a graveyard that index_step() frees 16 KiB of bucket table per munmap (~5
 * us; 64 KiB took ~20 us, too long for one unit of a step), its overflow
 * chunks going to the dead list (chunk_step). index_random() tries
 * RANDOM_PROBES random buckets, then walks RANDOM_WALK buckets from a cursor
 * that the next call resumes.
 *
 * Cost: lookup = one bucket line (+ chain) + one item line; rehash of one
 * chain ~ 8 key reads; sweep ~ 40 ns per bucket (REHASH_GROW_NS measured
 * at ~190 ns per slot by test_engine_bench's calibration; SHRINK_NS per
 * bucket moved by a shrink, plus the overflow buckets freed and the
 * chunks unmapped, brings its wall/charged ratio from ~1.8 to ~0.8).
 * Rejected: open addressing with linear probing (cannot promise SCAN
 * across resizes without storing displacement); cuckoo (a displacement can
 * move a key behind the cursor); per-key chaining pointers (16+ B/key).
 */
#include "index.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "budget.h"
#include "item.h"
#include "share.h"

#define BUCKET_SLOTS      7
#define MIN_LOG2          4   /* smallest table: 16 buckets */
#define GROW_LOAD         8   /* used slots per bucket that start a growth */
#define REHASH_GROW_NS    190 /* per slot moved while growing (reads key) */
#define REHASH_SLOT_NS    10  /* per slot moved while shrinking */
#define BUCKET_NS         60  /* per bucket visited */
/* per bucket a shrink moves (page faults in the new table, merging
 * chains; calibrated) */
#define SHRINK_NS         150
#define SWEEP_CLOCK_EVERY 4 /* buckets swept per read of the step's clock */

#define OVF_SLOTS 3

/* Overflow bucket: chains hold few slots (Poisson tail), so they are half
 * a line. */
struct ovf {
    uint64_t slot[OVF_SLOTS];
    struct ovf *next;
};
_Static_assert(sizeof(struct ovf) == 32, "overflow bucket is 32 bytes");

struct bucket {
    uint64_t slot[BUCKET_SLOTS];
    struct ovf *next;
};
_Static_assert(sizeof(struct bucket) == 64, "bucket is one cache line");
/* local readers walk the same layout (proto/shm.h) */
_Static_assert(BUCKET_SLOTS == SHM_BUCKET_SLOTS && OVF_SLOTS == SHM_OVF_SLOTS,
               "readers' bucket layout");
_Static_assert(SLOT_GHOST == SHM_SLOT_GHOST &&
                   SLOT_TAG_SHIFT == SHM_SLOT_TAG_SHIFT &&
                   SLOT_EPOCH_SHIFT == SHM_SLOT_EPOCH_SHIFT &&
                   SLOT_SEG_SHIFT == SHM_SLOT_SEG_SHIFT &&
                   SLOT_FREQ_SHIFT == SHM_SLOT_FREQ_SHIFT &&
                   SLOT_OFF_MASK == SHM_SLOT_OFF_MASK,
               "readers' slot layout");

/* Iterates over the slots of a chain: the head's, then each overflow's. */
struct chain_it {
    struct bucket *head;
    struct ovf *o;
    unsigned i;
};

static inline uint64_t *
chain_first(struct chain_it *c, struct bucket *head)
{
    c->head = head;
    c->o = NULL;
    c->i = 0;
    return head != NULL ? &head->slot[0] : NULL;
}

static inline uint64_t *
chain_next(struct chain_it *c)
{
    c->i++;
    if (c->o == NULL) {
        if (c->i < BUCKET_SLOTS) {
            return &c->head->slot[c->i];
        }
        c->o = c->head->next;
    } else if (c->i < OVF_SLOTS) {
        return &c->o->slot[c->i];
    } else {
        c->o = c->o->next;
    }
    c->i = 0;
    return c->o != NULL ? &c->o->slot[0] : NULL;
}

struct table {
    struct bucket *b;   /* NULL when absent */
    uint64_t mask;      /* buckets - 1 */
    bool mapped;        /* b is an mmap'd region (else calloc'd) */
    uint64_t unmapped;  /* leading buckets already given back (rehash) */
    struct ovf *chunks; /* its overflow buckets' chunks, linked through
                           the first bucket of each (next) */
    struct ovf *ofree;  /* its freed overflow buckets, linked by next */
    uint32_t carved;    /* buckets taken from the newest chunk */
    uint64_t nchunks;
};

#define MAP_MIN_BUCKETS     1024 /* tables this large are mmap'd */
#define UNMAP_BUCKETS       256  /* given back per chunk as a rehash moves on */
#define GRAVE_MAX           4    /* flushed tables waiting to be freed */
#define OVF_FREE_NS         40   /* per overflow bucket freed */
#define OVF_CHUNK_BYTES     (32u * 1024u) /* overflow buckets come in chunks */
#define OVF_PER_CHUNK       (OVF_CHUNK_BYTES / sizeof(struct ovf))
#define CHUNK_FREE_NS       10000 /* per chunk given back (munmap, ~8 us) */
#define OVF_WASTE_CHUNKS    16    /* free chunks' worth that starts a repack */
#define UNMAP_NS            6000  /* per UNMAP_BUCKETS chunk given back */
#define SHRINK_LOAD         3 /* live slots per bucket below which it shrinks */
#define GROW_LOAD_LIMITED   12   /* GROW_LOAD under maxmemory */
#define SHRINK_LOAD_LIMITED 4    /* SHRINK_LOAD under maxmemory */
#define RANDOM_PROBES       64   /* random buckets index_random tries */
#define RANDOM_WALK         4096 /* buckets its fallback walk visits per call */
#define RESERVE_MAX_KEYS    (1ull << 36) /* index_reserve() refuses more */

static struct {
    struct table t[2];
    int64_t rehash; /* next t[0] bucket to move, -1 when none */
    bool growing;
    uint64_t used;   /* live + stale slots */
    uint64_t ghosts; /* ghost slots */
    uint64_t ovf;    /* overflow buckets */
    uint64_t seed;
    uint64_t ghost_clock, ghost_window;
    uint64_t sweep; /* next t[0] bucket the sweep visits */
    uint64_t stale_killed, passes;
    struct table grave[GRAVE_MAX]; /* flushed tables, freed by index_step */
    unsigned ngrave;
    uint64_t grave_buckets; /* buckets of the flushed tables not yet freed */
    struct ovf *dead;       /* chunk lists of released tables, stacked
                               through the first chunk's slot[0] */
    uint64_t ndead;         /* their chunks */
    uint64_t rand_cursor;   /* where the bounded random walk resumes */
    bool hold;              /* reserved for a load: do not shrink */
    uint64_t live;        /* live slots (index_set_live), UINT64_MAX: unknown */
    uint64_t pass_bumps;  /* seg_bumps() when the current pass started */
    uint64_t clean_bumps; /* ... when the last complete pass started */
    uint64_t rehash_bumps; /* ... when the running rehash started */
    bool dirty;            /* slots cleared / ghosts made since pass start */
    unsigned grow_load;    /* GROW_LOAD, or GROW_LOAD_LIMITED */
    unsigned shrink_load;  /* SHRINK_LOAD, or SHRINK_LOAD_LIMITED */
    bool ready;
} ix;

/* ---- overflow buckets: a pool per table ---- */

/* Returns a zeroed overflow bucket of table t, or NULL. */
static struct ovf *
ovf_alloc(struct table *t)
{
    struct ovf *o = t->ofree;
    if (o != NULL) {
        t->ofree = o->next;
    } else {
        if (t->chunks == NULL || t->carved == OVF_PER_CHUNK) {
            void *m = share_map(OVF_CHUNK_BYTES);
            if (m == NULL) {
                return NULL;
            }
            struct ovf *c = m;
            c->next = t->chunks;
            t->chunks = c;
            t->carved = 1; /* the first bucket links the chunks */
            t->nchunks++;
        }
        o = &t->chunks[t->carved++];
    }
    memset(o, 0, sizeof(*o));
    ix.ovf++;
    return o;
}

static void
ovf_release(struct table *t, struct ovf *o)
{
    o->next = t->ofree;
    t->ofree = o;
    ix.ovf--;
}

/* Returns the overflow chain of head to table t's pool. Returns the number
 * of buckets. */
static uint64_t
ovf_free_chain(struct table *t, struct bucket *head)
{
    struct ovf *o = head->next;
    uint64_t n = 0;
    while (o != NULL) {
        struct ovf *next = o->next;
        ovf_release(t, o);
        n++;
        o = next;
    }
    head->next = NULL;
    return n;
}

/* Hands table t's chunks to the dead stack, freed by chunk_step(). */
static void
chunks_bury(struct table *t)
{
    if (t->chunks != NULL) {
        t->chunks->slot[0] = (uint64_t)(uintptr_t)ix.dead;
        ix.dead = t->chunks;
        ix.ndead += t->nchunks;
    }
    t->chunks = t->ofree = NULL;
    t->nchunks = t->carved = 0;
}

/* Frees dead chunks while *budget_ns lasts (all of them if NULL). */
static void chunk_step(int64_t *budget_ns);

/* ---- hashing ---- */

/* the hash local readers compute too (proto/shm.h) */
uint64_t
index_hash(const char *key, size_t klen)
{
    return shm_key_hash(ix.seed, key, klen);
}

static inline uint64_t
mix64(uint64_t x)
{
    return shm_mix64(x);
}

/* Publishes the tables to local readers (inside a change bracket). */
static void
publish(void)
{
    share_index(ix.t[0].b, ix.t[0].mask, ix.t[1].b, ix.t[1].mask, ix.rehash);
}

/* ---- slot states ---- */

/* Age of a ghost slot in ghost creations. */
static uint64_t
ghost_age(uint64_t s)
{
    return (ix.ghost_clock - (s & SLOT_CLOCK_MASK)) & SLOT_CLOCK_MASK;
}

static bool
ghost_valid(uint64_t s)
{
    return ghost_age(s) <= ix.ghost_window;
}

/* Returns true if a non-empty slot is stale or an expired ghost. */
static bool
slot_dead(uint64_t s)
{
    return slot_is_ghost(s) ? !ghost_valid(s) : !index_slot_live(s);
}

static void
slot_drop(uint64_t *p)
{
    if (slot_is_ghost(*p)) {
        ix.ghosts--;
    } else {
        ix.used--;
        ix.stale_killed++;
    }
    *p = 0;
}

void
index_clear(uint64_t *slot)
{
    ix.dirty = true; /* an overflow bucket may have emptied */
    if (slot_is_ghost(*slot)) {
        ix.ghosts--;
    } else {
        ix.used--;
    }
    *slot = 0;
}

void
index_ghost(uint64_t *slot)
{
    uint64_t tag = slot_tag(*slot);
    ix.dirty = true; /* an older ghost may have expired */
    ix.used--;
    ix.ghosts++;
    ix.ghost_clock = (ix.ghost_clock + 1) & SLOT_CLOCK_MASK;
    *slot = SLOT_GHOST | (tag << SLOT_TAG_SHIFT) | ix.ghost_clock;
}

void
index_set_ghost_window(uint64_t n)
{
    ix.dirty = ix.dirty || n < ix.ghost_window;
    ix.ghost_window = n;
}

/* ---- tables ---- */

static int
table_init(struct table *t, uint64_t nbuckets)
{
    memset(t, 0, sizeof(*t));
    /* shared, every table lives in the shared heap */
    t->mapped = nbuckets >= MAP_MIN_BUCKETS || share_on();
    if (t->mapped) {
        t->b = share_map(nbuckets * sizeof(struct bucket));
    } else {
        t->b = calloc(nbuckets, sizeof(struct bucket));
    }
    if (t->b == NULL) {
        return OH_NOMEM;
    }
    t->mask = nbuckets - 1;
    return 0;
}

/* Gives back the bucket memory of t not given back yet (or all of it for
 * a calloc'd table) and queues its overflow chunks for chunk_step(). */
static void
table_release(struct table *t)
{
    chunks_bury(t);
    if (!t->mapped) {
        free(t->b);
    } else if (share_ranges_whole()) {
        share_unmap(t->b, (t->mask + 1) * sizeof(struct bucket));
    } else if (t->unmapped <= t->mask) {
        share_unmap(t->b + t->unmapped,
                    (t->mask + 1 - t->unmapped) * sizeof(struct bucket));
    }
    t->b = NULL;
    t->mask = 0;
    t->unmapped = 0;
}

/* Gives back the chunk of t[0] a rehash has just finished moving.
 * Returns true if it unmapped one. */
static bool
table_release_moved(struct table *t, uint64_t moved)
{
    if (!t->mapped || moved - t->unmapped < UNMAP_BUCKETS) {
        return false;
    }
    share_unmap_part(t->b + t->unmapped, UNMAP_BUCKETS * sizeof(struct bucket));
    t->unmapped += UNMAP_BUCKETS;
    return true;
}

/* Releases table t at once, chunks included (teardown, empty tables). */
static void
table_destroy(struct table *t)
{
    if (t->b == NULL) {
        return;
    }
    ix.ovf = 0; /* every live overflow bucket is in t[0] or t[1] */
    table_release(t);
    chunk_step(NULL);
}

/* Returns bucket idx of table t, or NULL if a rehash already moved it
 * (its memory may be gone). */
static struct bucket *
bucket_at(int t, uint64_t idx)
{
    const struct table *tb = &ix.t[t];
    if (tb->b == NULL ||
        (t == 0 && ix.rehash >= 0 && idx < (uint64_t)ix.rehash)) {
        return NULL;
    }
    return &tb->b[idx & tb->mask];
}

/* Returns a free slot in the chain of bucket b (clearing dead ones), or
 * NULL if the chain is full. With take_dead, a chain full of live slots
 * and ghosts gives up its oldest ghost rather than grow: ghosts take only
 * free slots, but then the keys that come later grew the chains around
 * them (M4: the index reached 37 MB for 2 M keys at load 8, 22 MB without
 * ghosts, and that memory is taken from the entries under maxmemory). */
static uint64_t *
chain_free_slot(struct bucket *b, bool take_dead)
{
    struct chain_it c;
    uint64_t *oldest = NULL;
    for (uint64_t *p = chain_first(&c, b); p != NULL; p = chain_next(&c)) {
        if (*p == 0) {
            return p;
        }
        if (take_dead && slot_dead(*p)) {
            slot_drop(p);
            return p;
        }
        if (take_dead && slot_is_ghost(*p) &&
            (oldest == NULL || ghost_age(*p) > ghost_age(*oldest))) {
            oldest = p;
        }
    }
    if (oldest != NULL) {
        slot_drop(oldest);
    }
    return oldest;
}

/* Puts slot s into the chain of bucket b of table t, growing the chain
 * if needed. */
static int
chain_put(struct table *t, struct bucket *b, uint64_t s)
{
    uint64_t *p = chain_free_slot(b, true);
    if (p == NULL) {
        struct ovf *o = ovf_alloc(t);
        if (o == NULL) {
            return OH_NOMEM;
        }
        o->next = b->next;
        /* a reader sees the zeroed bucket before the link to it */
        atomic_thread_fence(memory_order_release);
        b->next = o;
        p = &o->slot[0];
    }
    index_slot_store(p, s);
    return 0;
}

int
index_setup(unsigned log2_buckets, uint64_t seed)
{
    if (ix.ready) {
        index_teardown();
    }
    memset(&ix, 0, sizeof(ix));
    if (log2_buckets < MIN_LOG2) {
        log2_buckets = MIN_LOG2;
    }
    if (table_init(&ix.t[0], 1ull << log2_buckets) != 0) {
        return OH_NOMEM;
    }
    ix.rehash = -1;
    ix.seed = seed;
    ix.live = UINT64_MAX;
    ix.clean_bumps = UINT64_MAX; /* unknown: the first pass walks */
    ix.dirty = true;
    ix.grow_load = GROW_LOAD;
    ix.shrink_load = SHRINK_LOAD;
    ix.ready = true;
    publish();
    return 0;
}

void
index_teardown(void)
{
    if (!ix.ready) {
        return;
    }
    table_destroy(&ix.t[0]);
    table_destroy(&ix.t[1]);
    for (unsigned g = 0; g < ix.ngrave; g++) {
        table_release(&ix.grave[g]);
    }
    chunk_step(NULL);
    memset(&ix, 0, sizeof(ix));
}

/* Frees graveyard tables worth about *budget_ns: the bucket memory
 * UNMAP_BUCKETS at a time, then the overflow chunks (chunk_step); the
 * chains need no walk, their buckets live in the table's chunks. */
static void
grave_step(int64_t *budget_ns)
{
    while (ix.ngrave > 0 && budget_left(budget_ns)) {
        struct table *t = &ix.grave[0];
        uint64_t n = t->mask + 1;
        while (t->mapped && n - t->unmapped > UNMAP_BUCKETS &&
               budget_left(budget_ns)) {
            table_release_moved(t, t->unmapped + UNMAP_BUCKETS);
            ix.grave_buckets -= UNMAP_BUCKETS;
            *budget_ns -= UNMAP_NS;
        }
        if (t->mapped && n - t->unmapped > UNMAP_BUCKETS) {
            return;
        }
        ix.grave_buckets -= n - t->unmapped;
        table_release(t);
        *budget_ns -= UNMAP_NS;
        memmove(&ix.grave[0], &ix.grave[1],
                (GRAVE_MAX - 1) * sizeof(ix.grave[0]));
        ix.ngrave--;
    }
}

/* Hands table t to the graveyard (frees it at once if that is full). */
static void
bury(struct table *t)
{
    if (t->b == NULL) {
        return;
    }
    if (ix.ngrave == GRAVE_MAX) {
        int64_t all = INT64_MAX;
        grave_step(&all); /* rare: four flushes within a few steps */
    }
    ix.grave_buckets += t->mask + 1 - t->unmapped;
    ix.grave[ix.ngrave++] = *t;
    memset(t, 0, sizeof(*t));
}

int
index_flush(void)
{
    struct table t;
    if (table_init(&t, 1ull << MIN_LOG2) != 0) {
        return OH_NOMEM;
    }
    share_change_begin();
    bury(&ix.t[0]);
    bury(&ix.t[1]);
    ix.ovf = 0;
    ix.t[0] = t;
    ix.rehash = -1;
    publish();
    share_change_end();
    ix.used = ix.ghosts = 0;
    ix.sweep = 0;
    seg_pass_reset();
    ix.clean_bumps = ix.pass_bumps = seg_bumps(); /* nothing left stale */
    return 0;
}

void
index_prefetch(uint64_t hash, bool chain)
{
    for (int t = 0; t < 2; t++) {
        /* bucket_at() is NULL for a moved bucket: its memory may be gone */
        const struct bucket *b = bucket_at(t, hash & ix.t[t].mask);
        if (b == NULL) {
            continue;
        }
        if (!chain) {
            __builtin_prefetch(b, 1);
        } else if (b->next != NULL) {
            __builtin_prefetch(b->next, 1);
        }
    }
}

void
index_prefetch_items(uint64_t hash)
{
    uint64_t tag = index_tag(hash);
    for (int t = 0; t < 2; t++) {
        const struct bucket *b = bucket_at(t, hash & ix.t[t].mask);
        for (int i = 0; b != NULL && i < BUCKET_SLOTS; i++) {
            uint64_t s = b->slot[i];
            if (s != 0 && !slot_is_ghost(s) && slot_tag(s) == tag) {
                __builtin_prefetch(index_slot_item(s));
            }
        }
    }
}

/* ---- lookup and insert ---- */

static bool
slot_matches(uint64_t s, const char *key, size_t klen)
{
    size_t ilen;
    const char *ikey = item_key(index_slot_item(s), &ilen);
    return ilen == klen && memcmp(ikey, key, klen) == 0;
}

static uint64_t *
chain_lookup(struct bucket *b, uint64_t tag, const char *key, size_t klen,
             uint64_t **ghost)
{
    struct chain_it c;
    for (uint64_t *p = chain_first(&c, b); p != NULL; p = chain_next(&c)) {
        uint64_t s = *p;
        if (s == 0 || slot_tag(s) != tag) {
            continue;
        }
        if (slot_dead(s)) {
            slot_drop(p);
        } else if (slot_is_ghost(s)) {
            if (ghost != NULL) {
                *ghost = p;
            }
        } else if (slot_matches(s, key, klen)) {
            return p;
        }
    }
    return NULL;
}

uint64_t *
index_lookup(const char *key, size_t klen, uint64_t hash, uint64_t **ghost)
{
    uint64_t tag = index_tag(hash);
    if (ghost != NULL) {
        *ghost = NULL;
    }
    for (int t = 0; t < 2; t++) {
        struct bucket *b = bucket_at(t, hash & ix.t[t].mask);
        uint64_t *p = b != NULL ? chain_lookup(b, tag, key, klen, ghost) : NULL;
        if (p != NULL) {
            return p;
        }
    }
    return NULL;
}

static int64_t rehash_bucket(void);

uint64_t *
index_find_slot(uint64_t hash, uint64_t s)
{
    uint64_t want = slot_with_freq(s, 0);
    if (want == 0 || slot_is_ghost(want) || slot_seg(want) >= seg_count_ids() ||
        !index_slot_live(want)) {
        return NULL;
    }
    for (int t = 0; t < 2; t++) {
        struct bucket *b = bucket_at(t, hash & ix.t[t].mask);
        struct chain_it c;
        for (uint64_t *p = b != NULL ? chain_first(&c, b) : NULL; p != NULL;
             p = chain_next(&c)) {
            if (slot_with_freq(*p, 0) == want) {
                return p;
            }
        }
    }
    return NULL;
}

int
index_reserve(uint64_t keys)
{
    uint64_t want = 1ull << MIN_LOG2;
    ix.hold = keys > 0; /* no shrink while the keys arrive */
    if (keys > RESERVE_MAX_KEYS) {
        return OH_NOMEM;
    }
    while (want * ix.grow_load < keys) {
        want *= 2;
    }
    if (ix.used != 0 || ix.ghosts != 0 || ix.rehash >= 0 ||
        want <= ix.t[0].mask + 1) {
        return 0; /* not empty (or big enough): grows as usual */
    }
    struct table t;
    if (table_init(&t, want) != 0) {
        return OH_NOMEM;
    }
    share_change_begin();
    table_destroy(&ix.t[0]);
    ix.t[0] = t;
    ix.sweep = 0;
    publish();
    share_change_end();
    return 0;
}

static uint64_t live_slots(void);

/* True if t[0]'s chunks hold over twice the overflow buckets in use, and
 * OVF_WASTE_CHUNKS more: a rehash to the same size repacks them. */
static bool
ovf_waste_due(void)
{
    uint64_t carved = ix.t[0].nchunks * OVF_PER_CHUNK;
    return carved > 2 * ix.ovf + OVF_WASTE_CHUNKS * OVF_PER_CHUNK;
}

static void
maybe_grow(void)
{
    /* stale slots do not count: inserts reuse them (chain_put) */
    if (ix.rehash >= 0 || live_slots() <= ix.grow_load * (ix.t[0].mask + 1)) {
        return;
    }
    if (table_init(&ix.t[1], 2 * (ix.t[0].mask + 1)) != 0) {
        return; /* retried on the next insert */
    }
    ix.rehash = 0;
    ix.growing = true;
    ix.rehash_bumps = seg_bumps();
    share_change_begin();
    publish();
    share_change_end();
}

int
index_insert(uint64_t hash, uint64_t s, uint64_t *reuse)
{
    if (reuse != NULL) {
        index_clear(reuse);
        index_slot_store(reuse, s);
    } else {
        struct table *tb = &ix.t[ix.rehash >= 0 ? 1 : 0];
        int rc = chain_put(tb, &tb->b[hash & tb->mask], s);
        if (rc != 0) {
            return rc;
        }
    }
    ix.used++;
    if (ix.live != UINT64_MAX && reuse == NULL) {
        ix.live++; /* until the engine's next index_set_live() */
    }
    maybe_grow();
    if (ix.rehash >= 0) {
        rehash_bucket();
    }
    return 0;
}

/* ---- rehash ---- */

static uint64_t
slot_hash(uint64_t s)
{
    size_t klen;
    const char *key = item_key(index_slot_item(s), &klen);
    return index_hash(key, klen);
}

/* Moves one slot of t[0] bucket `idx` to t[1]. Returns its cost in ns, or
 * -1 if memory ran out. */
static int64_t
move_slot(uint64_t *p, uint64_t idx)
{
    uint64_t s = *p;
    struct table *dst = &ix.t[1];
    uint64_t to;
    if (slot_dead(s) || (ix.growing && slot_is_ghost(s))) {
        slot_drop(p);
        return REHASH_SLOT_NS;
    }
    to = ix.growing ? slot_hash(s) & dst->mask : idx & dst->mask;
    if (slot_is_ghost(s)) {
        /* ghosts never take a new overflow bucket */
        uint64_t *q = chain_free_slot(&dst->b[to], false);
        if (q == NULL) {
            slot_drop(p);
            return REHASH_SLOT_NS;
        }
        *q = s;
        *p = 0;
        return REHASH_SLOT_NS;
    }
    if (chain_put(dst, &dst->b[to], s) != 0) {
        return -1;
    }
    *p = 0;
    return ix.growing ? REHASH_GROW_NS : REHASH_SLOT_NS;
}

static void
rehash_finish(void)
{
    table_release(&ix.t[0]);
    ix.t[0] = ix.t[1];
    memset(&ix.t[1], 0, sizeof(ix.t[1]));
    ix.rehash = -1;
    ix.sweep = 0;
    ix.passes++;
    seg_pass_complete();
    /* every slot of t[0] was checked as it moved */
    ix.clean_bumps = ix.rehash_bumps;
}

static int64_t move_chain(void);

/* Moves the chain of t[0] bucket `rehash` to t[1], as one change for
 * local readers. Returns its cost in ns (or a negative number if memory
 * ran out; the rehash resumes later). */
static int64_t
rehash_bucket(void)
{
    share_change_begin();
    int64_t cost = move_chain();
    publish();
    share_change_end();
    return cost;
}

/* Moves the chain of t[0] bucket `rehash` to t[1] (rehash_bucket). */
static int64_t
move_chain(void)
{
    uint64_t idx = (uint64_t)ix.rehash;
    struct bucket *head = &ix.t[0].b[idx];
    int64_t cost = ix.growing ? BUCKET_NS : SHRINK_NS;
    struct chain_it it;
    for (uint64_t *p = chain_first(&it, head); p != NULL; p = chain_next(&it)) {
        if (*p == 0) {
            continue;
        }
        int64_t c = move_slot(p, idx);
        if (c < 0) {
            return -1;
        }
        cost += c;
    }
    cost += (int64_t)ovf_free_chain(&ix.t[0], head) * OVF_FREE_NS;
    ix.rehash++;
    if (table_release_moved(&ix.t[0], (uint64_t)ix.rehash)) {
        cost += UNMAP_NS;
    }
    if ((uint64_t)ix.rehash > ix.t[0].mask) {
        rehash_finish();
    }
    return cost;
}

void
index_set_live(uint64_t n)
{
    ix.live = n;
}

void
index_set_limited(bool limited)
{
    ix.grow_load = limited ? GROW_LOAD_LIMITED : GROW_LOAD;
    ix.shrink_load = limited ? SHRINK_LOAD_LIMITED : SHRINK_LOAD;
}

/* Live slots as far as known: stale ones die with their segment at once
 * (the engine's count), long before the sweep clears them. */
static uint64_t
live_slots(void)
{
    return ix.live < ix.used ? ix.live : ix.used;
}

bool
index_shrink_due(void)
{
    uint64_t n = ix.t[0].mask + 1;
    return ix.rehash < 0 && !ix.hold &&
           ((n > (1ull << MIN_LOG2) && live_slots() < ix.shrink_load * n) ||
            ovf_waste_due());
}

/* Starts a shrink straight to the smallest size that holds the live slots
 * without growing, however many halvings that is. */
static bool
maybe_shrink(void)
{
    if (!index_shrink_due()) {
        return false;
    }
    uint64_t n = ix.t[0].mask + 1, live = live_slots(), want = n;
    if (n > (1ull << MIN_LOG2) && live < ix.shrink_load * n) {
        want = n / 2; /* else the same size: only the chunks are repacked */
    }
    while (want > (1ull << MIN_LOG2) && live < GROW_LOAD * (want / 2)) {
        want /= 2;
    }
    if (table_init(&ix.t[1], want) != 0) {
        return false;
    }
    ix.rehash = 0;
    ix.growing = false;
    ix.rehash_bumps = seg_bumps();
    share_change_begin();
    publish();
    share_change_end();
    return true;
}

/* ---- sweep ---- */

/* True if overflow bucket o holds ghosts and no live slot. */
static bool
ghosts_only(const struct ovf *o)
{
    for (int i = 0; i < OVF_SLOTS; i++) {
        if (o->slot[i] != 0 && !slot_is_ghost(o->slot[i])) {
            return false;
        }
    }
    return true;
}

/* Clears dead slots of one chain and frees its empty overflow buckets
 * (under maxmemory also those holding only ghosts). */
static int64_t
sweep_bucket(struct bucket *head)
{
    int64_t cost = BUCKET_NS;
    for (int i = 0; i < BUCKET_SLOTS; i++) {
        if (head->slot[i] != 0 && slot_dead(head->slot[i])) {
            slot_drop(&head->slot[i]);
        }
    }
    struct ovf **link = &head->next;
    while (*link != NULL) {
        struct ovf *o = *link;
        bool empty = true;
        for (int i = 0; i < OVF_SLOTS; i++) {
            if (o->slot[i] != 0 && slot_dead(o->slot[i])) {
                slot_drop(&o->slot[i]);
            }
            empty = empty && o->slot[i] == 0;
        }
        if (!empty && ix.grow_load == GROW_LOAD_LIMITED && ghosts_only(o)) {
            for (int i = 0; i < OVF_SLOTS; i++) {
                if (o->slot[i] != 0) {
                    slot_drop(&o->slot[i]);
                }
            }
            empty = true;
        }
        if (empty) {
            /* the bucket may be reused by another chain at once */
            share_change_begin();
            *link = o->next;
            ovf_release(&ix.t[0], o);
            share_change_end();
        } else {
            link = &o->next;
        }
        cost += BUCKET_NS;
    }
    return cost;
}

/* Unmaps dead chunks while the budget lasts, and always at least one: a
 * writer that must make room counts on progress even past a step's
 * deadline (as seg_large_reap). */
static void
chunk_step(int64_t *budget_ns)
{
    bool first = true;
    while (ix.dead != NULL &&
           (budget_ns == NULL || first || budget_left(budget_ns))) {
        first = false;
        struct ovf *c = ix.dead;
        struct ovf *below = (struct ovf *)(uintptr_t)c->slot[0];
        if (c->next != NULL) {
            c->next->slot[0] = c->slot[0];
            ix.dead = c->next;
        } else {
            ix.dead = below;
        }
        share_unmap(c, OVF_CHUNK_BYTES);
        ix.ndead--;
        if (budget_ns != NULL) {
            *budget_ns -= CHUNK_FREE_NS;
        }
    }
}

bool
index_release(int64_t *budget_ns)
{
    chunk_step(budget_ns);
    return ix.dead != NULL;
}

bool
index_release_pending(void)
{
    return ix.dead != NULL;
}

bool
index_step(int64_t *budget_ns)
{
    grave_step(budget_ns);
    if (ix.rehash < 0 && !maybe_shrink()) {
        if (ix.sweep == 0) {
            if (!ix.dirty && seg_bumps() == ix.clean_bumps) {
                /* no stale slot, dead ghost or emptied overflow bucket
                 * can exist: this pass is complete without a walk */
                ix.passes++;
                seg_pass_complete();
                return ix.ngrave > 0;
            }
            ix.pass_bumps = seg_bumps();
            ix.dirty = false;
        }
        /* a bucket takes ~40 ns, a clock read ~20: the deadline is read
         * every SWEEP_CLOCK_EVERY buckets */
        for (unsigned n = 0;
             *budget_ns > 0 && (n % SWEEP_CLOCK_EVERY != 0 || !budget_late());
             n++) {
            *budget_ns -= sweep_bucket(&ix.t[0].b[ix.sweep]);
            if (++ix.sweep > ix.t[0].mask) {
                ix.sweep = 0;
                ix.passes++;
                seg_pass_complete();
                ix.clean_bumps = ix.pass_bumps;
                break;
            }
        }
        return ix.ngrave > 0;
    }
    while (ix.rehash >= 0 && budget_left(budget_ns)) {
        int64_t c = rehash_bucket();
        if (c < 0) {
            break;
        }
        *budget_ns -= c;
    }
    return ix.rehash >= 0 || ix.ngrave > 0;
}

/* ---- scan and random ---- */

static uint64_t
rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
    v = ((v >> 8) & 0x00ff00ff00ff00ffull) | ((v & 0x00ff00ff00ff00ffull) << 8);
    v = ((v >> 16) & 0x0000ffff0000ffffull) |
        ((v & 0x0000ffff0000ffffull) << 16);
    return (v >> 32) | (v << 32);
}

static void
visit_chain(struct bucket *b, index_visit_fn *fn, void *arg)
{
    /* b is NULL for a bucket a rehash already moved */
    struct chain_it c;
    for (uint64_t *p = chain_first(&c, b); p != NULL; p = chain_next(&c)) {
        if (*p != 0 && index_slot_live(*p)) {
            fn(arg, p);
        }
    }
}

/* Advances cursor v over the buckets of mask m in reverse-binary order. */
static uint64_t
cursor_next(uint64_t v, uint64_t m)
{
    v |= ~m;
    v = rev64(v);
    v++;
    return rev64(v);
}

static uint64_t
scan_one(uint64_t v, index_visit_fn *fn, void *arg)
{
    if (ix.rehash < 0) {
        visit_chain(&ix.t[0].b[v & ix.t[0].mask], fn, arg);
        return cursor_next(v, ix.t[0].mask);
    }
    int small = ix.t[0].mask < ix.t[1].mask ? 0 : 1, big = 1 - small;
    uint64_t ms = ix.t[small].mask, mb = ix.t[big].mask;
    visit_chain(bucket_at(small, v & ms), fn, arg);
    do {
        visit_chain(bucket_at(big, v & mb), fn, arg);
        v = cursor_next(v, mb);
    } while ((v & (ms ^ mb)) != 0);
    return v;
}

uint64_t
index_scan(uint64_t cursor, size_t count, index_visit_fn *fn, void *arg)
{
    uint64_t v = cursor;
    if (count == 0) {
        count = 1;
    }
    do {
        v = scan_one(v, fn, arg);
    } while (v != 0 && --count > 0);
    return v;
}

static uint64_t *
chain_accept(struct bucket *b, unsigned start, index_accept_fn *fn, void *arg)
{
    /* start at position start % BUCKET_SLOTS of the chain, wrap once */
    unsigned s0 = start % BUCKET_SLOTS;
    for (int pass = 0; pass < 2; pass++) {
        struct chain_it c;
        unsigned k = 0;
        for (uint64_t *p = chain_first(&c, b); p != NULL;
             p = chain_next(&c), k++) {
            if ((pass == 0) != (k >= s0)) {
                continue;
            }
            if (*p != 0 && index_slot_live(*p) && fn(arg, p)) {
                return p;
            }
        }
    }
    return NULL;
}

/* Returns an accepted live slot of bucket idx of table t, or NULL. */
static uint64_t *
random_in(int t, uint64_t idx, unsigned start, index_accept_fn *fn, void *arg)
{
    struct bucket *b = ix.t[t].b != NULL ? bucket_at(t, idx) : NULL;
    return b != NULL ? chain_accept(b, start, fn, arg) : NULL;
}

uint64_t *
index_random(uint64_t seed, index_accept_fn *fn, void *arg)
{
    uint64_t r = mix64(seed ^ ix.seed);
    /* random buckets first (cheap while the table is not very sparse) */
    for (int k = 0; k < RANDOM_PROBES; k++, r = mix64(r + 1)) {
        int t = ix.t[1].b != NULL && (r & 1) ? 1 : 0;
        uint64_t *p =
            random_in(t, (r >> 1) & ix.t[t].mask, (unsigned)(r >> 40), fn, arg);
        if (p != NULL) {
            return p;
        }
    }
    /* then a bounded walk that resumes where the last one stopped */
    for (int k = 0; k < RANDOM_WALK; k++) {
        uint64_t c = ix.rand_cursor++;
        int t = ix.t[1].b != NULL && (c & 1) ? 1 : 0;
        uint64_t *p =
            random_in(t, (c >> 1) & ix.t[t].mask, (unsigned)r, fn, arg);
        if (p != NULL) {
            return p;
        }
    }
    return NULL;
}

void
index_stats_get(struct index_stats *st)
{
    uint64_t nb = 0;
    for (int t = 0; t < 2; t++) {
        if (ix.t[t].b != NULL) {
            nb += ix.t[t].mask + 1;
        }
    }
    st->buckets = nb;
    nb -= ix.t[0].unmapped; /* a rehash gives t[0] back as it moves on */
    uint64_t chunks = ix.t[0].nchunks + ix.t[1].nchunks + ix.ndead;
    for (unsigned g = 0; g < ix.ngrave; g++) {
        chunks += ix.grave[g].nchunks;
    }
    st->bytes = nb * sizeof(struct bucket) + chunks * OVF_CHUNK_BYTES +
                ix.grave_buckets * sizeof(struct bucket);
    st->slots = nb * BUCKET_SLOTS + ix.ovf * OVF_SLOTS;
    st->used = ix.used;
    st->ghosts = ix.ghosts;
    st->rehashing = ix.rehash >= 0;
    st->stale_killed = ix.stale_killed;
    st->passes = ix.passes;
}

bool
index_rehashing(void)
{
    return ix.rehash >= 0;
}

bool
index_growing(void)
{
    return ix.rehash >= 0 && ix.growing;
}
