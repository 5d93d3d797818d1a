/* test_engine.c: unit tests of the engine facade (engine.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "tests/support/engine_cfg.h"

#define T0 ((oh_time)1700000000000) /* ms */

static struct oh_config cfg;

static void
cfg_fill(uint64_t maxmemory, const char *policy)
{
    engine_cfg_defaults(&cfg);
    cfg.maxmemory = maxmemory;
    cfg.maxmemory_policy = (char *)policy;
}

static int
setup_nolimit(void **state)
{
    (void)state;
    cfg_fill(0, "generational");
    return engine_setup(&cfg);
}

static int
teardown(void **state)
{
    (void)state;
    engine_teardown();
    return 0;
}

static int
set_str(const char *k, const char *v, oh_time exp, unsigned flags, oh_time now)
{
    return engine_set(k, strlen(k), v, strlen(v), exp, flags, now);
}

/* Returns 1 if k holds exactly v at now. */
static int
has(const char *k, const char *v, oh_time now)
{
    struct engine_item it;
    if (engine_get(k, strlen(k), now, &it) != 1) {
        return 0;
    }
    int ok = it.vlen == strlen(v) && memcmp(it.val, v, it.vlen) == 0 &&
             it.klen == strlen(k) && memcmp(it.key, k, it.klen) == 0;
    engine_release(&it);
    assert_int_equal(it.pin, 0);
    return ok ? 1 : -1;
}

/* A bulk load with the pre-faulting thread: every entry is stored and
 * readable, and stopping it (engine_reserve(0)) or tearing the engine down
 * while it runs is clean (ASan and valgrind runs of this test check). */
static void
test_engine_load_prefault_ahead(void **state)
{
    (void)state;
    char k[32], v[200];
    memset(v, 'v', sizeof(v));
    assert_int_equal(engine_reserve(20000), 0);
    engine_reserve_bytes(64ull << 20); /* more than the load takes */
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(k, sizeof(k), "load:%d", i);
        assert_int_equal(
            engine_set(k, (size_t)n, v, sizeof(v), 0, ENGINE_SET_LOAD, T0), 1);
    }
    engine_reserve(0); /* joins the thread, gives back untaken pages */
    assert_int_equal(engine_count(), 20000);
    for (int i = 0; i < 20000; i += 97) {
        int n = snprintf(k, sizeof(k), "load:%d", i);
        struct engine_item it;
        assert_int_equal(engine_get(k, (size_t)n, T0, &it), 1);
        assert_int_equal(it.vlen, sizeof(v));
        engine_release(&it);
    }
    /* a load cut short: the teardown stops a running thread */
    assert_int_equal(engine_reserve(1000), 0);
    engine_reserve_bytes(256ull << 20);
}

static void
test_engine_set_get(void **state)
{
    (void)state;
    assert_int_equal(set_str("a", "1", 0, 0, T0), 1);
    assert_int_equal(has("a", "1", T0), 1);
    assert_int_equal(has("b", "1", T0), 0);
    assert_int_equal(set_str("a", "22", 0, 0, T0), 1);
    assert_int_equal(has("a", "22", T0), 1);
    assert_int_equal(engine_count(), 1);
    /* binary keys and empty values */
    char k[3] = {'x', 0, 'y'};
    assert_int_equal(engine_set(k, 3, "", 0, 0, 0, T0), 1);
    struct engine_item it;
    assert_int_equal(engine_get(k, 3, T0, &it), 1);
    assert_int_equal(it.vlen, 0);
    engine_release(&it);
    assert_int_equal(engine_get(k, 2, T0, &it), 0);
    assert_int_equal(engine_count(), 2);
    assert_int_equal(engine_del(k, 3, T0), 1);
    assert_int_equal(engine_del(k, 3, T0), 0);
    assert_int_equal(engine_count(), 1);
}

static void
test_engine_set_flags(void **state)
{
    (void)state;
    assert_int_equal(set_str("k", "v", 0, ENGINE_SET_XX, T0), 0);
    assert_int_equal(set_str("k", "v", 0, ENGINE_SET_NX, T0), 1);
    assert_int_equal(set_str("k", "w", 0, ENGINE_SET_NX, T0), 0);
    assert_int_equal(has("k", "v", T0), 1);
    assert_int_equal(set_str("k", "w", 0, ENGINE_SET_XX, T0), 1);
    assert_int_equal(has("k", "w", T0), 1);
    assert_int_equal(set_str("k", "x", T0 + 1000, 0, T0), 1);
    assert_int_equal(set_str("k", "y", 0, ENGINE_SET_KEEPTTL, T0), 1);
    struct engine_item it;
    assert_int_equal(engine_peek("k", 1, T0, &it), 1);
    assert_int_equal(it.expire_at, T0 + 1000);
    engine_release(&it);
    /* an expiry in the past deletes */
    assert_int_equal(set_str("k", "z", T0 - 1, 0, T0), 1);
    assert_int_equal(has("k", "z", T0), 0);
    assert_int_equal(engine_count(), 0);
}

static void
test_engine_expiry_exact(void **state)
{
    (void)state;
    assert_int_equal(set_str("e", "v", T0 + 5000, 0, T0), 1);
    assert_int_equal(has("e", "v", T0 + 4999), 1);
    assert_int_equal(has("e", "v", T0 + 5000), 0);
    assert_int_equal(engine_count(), 0);
    /* far expiries use the 64-bit form */
    oh_time far = T0 + (oh_time)100 * 24 * 3600 * 1000;
    assert_int_equal(set_str("f", "v", far, 0, T0), 1);
    struct engine_item it;
    assert_int_equal(engine_peek("f", 1, T0, &it), 1);
    assert_int_equal(it.expire_at, far);
    engine_release(&it);
    assert_int_equal(has("f", "v", far - 1), 1);
    assert_int_equal(has("f", "v", far), 0);
}

static oh_time
ttl_of(const char *k, oh_time now)
{
    struct engine_item it;
    if (engine_peek(k, strlen(k), now, &it) != 1) {
        return -2;
    }
    oh_time e = it.expire_at;
    engine_release(&it);
    return e;
}

static void
test_engine_expire_persist(void **state)
{
    (void)state;
    assert_int_equal(engine_expire("n", 1, T0 + 10, T0), 0);
    assert_int_equal(set_str("p", "val", 0, 0, T0), 1);
    /* none -> expiry needs a rewrite */
    assert_int_equal(engine_expire("p", 1, T0 + 100, T0), 1);
    assert_int_equal(ttl_of("p", T0), T0 + 100);
    assert_int_equal(has("p", "val", T0 + 99), 1);
    /* in place */
    assert_int_equal(engine_expire("p", 1, T0 + 200, T0), 1);
    assert_int_equal(ttl_of("p", T0), T0 + 200);
    /* persist in place */
    assert_int_equal(engine_expire("p", 1, OH_TIME_NONE, T0), 1);
    assert_int_equal(ttl_of("p", T0 + 100000), OH_TIME_NONE);
    assert_int_equal(engine_expire("p", 1, T0 + 300, T0), 1);
    assert_int_equal(has("p", "val", T0 + 300), 0);
    assert_int_equal(set_str("q", "v", 0, 0, T0), 1);
    assert_int_equal(engine_expire("q", 1, T0, T0), 1);
    assert_int_equal(engine_count(), 0);
    assert_int_equal(engine_touch("q", 1, T0), 0);
    assert_int_equal(set_str("q", "v", 0, 0, T0), 1);
    assert_int_equal(engine_touch("q", 1, T0), 1);
    assert_true(engine_usage("q", 1, T0) >= 2 + 8);
    assert_int_equal(engine_usage("zz", 2, T0), 0);
}

/* Returns where k's key bytes live (to tell an in-place expiry update from
 * a rewrite); only compared, never read. */
static const char *
key_addr(const char *k, oh_time now)
{
    struct engine_item it;
    assert_int_equal(engine_peek(k, strlen(k), now, &it), 1);
    const char *p = it.key;
    engine_release(&it);
    return p;
}

/* The first item with an expiry sets its segment's exp_base: items within
 * 65.5 s after it take a 2-byte field, rewritten in place (expiry or
 * persist) while the new expiry fits it, and moved when it does not. */
static void
test_engine_expire_rel16(void **state)
{
    (void)state;
    oh_time e = T0 + 3600 * 1000;
    assert_int_equal(set_str("a", "val", e, 0, T0), 1);
    assert_int_equal(set_str("b", "val", e + 1000, 0, T0), 1);
    /* flags, vlen, 2-byte expiry, key, value; plus the index slot */
    assert_int_equal(engine_usage("a", 1, T0), 1 + 1 + 2 + 1 + 3 + 8);
    assert_int_equal(engine_usage("b", 1, T0), 1 + 1 + 2 + 1 + 3 + 8);
    const char *at = key_addr("b", T0);
    assert_int_equal(engine_expire("b", 1, e + 30000, T0), 1);
    assert_int_equal(ttl_of("b", T0), e + 30000);
    assert_int_equal(engine_expire("b", 1, OH_TIME_NONE, T0), 1);
    assert_int_equal(ttl_of("b", T0), OH_TIME_NONE);
    assert_int_equal(engine_expire("b", 1, e + 65534, T0), 1);
    assert_int_equal(ttl_of("b", T0), e + 65534);
    assert_ptr_equal(key_addr("b", T0), at);
    /* out of the 2-byte range: rewritten with a 3-byte field */
    assert_int_equal(engine_expire("b", 1, e + 70000, T0), 1);
    assert_int_equal(ttl_of("b", T0), e + 70000);
    assert_ptr_not_equal(key_addr("b", T0), at);
    assert_int_equal(engine_usage("b", 1, T0), 1 + 1 + 3 + 1 + 3 + 8);
    assert_int_equal(has("b", "val", e + 69999), 1);
    assert_int_equal(has("a", "val", e - 1), 1);
    assert_int_equal(has("a", "val", e), 0);
    assert_int_equal(has("b", "val", e + 70000), 0);
}

static void
test_engine_many_keys_and_flush(void **state)
{
    (void)state;
    char k[32], v[64];
    for (int i = 0; i < 200000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "value-%d", i * 7);
        assert_int_equal(set_str(k, v, 0, 0, T0), 1);
    }
    assert_int_equal(engine_count(), 200000);
    for (int i = 0; i < 200000; i += 7) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "value-%d", i * 7);
        assert_int_equal(has(k, v, T0), 1);
    }
    while (engine_step(T0, 50)) {
    }
    for (int i = 0; i < 200000; i += 3) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "value-%d", i * 7);
        assert_int_equal(has(k, v, T0), 1);
    }
    engine_flush();
    assert_int_equal(engine_count(), 0);
    assert_int_equal(has("key:5", "value-35", T0), 0);
    assert_int_equal(set_str("a", "b", 0, 0, T0), 1);
    assert_int_equal(has("a", "b", T0), 1);
}

static void
test_engine_large_values(void **state)
{
    (void)state;
    size_t n = 3 * 1024 * 1024;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) {
        big[i] = (char)(i * 31);
    }
    assert_int_equal(engine_set("big", 3, big, n, 0, 0, T0), 1);
    struct engine_item it;
    assert_int_equal(engine_get("big", 3, T0, &it), 1);
    assert_int_equal(it.vlen, n);
    assert_memory_equal(it.val, big, n);
    /* overwrite while pinned: the view stays valid */
    assert_int_equal(engine_set("big", 3, "small", 5, 0, 0, T0), 1);
    assert_memory_equal(it.val, big, n);
    engine_release(&it);
    assert_int_equal(has("big", "small", T0), 1);
    assert_int_equal(engine_set("big", 3, big, n, 0, 0, T0), 1);
    assert_int_equal(engine_del("big", 3, T0), 1);
    struct engine_memory m;
    engine_memory(&m);
    assert_true(m.used_bytes < n);
    free(big);
}

static void
test_engine_pin_survives_flush(void **state)
{
    (void)state;
    assert_int_equal(set_str("pk", "pinned-value", 0, 0, T0), 1);
    struct engine_item it;
    assert_int_equal(engine_get("pk", 2, T0, &it), 1);
    engine_flush();
    char k[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(k, sizeof(k), "fill:%d", i);
        assert_int_equal(set_str(k, "xxxxxxxxxxxxxxxxxxxxxxxx", 0, 0, T0), 1);
    }
    assert_memory_equal(it.val, "pinned-value", 12);
    engine_release(&it);
}

struct seen {
    uint8_t *bits;
    size_t n;
    size_t calls;
};

static void
scan_fn(void *arg, const char *key, size_t klen, oh_time expire_at)
{
    struct seen *s = arg;
    char buf[32];
    (void)expire_at;
    assert_true(klen < sizeof(buf));
    memcpy(buf, key, klen);
    buf[klen] = 0;
    long i = strtol(buf + 2, NULL, 10);
    if (i >= 0 && (size_t)i < s->n) {
        s->bits[i] = 1;
    }
    s->calls++;
}

static void
test_engine_scan_during_resize(void **state)
{
    (void)state;
    enum { N = 20000, M = 60000 };
    char k[32];
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "s:%d", i);
        assert_int_equal(set_str(k, "v", 0, 0, T0), 1);
    }
    struct seen s = {calloc(M, 1), M, 0};
    uint64_t cur = 0;
    int round = 0, added = N;
    do {
        cur = engine_scan(cur, 10, T0, scan_fn, &s);
        /* grow the table (and later shrink it) while scanning */
        for (int j = 0; j < 20 && added < M; j++, added++) {
            snprintf(k, sizeof(k), "s:%d", added);
            set_str(k, "v", 0, 0, T0);
        }
        if (round++ % 7 == 0) {
            engine_step(T0, 20);
        }
    } while (cur != 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(s.bits[i], 1);
    }
    /* shrink while scanning: delete the later keys */
    memset(s.bits, 0, M);
    cur = 0;
    int del = N;
    do {
        cur = engine_scan(cur, 5, T0, scan_fn, &s);
        for (int j = 0; j < 200 && del < added; j++, del++) {
            snprintf(k, sizeof(k), "s:%d", del);
            engine_del(k, strlen(k), T0);
        }
        engine_step(T0, 50);
    } while (cur != 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(s.bits[i], 1);
    }
    free(s.bits);
}

static void
test_engine_random(void **state)
{
    (void)state;
    struct engine_item it;
    assert_int_equal(engine_random(T0, 1, &it), 0);
    set_str("r1", "a", T0 + 10, 0, T0);
    set_str("r2", "b", 0, 0, T0);
    for (uint64_t seed = 0; seed < 50; seed++) {
        assert_int_equal(engine_random(T0 + 20, seed, &it), 1);
        assert_memory_equal(it.key, "r2", 2);
        engine_release(&it);
    }
}

/* A random key is found in bounded calls even when the table is sparse
 * (mass delete before the index shrinks). */
static void
test_engine_random_sparse(void **state)
{
    (void)state;
    char k[32];
    for (int i = 0; i < 200000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        assert_int_equal(set_str(k, "v", 0, 0, T0), 1);
    }
    for (int i = 0; i < 200000; i++) {
        if (i != 123457 % 200000) {
            snprintf(k, sizeof(k), "key:%d", i);
            assert_int_equal(engine_del(k, strlen(k), T0), 1);
        }
    }
    struct engine_item it;
    int calls = 0, found = 0;
    while (!found && calls < 64) {
        found = engine_random(T0, (uint64_t)calls, &it);
        calls++;
    }
    assert_int_equal(found, 1);
    assert_memory_equal(it.key, "key:123457", 10);
    engine_release(&it);
    print_message("  sparse random: found after %d calls\n", calls);
}

/* engine_flush hands the old index to background steps. */
static void
test_engine_flush_is_incremental(void **state)
{
    (void)state;
    char k[32];
    for (int i = 0; i < 300000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        assert_int_equal(set_str(k, "v", 0, 0, T0), 1);
    }
    engine_flush();
    engine_flush(); /* twice in a row: both old tables queue up */
    assert_int_equal(engine_count(), 0);
    assert_int_equal(has("key:5", "v", T0), 0);
    assert_int_equal(set_str("key:5", "w", 0, 0, T0), 1);
    struct engine_memory m;
    engine_memory(&m);
    assert_true(m.index_bytes > 1024 * 1024); /* not freed yet */
    int steps = 0;
    while (engine_step(T0, 50) && steps < 100000) {
        steps++;
    }
    engine_memory(&m);
    print_message("  flush: index %llu B after %d steps\n",
                  (unsigned long long)m.index_bytes, steps);
    assert_true(m.index_bytes < 64 * 1024);
    assert_int_equal(has("key:5", "w", T0), 1);
    assert_int_equal(engine_count(), 1);
}

/* ---- expiry reclaim, memory ---- */

static void
fill_ttl(int n, oh_time exp, oh_time now)
{
    char k[16], v[33];
    memset(v, 'v', 32);
    v[32] = 0;
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%011d", i);
        assert_int_equal(engine_set(k, 12, v, 32, exp, 0, now), 1);
    }
}

static void
test_engine_expired_memory_returns(void **state)
{
    (void)state;
    enum { N = 300000 };
    fill_ttl(N, T0 + 3600 * 1000, T0);
    for (int i = 0; i < 100; i++) {
        engine_step(T0 + i, 50);
    }
    struct engine_memory m0, m1;
    engine_memory(&m0);
    const struct engine_metrics *em = engine_metrics_get();
    print_message("  300k 12/32 items: used %.1f B/item (index %.1f B/item), "
                  "young %llu old %llu segs\n",
                  (double)m0.used_bytes / N, (double)m0.index_bytes / N,
                  (unsigned long long)em->engine_young_segments_curr,
                  (unsigned long long)em->engine_old_segments_curr);
    /* nothing early */
    oh_time t = T0 + 3600 * 1000;
    assert_int_equal(has("k00000000007", "", t - 1), -1);
    /* steps of 50 us, 100 per second, for one second after T */
    for (int i = 0; i < 100; i++) {
        engine_step(t + i * 10, 50);
    }
    engine_memory(&m1);
    print_message("  used before %llu after %llu (index %llu)\n",
                  (unsigned long long)m0.used_bytes,
                  (unsigned long long)m1.used_bytes,
                  (unsigned long long)m1.index_bytes);
    assert_true(m1.used_bytes - m1.index_bytes <=
                (m0.used_bytes - m0.index_bytes) / 100);
    assert_int_equal(has("k00000000007", "", t), 0);
    assert_true(engine_metrics_get()->engine_step_max_us <= 60);
}

/* A clock that moves 1 us per read: deterministic, and slow enough that
 * the step's deadline, not its estimates, ends every busy step. */
static uint64_t fake_ns;

static uint64_t
fake_clock(void)
{
    fake_ns += 1000;
    return fake_ns;
}

static int
teardown_clock(void **state)
{
    engine_set_clock(NULL);
    return teardown(state);
}

/* With a clock installed, a step ends at its deadline (60 % of 50 us)
 * however much work is due, no part of the step starves the others, and
 * the work (expiry sweeps, promotion of the live third, index sweeps)
 * completes with the data intact. */
static void
test_engine_step_deadline(void **state)
{
    (void)state;
    char k[32];
    oh_time exp = T0 + 1000;
    for (int i = 0; i < 150000; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        /* a mixed segment: every third entry expires */
        assert_int_equal(set_str(k, "value", i % 3 ? 0 : exp, 0, T0), 1);
    }
    for (int i = 0; i < 150000; i += 3) {
        snprintf(k, sizeof(k), "k%d", i + 1);
        assert_int_equal(engine_del(k, strlen(k), T0), 1); /* compaction */
    }
    engine_set_clock(fake_clock);
    engine_metrics_reset();
    oh_time now = exp + 1;
    int steps = 0;
    while (engine_step(now, 50) && steps < 1000000) {
        steps++;
        now += steps % 100 == 0; /* 100 steps per ms */
    }
    const struct engine_metrics *m = engine_metrics_get();
    print_message("  %d steps, longest %llu us by the clock\n", steps,
                  (unsigned long long)m->engine_step_max_us);
    /* without the shares the index sweep took every step: 822 k steps */
    assert_true(steps > 100 && steps < 50000);
    assert_true(m->engine_step_max_us <= 32); /* 30 us + the closing read */
    assert_int_equal(engine_count(), 50000);
    assert_int_equal(m->engine_expired, 50000);
    for (int i = 0; i < 150000; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        assert_int_equal(has(k, "value", now), i % 3 == 2 ? 1 : 0);
    }
}

/* One server tick (ev.c): up to 20 steps of 50 us while work remains. */
static void
tick(oh_time now)
{
    for (int i = 0; i < 20 && engine_step(now, 50); i++) {
    }
}

static uint64_t
ttl_keys(void)
{
    return engine_metrics_get()->engine_keys_with_ttl_curr;
}

/* The integration test's case: short TTLs next to keys without one, all in
 * the open young segment, no memory limit. */
static void
test_engine_expiry_open_young(void **state)
{
    (void)state;
    char k[32];
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof(k), "tmp:%d", i);
        assert_int_equal(set_str(k, "v", T0 + 50, 0, T0), 1);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(k, sizeof(k), "keep:%d", i);
        assert_int_equal(set_str(k, "v", 0, 0, T0), 1);
    }
    assert_int_equal(ttl_keys(), 200);
    oh_time now = T0;
    for (; now < T0 + 50; now += 10) {
        tick(now);
        assert_int_equal(engine_count(), 205); /* nothing early */
    }
    for (; now <= T0 + 50 + 200 && engine_count() != 5; now += 10) {
        tick(now);
    }
    assert_int_equal(engine_count(), 5);
    assert_int_equal(ttl_keys(), 0);
    assert_true(engine_metrics_get()->engine_expired_swept == 200);
    for (int i = 0; i < 5; i++) {
        snprintf(k, sizeof(k), "keep:%d", i);
        assert_int_equal(has(k, "v", now), 1);
    }
}

static void
key_of_n(char *k, int i)
{
    snprintf(k, 32, "m:%07d", i);
}

/* Mixed expiries in one segment (sorted and not): each key goes at its
 * own expiry, never before, and the count follows within about 1 s. */
static void
test_engine_expiry_mixed_segment(void **state)
{
    (void)state;
    enum { N = 3000 };
    char k[32];
    /* i % 3: 0 no TTL, 1 TTL of 100 + i/10 ms (unsorted by the shuffle
     * below), 2 TTL 1 h */
    for (int i = 0; i < N; i++) {
        key_of_n(k, i);
        oh_time exp = i % 3 == 0   ? OH_TIME_NONE
                      : i % 3 == 1 ? T0 + 100 + (N - i) / 10
                                   : T0 + 3600 * 1000;
        assert_int_equal(set_str(k, "value", exp, 0, T0), 1);
    }
    assert_int_equal(ttl_keys(), 2 * N / 3);
    oh_time last = T0 + 100 + N / 10;
    for (oh_time now = T0; now <= last + 1100; now += 10) {
        tick(now);
        uint64_t want = 0;
        for (int i = 0; i < N; i++) {
            oh_time exp = i % 3 != 1 ? 0 : T0 + 100 + (N - i) / 10;
            want += exp == 0 || exp > now;
        }
        /* never fewer than the live keys; at most 1.1 s behind */
        assert_true(engine_count() >= want);
        if (now >= last + 1100) {
            assert_int_equal(engine_count(), want);
        }
        for (int i = 1; i < N; i += 97) {
            key_of_n(k, i);
            oh_time exp = i % 3 != 1 ? 0 : T0 + 100 + (N - i) / 10;
            struct engine_item it;
            int rc = engine_peek(k, strlen(k), now, &it);
            assert_int_equal(rc, exp == 0 || exp > now ? 1 : 0);
            if (rc == 1) {
                engine_release(&it);
            }
        }
    }
    assert_int_equal(engine_count(), 2 * N / 3);
    assert_int_equal(ttl_keys(), N / 3);
}

/* Old segments whose items get a shorter expiry in place (unsorted, mixed
 * with live ones): the count drops and the memory returns (compaction),
 * with no memory limit. */
static void
test_engine_expiry_old_mixed_memory(void **state)
{
    (void)state;
    enum { N = 150000 };
    char k[32], v[64];
    memset(v, 'x', 60);
    v[60] = 0;
    oh_time now = T0;
    for (int i = 0; i < N; i++) {
        key_of_n(k, i);
        assert_int_equal(set_str(k, v, T0 + 3600 * 1000, 0, now), 1);
        if (i % 1000 == 999) {
            tick(now);
            now += 10;
        }
    }
    for (int i = 0; i < 200; i++, now += 10) {
        tick(now);
    }
    oh_time at = now + 500;
    /* two keys in three get a short expiry in place, one loses its TTL */
    for (int i = 0; i < N; i++) {
        key_of_n(k, i);
        oh_time e = i % 3 == 0 ? OH_TIME_NONE : at;
        assert_int_equal(engine_expire(k, strlen(k), e, now), 1);
    }
    assert_int_equal(ttl_keys(), N - N / 3);
    struct engine_memory m0, m1;
    engine_memory(&m0);
    for (; now < at; now += 10) {
        tick(now);
    }
    assert_int_equal(engine_count(), N);
    for (; now <= at + 1000; now += 10) {
        tick(now);
    }
    engine_memory(&m1);
    print_message("  old mixed: count %llu, segments %llu -> %llu B, live "
                  "%llu -> %llu B\n",
                  (unsigned long long)engine_count(),
                  (unsigned long long)(m0.used_bytes - m0.index_bytes),
                  (unsigned long long)(m1.used_bytes - m1.index_bytes),
                  (unsigned long long)m0.live_bytes,
                  (unsigned long long)m1.live_bytes);
    assert_int_equal(engine_count(), N / 3);
    assert_int_equal(ttl_keys(), 0);
    /* the dead two thirds came back, up to a few partly filled segments */
    assert_true(m1.used_bytes - m1.index_bytes <=
                m1.live_bytes + 4 * 1024 * 1024);
    for (int i = 0; i < N; i += 7) {
        key_of_n(k, i);
        assert_int_equal(has(k, v, now), i % 3 == 0 ? 1 : 0);
    }
}

static int
setup_limit(void **state)
{
    (void)state;
    cfg_fill(8 * 1024 * 1024, "allkeys-lru");
    return engine_setup(&cfg);
}

static int
setup_noevict(void **state)
{
    (void)state;
    cfg_fill(8 * 1024 * 1024, "noeviction");
    return engine_setup(&cfg);
}

static void
test_engine_maxmemory_evicts(void **state)
{
    (void)state;
    char k[32], v[128];
    struct engine_memory m;
    for (int i = 0; i < 400000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "%0100d", i);
        assert_int_equal(set_str(k, v, 0, 0, T0), 1);
        if (i % 64 == 0) {
            engine_step(T0, 50);
        }
        engine_memory(&m);
        assert_true(m.used_bytes <= m.maxmemory);
    }
    int hits = 0;
    for (int i = 0; i < 400000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "%0100d", i);
        int h = has(k, v, T0);
        assert_true(h >= 0);
        hits += h;
    }
    assert_true(hits > 10000);
    assert_int_equal(hits, (int)engine_count());
    assert_true(engine_metrics_get()->engine_evicted > 0);
}

static void
test_engine_noeviction_keeps_data(void **state)
{
    (void)state;
    char k[32], v[128];
    int stored = 0;
    for (int i = 0; i < 400000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "%0100d", i);
        int rc = set_str(k, v, 0, 0, T0);
        if (rc == OH_NOMEM) {
            break;
        }
        assert_int_equal(rc, 1);
        stored++;
        if (i % 64 == 0) {
            engine_step(T0, 50);
        }
    }
    assert_true(stored > 10000 && stored < 400000);
    for (int i = 0; i < 100; i++) {
        engine_step(T0, 50);
    }
    for (int i = 0; i < stored; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "%0100d", i);
        assert_int_equal(has(k, v, T0), 1);
    }
    assert_int_equal(engine_metrics_get()->engine_evicted, 0);
    /* deleting makes room again (after compaction) */
    for (int i = 0; i < stored; i += 2) {
        snprintf(k, sizeof(k), "key:%d", i);
        assert_int_equal(engine_del(k, strlen(k), T0), 1);
    }
    for (int i = 0; i < 2000; i++) {
        engine_step(T0, 50);
    }
    assert_int_equal(set_str("after", "x", 0, 0, T0), 1);
    for (int i = 1; i < stored; i += 2) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "%0100d", i);
        assert_int_equal(has(k, v, T0), 1);
    }
}

static void
test_engine_compaction_reclaims(void **state)
{
    (void)state;
    char k[32], v[128];
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 50000; i++) {
            snprintf(k, sizeof(k), "key:%d", i);
            snprintf(v, sizeof(v), "%0100d", i + round);
            assert_int_equal(set_str(k, v, 0, 0, T0), 1);
        }
    }
    for (int i = 0; i < 20000; i++) {
        engine_step(T0, 50);
    }
    struct engine_memory m;
    engine_memory(&m);
    print_message("  after overwrites: used %llu live %llu\n",
                  (unsigned long long)m.used_bytes,
                  (unsigned long long)m.live_bytes);
    assert_true(m.used_bytes - m.index_bytes < m.live_bytes * 2);
    for (int i = 0; i < 50000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        snprintf(v, sizeof(v), "%0100d", i + 4);
        assert_int_equal(has(k, v, T0), 1);
    }
}

static void
test_engine_ghost_hit(void **state)
{
    (void)state;
    char k[32], v[128];
    memset(v, 'g', 100);
    v[100] = 0;
    for (int i = 0; i < 300000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        assert_int_equal(set_str(k, v, 0, 0, T0), 1);
        if (i % 32 == 0) {
            engine_step(T0, 50);
        }
    }
    for (int i = 0; i < 300000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        if (has(k, v, T0) == 0) {
            set_str(k, v, 0, 0, T0);
        }
    }
    const struct engine_metrics *m = engine_metrics_get();
    print_message("  ghost hits %llu promoted %llu merges %llu dropped segs "
                  "%llu\n",
                  (unsigned long long)m->engine_ghost_hits,
                  (unsigned long long)m->engine_promoted,
                  (unsigned long long)m->engine_merges,
                  (unsigned long long)m->engine_segments_dropped);
    assert_true(m->engine_ghost_hits > 0);
}

static void
test_engine_pin_survives_eviction(void **state)
{
    (void)state;
    char k[32], v[128];
    memset(v, 'p', 100);
    v[100] = 0;
    assert_int_equal(set_str("pinned", "the pinned value", 0, 0, T0), 1);
    struct engine_item it;
    assert_int_equal(engine_get("pinned", 6, T0, &it), 1);
    for (int i = 0; i < 300000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        assert_int_equal(set_str(k, v, 0, 0, T0), 1);
        if (i % 16 == 0) {
            engine_step(T0, 50);
        }
    }
    assert_true(engine_metrics_get()->engine_evicted > 200000);
    assert_memory_equal(it.val, "the pinned value", 16);
    assert_memory_equal(it.key, "pinned", 6);
    engine_release(&it);
    struct engine_memory m;
    engine_memory(&m);
    assert_true(m.used_bytes <= m.maxmemory);
}

static void
test_engine_reconfigure_shrinks(void **state)
{
    (void)state;
    char k[32], v[128];
    memset(v, 'r', 100);
    v[100] = 0;
    for (int i = 0; i < 50000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        assert_int_equal(set_str(k, v, 0, 0, T0), 1);
    }
    cfg.maxmemory = 2 * 1024 * 1024;
    engine_reconfigure(&cfg);
    for (int i = 0; i < 1000; i++) {
        engine_step(T0, 50);
    }
    struct engine_memory m;
    engine_memory(&m);
    assert_true(m.used_bytes <= 2 * 1024 * 1024);
    assert_true(engine_count() > 1000);
    cfg.maxmemory_policy = (char *)"noeviction";
    engine_reconfigure(&cfg);
    uint64_t before = engine_count();
    for (int i = 0; i < 50000; i++) {
        snprintf(k, sizeof(k), "more:%d", i);
        if (set_str(k, v, 0, 0, T0) != 1) {
            break;
        }
    }
    for (int i = 0; i < 100; i++) {
        engine_step(T0, 50);
    }
    assert_int_equal(engine_metrics_get()->engine_set_ex, 1);
    assert_true(engine_count() >= before);
}

/* Without memory pressure, a young segment whose items all expire in
 * order within one TTL group moves to old whole (no copy); one whose TTLs
 * differ is copied into TTL groups. Both expire on time. */
static void
test_engine_young_grouped_moves_whole(void **state)
{
    (void)state;
    enum { N = 200000 };
    fill_ttl(N, T0 + 3600 * 1000, T0);
    for (int i = 0; i < 300; i++) {
        engine_step(T0 + i, 50);
    }
    const struct engine_metrics *em = engine_metrics_get();
    assert_true(em->engine_promoted > N / 2);
    assert_int_equal(em->engine_items_moved, 0);
    /* two TTLs interleaved: young sorts them into groups by copying */
    char k[16], v[33];
    memset(v, 'w', 32);
    v[32] = 0;
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "m%011d", i);
        oh_time exp = T0 + (i % 2 ? 60 : 3600) * 1000;
        assert_int_equal(engine_set(k, 12, v, 32, exp, 0, T0 + 300), 1);
    }
    for (int i = 0; i < 5000; i++) {
        engine_step(T0 + 300 + i, 50);
    }
    assert_true(engine_metrics_get()->engine_items_moved > N / 4);
    /* nothing early, nothing late */
    const char *vk = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"; /* fill_ttl's */
    assert_int_equal(has("k00000000007", vk, T0 + 3600 * 1000 - 1), 1);
    assert_int_equal(has("m00000000001", v, T0 + 60 * 1000 - 1), 1);
    assert_int_equal(has("m00000000001", v, T0 + 60 * 1000), 0);
    assert_int_equal(has("k00000000007", vk, T0 + 3600 * 1000), 0);
    for (int i = 0; i < 3000; i++) {
        engine_step(T0 + 3600 * 1000 + i, 50);
    }
    assert_int_equal(engine_count(), 0);
}

/* A shrink lands on the smallest table that holds the live keys below the
 * growth load (4-8 per bucket), not on one twice that size. */
static void
test_engine_index_shrink_lands_below_growth(void **state)
{
    (void)state;
    enum { N = 400000, KEEP = 100000 };
    char k[16];
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "s%011d", i);
        assert_int_equal(set_str(k, "v", 0, 0, T0), 1);
    }
    for (int i = 0; i < 2000; i++) {
        engine_step(T0 + i, 50);
    }
    uint64_t grown = engine_metrics_get()->engine_index_buckets_curr;
    assert_true(grown * 8 >= N && grown * 4 < N); /* grew at load 8 */
    for (int i = KEEP; i < N; i++) {
        snprintf(k, sizeof(k), "s%011d", i);
        assert_int_equal(engine_del(k, 12, T0 + 2000), 1);
    }
    for (int i = 0; i < 20000; i++) {
        engine_step(T0 + 2000 + i, 50);
    }
    const struct engine_metrics *em = engine_metrics_get();
    assert_int_equal(em->engine_index_rehashing_curr, 0);
    uint64_t b = em->engine_index_buckets_curr;
    print_message("  %d keys: %llu buckets; %d left: %llu buckets\n", N,
                  (unsigned long long)grown, KEEP, (unsigned long long)b);
    assert_true(b * 8 >= KEEP && b * 4 < KEEP);
    snprintf(k, sizeof(k), "s%011d", KEEP - 1);
    assert_int_equal(has(k, "v", T0 + 30000), 1);
}

/* The free pool keeps a few segments resident while writes go on, and
 * gives them all back once no segment was borrowed for a second. */
static void
test_engine_pool_trims_when_idle(void **state)
{
    (void)state;
    fill_ttl(300000, T0 + 500, T0);
    for (int i = 0; i < 4000; i++) {
        engine_step(T0 + 500 + i / 10, 50);
    }
    assert_int_equal(engine_count(), 0);
    const struct engine_metrics *em = engine_metrics_get();
    print_message("  free segments %llu\n",
                  (unsigned long long)em->engine_free_segments_curr);
    assert_true(em->engine_free_segments_curr >= 1);
    assert_true(em->engine_free_segments_curr <= 2);
    for (int i = 0; i < 200; i++) {
        engine_step(T0 + 1000 + i * 10, 50);
    }
    assert_int_equal(engine_metrics_get()->engine_free_segments_curr, 0);
    struct engine_memory m;
    engine_memory(&m);
    assert_true(m.reserved_bytes < 1024 * 1024);
}

/* Under maxmemory with no background steps, writers make room themselves.
 * Index growths finish inside writes (a chain moves per insert) and leave
 * the old table's overflow chunks dead, 32 KiB each; a writer that needs a
 * segment must release as many as it takes, or evict, and never fail.
 * (When each chunk counted as one of a writer's 16 tries, the set of key
 * 808 265 failed with OH_NOMEM here.) */
static void
test_engine_writers_never_fail_under_limit(void **state)
{
    (void)state;
    engine_teardown();
    cfg_fill(32 * 1024 * 1024, "generational");
    assert_int_equal(engine_setup(&cfg), 0);
    char k[24];
    for (int i = 0; i < 1000000; i++) {
        snprintf(k, sizeof(k), "w%011d", i);
        assert_int_equal(set_str(k, "0123456789", 0, 0, T0), 1);
    }
    struct engine_memory m;
    engine_memory(&m);
    assert_true(m.used_bytes <= 32 * 1024 * 1024);
    assert_true(engine_metrics_get()->engine_evicted > 0);
}

/* With proactive expiry off, steps leave expired entries counted (a read
 * still never returns one and removes it); on again, steps remove them. */
static void
test_engine_active_expire_off(void **state)
{
    (void)state;
    engine_set_active_expire(false);
    fill_ttl(1000, T0 + 100, T0);
    for (int i = 0; i < 200; i++) {
        engine_step(T0 + 100 + i * 10, 50);
    }
    assert_int_equal(engine_count(), 1000);
    assert_int_equal(has("k00000000007", "", T0 + 2100), 0);
    assert_int_equal(engine_count(), 999);
    engine_set_active_expire(true);
    for (int i = 0; i < 200; i++) {
        engine_step(T0 + 2100 + i * 10, 50);
    }
    assert_int_equal(engine_count(), 0);
}

static void
test_engine_metrics_table(void **state)
{
    (void)state;
    set_str("a", "b", 0, 0, T0);
    const struct engine_metrics *m = engine_metrics_get();
    size_t n = 0;
    for (const struct metric_desc *d = engine_metric_descs; d->name; d++) {
        n++;
    }
    assert_int_equal(n * sizeof(uint64_t), sizeof(struct engine_metrics));
    assert_int_equal(m->engine_keys_curr, 1);
    assert_int_equal(m->engine_set, 1);
    engine_metrics_reset();
    assert_int_equal(engine_metrics_get()->engine_set, 0);
    assert_int_equal(engine_metrics_get()->engine_keys_curr, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_nolimit, teardown)
        T(test_engine_set_get),
        T(test_engine_load_prefault_ahead),
        T(test_engine_set_flags),
        T(test_engine_expiry_exact),
        T(test_engine_expire_persist),
        T(test_engine_expire_rel16),
        T(test_engine_many_keys_and_flush),
        T(test_engine_large_values),
        T(test_engine_pin_survives_flush),
        T(test_engine_scan_during_resize),
        T(test_engine_random),
        T(test_engine_random_sparse),
        T(test_engine_flush_is_incremental),
        T(test_engine_expired_memory_returns),
        T(test_engine_expiry_open_young),
        T(test_engine_expiry_mixed_segment),
        T(test_engine_expiry_old_mixed_memory),
        T(test_engine_compaction_reclaims),
        T(test_engine_metrics_table),
        T(test_engine_active_expire_off),
        T(test_engine_young_grouped_moves_whole),
        T(test_engine_index_shrink_lands_below_growth),
        T(test_engine_pool_trims_when_idle),
#undef T
        cmocka_unit_test_setup_teardown(test_engine_maxmemory_evicts,
                                        setup_limit, teardown),
        cmocka_unit_test_setup_teardown(test_engine_ghost_hit, setup_limit,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_engine_pin_survives_eviction,
                                        setup_limit, teardown),
        cmocka_unit_test_setup_teardown(test_engine_reconfigure_shrinks,
                                        setup_limit, teardown),
        cmocka_unit_test_setup_teardown(
            test_engine_writers_never_fail_under_limit, setup_limit, teardown),
        cmocka_unit_test_setup_teardown(test_engine_noeviction_keeps_data,
                                        setup_noevict, teardown),
        cmocka_unit_test_setup_teardown(test_engine_step_deadline,
                                        setup_nolimit, teardown_clock),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
