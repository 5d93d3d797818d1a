/* engine_options.h: the engine's rows of the option table (see options.h for
 * the columns). */
#pragma once

/* clang-format off */
#define ENGINE_OPTIONS(X)                                                                                                      \
    X(maxmemory,               OPT_BYTES, 0,            NULL,         0,   UINT64_MAX,  OPT_LIVE,   NULL,                       \
      "memory the engine may hold for entries (0: no limit)")                                                                 \
    X(maxmemory_policy,        OPT_ENUM,  0,            "generational", 0, 0,           OPT_LIVE,                               \
      "generational|noeviction|allkeys-lru|allkeys-lfu|volatile-lru|volatile-lfu|volatile-ttl|volatile-random|allkeys-random", \
      "what to do at maxmemory: generational eviction (the Redis policy names are accepted as synonyms) or noeviction")
/* clang-format on */
