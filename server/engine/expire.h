/* expire.h: proactive expiry. A min-heap orders the segments that hold
 * items with an expiry by the time expiry should next look at them; a
 * resumable sweep walks one due segment in bounded slices, removing its
 * expired items from the index, and hands sparse results to compaction.
 * See expire.c for the design. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "../oh_time.h"

/* Creates / destroys the heap (segments must be set up). Returns 0 or
 * OH_NOMEM. */
int expire_setup(void);
void expire_teardown(void);
/* Forgets every segment (engine flush). */
void expire_flush(void);

/* Notes that an item of segment id may be gone at `at` (its expiry; 0 for
 * "look at it now", e.g. its last live item died). Never delays a time
 * already scheduled. O(log segments). */
void expire_note(uint32_t id, oh_time at);
/* Takes segment id out of the heap and stops a sweep of it (it is being
 * dropped or flushed). */
void expire_forget(uint32_t id);

/* Runs expiry work (whole-segment frees, sweep slices) worth about
 * *budget_ns, charging it. Returns true while due work remains. */
bool expire_step(oh_time now, int64_t *budget_ns);
/* True while due expiry work remains (what expire_step returns). */
bool expire_pending(oh_time now);
/* Frees up to `max` due segments that can go whole (all expired, or all
 * dead) without sweeping; for a writer that needs memory. Returns the
 * number freed. */
unsigned expire_reclaim(oh_time now, unsigned max);

/* Returns a segment queued for compaction by a sweep (sparse after its
 * expired items went), or SEG_NIL. */
uint32_t expire_candidate_pop(void);
/* Queues segment id for compaction (dropped if the queue is full). */
void expire_candidate_push(uint32_t id);
/* Returns the number of queued candidates (some may be stale). */
uint32_t expire_candidates(void);

/* State, for metrics and tests. */
uint32_t expire_heap_size(void);
