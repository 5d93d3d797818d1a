/* test_engine_missratio.c: look-aside replay (GET, SET on miss) of a Zipf
 * 1.0 workload over 200 k keys with 100-300 B values under an 8 MB limit,
 * against an exact LRU holding the same bytes of keys and values the
 * engine holds live. Prints both miss ratios (DESIGN.md M3's workload;
 * the first 20 % of requests are not counted). OH_MISS_REQS sets the
 * request count (default 1000000); OH_MISS_YOUNG_PCT and OH_MISS_MERGE
 * override engine_young_pct and engine_merge_segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "tests/support/engine_cfg.h"

#define T0    ((oh_time)1700000000000) /* ms */
#define NKEYS 200000

static uint64_t rng = 42;

static uint64_t
rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double *cdf;

static void
zipf_init(void)
{
    cdf = malloc(sizeof(double) * NKEYS);
    double sum = 0;
    for (int i = 0; i < NKEYS; i++) {
        sum += 1.0 / (i + 1);
        cdf[i] = sum;
    }
    for (int i = 0; i < NKEYS; i++) {
        cdf[i] /= sum;
    }
}

static uint32_t
zipf_next(void)
{
    double u = (double)(rnd() >> 11) / 9007199254740992.0;
    uint32_t lo = 0, hi = NKEYS - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (cdf[mid] < u) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    /* scatter ranks over the key space */
    return (uint32_t)((lo * 2654435761u) % NKEYS);
}

static size_t
klen_of(uint32_t id, char *k)
{
    return (size_t)snprintf(k, 24, "key:%06u", id);
}

static uint32_t
vlen_of(uint32_t id)
{
    return 100 + (id * 7919u) % 201;
}

/* ---- exact LRU over a byte budget ---- */

static struct {
    uint32_t *prev, *next;
    uint8_t *in;
    uint32_t head, tail; /* head: most recent */
    uint64_t bytes, cap;
} lru;

#define NIL UINT32_MAX

static void
lru_unlink(uint32_t id)
{
    if (lru.prev[id] != NIL) {
        lru.next[lru.prev[id]] = lru.next[id];
    } else {
        lru.head = lru.next[id];
    }
    if (lru.next[id] != NIL) {
        lru.prev[lru.next[id]] = lru.prev[id];
    } else {
        lru.tail = lru.prev[id];
    }
}

static void
lru_front(uint32_t id)
{
    lru.prev[id] = NIL;
    lru.next[id] = lru.head;
    if (lru.head != NIL) {
        lru.prev[lru.head] = id;
    }
    lru.head = id;
    if (lru.tail == NIL) {
        lru.tail = id;
    }
}

static uint64_t
item_bytes(uint32_t id)
{
    return 10 + vlen_of(id);
}

/* Returns true on a hit; inserts on a miss. */
static bool
lru_access(uint32_t id)
{
    if (lru.in[id]) {
        lru_unlink(id);
        lru_front(id);
        return true;
    }
    lru.in[id] = 1;
    lru.bytes += item_bytes(id);
    lru_front(id);
    while (lru.bytes > lru.cap) {
        uint32_t v = lru.tail;
        lru_unlink(v);
        lru.in[v] = 0;
        lru.bytes -= item_bytes(v);
    }
    return false;
}

static void
lru_init(uint64_t cap)
{
    lru.prev = malloc(sizeof(uint32_t) * NKEYS);
    lru.next = malloc(sizeof(uint32_t) * NKEYS);
    lru.in = calloc(NKEYS, 1);
    lru.head = lru.tail = NIL;
    lru.bytes = 0;
    lru.cap = cap;
}

static void
lru_fini(void)
{
    free(lru.prev);
    free(lru.next);
    free(lru.in);
}

/* ---- the replay ---- */

static double
replay_engine(uint64_t nreq, uint64_t *live_payload)
{
    char k[24], v[320];
    memset(v, 'v', sizeof(v));
    uint64_t miss = 0, counted = 0, payload_sum = 0, samples = 0;
    oh_time now = T0;
    for (uint64_t i = 0; i < nreq; i++) {
        uint32_t id = zipf_next();
        size_t kl = klen_of(id, k);
        struct engine_item it;
        bool hit = engine_get(k, kl, now, &it) == 1;
        if (hit) {
            engine_release(&it);
        } else {
            engine_set(k, kl, v, vlen_of(id), 0, 0, now);
        }
        if (i >= nreq / 5) {
            counted++;
            miss += !hit;
        }
        if (i % 100 == 99) {
            now++;
            for (int s = 0; s < 4 && engine_step(now, 50); s++) {
            }
        }
        if (i >= nreq / 5 && i % 10000 == 0) {
            struct engine_memory m;
            engine_memory(&m);
            payload_sum += m.live_bytes;
            samples++;
        }
    }
    *live_payload = samples ? payload_sum / samples : 0;
    return (double)miss / (double)counted;
}

static double
replay_lru(uint64_t nreq, uint64_t cap)
{
    uint64_t miss = 0, counted = 0;
    lru_init(cap);
    for (uint64_t i = 0; i < nreq; i++) {
        bool hit = lru_access(zipf_next());
        if (i >= nreq / 5) {
            counted++;
            miss += !hit;
        }
    }
    lru_fini();
    return (double)miss / (double)counted;
}

static void
test_engine_missratio_zipf(void **state)
{
    (void)state;
    struct oh_config cfg;
    engine_cfg_defaults(&cfg);
    cfg.maxmemory = 8 * 1024 * 1024;
    cfg.maxmemory_policy = (char *)"allkeys-lru";
    const char *yp = getenv("OH_MISS_YOUNG_PCT");
    if (yp != NULL) {
        cfg.engine_young_pct = strtoull(yp, NULL, 10);
    }
    const char *mn = getenv("OH_MISS_MERGE");
    if (mn != NULL) {
        cfg.engine_merge_segments = strtoull(mn, NULL, 10);
    }
    const char *env = getenv("OH_MISS_REQS");
    uint64_t nreq = env != NULL ? strtoull(env, NULL, 10) : 1000000;
    zipf_init();
    assert_int_equal(engine_setup(&cfg), 0);
    uint64_t live;
    rng = 42;
    double ours = replay_engine(nreq, &live);
    const struct engine_metrics *m = engine_metrics_get();
    print_message("  engine (8 MB incl. index): %.2f %% misses; live payload "
                  "%.2f MB, %llu keys; ghost hits %llu, merges %llu, "
                  "dropped segs %llu\n",
                  100 * ours, (double)live / 1048576,
                  (unsigned long long)engine_count(),
                  (unsigned long long)m->engine_ghost_hits,
                  (unsigned long long)m->engine_merges,
                  (unsigned long long)m->engine_segments_dropped);
    engine_teardown();
    rng = 42;
    double lru_same = replay_lru(nreq, live);
    rng = 42;
    double lru_8mb = replay_lru(nreq, 8 * 1024 * 1024);
    print_message("  exact LRU with the same live bytes: %.2f %% misses; "
                  "exact LRU with 8 MB of pure payload: %.2f %%\n",
                  100 * lru_same, 100 * lru_8mb);
    assert_true(ours < lru_same);
    free(cdf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_missratio_zipf),
    };
    return cmocka_run_group_tests_name("engine_missratio", tests, NULL, NULL);
}
