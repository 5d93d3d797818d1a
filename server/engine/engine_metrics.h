/* engine_metrics.h: the engine's metrics table (see metrics.h). Gauges are
 * refreshed by engine_metrics_get(). Step times are measured by the clock
 * the server installs (engine_set_clock), else estimated from item and
 * byte counts (unit tests). */
#pragma once

#include "../metrics.h"

/* clang-format off */
#define ENGINE_METRICS(X)                                                                           \
    X(engine_keys_curr,             METRIC_GAUGE,   "live entries in the index")                    \
    X(engine_keys_with_ttl_curr,    METRIC_GAUGE,   "live entries that have an expiry")             \
    X(engine_set,                   METRIC_COUNTER, "entries stored")                               \
    X(engine_get_hit,               METRIC_COUNTER, "lookups that found an entry")                  \
    X(engine_get_miss,              METRIC_COUNTER, "lookups that found nothing")                   \
    X(engine_expired,               METRIC_COUNTER, "entries removed by expiry")                    \
    X(engine_evicted,               METRIC_COUNTER, "entries removed by eviction")                  \
    X(engine_set_ex,                METRIC_COUNTER, "stores refused for lack of memory")            \
    X(engine_expired_segments,      METRIC_COUNTER, "whole segments freed because all expired")    \
    X(engine_expired_bytes,         METRIC_COUNTER, "bytes of segments freed by expiry")            \
    X(engine_expired_swept,         METRIC_COUNTER, "expired entries removed by segment sweeps")    \
    X(engine_expire_sweeps,         METRIC_COUNTER, "segment sweeps for expired entries completed") \
    X(engine_young_bytes_curr,      METRIC_GAUGE,   "bytes of young-generation segments")           \
    X(engine_young_segments_curr,   METRIC_GAUGE,   "young-generation segments")                    \
    X(engine_old_bytes_curr,        METRIC_GAUGE,   "bytes of old-generation segments")             \
    X(engine_old_segments_curr,     METRIC_GAUGE,   "old-generation segments")                      \
    X(engine_free_segments_curr,    METRIC_GAUGE,   "segments in the free pool")                    \
    X(engine_large_bytes_curr,      METRIC_GAUGE,   "bytes of values kept outside segments")        \
    X(engine_used_bytes_curr,       METRIC_GAUGE,   "bytes counted against maxmemory")              \
    X(engine_live_bytes_curr,       METRIC_GAUGE,   "bytes of live entries in segments")            \
    X(engine_promoted,              METRIC_COUNTER, "entries copied from young to old")             \
    X(engine_ghost_hits,            METRIC_COUNTER, "writes of a recently dropped key (to old)")    \
    X(engine_ghosts_curr,           METRIC_GAUGE,   "ghost slots in the index")                     \
    X(engine_merges,                METRIC_COUNTER, "eviction merges completed")                    \
    X(engine_compactions,           METRIC_COUNTER, "compactions of sparse segments completed")     \
    X(engine_items_moved,           METRIC_COUNTER, "entries copied by scavenge, merge, compaction")\
    X(engine_segments_dropped,      METRIC_COUNTER, "whole segments evicted without a merge")       \
    X(engine_steps,                 METRIC_COUNTER, "engine_step calls")                            \
    X(engine_step_max_us,           METRIC_GAUGE,   "longest step, microseconds (clock, else estimated)") \
    X(engine_step_work_us,          METRIC_COUNTER, "background work done, microseconds (clock, else estimated)") \
    X(engine_index_slots_curr,      METRIC_GAUGE,   "index slots (primary and overflow buckets)")   \
    X(engine_index_used_curr,       METRIC_GAUGE,   "index slots holding entries (incl. stale)")    \
    X(engine_index_load_pct_curr,   METRIC_GAUGE,   "index slots used, percent")                    \
    X(engine_index_buckets_curr,    METRIC_GAUGE,   "index primary buckets")                        \
    X(engine_index_rehashing_curr,  METRIC_GAUGE,   "1 while the index is being resized")           \
    X(engine_index_stale_killed,    METRIC_COUNTER, "stale index slots cleared")                    \
    X(engine_index_passes,          METRIC_COUNTER, "full index sweeps (or resizes) completed")
/* clang-format on */

struct engine_metrics {
    ENGINE_METRICS(METRIC_FIELD)
};
