/*
 * share.c -- the engine's memory, shared read-only with local readers.
 *
 * Problem: a client on the same host should read entries straight from
 * the engine's memory (proto/shm.h, shm_read.c), so the segments and the
 * index must live in memory another process can map, at an address only
 * the server picks, while the engine keeps allocating and giving back
 * memory exactly as before.
 *
 * Layout: one memfd, sized once for everything the engine could ever use
 * (the header, one struct shm_seg per segment id, SHM_HEAP_BYTES of index
 * heap, as many segments as physical memory holds, at most SEG_MAX) and
 * mapped once, MAP_SHARED | MAP_NORESERVE; pages exist only where written,
 * so the size costs address space only (and stays within what valgrind can
 * map on this 24 GiB machine).
 *
 *   [hdr][segtab 24 MiB][index heap ........][arena: seg 0 | seg 1 | ...]
 *                        ^ share_map()        ^ share_arena()
 *
 * Its size is sealed (F_SEAL_GROW | F_SEAL_SHRINK), so no reader can cut
 * the file under the server (a SIGBUS); the server hands out a read-only
 * descriptor, so no reader can map it writable or punch holes.
 *
 * Giving memory back: pages of a MAP_SHARED memfd outlive MADV_DONTNEED
 * (that only unmaps them), so trims and frees use MADV_REMOVE, which
 * punches the pages out of the file; a reader then reads zeros there.
 *
 * Index heap: tables (powers of two of 64-byte buckets) and 32 KiB
 * overflow chunks are carved with a bump pointer and kept on one free list
 * per power-of-two size class when released (their pages punched out), so
 * address space is reused and the heap stays as large as the index's peak.
 * Index pointers (an overflow link) stay the server's own addresses; the
 * header gives readers the server's base to translate them.
 *
 * Liveness: the header holds a robust, process-shared mutex that the
 * server's event-loop thread locks at setup and never unlocks while it
 * runs. However the server dies, the kernel then marks its futex word
 * OWNER_DIED, so a reader tells a stale mapping from a live one by one
 * load. A clean stop also sets SHM_STATE_CLOSED.
 *
 * Background saves: fork()'s copy-on-write does not cover MAP_SHARED
 * memory. The saving child calls share_fork_child() before the parent goes
 * on: it copies the index heap (only its data extents, SEEK_DATA) into
 * private memory and moves that over the shared range (mremap), and from
 * then on publishes and trims nothing. The segments stay shared: the
 * parent never rewrites live items while a child runs (seg.c holds returned
 * segments, engine.c rewrites expiries by appending) and the child reads
 * nothing past what its private index points at.
 *
 * Off: share_map() is mmap of anonymous memory, share_trim() MADV_DONTNEED
 * and every publishing call returns at once.
 * Rejected: one memfd per segment (the reader would need a descriptor per
 * segment and vm.max_map_count mappings); a shared copy of the index kept
 * beside the real one (10 B per key that M1 would see); shm_open names
 * (world-visible in /dev/shm, outliving a crash).
 */
#define _GNU_SOURCE /* memfd_create, MADV_REMOVE, mremap, SEEK_DATA */
#include "share.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../err.h"
#include "seg.h"

#define PAGE            4096u
#define CLASSES         26    /* size classes: 2^0 .. 2^25 pages */
#define ARENA_IDS_ROUND 1024u /* ids of one seg.c chunk */

struct freelist {
    uint64_t *off; /* offsets of free ranges of this class */
    size_t n, cap; /* cap >= carved: every range can come back */
    size_t carved; /* ranges of this class cut from the heap */
};

static struct {
    bool on;
    bool child; /* a save's child: publish nothing */
    int fd;
    unsigned char *map;
    uint64_t bytes;
    struct shm_header *h;
    struct shm_seg *segtab;
    uint64_t top; /* heap bytes carved so far */
    uint32_t ids; /* segment ids the arena holds */
    struct freelist fl[CLASSES];
    unsigned depth; /* nesting of share_change_begin */
} sh = {.fd = -1};

bool
share_on(void)
{
    return sh.on;
}

int
share_fd(void)
{
    return sh.on ? sh.fd : -1;
}

uint64_t
share_bytes(void)
{
    return sh.on ? sh.bytes : 0;
}

char *
share_arena(void)
{
    return sh.on ? (char *)sh.map + SHM_ARENA_OFF : NULL;
}

static uint64_t
random_id(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return shm_mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                     ((uint64_t)getpid() << 48));
}

/* Locks the header's robust mutex for the life of this process. */
static int
hold_alive(void)
{
    pthread_mutexattr_t a;
    pthread_mutex_t *m = (pthread_mutex_t *)(void *)sh.h->alive;
    _Static_assert(sizeof(pthread_mutex_t) <= sizeof(sh.h->alive),
                   "the mutex fits the header's alive[]");
    if (pthread_mutexattr_init(&a) != 0) {
        return -1;
    }
    int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    rc = rc != 0 ? rc : pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    rc = rc != 0 ? rc : pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return rc == 0 && pthread_mutex_lock(m) == 0 ? 0 : -1;
}

static void
fill_header(uint32_t seg_size, uint64_t seed)
{
    struct shm_header *h = sh.h;
    h->magic = SHM_MAGIC;
    h->version = SHM_VERSION;
    h->seg_size = seg_size;
    h->file_bytes = sh.bytes;
    h->seed = seed;
    h->seg_ids = sh.ids;
    h->server_base = (uint64_t)(uintptr_t)sh.map;
    h->instance = random_id();
    atomic_store(&h->rehash, -1);
    atomic_store(&h->state, SHM_STATE_READY);
}

/* Segment ids the shared arena holds: as many as physical memory can
 * hold (no more could be resident), in whole chunks of 1024. */
static uint32_t
arena_ids(uint32_t seg_size)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize
                                          : (uint64_t)SHM_SEG_IDS * seg_size;
    uint64_t ids = (ram / seg_size + ARENA_IDS_ROUND - 1) / ARENA_IDS_ROUND *
                   ARENA_IDS_ROUND;
    return ids > SHM_SEG_IDS ? SHM_SEG_IDS : (uint32_t)ids;
}

uint32_t
share_seg_ids(void)
{
    return sh.on ? sh.ids : SHM_SEG_IDS;
}

int
share_setup(bool on, uint32_t seg_size, uint64_t seed)
{
    share_teardown();
    if (!on) {
        return 0;
    }
    sh.ids = arena_ids(seg_size);
    sh.bytes = SHM_ARENA_OFF + (uint64_t)sh.ids * seg_size;
    sh.fd = memfd_create("offheapd", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (sh.fd < 0 || ftruncate(sh.fd, (off_t)sh.bytes) != 0 ||
        fcntl(sh.fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) !=
            0) {
        goto fail;
    }
    void *p = mmap(NULL, sh.bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_NORESERVE, sh.fd, 0);
    if (p == MAP_FAILED) {
        goto fail;
    }
    sh.map = p;
    sh.h = p;
    sh.segtab = (struct shm_seg *)(void *)(sh.map + SHM_SEGTAB_OFF);
    sh.on = true;
    fill_header(seg_size, seed);
    if (hold_alive() != 0) {
        share_teardown();
        return OH_NOMEM;
    }
    return 0;
fail:
    if (sh.fd >= 0) {
        close(sh.fd);
    }
    sh.fd = -1;
    return OH_NOMEM;
}

void
share_teardown(void)
{
    if (sh.map != NULL) {
        if (!sh.child) {
            atomic_store(&sh.h->state, SHM_STATE_CLOSED);
            pthread_mutex_unlock((pthread_mutex_t *)(void *)sh.h->alive);
        }
        munmap(sh.map, sh.bytes);
    }
    if (sh.fd >= 0) {
        close(sh.fd);
    }
    for (int c = 0; c < CLASSES; c++) {
        free(sh.fl[c].off);
    }
    memset(&sh, 0, sizeof(sh));
    sh.fd = -1;
}

void
share_set_state(uint32_t state)
{
    if (sh.on && !sh.child) {
        atomic_store_explicit(&sh.h->state, state, memory_order_release);
    }
}

/* ---- segments ---- */

void
share_trim(void *p, size_t n)
{
    if (sh.child) {
        return; /* the parent owns the pages */
    }
    madvise(p, n, sh.on ? MADV_REMOVE : MADV_DONTNEED);
}

void
share_seg(uint32_t id, uint32_t epoch, bool live, const struct item_bases *b,
          bool reused)
{
    if (!sh.on || sh.child) {
        return;
    }
    struct shm_seg *g = &sh.segtab[id];
    uint32_t w = atomic_load_explicit(&g->word, memory_order_relaxed);
    uint32_t reuse = (w & ~(SHM_SEG_LIVE | SHM_SEG_EPOCH_MASK)) +
                     (reused ? SHM_SEG_REUSE_ONE : 0);
    atomic_store_explicit(&g->base, b->base, memory_order_relaxed);
    atomic_store_explicit(&g->exp_base, b->exp_base, memory_order_relaxed);
    w = reuse | (live ? SHM_SEG_LIVE : 0) | (epoch & SHM_SEG_EPOCH_MASK);
    atomic_store_explicit(&g->word, w, memory_order_release);
}

void
share_seg_bases(uint32_t id, const struct item_bases *b)
{
    if (sh.on && !sh.child) {
        atomic_store_explicit(&sh.segtab[id].exp_base, b->exp_base,
                              memory_order_release);
    }
}

/* ---- index heap ---- */

static int
class_of(size_t bytes)
{
    uint64_t pages = (bytes + PAGE - 1) / PAGE;
    int c = 0;
    while ((1ull << c) < pages) {
        c++;
    }
    return c;
}

void *
share_map(size_t bytes)
{
    if (!sh.on) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    int c = class_of(bytes);
    if (c >= CLASSES) {
        return NULL;
    }
    struct freelist *f = &sh.fl[c];
    if (f->n > 0) {
        return sh.map + f->off[--f->n]; /* punched out when freed: zero */
    }
    uint64_t len = (uint64_t)PAGE << c;
    if (f->carved == f->cap) { /* room to take it back later */
        size_t cap = f->cap ? 2 * f->cap : 16;
        uint64_t *o = realloc(f->off, cap * sizeof(*o));
        if (o == NULL) {
            return NULL;
        }
        f->off = o;
        f->cap = cap;
    }
    if (sh.top + len > SHM_HEAP_BYTES) {
        return NULL;
    }
    uint64_t off = SHM_HEAP_OFF + sh.top;
    sh.top += len;
    f->carved++;
    return sh.map + off;
}

void
share_unmap(void *p, size_t bytes)
{
    if (!sh.on) {
        munmap(p, bytes);
        return;
    }
    if (sh.child) {
        return; /* the child's copy dies with it */
    }
    int c = class_of(bytes);
    struct freelist *f = &sh.fl[c];
    madvise(p, (size_t)PAGE << c, MADV_REMOVE);
    if (f->n < f->cap) { /* share_map reserved the room */
        f->off[f->n++] = (uint64_t)((unsigned char *)p - sh.map);
    }
}

void
share_unmap_part(void *p, size_t n)
{
    if (!sh.on) {
        munmap(p, n);
    } else if (!sh.child) {
        madvise(p, n, MADV_REMOVE);
    }
}

bool
share_ranges_whole(void)
{
    return sh.on;
}

/* ---- publishing ---- */

void
share_change_begin(void)
{
    if (!sh.on || sh.child || sh.depth++ > 0) {
        return;
    }
    uint64_t s = atomic_load_explicit(&sh.h->seq, memory_order_relaxed);
    atomic_store_explicit(&sh.h->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

void
share_change_end(void)
{
    if (!sh.on || sh.child || --sh.depth > 0) {
        return;
    }
    uint64_t s = atomic_load_explicit(&sh.h->seq, memory_order_relaxed);
    atomic_store_explicit(&sh.h->seq, s + 1, memory_order_release);
}

static uint64_t
off_of(const void *p)
{
    return p == NULL ? 0 : (uint64_t)((const unsigned char *)p - sh.map);
}

void
share_index(const void *t0, uint64_t mask0, const void *t1, uint64_t mask1,
            int64_t rehash)
{
    if (!sh.on || sh.child) {
        return;
    }
    struct shm_header *h = sh.h;
    atomic_store_explicit(&h->t[0].off, off_of(t0), memory_order_relaxed);
    atomic_store_explicit(&h->t[0].mask, mask0, memory_order_relaxed);
    atomic_store_explicit(&h->t[1].off, off_of(t1), memory_order_relaxed);
    atomic_store_explicit(&h->t[1].mask, mask1, memory_order_relaxed);
    atomic_store_explicit(&h->rehash, rehash, memory_order_release);
}

/* ---- background saves ---- */

/* Copies the data extents of file range [from, to) to dst (dst + 0 is
 * `from`). Returns 0 or -1. */
static int
copy_extents(unsigned char *dst, uint64_t from, uint64_t to)
{
    off_t pos = (off_t)from;
    while ((uint64_t)pos < to) {
        off_t data = lseek(sh.fd, pos, SEEK_DATA);
        if (data < 0 || (uint64_t)data >= to) {
            return 0; /* no data left in range (ENXIO past the last) */
        }
        off_t hole = lseek(sh.fd, data, SEEK_HOLE);
        if (hole < 0) {
            return -1;
        }
        uint64_t end = (uint64_t)hole < to ? (uint64_t)hole : to;
        memcpy(dst + ((uint64_t)data - from), sh.map + data,
               end - (uint64_t)data);
        pos = (off_t)end;
    }
    return 0;
}

int
share_fork_child(void)
{
    if (!sh.on) {
        return 0;
    }
    sh.child = true;
    if (sh.top == 0) {
        return 0;
    }
    void *dst = mmap(NULL, sh.top, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (dst == MAP_FAILED ||
        copy_extents(dst, SHM_HEAP_OFF, SHM_HEAP_OFF + sh.top) != 0) {
        return -1;
    }
    void *r = mremap(dst, sh.top, sh.top, MREMAP_MAYMOVE | MREMAP_FIXED,
                     sh.map + SHM_HEAP_OFF);
    return r == MAP_FAILED ? -1 : 0;
}
