/* engine_options.h: the engine's rows of the option table (see options.h for
 * the columns). */
#pragma once

/* clang-format off */
#define ENGINE_OPTIONS(X)                                                                                                      \
    X(maxmemory,               OPT_BYTES, 0,            NULL,         0,   UINT64_MAX,  OPT_LIVE,   NULL,                       \
      "memory the engine may hold for entries and its index (0: no limit)")                                                   \
    X(maxmemory_policy,        OPT_ENUM,  0,            "generational", 0, 0,           OPT_LIVE,                               \
      "generational|noeviction|allkeys-lru|allkeys-lfu|volatile-lru|volatile-lfu|volatile-ttl|volatile-random|allkeys-random", \
      "what to do at maxmemory: generational eviction (the Redis policy names are accepted as synonyms) or noeviction")       \
    X(engine_segment_size,     OPT_BYTES, 1 * MiB,      NULL,         64 * KiB, 1 * MiB, OPT_STATIC, NULL,                      \
      "bytes per segment; with a small maxmemory the engine uses less (maxmemory/64, at least 64 KiB)")                       \
    X(engine_young_pct,        OPT_UINT,  10,           NULL,         1,   50,          OPT_LIVE,   NULL,                       \
      "share of memory (percent) for the young generation where new entries go")                                              \
    X(engine_merge_segments,   OPT_UINT,  8,            NULL,         2,   16,          OPT_LIVE,   NULL,                       \
      "old segments merged into one by each eviction or compaction")                                                          \
    X(engine_compact_pct,      OPT_UINT,  25,           NULL,         1,   90,          OPT_LIVE,   NULL,                       \
      "old segments with less than this percent of live bytes are compacted")                                                 \
    X(local_reads,             OPT_BOOL,  1,            NULL,         0,   1,           OPT_STATIC, NULL,                       \
      "share entries read-only with clients of the Unix socket, who then read them with no round trip (needs unixsocket)")
/* clang-format on */
