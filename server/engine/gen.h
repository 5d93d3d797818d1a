/* gen.h: generations over segments: where items are appended, how young
 * segments are scavenged, old ones merged, expired ones freed. The engine
 * facade (engine.c) calls these; see gen.c for the design. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../metrics.h"
#include "../oh_time.h"
#include "engine_metrics.h"
#include "item.h"
#include "seg.h"

#define GEN_TTL_SLOTS_MAX 64 /* open old segments, one per TTL slot */
#define GEN_JOB_SRC_MAX   16 /* source segments of one copy job */

typedef enum {
    JOB_NONE = 0,
    JOB_SCAVENGE, /* oldest young segment -> old (read items) or ghosts */
    JOB_EVICT,    /* a few old segments -> one, keeping freq > 0 items */
    JOB_COMPACT,  /* sparse old segments -> one, keeping every live item */
} gen_job_kind;

/* One resumable copy job: sources are read item by item from src[cur] at
 * offset `off`. */
struct gen_job {
    gen_job_kind kind;
    uint32_t src[GEN_JOB_SRC_MAX];
    unsigned nsrc, cur;
    unsigned ndst; /* targets filled so far (JOB_EVICT, JOB_COMPACT) */
    uint32_t off;
    uint32_t dst; /* JOB_EVICT / JOB_COMPACT target, SEG_NIL if none */
};

/* The engine's state (one instance, `eng`). Touched only by the event-loop
 * thread. */
struct engine_state {
    bool ready;
    uint64_t maxmemory;  /* 0: no limit */
    bool noevict;        /* policy noeviction */
    bool lazy_expiry;    /* no proactive expiry (engine_set_active_expire) */
    bool saving;         /* a save's child reads the shared segments: no
                            item is rewritten in place (engine_fork_*) */
    uint32_t seg_size;   /* bytes */
    uint32_t inline_max; /* items above this many bytes keep their value in
                            a struct large */
    unsigned young_pct, merge_n, compact_pct;
    struct seg_list young, old;
    uint32_t young_open;
    uint32_t merge_open; /* partly filled target of the last merge */
    uint32_t ttl_open[GEN_TTL_SLOTS_MAX];
    unsigned ttl_slots;
    struct gen_job job;
    uint32_t compact_cursor;    /* next segment id the cleaner scores */
    unsigned prefault_slot;     /* next TTL slot gen_prefault() looks at */
    oh_time clean_retry;        /* no background pick before (ms) ... */
    uint64_t clean_retry_waste; /* ... unless old_waste() grows past this */
    uint64_t gen_live[2];       /* live item bytes in young [0] / old [1] */
    uint64_t count;             /* live entries */
    uint64_t ttl_count;         /* live entries with an expiry */
    uint64_t young_items;       /* estimate, for metrics */
    struct engine_metrics m;
};
extern struct engine_state eng;

/* An item to append. */
struct gen_put {
    const char *key;
    size_t klen;
    const char *val; /* ignored when large != NULL */
    size_t vlen;
    oh_time expire_at;
    struct large *large; /* OWNED by the caller until the put succeeds */
};

/* Creates/destroys the generation state (segments must be set up). */
void gen_setup(void);
void gen_teardown(void);
/* Forgets every segment: unpinned ones go to the pool, pinned ones are
 * retired. */
void gen_flush(void);

/* Appends an item to the young generation (or the old one if `old`), in a
 * segment with room. On success returns 0 with the segment and offset.
 * Returns OH_NOMEM when no segment can be had. */
int gen_put(const struct gen_put *it, bool old, oh_time now, uint32_t *seg,
            uint32_t *off);
/* Makes room for `bytes` outside the segments (a large value). Returns 0
 * or OH_NOMEM. */
int gen_reserve(uint64_t bytes, oh_time now);
/* Accounts the death of the item live slot `slot` points at (segment
 * counters, its large value) without touching the slot or eng.count. */
void gen_unlink(uint64_t slot);
/* Kills the item a live slot points at: updates its segment, frees its
 * large value if possible, clears the slot (or leaves a ghost). */
void gen_kill(uint64_t *slot, bool ghost);
/* Notes that an item of segment `seg` has expiry `expire_at`. */
void gen_note_expiry(uint32_t seg, oh_time expire_at);
/* Notes that a live item of segment `seg` changed its expiry in place from
 * `old` to `expire_at`. */
void gen_expiry_changed(uint32_t seg, oh_time old, oh_time expire_at);
/* Takes a segment off its generation and frees it (or retires it if
 * pinned); its live items are counted as gone (as expired if `expired`). */
void gen_drop(uint32_t seg, bool expired);

/* Runs background work worth *budget_ns. Returns true while work remains. */
bool gen_step(oh_time now, int64_t *budget_ns);

/* A writer's share of the background work under memory pressure: about
 * ASSIST_NS of the running scavenge or merge (one is started if none
 * runs), so jobs keep pace with the write rate and writers seldom drop a
 * whole segment. Call it holding no index slot pointer. */
void gen_assist(oh_time now);

/* Pre-faults the open segments (young, merge target, job target, a few
 * TTL slots in turn) up to PREFAULT_AHEAD bytes past their write
 * position, a chunk per call of seg_prefault(), while *budget_ns lasts:
 * appends, in steps and writes, then take no page fault. */
void gen_prefault(int64_t *budget_ns);

/* Returns the bytes counted against maxmemory: segments in use, large
 * values and the index. */
uint64_t gen_mem_used(void);
/* Returns the bytes of young / old segments. */
uint64_t gen_young_bytes(void);
uint64_t gen_old_bytes(void);
