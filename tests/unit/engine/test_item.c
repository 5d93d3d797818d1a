/* test_item.c: unit tests of the item codec (engine/item.h): every form
 * round-trips, item_size() is what item_write() writes, the first REL16
 * write sets a segment's exp_base, and expiry fields are rewritten in
 * place only when the new expiry fits them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/item.h"

#define T0       ((oh_time)1700000000000) /* ms: a segment's open time */
#define HOUR_MS  ((oh_time)3600 * 1000)
#define BIG_VLEN 70000u /* bytes: a value with a 3-byte varint length */
#define GUARD    0x5a   /* byte expected after the item */

static const size_t klens[] = {0, 29, 30, 31, 200};
static const size_t vlens[] = {0, 127, 128, BIG_VLEN};

/* One expiry: the bases it is written with and the forms it must take. */
struct exp_case {
    const char *name;
    oh_time exp_base; /* preset exp_base of the segment */
    oh_time expire_at;
    unsigned inline_mode; /* expected form, inline value */
    unsigned large_mode;  /* expected form, large value */
};

static const struct exp_case exp_cases[] = {
    {"none", OH_TIME_NONE, OH_TIME_NONE, ITEM_EXP_NONE, ITEM_EXP_NONE},
    {"rel16 first", OH_TIME_NONE, T0 + HOUR_MS, ITEM_EXP_REL16, ITEM_EXP_REL32},
    {"rel16", T0 + HOUR_MS, T0 + HOUR_MS + 1234, ITEM_EXP_REL16,
     ITEM_EXP_REL32},
    {"rel16 last", T0 + HOUR_MS, T0 + HOUR_MS + 0xfffe, ITEM_EXP_REL16,
     ITEM_EXP_REL32},
    {"rel24 past rel16", T0 + HOUR_MS, T0 + HOUR_MS + 0xffff, ITEM_EXP_REL24,
     ITEM_EXP_REL32},
    {"rel24 before exp_base", T0 + HOUR_MS, T0 + HOUR_MS - 1, ITEM_EXP_REL24,
     ITEM_EXP_REL32},
    {"rel24 last", T0 + HOUR_MS, T0 + 0xfffffe, ITEM_EXP_REL24, ITEM_EXP_REL32},
    {"rel32", T0 + HOUR_MS, T0 + 0xffffff, ITEM_EXP_REL32, ITEM_EXP_REL32},
    {"rel32 last", T0 + HOUR_MS, T0 + 0xfffffffe, ITEM_EXP_REL32,
     ITEM_EXP_REL32},
    {"abs64 far", T0 + HOUR_MS, T0 + 0xffffffff, ITEM_EXP_ABS64,
     ITEM_EXP_ABS64},
    {"abs64 before base", T0 + HOUR_MS, T0 - 1, ITEM_EXP_ABS64, ITEM_EXP_ABS64},
};

static char *buf; /* room for the largest item plus a guard byte */
static char *key; /* 200 bytes of key */
static char *val; /* BIG_VLEN bytes of value */
static struct large *lg;

static int
setup(void **state)
{
    (void)state;
    buf = malloc(BIG_VLEN + 1024);
    key = malloc(200);
    val = malloc(BIG_VLEN);
    lg = calloc(1, sizeof(*lg) + BIG_VLEN);
    if (buf == NULL || key == NULL || val == NULL || lg == NULL) {
        return -1;
    }
    for (size_t i = 0; i < 200; i++) {
        key[i] = (char)('a' + i % 26);
    }
    for (size_t i = 0; i < BIG_VLEN; i++) {
        val[i] = (char)(i * 31);
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    free(buf);
    free(key);
    free(val);
    free(lg);
    return 0;
}

static struct item_bases
bases_at(oh_time exp_base)
{
    struct item_bases b;
    item_bases_init(&b, T0);
    b.exp_base = exp_base;
    return b;
}

/* Writes one item as gen.c does (size first, then the write), checks the
 * bytes written and returns its decoded view. */
static struct item_view
write_item(struct item_bases *b, size_t klen, size_t vlen, oh_time expire_at,
           struct large *large)
{
    unsigned mode = item_exp_mode(expire_at, b, large != NULL);
    size_t size = item_size(klen, vlen, mode, large != NULL);
    memset(buf, GUARD, size + 1);
    size_t n = item_write(buf, b, key, klen, val, vlen, expire_at, large);
    assert_int_equal(n, size);
    assert_int_equal((uint8_t)buf[n], GUARD);
    struct item_view v;
    item_parse(buf, b, &v);
    assert_int_equal(v.total, n);
    assert_int_equal(v.exp_mode, mode);
    return v;
}

/* Checks a decoded item against what was written. */
static void
check_view(const struct item_view *v, size_t klen, size_t vlen,
           oh_time expire_at, const struct large *large)
{
    assert_int_equal(v->klen, klen);
    assert_ptr_equal(v->key, buf + v->total - klen -
                                 (large != NULL ? sizeof(void *) : vlen));
    assert_memory_equal(v->key, key, klen);
    assert_int_equal(v->vlen, vlen);
    assert_int_equal(v->expire_at, expire_at);
    assert_true((v->exp_field == NULL) == (v->exp_mode == ITEM_EXP_NONE));
    assert_int_equal(item_flags_large(v->flags), large != NULL);
    assert_ptr_equal(v->large, large);
    if (large != NULL) {
        assert_ptr_equal(v->val, large->data);
    } else {
        assert_ptr_equal(v->val, v->key + klen);
        assert_memory_equal(v->val, val, vlen);
    }
    size_t k;
    assert_ptr_equal(item_key(buf, &k), v->key);
    assert_int_equal(k, klen);
}

static void
round_trip(const struct exp_case *c, size_t klen, size_t vlen,
           struct large *large)
{
    struct item_bases b = bases_at(c->exp_base);
    unsigned want = large != NULL ? c->large_mode : c->inline_mode;
    struct item_view v = write_item(&b, klen, vlen, c->expire_at, large);
    assert_int_equal(v.exp_mode, want);
    check_view(&v, klen, vlen, c->expire_at, large);
    size_t header = 1 + (klen < ITEM_KLEN_VAR ? 0 : item_varint_len(klen)) +
                    item_varint_len(vlen);
    assert_int_equal(v.total, header + item_exp_bytes(want) + klen +
                                  (large != NULL ? sizeof(void *) : vlen));
    assert_true(header + item_exp_bytes(want) <= ITEM_HDR_MAX);
}

static void
test_item_round_trip_every_form(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(exp_cases) / sizeof(exp_cases[0]); c++) {
        for (size_t k = 0; k < sizeof(klens) / sizeof(klens[0]); k++) {
            for (size_t i = 0; i < sizeof(vlens) / sizeof(vlens[0]); i++) {
                round_trip(&exp_cases[c], klens[k], vlens[i], NULL);
                round_trip(&exp_cases[c], klens[k], vlens[i], lg);
            }
        }
    }
}

/* The 3 form bits leave klen's 5 bits alone: keys below 31 bytes keep
 * their length in the flags byte, inline or large. */
static void
test_item_klen_inline_below_31(void **state)
{
    (void)state;
    struct item_bases b = bases_at(OH_TIME_NONE);
    for (size_t klen = 0; klen <= 32; klen++) {
        struct item_view v = write_item(&b, klen, 5, T0 + HOUR_MS, NULL);
        bool var = klen >= ITEM_KLEN_VAR;
        assert_int_equal(v.total, 1 + var + 1 + 2 + klen + 5);
        v = write_item(&b, klen, 5, OH_TIME_NONE, lg);
        assert_int_equal(v.total, 1 + var + 1 + klen + sizeof(void *));
    }
}

/* The M1 item: 12-byte key, 32-byte value, 1 h TTL. */
static void
test_item_m1_takes_48_bytes(void **state)
{
    (void)state;
    struct item_bases b = bases_at(OH_TIME_NONE);
    for (oh_time t = 0; t < 60000; t += 1000) {
        struct item_view v = write_item(&b, 12, 32, T0 + t + HOUR_MS, NULL);
        assert_int_equal(v.total, 48);
    }
}

static void
test_item_exp_base_set_by_first_ttl_write(void **state)
{
    (void)state;
    struct item_bases b;
    item_bases_init(&b, T0);
    assert_int_equal(b.base, T0);
    assert_int_equal(b.exp_base, OH_TIME_NONE);
    /* neither an item without expiry nor a large one sets it */
    write_item(&b, 3, 3, OH_TIME_NONE, NULL);
    assert_int_equal(b.exp_base, OH_TIME_NONE);
    struct item_view v = write_item(&b, 3, 3, T0 + 5000, lg);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL32);
    assert_int_equal(b.exp_base, OH_TIME_NONE);
    /* the first inline item with an expiry does */
    oh_time e = T0 + HOUR_MS;
    v = write_item(&b, 3, 3, e, NULL);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL16);
    assert_int_equal(b.exp_base, e);
    assert_int_equal(b.base, T0);
    /* a second one within 65.5 s of it takes REL16 too */
    v = write_item(&b, 3, 3, e + 65000, NULL);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL16);
    assert_int_equal(v.expire_at, e + 65000);
    /* outside: the forms relative to the open time */
    v = write_item(&b, 3, 3, e + 66000, NULL);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL24);
    assert_int_equal(v.expire_at, e + 66000);
    v = write_item(&b, 3, 3, e - 1, NULL);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL24);
    assert_int_equal(b.exp_base, e);
    /* an expiry too far for REL24 still claims an unset exp_base */
    item_bases_init(&b, T0);
    v = write_item(&b, 3, 3, T0 + 30 * 24 * HOUR_MS, NULL);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL16);
    assert_int_equal(v.expire_at, T0 + 30 * 24 * HOUR_MS);
    /* reopening the segment forgets it */
    item_bases_init(&b, T0 + 1000);
    assert_int_equal(b.exp_base, OH_TIME_NONE);
}

/* Rewrites the expiry of the item in buf in place, if it fits, as
 * engine_expire() does. Returns whether it did. */
static bool
expire_in_place(const struct item_bases *b, oh_time expire_at)
{
    struct item_view v;
    item_parse(buf, b, &v);
    if (!item_exp_fits(v.exp_mode, expire_at, b)) {
        return false;
    }
    item_exp_put(v.exp_field, v.exp_mode, expire_at, b);
    item_parse(buf, b, &v);
    assert_int_equal(v.expire_at, expire_at);
    return true;
}

static void
test_item_rel16_in_place(void **state)
{
    (void)state;
    struct item_bases b = bases_at(OH_TIME_NONE);
    oh_time e = T0 + HOUR_MS;
    struct item_view v = write_item(&b, 4, 6, e, NULL);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL16);
    assert_int_equal(b.exp_base, e);
    assert_true(expire_in_place(&b, e + 20000));
    assert_true(expire_in_place(&b, e));
    assert_true(expire_in_place(&b, e + 0xfffe));
    /* persist: all ones, and back */
    assert_true(expire_in_place(&b, OH_TIME_NONE));
    assert_int_equal((uint8_t)v.exp_field[0], 0xff);
    assert_int_equal((uint8_t)v.exp_field[1], 0xff);
    assert_true(expire_in_place(&b, e + 5));
    /* expiries outside [exp_base, exp_base + 0xfffe] need a rewrite */
    assert_false(expire_in_place(&b, e + 0xffff));
    assert_false(expire_in_place(&b, e - 1));
    assert_false(expire_in_place(&b, T0 + 1000));
    assert_false(expire_in_place(&b, T0 + 100 * 24 * HOUR_MS));
    /* the rest of the item is untouched */
    item_parse(buf, &b, &v);
    check_view(&v, 4, 6, e + 5, NULL);
}

static void
test_item_other_forms_in_place(void **state)
{
    (void)state;
    struct item_bases b = bases_at(T0 + HOUR_MS);
    /* REL24 takes [base, base + 0xfffffe], not REL16's range beyond it */
    struct item_view v = write_item(&b, 2, 2, T0 + 10, NULL);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL24);
    assert_true(expire_in_place(&b, T0 + 0xfffffe));
    assert_true(expire_in_place(&b, OH_TIME_NONE));
    assert_false(expire_in_place(&b, T0 + 0xffffff));
    assert_false(expire_in_place(&b, T0 - 1));
    /* REL32 takes REL24's range too */
    v = write_item(&b, 2, 2, T0 + 0xffffff, NULL);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL32);
    assert_true(expire_in_place(&b, T0 + 5));
    assert_true(expire_in_place(&b, OH_TIME_NONE));
    assert_false(expire_in_place(&b, T0 + 0xffffffff));
    /* ABS64 takes anything; NONE nothing but none */
    v = write_item(&b, 2, 2, T0 - 5, NULL);
    assert_int_equal(v.exp_mode, ITEM_EXP_ABS64);
    assert_true(expire_in_place(&b, T0 + 100 * 24 * HOUR_MS));
    assert_true(expire_in_place(&b, OH_TIME_NONE));
    v = write_item(&b, 2, 2, OH_TIME_NONE, NULL);
    assert_true(expire_in_place(&b, OH_TIME_NONE));
    assert_false(expire_in_place(&b, T0 + 5));
    /* a large item's REL32 field */
    v = write_item(&b, 2, 2, T0 + HOUR_MS + 1, lg);
    assert_int_equal(v.exp_mode, ITEM_EXP_REL32);
    assert_true(expire_in_place(&b, OH_TIME_NONE));
    assert_true(expire_in_place(&b, T0 + 7));
    item_parse(buf, &b, &v);
    check_view(&v, 2, 2, T0 + 7, lg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_item_round_trip_every_form),
        cmocka_unit_test(test_item_klen_inline_below_31),
        cmocka_unit_test(test_item_m1_takes_48_bytes),
        cmocka_unit_test(test_item_exp_base_set_by_first_ttl_write),
        cmocka_unit_test(test_item_rel16_in_place),
        cmocka_unit_test(test_item_other_forms_in_place),
    };
    return cmocka_run_group_tests_name("item", tests, setup, teardown);
}
