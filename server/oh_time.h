/* oh_time.h: the one time type. Only ev.c reads the clock; everything else
 * takes `now` as a parameter so tests can move time by hand. */
#pragma once

#include <stdint.h>

typedef int64_t oh_time; /* milliseconds since the Unix epoch */

#define OH_TIME_NONE ((oh_time)0) /* "no expiry" where an expiry is asked */
