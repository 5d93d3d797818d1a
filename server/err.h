/* err.h: every failure the server can name. The enum and oh_strerror() are
 * generated from the one table below. */
#pragma once

/* clang-format off */
/*  name       code  message */
#define OH_ERRORS(X)                                   \
    X(OK,        0,  "success")                        \
    X(ERR,      -1,  "unspecified error")              \
    X(NOMEM,    -2,  "out of memory")                  \
    X(AGAIN,    -3,  "try again")                      \
    X(INVAL,    -4,  "invalid argument")               \
    X(NOTFOUND, -5,  "no such key")                    \
    X(TOOBIG,   -6,  "item larger than the engine accepts") \
    X(EXISTS,   -7,  "key exists")                     \
    X(OVERFLOW, -8,  "increment or decrement would overflow") \
    X(NOTINT,   -9,  "value is not an integer or out of range") \
    X(NOTFLOAT, -10, "value is not a valid float")
/* clang-format on */

typedef enum {
#define X(name, code, msg) OH_##name = (code),
    OH_ERRORS(X)
#undef X
} oh_rc;

/* Returns the message of `rc` (a static string; "unknown error" if none). */
static inline const char *
oh_strerror(int rc)
{
    switch (rc) {
#define X(name, code, msg)                                                     \
    case (code):                                                               \
        return (msg);
        OH_ERRORS(X)
#undef X
    default:
        return "unknown error";
    }
}

#ifdef OH_DEBUG
#include <assert.h>
#define ASSERT(x) assert(x)
#else
#define ASSERT(x) ((void)0)
#endif
/* Defensive branches: the condition is believed to be always (never) true. */
#define ALWAYS(x) (x)
#define NEVER(x)  (x)
