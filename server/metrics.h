/* metrics.h: counters and gauges, declared once per module as an X-macro
 * table:  X(name, METRIC_COUNTER | METRIC_GAUGE, "description").
 * Names follow <module>_<noun>[_<event>]; gauges end in _curr, failures in
 * _ex, units are spelled out (_bytes, _us). INFO and --describe-metrics
 * iterate over the tables; no stat is written by hand in two places. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef enum {
    METRIC_COUNTER, /* only grows (until CONFIG RESETSTAT) */
    METRIC_GAUGE,   /* a current level */
} metric_type;

struct metric_desc {
    const char *name;
    metric_type type;
    const char *desc;
    size_t offset; /* of the uint64_t field in the module's metrics struct */
};

/* Expands a table into struct fields: struct m { TABLE(METRIC_FIELD) }; */
#define METRIC_FIELD(name, type, desc) uint64_t name;
/* Expands a table into descriptors of struct `st`:
 *   #define D(n, t, d) METRIC_DESC(struct m, n, t, d)
 *   static const struct metric_desc x[] = { TABLE(D) {0} }; */
#define METRIC_DESC(st, name, type, desc)                                      \
    {#name, (type), (desc), offsetof(st, name)},

/* Each accepts m == NULL so unit tests can pass NULL. */
#define INCR(m, f)                                                             \
    do {                                                                       \
        if ((m) != NULL) {                                                     \
            (m)->f++;                                                          \
        }                                                                      \
    } while (0)
#define INCR_N(m, f, n)                                                        \
    do {                                                                       \
        if ((m) != NULL) {                                                     \
            (m)->f += (uint64_t)(n);                                           \
        }                                                                      \
    } while (0)
#define DECR_N(m, f, n)                                                        \
    do {                                                                       \
        if ((m) != NULL) {                                                     \
            (m)->f -= (uint64_t)(n);                                           \
        }                                                                      \
    } while (0)
#define UPDATE_MAX(m, f, v)                                                    \
    do {                                                                       \
        if ((m) != NULL && (uint64_t)(v) > (m)->f) {                           \
            (m)->f = (uint64_t)(v);                                            \
        }                                                                      \
    } while (0)

/* Reads field `d` of the metrics struct at `base`. */
static inline uint64_t
metric_read(const void *base, const struct metric_desc *d)
{
    return *(const uint64_t *)(const void *)((const char *)base + d->offset);
}
