/* test_engine_model.c: property test of the engine against a reference
 * model (an array of keys with expiry) over random operations, with time
 * moving forward at random. OH_MODEL_OPS=n runs n operations per case
 * (default 300000; the three cases take a few seconds together). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "tests/support/engine_cfg.h"

#define T0 ((oh_time)1700000000000) /* ms */

typedef enum { MODE_NOLIMIT, MODE_EVICT, MODE_NOEVICT } model_mode;

struct entry {
    uint32_t ver; /* value version; 0: absent */
    uint32_t len; /* value bytes */
    oh_time exp;  /* OH_TIME_NONE or absolute ms */
};

static struct {
    model_mode mode;
    uint32_t nkeys;
    struct entry *e;
    uint64_t rng;
    oh_time now;
    uint32_t next_ver;
    char *vbuf;
    uint64_t evicted_seen, nomem_seen, ops;
} md;

#define VBUF_MAX (400 * 1024)

static uint64_t
rnd(void)
{
    uint64_t z = (md.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t
rndn(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

static size_t
key_of(uint32_t id, char *buf)
{
    return (size_t)snprintf(buf, 32, "%s:%u", (id & 1) ? "user" : "k", id);
}

/* Fills md.vbuf with the bytes of version ver. */
static void
value_of(uint32_t ver, uint32_t len)
{
    uint64_t x = ver * 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < len; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        md.vbuf[i] = (char)(x >> 56);
    }
}

static bool
model_live(uint32_t id)
{
    struct entry *e = &md.e[id];
    if (e->ver != 0 && e->exp != OH_TIME_NONE && e->exp <= md.now) {
        e->ver = 0;
    }
    return e->ver != 0;
}

static void
check_item(uint32_t id, const struct engine_item *it)
{
    char k[32];
    size_t kl = key_of(id, k);
    struct entry *e = &md.e[id];
    assert_int_equal(it->klen, kl);
    assert_memory_equal(it->key, k, kl);
    assert_int_equal(it->vlen, e->len);
    value_of(e->ver, e->len);
    assert_memory_equal(it->val, md.vbuf, e->len);
    assert_int_equal(it->expire_at, e->exp);
}

/* With a memory limit, the engine may have evicted a key: follow it. */
static void
sync_evicted(uint32_t id)
{
    char k[32];
    size_t kl = key_of(id, k);
    struct engine_item it;
    bool in_model = model_live(id);
    int rc = engine_peek(k, kl, md.now, &it);
    if (rc == 1) {
        assert_true(in_model); /* never resurrected, never expired */
        check_item(id, &it);
        engine_release(&it);
    } else if (in_model) {
        assert_int_equal(md.mode, MODE_EVICT);
        md.e[id].ver = 0;
        md.evicted_seen++;
    }
}

static oh_time
rnd_expiry(void)
{
    switch (rndn(8)) {
    case 0:
    case 1:
    case 2:
        return OH_TIME_NONE;
    case 3:
        return md.now - (oh_time)rndn(1000); /* now or past */
    case 4:
        return md.now + 1 + (oh_time)rndn(200);
    case 5:
        return md.now + 1 + (oh_time)rndn(20000);
    case 6:
        return md.now + (oh_time)rndn(3600000);
    default:
        return md.now + (oh_time)60 * 24 * 3600 * 1000 + rndn(100000);
    }
}

static uint32_t
rnd_len(void)
{
    uint32_t r = rndn(1000);
    if (r < 5) {
        return 20000 + rndn(300000); /* large */
    }
    if (r < 100) {
        return rndn(2000);
    }
    return rndn(120);
}

static void
op_set(uint32_t id)
{
    char k[32];
    size_t kl = key_of(id, k);
    unsigned flags = 0;
    uint32_t r = rndn(10);
    flags |= r == 0 ? ENGINE_SET_NX : r == 1 ? ENGINE_SET_XX : 0;
    flags |= rndn(8) == 0 ? ENGINE_SET_KEEPTTL : 0;
    oh_time exp = rnd_expiry();
    uint32_t len = rnd_len();
    uint32_t ver = md.next_ver++;
    value_of(ver, len);
    bool live = model_live(id);
    int rc = engine_set(k, kl, md.vbuf, len, exp, flags, md.now);
    if (rc == OH_NOMEM) {
        assert_int_not_equal(md.mode, MODE_NOLIMIT);
        md.nomem_seen++;
        return;
    }
    bool blocked =
        ((flags & ENGINE_SET_NX) && live) || ((flags & ENGINE_SET_XX) && !live);
    assert_int_equal(rc, blocked ? 0 : 1);
    if (blocked) {
        return;
    }
    if (flags & ENGINE_SET_KEEPTTL) {
        exp = live ? md.e[id].exp : OH_TIME_NONE;
    }
    md.e[id] = (struct entry){ver, len, exp};
    model_live(id);
}

static void
op_get(uint32_t id, bool peek)
{
    char k[32];
    size_t kl = key_of(id, k);
    struct engine_item it;
    int rc =
        peek ? engine_peek(k, kl, md.now, &it) : engine_get(k, kl, md.now, &it);
    assert_int_equal(rc, model_live(id) ? 1 : 0);
    if (rc == 1) {
        check_item(id, &it);
        engine_release(&it);
    }
}

static void
op_del(uint32_t id)
{
    char k[32];
    size_t kl = key_of(id, k);
    assert_int_equal(engine_del(k, kl, md.now), model_live(id) ? 1 : 0);
    md.e[id].ver = 0;
}

static void
op_expire(uint32_t id)
{
    char k[32];
    size_t kl = key_of(id, k);
    oh_time exp = rnd_expiry();
    bool live = model_live(id);
    int rc = engine_expire(k, kl, exp, md.now);
    if (rc == OH_NOMEM) {
        assert_int_not_equal(md.mode, MODE_NOLIMIT);
        return;
    }
    assert_int_equal(rc, live ? 1 : 0);
    if (live) {
        md.e[id].exp = exp;
        model_live(id);
    }
}

static void
op_misc(uint32_t id)
{
    char k[32];
    size_t kl = key_of(id, k);
    bool live = model_live(id);
    if (rndn(2) == 0) {
        assert_int_equal(engine_touch(k, kl, md.now), live ? 1 : 0);
    } else {
        size_t u = engine_usage(k, kl, md.now);
        assert_true(live ? u >= kl + md.e[id].len : u == 0);
    }
}

static uint32_t
id_of(const char *key, size_t klen)
{
    char buf[32];
    assert_true(klen < sizeof(buf));
    memcpy(buf, key, klen);
    buf[klen] = 0;
    const char *c = strchr(buf, ':');
    assert_non_null(c);
    return (uint32_t)strtoul(c + 1, NULL, 10);
}

static void
scan_cb(void *arg, const char *key, size_t klen, oh_time expire_at)
{
    uint8_t *seen = arg;
    uint32_t id = id_of(key, klen);
    assert_true(id < md.nkeys);
    assert_false(expire_at != OH_TIME_NONE && expire_at <= md.now);
    seen[id] = 1;
}

/* A full SCAN with writes to other keys in between: every key live all
 * along must come back; nothing returned may be expired. */
static void
op_scan(void)
{
    uint8_t *seen = calloc(md.nkeys, 1);
    uint8_t *touched = calloc(md.nkeys, 1);
    uint64_t cur = 0;
    do {
        cur = engine_scan(cur, 1 + rndn(20), md.now, scan_cb, seen);
        for (int j = 0; j < 3; j++) {
            uint32_t id = rndn(md.nkeys);
            touched[id] = 1;
            if (md.mode != MODE_NOLIMIT) {
                sync_evicted(id);
            }
            rndn(2) ? op_set(id) : op_del(id);
        }
        if (rndn(4) == 0) {
            engine_step(md.now, 20);
        }
    } while (cur != 0);
    for (uint32_t id = 0; id < md.nkeys; id++) {
        if (!touched[id] && model_live(id) && md.mode != MODE_EVICT) {
            assert_int_equal(seen[id], 1);
        }
    }
    free(seen);
    free(touched);
}

static void
op_random(void)
{
    struct engine_item it;
    if (engine_random(md.now, rnd(), &it) == 1) {
        uint32_t id = id_of(it.key, it.klen);
        assert_true(model_live(id));
        check_item(id, &it);
        engine_release(&it);
    }
}

static void
op_flush(void)
{
    engine_flush();
    memset(md.e, 0, sizeof(struct entry) * md.nkeys);
    assert_int_equal(engine_count(), 0);
}

static void
check_count(void)
{
    uint64_t live = 0, ttl = 0;
    for (uint32_t id = 0; id < md.nkeys; id++) {
        live += model_live(id);
    }
    if (md.mode != MODE_EVICT) {
        assert_true(engine_count() >= live);
    }
    /* exact once every key was looked at (expired ones met are removed):
     * DBSIZE and INFO keyspace expires= */
    live = 0;
    for (uint32_t id = 0; id < md.nkeys; id++) {
        sync_evicted(id);
        live += model_live(id);
        ttl += model_live(id) && md.e[id].exp != OH_TIME_NONE;
    }
    assert_int_equal(engine_count(), live);
    assert_int_equal(engine_metrics_get()->engine_keys_with_ttl_curr, ttl);
}

static void
one_op(void)
{
    uint32_t id = rndn(md.nkeys);
    uint32_t r = rndn(1000);
    if (md.mode != MODE_NOLIMIT) {
        sync_evicted(id);
    }
    if (r < 400) {
        op_set(id);
    } else if (r < 700) {
        op_get(id, false);
    } else if (r < 780) {
        op_get(id, true);
    } else if (r < 860) {
        op_del(id);
    } else if (r < 930) {
        op_expire(id);
    } else if (r < 990) {
        op_misc(id);
    } else {
        op_random();
    }
}

static void
advance(void)
{
    uint32_t r = rndn(1000);
    if (r < 300) {
        md.now += rndn(3);
    } else if (r < 999) {
        md.now += 0;
    } else {
        md.now += rndn(5000);
    }
    if (rndn(50) == 0) {
        engine_step(md.now, 1 + rndn(60));
    }
}

static uint64_t
ops_wanted(void)
{
    const char *s = getenv("OH_MODEL_OPS");
    return s != NULL ? strtoull(s, NULL, 10) : 300000;
}

static void
run_model(model_mode mode, uint64_t maxmemory, uint32_t nkeys, uint64_t seed)
{
    struct oh_config cfg;
    engine_cfg_defaults(&cfg);
    cfg.maxmemory = maxmemory;
    cfg.maxmemory_policy =
        (char *)(mode == MODE_NOEVICT ? "noeviction" : "allkeys-lru");
    assert_int_equal(engine_setup(&cfg), 0);
    memset(&md, 0, sizeof(md));
    md.mode = mode;
    md.nkeys = nkeys;
    md.e = calloc(nkeys, sizeof(struct entry));
    md.vbuf = malloc(VBUF_MAX);
    md.rng = seed;
    md.now = T0;
    md.next_ver = 1;
    uint64_t n = ops_wanted();
    for (uint64_t i = 0; i < n; i++) {
        one_op();
        advance();
        if (i % 100000 == 99999) {
            op_scan();
            check_count();
        }
        if (i % 20000 == 10000) {
            check_count();
        }
        if (rndn(200000) == 0) {
            op_flush();
        }
        struct engine_memory m;
        if (maxmemory != 0 && i % 1000 == 0) {
            engine_memory(&m);
            /* noeviction compaction may overshoot by one segment */
            assert_true(m.used_bytes <= maxmemory + 1024 * 1024);
        }
    }
    op_scan();
    check_count();
    const struct engine_metrics *em = engine_metrics_get();
    print_message("  %llu ops: keys %llu, evicted-seen %llu, nomem %llu, "
                  "merges %llu, compactions %llu, promoted %llu, ghost hits "
                  "%llu, max step %llu us\n",
                  (unsigned long long)n, (unsigned long long)engine_count(),
                  (unsigned long long)md.evicted_seen,
                  (unsigned long long)md.nomem_seen,
                  (unsigned long long)em->engine_merges,
                  (unsigned long long)em->engine_compactions,
                  (unsigned long long)em->engine_promoted,
                  (unsigned long long)em->engine_ghost_hits,
                  (unsigned long long)em->engine_step_max_us);
    free(md.e);
    free(md.vbuf);
    engine_teardown();
}

static void
test_engine_model_nolimit(void **state)
{
    (void)state;
    run_model(MODE_NOLIMIT, 0, 20000, 1);
}

static void
test_engine_model_evict(void **state)
{
    (void)state;
    run_model(MODE_EVICT, 8 * 1024 * 1024, 60000, 2);
}

static void
test_engine_model_noevict(void **state)
{
    (void)state;
    run_model(MODE_NOEVICT, 8 * 1024 * 1024, 60000, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_model_nolimit),
        cmocka_unit_test(test_engine_model_evict),
        cmocka_unit_test(test_engine_model_noevict),
    };
    return cmocka_run_group_tests_name("engine_model", tests, NULL, NULL);
}
