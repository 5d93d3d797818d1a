/* engine_cfg.h: the option table's defaults for tests that link the engine
 * but not config.c (the engine unit tests). */
#pragma once

#include <string.h>

#include "options.h"

/* clang-format off */
#define ENGINE_CFG_OPT_UINT(f, n, s)  (f) = (n)
#define ENGINE_CFG_OPT_BYTES(f, n, s) (f) = (n)
#define ENGINE_CFG_OPT_BOOL(f, n, s)  (f) = (n)
#define ENGINE_CFG_OPT_OCTAL(f, n, s) (f) = (n)
#define ENGINE_CFG_OPT_STR(f, n, s)   (f) = (char *)(s)
#define ENGINE_CFG_OPT_ENUM(f, n, s)  (f) = (char *)(s)
#define ENGINE_CFG_OPT_LIST(f, n, s)  (f) = (char *)(s)
#define ENGINE_CFG_OPT_OBUF(f, n, s)  (f) = (char *)(s)
/* clang-format on */

/* Fills *c with every option's default (strings are static). */
static inline void
engine_cfg_defaults(struct oh_config *c)
{
    memset(c, 0, sizeof(*c));
#define X(name, type, num, str, min, max, flags, choices, desc)                \
    ENGINE_CFG_##type(c->name, num, str);
    OH_OPTIONS(X)
#undef X
}
