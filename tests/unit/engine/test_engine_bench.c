/* test_engine_bench.c: the engine's share of the targets, measured in
 * process: M1 (bytes per item for 1 M x 12 B key / 32 B value / EX 3600),
 * M2 (expired memory back within one simulated second of 50 us steps) and
 * M5 (wall time of engine_step(now, 50)). Prints the numbers; asserts
 * generous bounds so a slow CI machine does not fail it. OH_BENCH_ITEMS
 * changes the item count (default 1000000). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#define OH_SANITIZED 1 /* gcc -fsanitize=address */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OH_SANITIZED 1 /* clang -fsanitize=address */
#endif
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "tests/support/engine_cfg.h"
#include "engine/expire.h"
#include "engine/gen.h"
#include "engine/index.h"

#define T0 ((oh_time)1700000000000) /* ms */

static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uint64_t
rss_bytes(void)
{
    unsigned long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%lu %lu", &size, &res) != 2) {
        res = 0;
    }
    fclose(f);
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static double step_log[1 << 20];
static int step_logn;

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Prints percentiles of the logged step times and forgets them. */
static void
step_report(const char *what)
{
    if (step_logn == 0) {
        return;
    }
    qsort(step_log, (size_t)step_logn, sizeof(double), cmp_double);
    print_message("  %s: %d steps, p50 %.1f p99 %.1f p99.9 %.1f max %.1f us\n",
                  what, step_logn, step_log[step_logn / 2],
                  step_log[step_logn * 99 / 100],
                  step_log[step_logn * 999 / 1000], step_log[step_logn - 1]);
    step_logn = 0;
}

/* Runs steps of 50 us at `now` until no work remains (or n steps), and
 * returns the longest wall time of one step in us. */
static double
drain(oh_time now, int n, double *total_us, int *steps)
{
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double t = now_us();
        bool more = engine_step(now, 50);
        double d = now_us() - t;
        if (step_logn < (1 << 20)) {
            step_log[step_logn++] = d;
        }
        *total_us += d;
        (*steps)++;
        worst = d > worst ? d : worst;
        if (!more) {
            break;
        }
    }
    return worst;
}

static void
test_engine_bench_m1_m2_m5(void **state)
{
    (void)state;
    struct oh_config cfg;
    engine_cfg_defaults(&cfg);
    const char *env = getenv("OH_BENCH_ITEMS");
    int n = env != NULL ? atoi(env) : 1000000;
    uint64_t rss0 = rss_bytes();
    assert_int_equal(engine_setup(&cfg), 0);
    char k[16], v[33];
    memset(v, 'v', 32);
    oh_time exp = T0 + 3600 * 1000;
    double t = now_us(), total = 0, worst = 0;
    int steps = 0;
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%011d", i);
        assert_int_equal(engine_set(k, 12, v, 32, exp, 0, T0 + i / 1000), 1);
        if (i % 1000 == 999) {
            double w = drain(T0 + i / 1000, 1, &total, &steps);
            worst = w > worst ? w : worst;
        }
    }
    double set_us = now_us() - t;
    double w = drain(T0 + n / 1000, 100000, &total, &steps);
    worst = w > worst ? w : worst;
    struct engine_memory m;
    engine_memory(&m);
    uint64_t rss = rss_bytes() - rss0;
    print_message("  M1: %d items: used %.1f B/item (index %.1f, live %.1f), "
                  "reserved %.1f B/item, process RSS growth %.1f B/item; "
                  "%.0f ns/set\n",
                  n, (double)m.used_bytes / n, (double)m.index_bytes / n,
                  (double)m.live_bytes / n, (double)m.reserved_bytes / n,
                  (double)rss / n, set_us * 1000 / n);
    print_message("  M5: %d steps of 50 us budget: mean %.1f us, worst %.1f "
                  "us (estimated max %llu us)\n",
                  steps, total / steps, worst,
                  (unsigned long long)engine_metrics_get()->engine_step_max_us);
    step_report("M5 fill+drain");
    /* M2: all expire at once; 100 steps over the next second */
    struct engine_memory m1;
    oh_time at = exp + 1000;
    total = 0;
    steps = 0;
    worst = 0;
    for (int i = 0; i < 100; i++) {
        w = drain(at + i * 10, 1, &total, &steps);
        worst = w > worst ? w : worst;
    }
    engine_memory(&m1);
    step_report("M2 expiry");
    uint64_t before = m.used_bytes - m.index_bytes;
    uint64_t after = m1.used_bytes - m1.index_bytes;
    print_message("  M2: segment+large bytes %llu -> %llu (%.2f %% left) "
                  "within 1 s; worst step %.1f us\n",
                  (unsigned long long)before, (unsigned long long)after,
                  100.0 * (double)after / (double)before, worst);
    assert_true(after * 100 <= before);
    assert_true((double)m.used_bytes / n < 80);
    /* flush: O(1) in the call, the old index freed by later steps */
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%011d", i);
        engine_set(k, 12, v, 32, OH_TIME_NONE, 0, at + 2000);
    }
    engine_memory(&m);
    t = now_us();
    engine_flush();
    double flush_us = now_us() - t;
    step_logn = 0;
    total = 0;
    steps = 0;
    drain(at + 2000, 1000000, &total, &steps);
    engine_memory(&m1);
    print_message("  flush of %d keys: %.1f us in engine_flush, then %d "
                  "steps (%.1f us) free the old index (%llu -> %llu B)\n",
                  n, flush_us, steps, total, (unsigned long long)m.index_bytes,
                  (unsigned long long)m1.index_bytes);
    step_report("M5 after flush");
    engine_teardown();
}

static void
cfg_default(struct oh_config *cfg)
{
    engine_cfg_defaults(cfg);
}

/* One server tick (ev.c): up to 20 steps of 50 us while work remains. */
static void
tick(oh_time now)
{
    double total = 0;
    int steps = 0;
    drain(now, 20, &total, &steps);
}

/* Bytes of segments and large values (used memory without the index). */
static uint64_t
seg_bytes(const struct engine_memory *m)
{
    return m->used_bytes - m->index_bytes;
}

/* M2 with live neighbours: n/3 keys without expiry interleaved with 2n/3
 * keys expiring at T; server-like ticks (100/s, up to 20 steps each). */
static void
test_engine_bench_m2_mixed(void **state)
{
    (void)state;
    struct oh_config cfg;
    cfg_default(&cfg);
    const char *env = getenv("OH_BENCH_ITEMS");
    int n = (env != NULL ? atoi(env) : 1000000) * 3 / 2;
    assert_int_equal(engine_setup(&cfg), 0);
    char k[16], v[33];
    memset(v, 'v', 32);
    oh_time at = T0 + 60 * 1000, now = T0;
    int live = 0;
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%011d", i);
        bool keep = i % 3 == 0;
        live += keep;
        assert_int_equal(
            engine_set(k, 12, v, 32, keep ? OH_TIME_NONE : at, 0, now), 1);
        if (i % 2000 == 1999) {
            tick(now);
            now += 10;
        }
    }
    while (now < at) {
        tick(now);
        now += 10;
    }
    step_logn = 0;
    struct engine_memory m0, m;
    engine_memory(&m0);
    uint64_t expired_bytes = m0.live_bytes / n * (uint64_t)(n - live);
    print_message("  M2 mixed: %d keys (%d without TTL), used %.1f MB "
                  "(segments %.1f MB, live %.1f MB), count %llu\n",
                  n, live, m0.used_bytes / 1e6, seg_bytes(&m0) / 1e6,
                  m0.live_bytes / 1e6, (unsigned long long)engine_count());
    double first_done = -1;
    uint64_t steps0 = engine_metrics_get()->engine_steps;
    uint64_t work0 = engine_metrics_get()->engine_step_work_us;
    for (now = at; now <= at + 2000; now += 10) {
        tick(now);
        engine_memory(&m);
        if (first_done < 0 && engine_count() == (uint64_t)live) {
            first_done = (double)(now - at);
        }
        if ((now - at) % 200 == 0) {
            uint64_t held =
                seg_bytes(&m) > m.live_bytes ? seg_bytes(&m) - m.live_bytes : 0;
            print_message(
                "    T+%4lld ms: count %llu, used %.1f MB "
                "(segments %.1f, live %.1f, index %.1f, not live %.1f MB = "
                "%.2f %% of the expired bytes; %llu steps, %llu us charged)\n",
                (long long)(now - at), (unsigned long long)engine_count(),
                m.used_bytes / 1e6, seg_bytes(&m) / 1e6, m.live_bytes / 1e6,
                m.index_bytes / 1e6, held / 1e6,
                100.0 * (double)held / (double)expired_bytes,
                (unsigned long long)(engine_metrics_get()->engine_steps -
                                     steps0),
                (unsigned long long)(engine_metrics_get()->engine_step_work_us -
                                     work0));
            steps0 = engine_metrics_get()->engine_steps;
            work0 = engine_metrics_get()->engine_step_work_us;
        }
        if (now - at == 1000) {
            /* the index's share: its bytes per key times the expired keys */
            uint64_t ix_exp = m0.index_bytes / n * (uint64_t)(n - live);
            uint64_t ix_freed = m0.index_bytes > m.index_bytes
                                    ? m0.index_bytes - m.index_bytes
                                    : 0;
            uint64_t all_freed = (seg_bytes(&m0) - seg_bytes(&m) < expired_bytes
                                      ? seg_bytes(&m0) - seg_bytes(&m)
                                      : expired_bytes) +
                                 (ix_freed < ix_exp ? ix_freed : ix_exp);
            print_message("  M2 mixed at T+1 s: index %.1f -> %.1f MB; "
                          "%.2f %% of the expired bytes incl. the index's "
                          "share back (each part capped at its share)\n",
                          m0.index_bytes / 1e6, m.index_bytes / 1e6,
                          100.0 * (double)all_freed /
                              (double)(expired_bytes + ix_exp));
            uint64_t freed = seg_bytes(&m0) - seg_bytes(&m);
            print_message("  M2 mixed at T+1 s: %.2f %% of the expired "
                          "bytes back (segment bytes freed / expired item "
                          "bytes)\n",
                          100.0 * (double)freed / (double)expired_bytes);
            assert_int_equal(engine_count(), live);
            assert_true(freed * 100 >= expired_bytes * 99);
        }
    }
    print_message("  M2 mixed: count reached %d at T+%.0f ms; index %.1f MB "
                  "(%.1f B per live key) at T+2 s\n",
                  live, first_done, m.index_bytes / 1e6,
                  (double)m.index_bytes / live);
    /* the index shrank to the live keys' size (no waiting for a sweep) */
    assert_true(m.index_bytes <= 20ull * (uint64_t)live);
    step_report("M5 expiry storm (mixed)");
    engine_teardown();
}

/* Idle steps: 1 M settled keys (EX 3600), nothing due; a step with no
 * work must return almost at once (the server runs 100 a second). */
static void
test_engine_bench_idle(void **state)
{
    (void)state;
    struct oh_config cfg;
    cfg_default(&cfg);
    const char *env = getenv("OH_BENCH_ITEMS");
    int n = env != NULL ? atoi(env) : 1000000;
    assert_int_equal(engine_setup(&cfg), 0);
    char k[16], v[33];
    memset(v, 'v', 32);
    oh_time now = T0;
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%011d", i);
        assert_int_equal(engine_set(k, 12, v, 32, T0 + 3600 * 1000, 0, now), 1);
        if (i % 2000 == 1999) {
            tick(now);
            now += 10;
        }
    }
    for (int i = 0; i < 1000; i++, now += 10) {
        tick(now); /* settle: jobs, sweeps, trims */
    }
    step_logn = 0;
    double total = 0;
    int steps = 0;
    uint64_t work0 = engine_metrics_get()->engine_step_work_us;
    for (int i = 0; i < 1000; i++, now += 10) {
        drain(now, 1, &total, &steps);
    }
    uint64_t work = engine_metrics_get()->engine_step_work_us - work0;
    print_message("  idle: %d steps, mean %.2f us wall, %.2f us charged\n",
                  steps, total / steps, (double)work / steps);
    step_report("M5 idle");
    /* The engine's own estimate of the work done (wall time is reported,
     * not asserted: a shared machine preempts): idle steps do ~nothing.
     * Was ~21 us a step, a sweep every step. */
    assert_true((double)work / steps < 5);
    engine_teardown();
}

/* Sustained writes at a 64 MB limit, `per_tick` sets (half of them reads
 * first, look-aside) between 10 ms ticks of up to 20 steps: the writer
 * should rarely drop a whole segment, and its inline work stays bounded. */
static void
overload_run(int per_tick)
{
    struct oh_config cfg;
    cfg_default(&cfg);
    cfg.maxmemory = 64ull << 20;
    assert_int_equal(engine_setup(&cfg), 0);
    char k[16], v[101];
    memset(v, 'v', 100);
    oh_time now = T0;
    uint64_t rng = 42, miss = 0, gets = 0;
    double worst = 0;
    int n = 3000000;
    const struct engine_metrics *em = engine_metrics_get();
    uint64_t drop0 = 0, merge0 = 0;
    for (int i = 0; i < n; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        /* skewed keys: a hot set of 200 k and a cold tail of 2 M */
        uint64_t r = rng >> 33;
        uint64_t key = (r & 3) != 0 ? (r >> 2) % 200000 : (r >> 2) % 2000000;
        snprintf(k, sizeof(k), "o%011llu", (unsigned long long)key);
        struct engine_item it;
        if (i >= n / 3) {
            gets++;
            if (engine_get(k, 12, now, &it) == 1) {
                engine_release(&it);
                continue;
            }
            miss++;
        }
        double t = now_us();
        engine_set(k, 12, v, 100, OH_TIME_NONE, 0, now);
        double d = now_us() - t;
        worst = d > worst ? d : worst;
        if (i > n / 3 && step_logn < (1 << 20)) {
            step_log[step_logn++] = d;
        }
        if (i % per_tick == per_tick - 1) {
            int keep = step_logn;
            tick(now);
            step_logn = keep; /* the sets' times only */
            now += 10;
        }
        if (i == n / 3) {
            em = engine_metrics_get();
            drop0 = em->engine_segments_dropped;
            merge0 = em->engine_merges;
            worst = 0;
            step_logn = 0;
        }
    }
    step_report("  set wall times (us)");
    em = engine_metrics_get();
    print_message("  overload %7d sets/s: miss %.2f %%, merges %llu, segments "
                  "dropped %llu, worst set %.1f us\n",
                  per_tick * 100, 100.0 * (double)miss / (double)gets,
                  (unsigned long long)(em->engine_merges - merge0),
                  (unsigned long long)(em->engine_segments_dropped - drop0),
                  worst);
    /* writers assist the merges instead of dropping segments (was 37 and
     * 101 dropped, 0 merges) */
    assert_true(em->engine_segments_dropped - drop0 <= 10);
    engine_teardown();
}

static void
test_engine_bench_overload(void **state)
{
    (void)state;
    overload_run(2300);
    overload_run(10600);
}

/* ---- M4: value-size shift ---- */

static uint64_t m4_rng = 7;
static double m4_used, m4_rss; /* of the last m4_report() */

static uint64_t
m4_rnd(void)
{
    uint64_t z = (m4_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Writes `ops` random keys of [0, nkeys) with vlen-byte values, a server
 * tick every 1000 writes (10 ms of fake time). Tracks the peak of used /
 * live and of RSS growth / live. */
static void
m4_phase(int nkeys, size_t vlen, int ops, oh_time *now, uint64_t rss0,
         double *peak_used, double *peak_rss)
{
    static char v[1024];
    char k[32];
    memset(v, 'm', sizeof(v));
    for (int i = 0; i < ops; i++) {
        snprintf(k, sizeof(k), "m4:%09d", (int)(m4_rnd() % (uint64_t)nkeys));
        int rc = engine_set(k, strlen(k), v, vlen, OH_TIME_NONE, 0, *now);
        assert_int_equal(rc, 1);
        if (i % 1000 == 999) {
            tick(*now);
            *now += 10;
            struct engine_memory m;
            engine_memory(&m);
            double u = (double)m.used_bytes / (double)m.live_bytes;
            double r = (double)(rss_bytes() - rss0) / (double)m.live_bytes;
            *peak_used = u > *peak_used ? u : *peak_used;
            *peak_rss = r > *peak_rss ? r : *peak_rss;
            if (getenv("OH_M4_TRACE") != NULL && i % 20000 == 19999) {
                const struct engine_metrics *em = engine_metrics_get();
                print_message(
                    "    %7d: used %.1f live %.1f young %.1f idx %.1f "
                    "u/l %.3f moved %llu evicted %llu\n",
                    i, m.used_bytes / 1e6, m.live_bytes / 1e6,
                    em->engine_young_bytes_curr / 1e6, m.index_bytes / 1e6, u,
                    (unsigned long long)em->engine_items_moved,
                    (unsigned long long)em->engine_evicted);
            }
        }
    }
}

/* Prints the state and keeps used / live and RSS growth / live in m4_used
 * and m4_rss. */
static void
m4_report(const char *what, uint64_t rss0, double peak_used, double peak_rss)
{
    struct engine_memory m;
    engine_memory(&m);
    m4_used = (double)m.used_bytes / (double)m.live_bytes;
    m4_rss = (double)(rss_bytes() - rss0) / (double)m.live_bytes;
    print_message("  M4 %s: used/live %.3f (peak %.3f), RSS growth/live "
                  "%.3f (peak %.3f); used %.1f MB, live %.1f MB, %llu keys\n",
                  what, (double)m.used_bytes / (double)m.live_bytes, peak_used,
                  (double)(rss_bytes() - rss0) / (double)m.live_bytes, peak_rss,
                  m.used_bytes / 1e6, m.live_bytes / 1e6,
                  (unsigned long long)engine_count());
    const struct engine_metrics *em = engine_metrics_get();
    print_message("    young %.1f MB, index %.1f MB, set %llu, moved %llu, "
                  "compactions %llu, merges %llu, dropped %llu, evicted %llu\n",
                  em->engine_young_bytes_curr / 1e6, m.index_bytes / 1e6,
                  (unsigned long long)em->engine_set,
                  (unsigned long long)em->engine_items_moved,
                  (unsigned long long)em->engine_compactions,
                  (unsigned long long)em->engine_merges,
                  (unsigned long long)em->engine_segments_dropped,
                  (unsigned long long)em->engine_evicted);
}

/* DESIGN.md M4: 100 B values, then 1000 B values over the same keys under
 * a 64 MB limit. */
static void
test_engine_bench_m4_size_shift(void **state)
{
    (void)state;
    struct oh_config cfg;
    cfg_default(&cfg);
    cfg.maxmemory = 64ull << 20;
    uint64_t rss0 = rss_bytes();
    assert_int_equal(engine_setup(&cfg), 0);
    int nkeys = 400000;
    oh_time now = T0;
    double pu = 0, pr = 0;
    m4_phase(nkeys, 100, 2 * nkeys, &now, rss0, &pu, &pr);
    m4_report("100 B written", rss0, pu, pr);
    for (int i = 0; i < 300; i++, now += 10) {
        tick(now);
    }
    m4_report("100 B settled", rss0, pu, pr);
    /* the index (~10.6 B per 115 B entry) alone is 9 % here */
    assert_true(m4_used <= 1.20);
    pu = pr = 0;
    m4_phase(nkeys, 1000, nkeys / 2, &now, rss0, &pu, &pr);
    m4_report("1000 B, during the shift", rss0, pu, pr);
    m4_phase(nkeys, 1000, 2 * nkeys, &now, rss0, &pu, &pr);
    for (int i = 0; i < 300; i++, now += 10) {
        tick(now);
    }
    m4_report("1000 B settled", rss0, pu, pr);
    /* targets: <= 1.25 at peak, <= 1.10 settled. The peak is reached while
     * the index sized for 400 k small keys shrinks (both tables count);
     * RSS adds the pool segments kept for writers. */
    print_message("  M4 targets: peak used %.3f RSS %.3f (<= 1.25), settled "
                  "used %.3f RSS %.3f (<= 1.10)\n",
                  pu, pr, m4_used, m4_rss);
    /* reached: peak 1.19-1.20 used, 1.22-1.23 RSS; settled 1.07-1.10 used
     * and RSS (the hash seed varies between runs; before inserts took the
     * oldest ghost of a full chain: peak 1.25-1.27 / 1.26-1.31, settled
     * 1.08-1.12 / 1.09-1.16). The settled floor: index ~2.5 %, tails of the
     * open segments ~2 %, and dead copies left in young segments (not
     * cleaned under memory pressure, where the scavenge filter decides)
     * ~3 %. */
    assert_true(pu <= 1.25);
    assert_true(m4_used <= 1.12);
#ifndef OH_SANITIZED
    /* RSS under AddressSanitizer holds its shadow memory and quarantine,
     * not the engine's: only the engine's own accounting is checked there */
    assert_true(pr <= 1.30);
    assert_true(m4_rss <= 1.15);
#endif
    engine_teardown();
}

/* ---- warm-restart load path (P2) ---- */

/* Inserts n distinct keys with vlen-byte values as snapshot.c does (one
 * engine_set per entry, no steps in between), with or without the load
 * mode. Returns seconds per GB of key + value bytes. */
static double
load_run(int n, size_t vlen, bool bulk)
{
    struct oh_config cfg;
    cfg_default(&cfg);
    assert_int_equal(engine_setup(&cfg), 0);
    static char v[1000];
    char k[24];
    memset(v, 'l', sizeof(v));
    double t = now_us();
    if (bulk) {
        assert_int_equal(engine_reserve((uint64_t)n), 0);
    }
    unsigned flags = bulk ? ENGINE_SET_LOAD : 0;
    for (int i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof(k), "key:%d", i);
        assert_int_equal(
            engine_set(k, (size_t)kl, v, vlen, OH_TIME_NONE, flags, T0), 1);
    }
    if (bulk) {
        engine_reserve(0);
    }
    double sec = (now_us() - t) / 1e6;
    assert_int_equal(engine_count(), n);
    engine_teardown();
    return sec / ((double)n * (double)(vlen + 10) / 1e9);
}

static void
test_engine_bench_load(void **state)
{
    (void)state;
    const char *env = getenv("OH_BENCH_LOAD_ITEMS");
    int n = env != NULL ? atoi(env) : 262144;
    double a = load_run(n, 1000, false), b = load_run(n, 1000, true);
    print_message("  P2 load %d x 1000 B: engine_set %.3f s/GB, load mode "
                  "(reserve + ENGINE_SET_LOAD) %.3f s/GB\n",
                  n, a, b);
    double c = load_run(4 * n, 32, false), d = load_run(4 * n, 32, true);
    print_message("  P2 load %d x 32 B: engine_set %.3f s/GB (%.0f ns/key), "
                  "load mode %.3f s/GB (%.0f ns/key)\n",
                  4 * n, c, c * 42, d, d * 42);
}

/* ---- calibration of the per-operation cost estimates ---- */

/* Wall time against charged (estimated) time of one kind of slice. */
struct calib {
    const char *what;
    double wall_ns, charged_ns, worst_us;
    int calls;
    double *log; /* wall us of each slice */
};

static int cmp_double(const void *a, const void *b);

static void
calib_add(struct calib *c, double wall_us, int64_t charged_ns)
{
    if (charged_ns <= 0 && wall_us < 1) {
        return;
    }
    c->wall_ns += wall_us * 1000;
    c->charged_ns += (double)charged_ns;
    c->worst_us = wall_us > c->worst_us ? wall_us : c->worst_us;
    if (c->log == NULL) {
        c->log = malloc(sizeof(double) << 20);
    }
    if (c->calls < (1 << 20)) {
        c->log[c->calls] = wall_us;
    }
    c->calls++;
}

static void
calib_report(const struct calib *c)
{
    if (c->calls == 0) {
        return;
    }
    int n = c->calls < (1 << 20) ? c->calls : (1 << 20);
    qsort(c->log, (size_t)n, sizeof(double), cmp_double);
    print_message("  calib %-16s %6d slices of 50 us: wall/charged %.2f, "
                  "mean %.1f p50 %.1f p99 %.1f p99.9 %.1f max %.1f us\n",
                  c->what, c->calls, c->wall_ns / c->charged_ns,
                  c->wall_ns / 1000 / c->calls, c->log[n / 2],
                  c->log[n * 99 / 100], c->log[n * 999 / 1000], c->worst_us);
}

typedef bool step_fn(oh_time now, int64_t *budget);

/* gen_step without its expiry share. */
static bool
gen_only(oh_time now, int64_t *budget)
{
    return gen_step(now, budget);
}

static bool
expire_step_none(oh_time now, int64_t *budget)
{
    return gen_step(now, budget);
}

static bool
ix_step(oh_time now, int64_t *budget)
{
    (void)now;
    return index_step(budget);
}

/* Runs one 50 us slice of fn and accounts it in c. */
static bool
calib_slice(struct calib *c, step_fn *fn, oh_time now)
{
    int64_t budget = 50000;
    double t = now_us();
    bool more = fn(now, &budget);
    calib_add(c, now_us() - t, 50000 - budget);
    return more;
}

static void
test_engine_bench_calibrate(void **state)
{
    (void)state;
    struct oh_config cfg;
    cfg_default(&cfg);
    const char *env = getenv("OH_BENCH_ITEMS");
    int n = env != NULL ? atoi(env) : 1000000;
    struct calib grow = {"index grow", 0, 0, 0, 0};
    struct calib sweep = {"index sweep", 0, 0, 0, 0};
    struct calib shrink = {"index shrink", 0, 0, 0, 0};
    struct calib scav = {"gen scavenge", 0, 0, 0, 0};
    struct calib expsw = {"expire sweep", 0, 0, 0, 0};
    struct calib comp = {"gen compact", 0, 0, 0, 0};
    struct calib merge = {"gen evict merge", 0, 0, 0, 0};
    assert_int_equal(engine_setup(&cfg), 0);
    char k[16], v[128];
    memset(v, 'v', sizeof(v));
    oh_time now = T0;
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%011d", i);
        engine_set(k, 12, v, 32, T0 + 3600 * 1000, 0, now);
        if (i % 1000 == 999) {
            struct index_stats st;
            index_stats_get(&st);
            calib_slice(st.rehashing ? &grow : &sweep, ix_step, now);
            if (eng.job.kind != JOB_NONE || eng.young.n > 2) {
                calib_slice(&scav, expire_step_none, now);
            }
        }
    }
    for (int i = 0; i < 20000 && calib_slice(&scav, gen_only, now); i++) {
    }
    for (int i = 0; i < 200; i++) {
        calib_slice(&sweep, ix_step, now);
    }
    /* sweeps: two keys in three get an earlier expiry in place */
    oh_time at = now + 100;
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%011d", i);
        if (i % 3 != 0) {
            engine_expire(k, 12, at, now);
        }
    }
    now = at;
    while (calib_slice(&expsw, expire_step, now)) {
    }
    for (int i = 0; i < 100000 && calib_slice(&comp, gen_only, now); i++) {
    }
    for (int i = 0; i < 20000 && calib_slice(&shrink, ix_step, now); i++) {
    }
    /* deletes: the index shrinks, through whole engine steps */
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%011d", i);
        engine_del(k, 12, now);
    }
    step_logn = 0;
    for (int i = 0; i < 2000; i++, now += 10) {
        tick(now);
    }
    step_report("M5 delete-all (shrink, compaction, trim)");
    engine_teardown();
    /* merges under a limit */
    cfg.maxmemory = 64ull << 20;
    assert_int_equal(engine_setup(&cfg), 0);
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%011d", i);
        engine_set(k, 12, v, 100, OH_TIME_NONE, 0, now);
        if (i % 500 == 499) {
            calib_slice(&merge, gen_only, now);
        }
    }
    /* the same through whole engine steps, as the server ticks */
    step_logn = 0;
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "x%011d", i);
        engine_set(k, 12, v, 100, OH_TIME_NONE, 0, now);
        if (i % 1000 == 999) {
            tick(now);
            now += 10;
        }
    }
    step_report("M5 merge storm (64 MB limit, 100 B values)");
    engine_teardown();
    struct calib *all[] = {&grow,  &sweep, &shrink, &scav,
                           &expsw, &comp,  &merge};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        calib_report(all[i]);
        free(all[i]->log);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_bench_m1_m2_m5),
        cmocka_unit_test(test_engine_bench_m2_mixed),
        cmocka_unit_test(test_engine_bench_idle),
        cmocka_unit_test(test_engine_bench_overload),
        cmocka_unit_test(test_engine_bench_m4_size_shift),
        cmocka_unit_test(test_engine_bench_calibrate),
        cmocka_unit_test(test_engine_bench_load),
    };
    return cmocka_run_group_tests_name("engine_bench", tests, NULL, NULL);
}
