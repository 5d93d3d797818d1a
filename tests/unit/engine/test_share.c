/* test_share.c: the engine's shared mapping read the way local readers
 * read it (proto/shm_read.c), checked against the engine itself after
 * every kind of change: overwrite, delete, expiry, eviction, compaction,
 * index growth and shrink, FLUSHALL, a save's fork, teardown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine.h"
#include "tests/support/engine_cfg.h"
#include "proto/shm.h"

#define T0 ((oh_time)1700000000000) /* ms */

static struct oh_config cfg;
static struct shm_map map;
static void *base;
static uint64_t bytes;

static void
cfg_fill(uint64_t maxmemory)
{
    engine_cfg_defaults(&cfg);
    cfg.maxmemory = maxmemory;
    cfg.local_reads = 1;
}

/* Maps the engine's memfd read-only, as a client would. */
static int
map_engine(void)
{
    int fd = engine_share_fd();
    if (fd < 0) {
        return -1;
    }
    bytes = (uint64_t)lseek(fd, 0, SEEK_END);
    base = mmap(NULL, bytes, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, 0);
    return base == MAP_FAILED ? -1 : shm_map_init(&map, base, bytes);
}

static int
setup_with(uint64_t maxmemory)
{
    cfg_fill(maxmemory);
    if (engine_setup(&cfg) != 0) {
        return -1;
    }
    return map_engine();
}

static int
setup_nolimit(void **state)
{
    (void)state;
    return setup_with(0);
}

static int
setup_limited(void **state)
{
    (void)state;
    return setup_with(16 * 1024 * 1024);
}

static int
teardown(void **state)
{
    (void)state;
    engine_teardown();
    munmap(base, bytes);
    return 0;
}

/* Reads key from the mapping as of now: 1 with the value in out, 0 on a
 * miss, SHM_FALLBACK for a value only the server gives. */
static int
local_get(const char *key, oh_time now, char *out, size_t cap, size_t *len)
{
    struct shm_found f;
    for (int i = 0; i < 8; i++) {
        int rc = shm_find(&map, key, strlen(key), now, &f);
        if (rc != SHM_HIT) {
            if (rc != SHM_RETRY) {
                return rc;
            }
            continue;
        }
        size_t n = f.vlen < cap ? f.vlen : cap;
        memcpy(out, f.val, n);
        *len = f.vlen;
        if (shm_still_valid(&map, &f)) {
            return 1;
        }
    }
    return SHM_RETRY; /* single-threaded: nothing may change under us */
}

/* Asserts that the mapping and the engine agree on key at now. */
static void
agree(const char *key, oh_time now)
{
    char buf[256];
    size_t len = 0;
    struct engine_item it;
    int want = engine_peek(key, strlen(key), now, &it);
    int got = local_get(key, now, buf, sizeof(buf), &len);
    if (got == SHM_FALLBACK) {
        assert_int_equal(want, 1); /* a large value: the server answers */
        assert_true(it.vlen > sizeof(buf));
    } else {
        if (got != want) {
            fail_msg("key %s: local %d engine %d", key, got, want);
        }
        if (want == 1) {
            assert_int_equal(len, it.vlen);
            assert_memory_equal(buf, it.val, len);
        }
    }
    if (want == 1) {
        engine_release(&it);
    }
}

static void
put(unsigned i, unsigned version, oh_time exp, oh_time now)
{
    char k[32], v[200];
    snprintf(k, sizeof(k), "key:%u", i);
    int n = snprintf(v, sizeof(v), "%s/v%u/%0*u", k, version,
                     (int)(10 + (i * 7 + version) % 60), i);
    assert_int_equal(engine_set(k, strlen(k), v, (size_t)n, exp, 0, now), 1);
}

static void
agree_all(unsigned n, oh_time now)
{
    char k[32];
    for (unsigned i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "key:%u", i);
        agree(k, now);
    }
}

static void
steps(oh_time now, int n)
{
    for (int i = 0; i < n; i++) {
        engine_step(now, 50);
    }
}

static void
test_share_reads_follow_every_change(void **state)
{
    (void)state;
    const unsigned n = 60000;
    oh_time now = T0;
    for (unsigned i = 0; i < n; i++) {
        put(i, 0, i % 3 == 0 ? now + 1000 + i % 5000 : 0, now);
        if (i % 5000 == 0) {
            agree_all(i, now); /* while the index grows */
        }
    }
    agree_all(n, now);
    for (unsigned i = 0; i < n; i += 2) { /* overwrite half */
        put(i, 1, 0, now);
    }
    for (unsigned i = 1; i < n; i += 10) {
        char k[32];
        snprintf(k, sizeof(k), "key:%u", i);
        engine_del(k, strlen(k), now);
    }
    agree_all(n, now);
    for (unsigned i = 5; i < n; i += 50) { /* EXPIRE in place */
        char k[32];
        snprintf(k, sizeof(k), "key:%u", i);
        engine_expire(k, strlen(k), now + 500, now);
    }
    agree_all(n, now);
    now += 3000; /* some expire, by the reader's clock as by the engine's */
    agree_all(n, now);
    steps(now, 2000); /* expiry, compaction, shrink */
    agree_all(n, now);
    now += 10000;
    steps(now, 4000);
    agree_all(n, now);
    engine_flush();
    agree_all(n, now);
    steps(now, 200);
    for (unsigned i = 0; i < 1000; i++) {
        put(i, 2, 0, now);
    }
    agree_all(n, now);
}

static void
test_share_large_values_fall_back(void **state)
{
    (void)state;
    size_t big = 300 * 1024;
    char *v = malloc(big);
    memset(v, 'x', big);
    assert_int_equal(engine_set("big", 3, v, big, 0, 0, T0), 1);
    struct shm_found f;
    assert_int_equal(shm_find(&map, "big", 3, T0, &f), SHM_FALLBACK);
    free(v);
}

static void
test_share_eviction(void **state)
{
    (void)state;
    const unsigned n = 400000; /* far more than 16 MiB holds */
    oh_time now = T0;
    for (unsigned i = 0; i < n; i++) {
        put(i, 0, 0, now);
        if (i % 1000 == 0) {
            steps(now, 2);
        }
        if (i % 50000 == 0) {
            agree_all(i, now);
        }
    }
    steps(now, 500);
    agree_all(n, now);
}

static void
test_share_stale_after_teardown(void **state)
{
    (void)state;
    int fd = dup(engine_share_fd());
    engine_set("k", 1, "v", 1, 0, 0, T0);
    void *p = mmap(NULL, bytes, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, 0);
    struct shm_map m;
    assert_int_equal(shm_map_init(&m, p, bytes), 0);
    assert_int_equal(shm_map_state(&m), 0);
    engine_teardown();
    struct shm_found f;
    assert_int_equal(shm_find(&m, "k", 1, T0, &f), SHM_STALE);
    munmap(p, bytes);
    close(fd);
    assert_int_equal(setup_with(0), 0); /* for the teardown */
}

static void
test_share_loading_falls_back(void **state)
{
    (void)state;
    engine_set("k", 1, "v", 1, 0, 0, T0);
    engine_share_ready(false);
    struct shm_found f;
    assert_int_equal(shm_find(&map, "k", 1, T0, &f), SHM_FALLBACK);
    engine_share_ready(true);
    assert_int_equal(shm_find(&map, "k", 1, T0, &f), SHM_HIT);
}

/* The child of a save sees the keyspace as of the fork, whatever the
 * parent does to the shared memory meanwhile. */
static void
test_share_fork_child_keeps_its_view(void **state)
{
    (void)state;
    const unsigned n = 50000;
    for (unsigned i = 0; i < n; i++) {
        put(i, 0, 0, T0);
    }
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    engine_fork_prepare();
    pid_t pid = fork();
    if (pid == 0) {
        char b = engine_fork_child() == 0;
        if (write(ready[1], &b, 1) != 1 || read(go[0], &b, 1) != 1) {
            _exit(2);
        }
        for (unsigned i = 0; i < n; i++) {
            char k[32], want[200];
            struct engine_item it;
            snprintf(k, sizeof(k), "key:%u", i);
            int len = snprintf(want, sizeof(want), "%s/v0/%0*u", k,
                               (int)(10 + (i * 7) % 60), i);
            if (engine_peek(k, strlen(k), T0, &it) != 1 ||
                it.vlen != (size_t)len || memcmp(it.val, want, it.vlen) != 0) {
                _exit(1);
            }
            engine_release(&it);
        }
        _exit(0);
    }
    char b;
    assert_int_equal(read(ready[0], &b, 1), 1);
    assert_int_equal(b, 1);
    for (unsigned i = 0; i < n; i++) { /* rewrite, delete, flush, refill */
        put(i, 1, 0, T0);
    }
    engine_flush();
    steps(T0, 3000);
    for (unsigned i = 0; i < 2 * n; i++) {
        put(i, 2, 0, T0);
    }
    steps(T0, 3000);
    assert_int_equal(write(go[1], &b, 1), 1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    engine_fork_done();
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    agree_all(2 * n, T0);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
}

static void
test_share_hints_from_garbage_are_harmless(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 1000; i++) {
        put(i, 0, 0, T0);
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 200000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        engine_hint(x, x ^ (x >> 17));
    }
    agree_all(1000, T0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_share_reads_follow_every_change,
                                        setup_nolimit, teardown),
        cmocka_unit_test_setup_teardown(test_share_large_values_fall_back,
                                        setup_nolimit, teardown),
        cmocka_unit_test_setup_teardown(test_share_eviction, setup_limited,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_share_stale_after_teardown,
                                        setup_nolimit, teardown),
        cmocka_unit_test_setup_teardown(test_share_loading_falls_back,
                                        setup_nolimit, teardown),
        cmocka_unit_test_setup_teardown(test_share_fork_child_keeps_its_view,
                                        setup_nolimit, teardown),
        cmocka_unit_test_setup_teardown(
            test_share_hints_from_garbage_are_harmless, setup_nolimit,
            teardown),
    };
    return cmocka_run_group_tests_name("share", tests, NULL, NULL);
}
