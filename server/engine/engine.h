/* engine.h: the storage engine's whole interface (the facade the command
 * handlers use). The engine is a module with global state: engine_setup()
 * creates it from the configuration, engine_teardown() releases everything.
 *
 * Rules every call follows:
 * - Keys and values are binary: (pointer, length), never NUL-terminated.
 * - Time is a parameter: `now` is milliseconds since the Unix epoch, read
 *   once per event-loop tick by the server (tests pass it by hand). The
 *   engine never reads the clock.
 * - Expiry is absolute (`expire_at`, ms); OH_TIME_NONE (0) means none. An
 *   entry with expire_at <= now is gone: no call returns or counts it.
 * - Single-threaded: all calls come from the event-loop thread.
 * - Functions returning int give >= 0 on success and a negative oh_rc
 *   (err.h) on failure.
 * The engine never includes libevent, RESP or socket headers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../err.h"
#include "../metrics.h"
#include "../oh_time.h"
#include "../options.h"

/* A PINNED, zero-copy view of one entry. key/val point into engine memory
 * and stay valid (never moved by compaction, never reused by eviction or
 * expiry, even if the entry is overwritten or deleted meanwhile) until
 * engine_release() is called on the view. Release exactly once. Hold a pin
 * only for the life of one reply (the server may keep it until the reply
 * bytes are written to the socket). */
struct engine_item {
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
    oh_time expire_at; /* OH_TIME_NONE if the entry has no expiry */
    uintptr_t pin;     /* engine-private handle for engine_release() */
};

/* Flags of engine_set() */
#define ENGINE_SET_NX      0x1u /* store only if the key is absent */
#define ENGINE_SET_XX      0x2u /* store only if the key is present */
#define ENGINE_SET_KEEPTTL 0x4u /* keep the current expiry, not expire_at */
#define ENGINE_SET_LOAD                                                        \
    0x8u /* from a snapshot: store in the old                                  \
            generation at once (it was old before the                          \
            restart), skipping the young filter */

/* Creates the engine from `cfg` (maxmemory, maxmemory_policy, engine
 * options). Called twice, warns and re-creates. Returns 0 or OH_NOMEM. */
int engine_setup(const struct oh_config *cfg);
/* Releases all memory. Without setup, does nothing. All pins must have
 * been released. */
void engine_teardown(void);
/* Applies live option changes (maxmemory, maxmemory_policy). */
void engine_reconfigure(const struct oh_config *cfg);

/* Looks up `key` as of `now` and marks it accessed (for eviction). Returns
 * 1 and fills a PINNED view in *out, or 0 if absent or expired. */
int engine_get(const char *key, size_t klen, oh_time now,
               struct engine_item *out);
/* Like engine_get() but does not mark the entry accessed (for TYPE, TTL,
 * EXISTS-like peeks, SCAN, RANDOMKEY, DEBUG OBJECT). */
int engine_peek(const char *key, size_t klen, oh_time now,
                struct engine_item *out);
/* Releases a pin taken by engine_get/peek/random. Sets item->pin to 0. */
void engine_release(struct engine_item *item);

/* Stores key = val with absolute expiry `expire_at` (or keeps the old one
 * with ENGINE_SET_KEEPTTL). Returns 1 if stored, 0 if NX/XX prevented it,
 * OH_NOMEM if memory is full and the policy cannot evict (noeviction) or
 * the entry cannot fit, OH_TOOBIG if it can never fit. An existing entry
 * is replaced (its memory becomes dead and is reclaimed by compaction). */
int engine_set(const char *key, size_t klen, const char *val, size_t vlen,
               oh_time expire_at, unsigned flags, oh_time now);
/* Prepares for about `keys` inserts (a snapshot load; the header's key
 * count): sizes an empty index for them so the load never rehashes, and
 * pre-faults each segment as it is taken (one madvise per segment rather
 * than a fault per page). engine_reserve(0) ends the load mode. Returns 0
 * or OH_NOMEM (the engine stays usable; it grows as usual). */
int engine_reserve(uint64_t keys);
/* In load mode (after engine_reserve(keys > 0)): about `bytes` of entries
 * are coming; a second thread faults their segments in ahead of the
 * inserts. engine_reserve(0) stops it. */
void engine_reserve_bytes(uint64_t bytes);
/* Returns the hash of `key` that engine_prefetch() and
 * engine_set_hashed() take. */
uint64_t engine_key_hash(const char *key, size_t klen);
/* engine_set() for a key whose engine_key_hash() the caller already has
 * (a bulk load that hinted it with engine_prefetch()): the same contract,
 * without hashing the key again. */
int engine_set_hashed(uint64_t hash, const char *key, size_t klen,
                      const char *val, size_t vlen, oh_time expire_at,
                      unsigned flags, oh_time now);
/* Hints that the key of `hash` is about to be set or looked up: starts
 * fetching its index bucket into the cache (with `chain`, its overflow
 * bucket: hint that a few keys after the first). Changes nothing. A bulk
 * load hints a few keys ahead so their cache misses overlap. */
void engine_prefetch(uint64_t hash, bool chain);
/* Hints further: starts fetching the entries the key's bucket points at.
 * Call it after engine_prefetch() of a batch of keys (a pipeline's next
 * requests), when their buckets are likely cached. Changes nothing. */
void engine_prefetch_entry(uint64_t hash);
/* Removes `key`. Returns 1 if it was present (and unexpired), else 0. */
int engine_del(const char *key, size_t klen, oh_time now);
/* Sets the absolute expiry of a present key (OH_TIME_NONE: persist).
 * An expire_at <= now deletes it. Returns 1 if the key was present, 0 if
 * not. */
int engine_expire(const char *key, size_t klen, oh_time expire_at, oh_time now);
/* Marks `key` accessed. Returns 1 if present, else 0. */
int engine_touch(const char *key, size_t klen, oh_time now);
/* Returns the bytes of engine memory `key` uses (header, key, value, its
 * index slot), or 0 if absent. */
size_t engine_usage(const char *key, size_t klen, oh_time now);

/* Returns the number of live entries. May still count entries that expired
 * but have not been reclaimed yet (as Redis's DBSIZE does), for about a
 * second at most while engine_step() runs. */
uint64_t engine_count(void);
/* Marks accessed the entry whose index slot is `slot` in the chain of
 * `hash`, if that very entry is still there (a local reader's hint: both
 * values come from an untrusted client, so anything else is ignored). */
void engine_hint(uint64_t hash, uint64_t slot);

/* ---- local reads (see engine/share.h) ---- */

/* Returns the memfd holding the engine's segments and index when the
 * configuration asked for sharing (local_reads) and it could be made, else
 * -1. BORROWED: the engine closes it at teardown. */
int engine_share_fd(void);
/* Tells local readers whether the mapping may be read (false while a
 * snapshot loads: they ask the server, which answers -LOADING). */
void engine_share_ready(bool ready);
/* Around fork() for a background save: engine_fork_prepare() before it
 * (returned segments are held and no item is rewritten in place, since
 * the child reads the shared segments), engine_fork_child() first thing
 * in the child (the child takes a private copy of the index; returns 0 or
 * -1, then the child must not save), engine_fork_done() once the child has
 * exited or the fork failed. Without sharing they do nothing. */
void engine_fork_prepare(void);
int engine_fork_child(void);
void engine_fork_done(void);

/* Removes every entry in O(1) + O(segments): the old index is freed by
 * later engine_step() calls; pinned memory is freed when its pin is
 * released. */
void engine_flush(void);

/* Calls fn(arg, key, klen, expire_at) for a batch of live entries starting
 * at `cursor` (0 to start) and returns the next cursor (0 when the whole
 * keyspace has been visited). `count` is a hint of how many index slots to
 * visit. Guarantee (as Redis SCAN): every key present during the whole
 * iteration is returned at least once, even while the index grows or
 * shrinks; keys may be returned more than once. key is BORROWED for the
 * duration of the callback only; fn must not call into the engine. */
typedef void engine_scan_fn(void *arg, const char *key, size_t klen,
                            oh_time expire_at);
uint64_t engine_scan(uint64_t cursor, size_t count, oh_time now,
                     engine_scan_fn *fn, void *arg);
/* Picks a random live entry. Returns 1 with a PINNED view, 0 if empty.
 * Bounded work: on a very sparse index (a mass delete the index has not
 * shrunk from yet) it may return 0 while entries exist; calling again
 * resumes the search. */
int engine_random(oh_time now, uint64_t seed, struct engine_item *out);

/* Runs background work (expiry, promotion, eviction, compaction, index
 * rehash, pre-faulting) for at most `budget_us` microseconds: work is
 * charged by estimates (item and byte counts calibrated to time), and,
 * once engine_set_clock() installed a clock, the call also ends at a real
 * deadline (STEP_REAL_PCT of budget_us) checked between units of work.
 * Returns true while work remains. Called from a timer every tick; pass
 * budget_us <= 50 and call again (next tick, or at once while it returns
 * true and the loop is idle) rather than passing a large budget: one call
 * is one uninterruptible slice. */
bool engine_step(oh_time now, unsigned budget_us);
/* Installs the clock engine_step() bounds itself by: `now_ns` returns a
 * monotonic time in nanoseconds (the server: CLOCK_MONOTONIC). The engine
 * calls it only inside engine_step(). NULL (the default, as in unit tests
 * that move time by hand) leaves the estimates alone, deterministic. */
void engine_set_clock(uint64_t (*now_ns)(void));
/* Turns proactive expiry on (the default) or off (DEBUG SET-ACTIVE-EXPIRE
 * 0, for tests of lazy expiry): off, an expired entry stays counted until
 * a read, a write or a scan meets it, or memory is needed. */
void engine_set_active_expire(bool on);

/* Memory the engine holds, in bytes. */
struct engine_memory {
    uint64_t used_bytes;     /* bytes of segments holding entries, live or
                                dead, plus large-value allocations and the
                                index: what counts against maxmemory
                                (INFO maxmemory_used; INFO used_memory is
                                this less index_bytes) */
    uint64_t live_bytes;     /* bytes of live entries (headers, keys, values) */
    uint64_t reserved_bytes; /* memory taken from the allocator, incl. free
                                segments and the index (heapTotal) */
    uint64_t index_bytes;    /* the hash index */
    uint64_t maxmemory;      /* the current limit (0: none) */
};
void engine_memory(struct engine_memory *out);

/* Metrics: the engine fills its ENGINE_METRICS table (engine_metrics.h),
 * which INFO's "engine" section prints in table order. */
#include "engine_metrics.h"
/* Returns the engine's metrics (BORROWED; valid until engine_teardown). */
const struct engine_metrics *engine_metrics_get(void);
/* Resets the counters (not the gauges), for CONFIG RESETSTAT. */
void engine_metrics_reset(void);
/* The descriptors of the table, terminated by a {NULL} entry. */
extern const struct metric_desc engine_metric_descs[];
