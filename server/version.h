/* version.h: offheapd's version, and the Redis version whose protocol and
 * replies it follows (reported where clients look for redis_version). */
#pragma once

#define OH_VERSION      "0.1.0"
#define OH_REDIS_COMPAT "7.0.0"
