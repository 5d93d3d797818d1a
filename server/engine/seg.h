/* seg.h: the segment arena. Fixed-size segments identified by a 20-bit id,
 * borrowed from a free pool and returned to it whole. Each segment carries
 * an epoch that index slots copy; returning a segment bumps the epoch so
 * every slot still pointing into it becomes stale at once (killed lazily by
 * the index). See seg.c for the design. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"
#include "../oh_time.h"
#include "item.h"

#define SEG_NIL        UINT32_MAX
#define SEG_ID_BITS    20u
#define SEG_MAX        (1u << SEG_ID_BITS) /* segment ids */
#define SEG_EPOCH_BITS 9u
#define SEG_EPOCHS     (1u << SEG_EPOCH_BITS)
#define SEG_SIZE_MIN   (64u * 1024u)   /* bytes */
#define SEG_SIZE_MAX   (1024u * 1024u) /* bytes: offsets are 20 bits */

typedef enum {
    SEG_UNUSED = 0, /* id without memory */
    SEG_FREE,       /* memory in the free pool */
    SEG_YOUNG,      /* young generation (list young) */
    SEG_OLD,        /* old generation (list old) */
    SEG_RETIRED,    /* dropped while pinned: returned on the last release */
    SEG_HELD,       /* returned while a save's child may read it (list
                       held): joins the pool at seg_hold(false) */
} seg_state;

/* Metadata of one segment (kept apart from its memory). */
struct seg {
    char *mem;           /* seg_size bytes in the arena (pages may be
                            absent while SEG_FREE / SEG_UNUSED) */
    uint32_t wpos;       /* bytes written */
    uint32_t live_items; /* items the index points at */
    uint32_t live_bytes; /* their bytes in this segment */
    uint32_t pins;       /* engine_item views outstanding */
    uint32_t trimmed;    /* bytes given back to the OS while in the pool */
    uint32_t faulted;    /* leading bytes known resident (seg_prefault) */
    uint32_t prev, next; /* links of the list the state implies */
    /* open time, and the origins of its items' relative expiry fields */
    struct item_bases bases;
    oh_time max_exp;     /* greatest expiry written */
    struct large *large; /* large values owned by items of this segment */
    uint32_t pass;       /* sweep pass bumps_cur belongs to */
    uint16_t epoch;      /* SEG_EPOCH_BITS used */
    uint16_t bumps_cur;  /* epoch bumps during pass `pass` */
    uint16_t bumps_prev; /* epoch bumps during pass `pass - 1` */
    uint8_t state;       /* seg_state */
    uint8_t persist;     /* holds (or held) an item without expiry */
    uint8_t busy;        /* source or target of a copy job */
    uint8_t open;        /* accepting appends (young open or TTL slot) */
    uint16_t ttl_slot;   /* slot in the TTL table while open */
    uint8_t sorted;      /* expiries never decrease with the offset (no
                            expiry counting as +inf); see expire.c */
    uint8_t cand;        /* queued as a compaction candidate */
    uint8_t sweepq;      /* queued for an expiry sweep */
    uint32_t heap_pos;   /* 1 + position in the expiry heap, 0 if absent */
    uint32_t sweep_from; /* items before this offset are all dead */
    uint32_t live_ttl;   /* live items that have an expiry */
    oh_time exp_next;    /* when expiry looks at it next (heap key) */
    oh_time last_exp;    /* expiry of the last item appended (none: max) */
};

/* A FIFO of segment ids linked through prev/next. */
struct seg_list {
    uint32_t head, tail, n;
};

/* Creates the arena; segments are seg_size bytes. Returns 0 or OH_NOMEM. */
int seg_setup(uint32_t seg_size);
void seg_teardown(void);

/* Returns the metadata of segment `id` (BORROWED, valid until teardown). */
struct seg *seg_at(uint32_t id);
uint32_t seg_size(void);
/* Returns the number of ids ever handed out (ids are < this). */
uint32_t seg_count_ids(void);

/* Borrows a segment (from the pool, or new memory) in state `state`, with
 * base time `now`. Returns its id or SEG_NIL. Callers check the memory
 * limit first. */
uint32_t seg_borrow(seg_state state, oh_time now);
/* Returns a segment to the pool: bumps its epoch (its slots go stale) and
 * queues its large values for seg_large_reap(). It must be unpinned and off
 * every list. */
void seg_return(uint32_t id);
/* While on, returned segments are held off the pool (a background save's
 * child reads the shared segments, which must not be rewritten under it);
 * turning it off hands them to the pool. */
void seg_hold(bool on);
/* Returns the number of segments held. */
uint32_t seg_held(void);
/* Retires a pinned segment: bumps its epoch now, returns it on the last
 * engine_release(). */
void seg_retire(uint32_t id);
/* Gives the pages of pool segments beyond the first `keep` back to the
 * OS, 16 KiB per madvise call, at most `max` calls. Returns the calls. */
uint32_t seg_trim(uint32_t keep, uint32_t max);

/* Pre-faults the next chunk (16 KiB, one madvise) of segment
 * `id` if its resident prefix ends before `upto` bytes, so appends up to
 * there take no page fault. Returns true if it did. */
bool seg_prefault(uint32_t id, uint32_t upto);

/* Marks the end of one complete pass over the index (every stale slot that
 * existed at its start is gone), which widens the epoch window. */
void seg_pass_complete(void);
/* Forgets all epoch history (the index was emptied). */
void seg_pass_reset(void);
/* Epoch bumps ever made: while it has not moved since a complete pass
 * started, the index holds no stale slot (index_step then skips the
 * sweep). */
uint64_t seg_bumps(void);
/* The `now` of the latest seg_borrow (0 before the first). */
oh_time seg_last_borrow(void);

/* Counts, in segments. */
uint32_t seg_used(void);
uint32_t seg_free(void);

void seg_list_init(struct seg_list *l);
void seg_list_push(struct seg_list *l, uint32_t id);
void seg_list_remove(struct seg_list *l, uint32_t id);

/* Adds a large value to the list of segment `id` (the segment then owns
 * it) / unlinks it (the caller owns it again). */
void seg_large_link(uint32_t id, struct large *lg);
void seg_large_unlink(uint32_t id, struct large *lg);
/* Frees the large values of segment `id` marked dead (only values that
 * died while it was pinned: bounded by the overwrites during one pin). */
void seg_large_sweep(uint32_t id);
/* Frees up to `max` large values of segments returned (or swept) earlier:
 * seg_return() only queues them, so no single call frees thousands of
 * blocks. Returns the number freed. Their bytes count in
 * seg_large_bytes() until then. */
uint32_t seg_large_reap(uint32_t max);
/* Returns true if large values wait for seg_large_reap(). */
bool seg_large_reap_pending(void);
/* Asks seg_borrow() to pre-fault the pages of the segments it hands out
 * (bulk loads: one madvise per segment instead of a fault per page). */
void seg_set_populate(bool on);
/* During a bulk load of about `bytes` of segments: a second thread faults
 * in the fresh segments the load will take next, so the loader's own
 * borrows find their pages present. 0 (or seg_set_populate(false)) stops
 * it and gives back what it faulted in for segments never taken. Returns 0,
 * or -1 if no thread could start (the load faults as before). */
int seg_prefault_ahead(uint64_t bytes);
/* Returns the bytes of all linked large values, headers included. */
uint64_t seg_large_bytes(void);
