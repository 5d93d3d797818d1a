/* engine_metrics.h: the engine's metrics table (see metrics.h). */
#pragma once

#include "../metrics.h"

/* clang-format off */
#define ENGINE_METRICS(X)                                                          \
    X(engine_keys_curr,        METRIC_GAUGE,   "live entries in the index")        \
    X(engine_set,              METRIC_COUNTER, "entries stored")                   \
    X(engine_get_hit,          METRIC_COUNTER, "lookups that found an entry")      \
    X(engine_get_miss,         METRIC_COUNTER, "lookups that found nothing")       \
    X(engine_expired,          METRIC_COUNTER, "entries removed by expiry")        \
    X(engine_evicted,          METRIC_COUNTER, "entries removed by eviction")      \
    X(engine_set_ex,           METRIC_COUNTER, "stores refused for lack of memory")
/* clang-format on */

struct engine_metrics {
    ENGINE_METRICS(METRIC_FIELD)
};
