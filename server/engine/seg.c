/*
 * seg.c -- the segment arena: fixed-size segments, a free pool, epochs.
 *
 * Problem: the engine stores entries log-style in fixed-size segments and
 * frees memory a whole segment at a time (expiry, eviction, compaction).
 * Freeing must be O(1) even for a segment of 20 000 items, yet the hash
 * index still holds a slot for each of them.
 *
 * Layout: one arena of address space, reserved 1024 segments at a time
 * with mmap (pages appear when first written); the metadata lives apart,
 * in a two-level table indexed by a 20-bit id:
 *
 *   space[id >> 10] -> [seg 0 | seg 1 | ... | seg 1023]   seg_size each
 *   chunk[id >> 10] -> [struct seg x 1024]     ids: 0 .. SEG_MAX-1
 *   free pool:   FREE <-> FREE <-> FREE        (memory kept, reused first)
 *   unused ids:  UNUSED <-> UNUSED             (pages given back)
 *
 * Giving pages back: seg_trim() madvise(DONTNEED)s a pool segment 16 KiB
 * per call (4 pages, ~2 us; 64 KiB took 6-25 us, too long for one unit of
 * a 30 us step), so RSS falls after a mass expiry without one long stall.
 * free() of 1 MiB blocks let jemalloc purge in bursts (measured: 0.7 ms
 * steps). During a bulk load (seg_set_populate) a segment whose pages are
 * absent is faulted in by one madvise(MADV_POPULATE_WRITE) when borrowed,
 * instead of 256 page faults spread over the appends. Faulting in is most
 * of a warm restart's kernel time (page allocation and zeroing, ~0.2 s per
 * GB), so seg_prefault_ahead() hands it to a second thread that faults in
 * the fresh segments the load will take next while the loader parses and
 * inserts (the only thread in the engine: it touches address space, never
 * engine state; the pages it faulted for ids the load did not take are
 * given back when it stops).
 *
 * Pre-faulting: a page fault costs ~1.5 us here (zeroing plus the VM's
 * share), so a job copying 40 KiB into a fresh target in one step spent
 * ~15 us of it faulting. seg_prefault() populates 16 KiB of a segment
 * (~6 us) ahead of its write position; the engine calls it from steps for
 * the open segments (gen_prefault), so appends, in steps and in writes,
 * find their pages present. `faulted` is the resident prefix it knows of
 * (the whole segment when borrowed from the pool untrimmed).
 *
 * Large values: returning a segment does not free() its large values (a
 * segment of 64 KiB-1 MiB values may own thousands, and jemalloc may purge
 * inside free()); it pushes the segment's chain on a reap stack (chains
 * linked through their head's `prev`), and seg_large_reap(max) frees a
 * bounded number per call from the engine step (or from a writer that
 * needs the memory). The bytes stay counted until freed.
 *
 * Epochs: every index slot copies the 9-bit epoch of its segment. Returning
 * a segment bumps the epoch, so all its slots become stale in O(1) and the
 * index kills them when it meets them (lookup, sweep, rehash). The epoch
 * must not wrap onto a value a stale slot still holds. The index sweeper
 * calls seg_pass_complete() after each full pass; a pass removes every slot
 * that was stale when it started. So the stale epochs of a segment all lie
 * within the bumps counted since the start of the previous pass period
 * (bumps_prev + bumps_cur), and a segment may be borrowed only while that
 * window leaves room for the bump its next return will make. seg_bumps()
 * counts all bumps, so the index can tell that nothing became stale since
 * its last complete pass (and skip the walk).
 *
 * Sharing (share.c): with local reads on, the arena is the shared memfd's
 * and every borrow, return and retire publishes the segment's word (epoch,
 * live, reuse count) and bases for readers; trims punch pages out of the
 * file. While a background save's child reads the shared segments
 * (seg_hold), returned segments wait on the held list instead of the pool,
 * so none is rewritten under the child.
 *
 * Invariants: a segment is on exactly one list matching its state (young,
 * old, free, unused, held) except RETIRED ones (on none); a pinned segment
 * is never returned; ids never exceed SEG_MAX (nor the shared arena's).
 *
 * Cost: borrow/return are O(1) (borrow skips at most BORROW_PROBE pool
 * entries whose epoch window is full); large values are freed later, a
 * bounded number per seg_large_reap() call.
 *
 * Rejected: a jemalloc block per segment (its decay purges many freed
 * blocks inside one later call); one mapping per segment (vm.max_map_count
 * is 65530); removing every slot eagerly on return (O(items) per segment,
 * ~1 ms for a 1 MiB segment of small items); 32-bit epochs (no room in an
 * 8-byte slot).
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "seg.h"

#include "budget.h"
#include "share.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK_BITS     10u
#define CHUNK_SEGS     (1u << CHUNK_BITS)
#define BORROW_PROBE   16u           /* pool entries looked at per borrow */
#define TRIM_BYTES     (16u * 1024u) /* released per madvise call */
#define PREFAULT_BYTES (16u * 1024u) /* faulted in per seg_prefault call */
#define PAGE_BYTES     4096u
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels: EINVAL */
#endif

static struct {
    struct seg *chunk[SEG_MAX / CHUNK_SEGS];
    char *space[SEG_MAX / CHUNK_SEGS]; /* reserved address space */
    uint32_t seg_size;
    uint32_t nids;        /* ids handed out so far */
    uint32_t used;        /* segments with memory, not in the pool */
    uint32_t pass;        /* current sweep pass */
    uint64_t bumps;       /* epoch bumps ever made (seg_bumps) */
    oh_time last_borrow;  /* `now` of the latest seg_borrow */
    uint64_t large_bytes; /* bytes of large values (headers included) */
    struct large *reap;   /* chains of large values waiting for free() */
    bool populate;        /* pre-fault segments as they are borrowed */
    bool hold;            /* a save's child reads the segments: returned
                             ones wait on `held` instead of the pool */
    struct seg_list free, unused, held;
    bool ready;
} arena;

/* The load's pre-faulting thread (seg_prefault_ahead): it faults in the
 * address space of the segments a bulk load will take next, [from, to),
 * `done` bytes so far, until told to stop. */
#define AHEAD_STEP (2u * 1024u * 1024u) /* bytes per madvise of the thread */
static struct {
    pthread_t thread;
    bool running;
    atomic_bool stop;
    uint32_t first_id; /* the fresh id its range starts at */
    uint32_t nids;     /* ids it covers */
    atomic_size_t done;
} ahead;

uint32_t
seg_size(void)
{
    return arena.seg_size;
}

uint32_t
seg_count_ids(void)
{
    return arena.nids;
}

uint32_t
seg_used(void)
{
    return arena.used;
}

uint32_t
seg_free(void)
{
    return arena.free.n;
}

struct seg *
seg_at(uint32_t id)
{
    return &arena.chunk[id >> CHUNK_BITS][id & (CHUNK_SEGS - 1)];
}

int
seg_setup(uint32_t size)
{
    if (arena.ready) {
        seg_teardown();
    }
    memset(&arena, 0, sizeof(arena));
    arena.seg_size = size;
    seg_list_init(&arena.free);
    seg_list_init(&arena.unused);
    seg_list_init(&arena.held);
    arena.ready = true;
    return 0;
}

/* Queues a chain of large values (linked by next) to be freed by
 * seg_large_reap(). Chains are stacked through the `prev` field of their
 * head, which is otherwise NULL. Their bytes stay counted until freed. */
static void
defer_chain(struct large *head)
{
    if (head == NULL) {
        return;
    }
    head->prev = arena.reap;
    arena.reap = head;
}

static void
free_larges(struct seg *s)
{
    defer_chain(s->large);
    s->large = NULL;
}

uint32_t
seg_large_reap(uint32_t max)
{
    uint32_t n = 0;
    while (arena.reap != NULL && n < max && !(n > 0 && budget_late())) {
        struct large *lg = arena.reap, *below = lg->prev;
        while (lg != NULL && n < max && !(n > 0 && budget_late())) {
            struct large *next = lg->next;
            arena.large_bytes -= sizeof(*lg) + large_len(lg);
            free(lg);
            n++;
            lg = next;
        }
        if (lg != NULL) {
            lg->prev = below;
            arena.reap = lg;
        } else {
            arena.reap = below;
        }
    }
    return n;
}

bool
seg_large_reap_pending(void)
{
    return arena.reap != NULL;
}

void
seg_teardown(void)
{
    if (!arena.ready) {
        return;
    }
    seg_prefault_ahead(0);
    for (uint32_t id = 0; id < arena.nids; id++) {
        free_larges(seg_at(id));
    }
    seg_large_reap(UINT32_MAX);
    for (uint32_t c = 0; c < SEG_MAX / CHUNK_SEGS; c++) {
        free(arena.chunk[c]);
        if (arena.space[c] != NULL && share_arena() == NULL) {
            munmap(arena.space[c], (size_t)CHUNK_SEGS * arena.seg_size);
        }
    }
    memset(&arena, 0, sizeof(arena));
}

/* ---- lists ---- */

void
seg_list_init(struct seg_list *l)
{
    l->head = l->tail = SEG_NIL;
    l->n = 0;
}

void
seg_list_push(struct seg_list *l, uint32_t id)
{
    struct seg *s = seg_at(id);
    s->next = SEG_NIL;
    s->prev = l->tail;
    if (l->tail != SEG_NIL) {
        seg_at(l->tail)->next = id;
    } else {
        l->head = id;
    }
    l->tail = id;
    l->n++;
}

void
seg_list_remove(struct seg_list *l, uint32_t id)
{
    struct seg *s = seg_at(id);
    if (s->prev != SEG_NIL) {
        seg_at(s->prev)->next = s->next;
    } else {
        l->head = s->next;
    }
    if (s->next != SEG_NIL) {
        seg_at(s->next)->prev = s->prev;
    } else {
        l->tail = s->prev;
    }
    s->prev = s->next = SEG_NIL;
    l->n--;
}

/* ---- epochs ---- */

/* Brings the bump counters of s up to the current pass. */
static void
roll(struct seg *s)
{
    if (s->pass == arena.pass) {
        return;
    }
    s->bumps_prev = (s->pass + 1 == arena.pass) ? s->bumps_cur : 0;
    s->bumps_cur = 0;
    s->pass = arena.pass;
}

/* Returns true if the segment may be used and returned once more. */
static bool
epoch_room(struct seg *s)
{
    roll(s);
    return (uint32_t)s->bumps_prev + s->bumps_cur + 1 < SEG_EPOCHS;
}

static void
epoch_bump(struct seg *s)
{
    roll(s);
    s->epoch = (uint16_t)((s->epoch + 1) & (SEG_EPOCHS - 1));
    s->bumps_cur++;
    arena.bumps++;
}

oh_time
seg_last_borrow(void)
{
    return arena.last_borrow;
}

uint64_t
seg_bumps(void)
{
    return arena.bumps;
}

void
seg_pass_complete(void)
{
    arena.pass++;
}

void
seg_pass_reset(void)
{
    arena.pass += 2;
}

/* ---- borrow / return ---- */

static void
seg_reset(struct seg *s, seg_state state, oh_time now)
{
    s->state = (uint8_t)state;
    s->wpos = 0;
    s->live_items = 0;
    s->live_bytes = 0;
    item_bases_init(&s->bases, now);
    s->max_exp = 0;
    s->sorted = 1;
    s->cand = 0;
    s->sweepq = 0;
    s->heap_pos = 0;
    s->sweep_from = 0;
    s->live_ttl = 0;
    s->exp_next = INT64_MAX;
    s->last_exp = INT64_MIN;
    s->persist = 0;
    s->busy = 0;
    s->open = 0;
    s->ttl_slot = 0;
}

/* Takes the first entry of list l whose epoch has room, or SEG_NIL. */
static uint32_t
take(struct seg_list *l)
{
    uint32_t id = l->head;
    for (uint32_t i = 0; id != SEG_NIL && i < BORROW_PROBE; i++) {
        if (epoch_room(seg_at(id))) {
            seg_list_remove(l, id);
            return id;
        }
        id = seg_at(id)->next;
    }
    return SEG_NIL;
}

/* Reserves the address space (and the seg structs) of chunk c if it has
 * none yet. Returns 0 or -1. */
static int
map_chunk(uint32_t c)
{
    if (arena.chunk[c] != NULL) {
        return 0;
    }
    /* address space only: pages appear when first written */
    size_t bytes = (size_t)CHUNK_SEGS * arena.seg_size;
    void *p = share_arena() != NULL
                  ? share_arena() + c * bytes
                  : mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return -1;
    }
    arena.chunk[c] = calloc(CHUNK_SEGS, sizeof(struct seg));
    if (arena.chunk[c] == NULL) {
        if (share_arena() == NULL) {
            munmap(p, bytes);
        }
        return -1;
    }
    arena.space[c] = p;
    return 0;
}

static uint32_t
new_id(void)
{
    uint32_t id = arena.nids;
    if (id >= SEG_MAX || id >= share_seg_ids()) {
        return SEG_NIL; /* a shared arena holds physical memory's worth */
    }
    uint32_t c = id >> CHUNK_BITS;
    if (map_chunk(c) != 0) {
        return SEG_NIL;
    }
    arena.nids++;
    struct seg *s = seg_at(id);
    s->mem = arena.space[c] + (size_t)(id & (CHUNK_SEGS - 1)) * arena.seg_size;
    s->state = SEG_UNUSED;
    s->prev = s->next = SEG_NIL;
    s->pass = arena.pass;
    return id;
}

void
seg_set_populate(bool on)
{
    arena.populate = on;
    if (!on) {
        seg_prefault_ahead(0);
    }
}

/* The thread: one madvise per AHEAD_STEP of each segment in turn (only
 * address space: it reads and writes no engine state). */
static void *
ahead_main(void *arg)
{
    (void)arg;
    size_t seg = arena.seg_size, total = (size_t)ahead.nids * seg;
    for (size_t off = 0; off < total && !atomic_load(&ahead.stop);) {
        uint32_t id = ahead.first_id + (uint32_t)(off / seg);
        size_t in = off % seg;
        size_t n = seg - in < AHEAD_STEP ? seg - in : AHEAD_STEP;
        char *mem = arena.space[id >> CHUNK_BITS] +
                    (size_t)(id & (CHUNK_SEGS - 1)) * seg + in;
        if (madvise(mem, n, MADV_POPULATE_WRITE) != 0) {
            break; /* old kernel: the load faults as it goes */
        }
        off += n;
        atomic_store(&ahead.done, off);
    }
    return NULL;
}

/* After the thread: gives back the pages it faulted in for ids the load
 * never took (a load that ended early, or mostly expired entries). */
static void
ahead_release_unused(void)
{
    size_t seg = arena.seg_size, done = atomic_load(&ahead.done);
    for (uint32_t i = 0; i < ahead.nids; i++) {
        uint32_t id = ahead.first_id + i;
        if ((size_t)i * seg >= done) {
            break;
        }
        if (id >= arena.nids) {
            share_trim(arena.space[id >> CHUNK_BITS] +
                           (size_t)(id & (CHUNK_SEGS - 1)) * seg,
                       seg);
        }
    }
}

/* True if this process may run on more than one CPU: on one, the thread
 * only competes with the loader (measured: 1 GB load 513 -> 625 ms). */
static bool
several_cpus(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1;
}

int
seg_prefault_ahead(uint64_t bytes)
{
    if (ahead.running) {
        atomic_store(&ahead.stop, true);
        pthread_join(ahead.thread, NULL);
        ahead.running = false;
        ahead_release_unused();
    }
    if (bytes == 0 || !arena.ready || !several_cpus()) {
        return 0;
    }
    uint64_t n = (bytes + arena.seg_size - 1) / arena.seg_size;
    uint32_t max = SEG_MAX < share_seg_ids() ? SEG_MAX : share_seg_ids();
    if (n > max - arena.nids) {
        n = arena.nids < max ? max - arena.nids : 0;
    }
    for (uint64_t i = 0; i < n; i++) { /* mapped here, not in the thread */
        if (map_chunk((uint32_t)((arena.nids + i) >> CHUNK_BITS)) != 0) {
            n = i;
            break;
        }
    }
    ahead.first_id = arena.nids;
    ahead.nids = (uint32_t)n;
    atomic_store(&ahead.stop, false);
    atomic_store(&ahead.done, 0);
    ahead.running =
        n > 0 && pthread_create(&ahead.thread, NULL, ahead_main, NULL) == 0;
    return ahead.running ? 0 : -1;
}

uint32_t
seg_borrow(seg_state state, oh_time now)
{
    uint32_t id = take(&arena.free);
    bool absent = id == SEG_NIL || seg_at(id)->trimmed > 0;
    if (id == SEG_NIL) {
        id = take(&arena.unused);
        if (id == SEG_NIL) {
            id = new_id();
        }
        if (id == SEG_NIL) {
            return SEG_NIL;
        }
    }
    if (absent && arena.populate) {
        /* one call faults the whole segment in (errors: faults later) */
        madvise(seg_at(id)->mem, arena.seg_size, MADV_POPULATE_WRITE);
    }
    seg_at(id)->faulted = absent && !arena.populate ? 0 : arena.seg_size;
    seg_at(id)->trimmed = 0;
    seg_reset(seg_at(id), state, now);
    share_seg(id, seg_at(id)->epoch, state == SEG_YOUNG || state == SEG_OLD,
              &seg_at(id)->bases, true);
    arena.used++;
    arena.last_borrow = now;
    return id;
}

void
seg_return(uint32_t id)
{
    struct seg *s = seg_at(id);
    ASSERT(s->pins == 0);
    if (s->state != SEG_RETIRED) {
        epoch_bump(s);
    }
    free_larges(s);
    s->state = SEG_FREE;
    s->wpos = 0;
    s->live_items = 0;
    s->live_bytes = 0;
    s->live_ttl = 0;
    s->busy = 0;
    s->open = 0;
    share_seg(id, s->epoch, false, &s->bases, false);
    if (arena.hold) {
        s->state = SEG_HELD;
        seg_list_push(&arena.held, id);
    } else {
        seg_list_push(&arena.free, id);
    }
    arena.used--;
}

void
seg_hold(bool on)
{
    arena.hold = on;
    while (!on && arena.held.head != SEG_NIL) {
        uint32_t id = arena.held.head;
        seg_list_remove(&arena.held, id);
        seg_at(id)->state = SEG_FREE;
        seg_list_push(&arena.free, id);
    }
}

uint32_t
seg_held(void)
{
    return arena.held.n;
}

void
seg_retire(uint32_t id)
{
    struct seg *s = seg_at(id);
    epoch_bump(s);
    s->state = SEG_RETIRED;
    share_seg(id, s->epoch, false, &s->bases, false);
    s->live_items = 0;
    s->live_bytes = 0;
    s->live_ttl = 0;
    s->open = 0;
    s->busy = 0;
}

uint32_t
seg_trim(uint32_t keep, uint32_t max)
{
    uint32_t i = 0;
    for (; i < max && arena.free.n > keep; i++) {
        uint32_t id = arena.free.tail;
        struct seg *s = seg_at(id);
        uint32_t n = arena.seg_size - s->trimmed;
        n = n < TRIM_BYTES ? n : TRIM_BYTES;
        share_trim(s->mem + s->trimmed, n);
        s->trimmed += n;
        if (s->trimmed >= arena.seg_size) {
            seg_list_remove(&arena.free, id);
            s->state = SEG_UNUSED;
            seg_list_push(&arena.unused, id);
        }
    }
    return i;
}

/* Faults [from, from + n) of a segment in (the madvise needs Linux 5.14;
 * elsewhere one write per page does it: bytes past wpos are never read). */
static void
populate(char *p, uint32_t n)
{
    if (madvise(p, n, MADV_POPULATE_WRITE) == 0) {
        return;
    }
    for (uint32_t i = 0; i < n; i += PAGE_BYTES) {
        /* a write that keeps the byte: its page may hold items */
        __atomic_fetch_or(p + i, 0, __ATOMIC_RELAXED);
    }
}

bool
seg_prefault(uint32_t id, uint32_t upto)
{
    struct seg *s = seg_at(id);
    uint32_t written = s->wpos & ~(PAGE_BYTES - 1); /* resident already */
    if (s->faulted < written) {
        s->faulted = written;
    }
    upto = upto < arena.seg_size ? upto : arena.seg_size;
    if (s->faulted >= upto) {
        return false;
    }
    uint32_t n = arena.seg_size - s->faulted;
    n = n < PREFAULT_BYTES ? n : PREFAULT_BYTES;
    populate(s->mem + s->faulted, n);
    s->faulted += n;
    return true;
}

/* ---- large values ---- */

void
seg_large_link(uint32_t id, struct large *lg)
{
    struct seg *s = seg_at(id);
    arena.large_bytes += sizeof(*lg) + large_len(lg);
    lg->prev = NULL;
    lg->next = s->large;
    if (s->large != NULL) {
        s->large->prev = lg;
    }
    s->large = lg;
}

void
seg_large_unlink(uint32_t id, struct large *lg)
{
    struct seg *s = seg_at(id);
    if (lg->prev != NULL) {
        lg->prev->next = lg->next;
    } else {
        s->large = lg->next;
    }
    if (lg->next != NULL) {
        lg->next->prev = lg->prev;
    }
    lg->prev = lg->next = NULL;
    arena.large_bytes -= sizeof(*lg) + large_len(lg);
}

void
seg_large_sweep(uint32_t id)
{
    struct large *lg = seg_at(id)->large;
    while (lg != NULL) {
        struct large *next = lg->next;
        if (lg->dead) {
            seg_large_unlink(id, lg);
            free(lg);
        }
        lg = next;
    }
}

uint64_t
seg_large_bytes(void)
{
    return arena.large_bytes;
}
