/* test_strings.c: the string commands (GET SET and its options, SETNX
 * SETEX PSETEX GETEX GETDEL GETSET MGET MSET MSETNX APPEND STRLEN GETRANGE
 * SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT), binary safety and their
 * error replies, as Redis 7 gives them. */
#include "itest.h"

#include <sys/time.h>

struct spawn_server itest_srv;

/* Wall-clock time in ms, for EXAT/PXAT arguments. */
static long long
unix_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Asserts lo <= TTL(key) <= hi (seconds). */
#define ASSERT_TTL(c, key, lo, hi)                                             \
    do {                                                                       \
        long long t_ = INT_REPLY((c), "TTL %s", (key));                        \
        if (t_ < (lo) || t_ > (hi)) {                                          \
            print_error("TTL %s = %lld, expected [%lld, %lld]\n", (key), t_,   \
                        (long long)(lo), (long long)(hi));                     \
            fail();                                                            \
        }                                                                      \
    } while (0)

/* Asserts lo <= PTTL(key) <= hi (ms). */
#define ASSERT_PTTL(c, key, lo, hi)                                            \
    do {                                                                       \
        long long t_ = INT_REPLY((c), "PTTL %s", (key));                       \
        if (t_ < (lo) || t_ > (hi)) {                                          \
            print_error("PTTL %s = %lld, expected [%lld, %lld]\n", (key), t_,  \
                        (long long)(lo), (long long)(hi));                     \
            fail();                                                            \
        }                                                                      \
    } while (0)

/* ---- GET SET ---- */

static void
test_strings_get_set(void **state)
{
    redisContext *c = *state;

    EXPECT_NIL(c, "GET k");
    EXPECT_OK(c, "SET k v");
    EXPECT_STR(c, "v", "GET k");
    EXPECT_OK(c, "SET k v2");
    EXPECT_STR(c, "v2", "GET k");
    EXPECT_OK(c, "SET %s %s", "k", "");
    EXPECT_STR(c, "", "GET k");
    EXPECT_INT(c, 1, "EXISTS k");
    EXPECT_OK(c, "set lower case");
    EXPECT_STR(c, "case", "gEt lower");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'set' command", "SET k");
}

static void
test_strings_binary(void **state)
{
    redisContext *c = *state;
    const char key[] = "k\0e\r\ny";
    const char val[] = "\0\r\n$3\r\n*1\r\n\xff\x00tail";
    size_t kl = sizeof(key) - 1, vl = sizeof(val) - 1;

    EXPECT_OK(c, "SET %b %b", key, kl, val, vl);
    EXPECT_BIN(c, val, vl, "GET %b", key, kl);
    EXPECT_NIL(c, "GET %b", key, (size_t)1);
    EXPECT_INT(c, (long long)vl, "STRLEN %b", key, kl);
    EXPECT_INT(c, 1, "EXISTS %b", key, kl);
    EXPECT_INT(c, 1, "DBSIZE");
    EXPECT_INT(c, 1, "DEL %b", key, kl);
}

static void
test_strings_large_value(void **state)
{
    redisContext *c = *state;
    size_t n = 4 * 1024 * 1024 + 7;
    char *v = malloc(n);
    redisReply *r;

    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = (char)(i * 31 + 7);
    }
    EXPECT_OK(c, "SET big %b", v, n);
    r = CMD(c, "GET big");
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    assert_int_equal(r->len, n);
    assert_memory_equal(r->str, v, n);
    freeReplyObject(r);
    EXPECT_INT(c, (long long)n, "STRLEN big");
    EXPECT_BIN(c, v + 1000, 10, "GETRANGE big 1000 1009");
    free(v);
}

static void
test_strings_set_expiry(void **state)
{
    redisContext *c = *state;
    long long now = unix_ms();

    EXPECT_OK(c, "SET k v EX 100");
    ASSERT_TTL(c, "k", 99, 100);
    EXPECT_OK(c, "SET k v PX 100000");
    ASSERT_PTTL(c, "k", 98000, 100000);
    EXPECT_OK(c, "SET k v EXAT %lld", now / 1000 + 200);
    ASSERT_TTL(c, "k", 198, 200);
    EXPECT_OK(c, "SET k v PXAT %lld", now + 300000);
    ASSERT_PTTL(c, "k", 298000, 300000);
    EXPECT_OK(c, "SET k v ex 50");
    ASSERT_TTL(c, "k", 49, 50);
    /* a plain SET clears the TTL */
    EXPECT_OK(c, "SET k v");
    EXPECT_INT(c, -1, "TTL k");
}

static void
test_strings_set_expiry_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c, "ERR invalid expire time in 'set' command", "SET k v EX 0");
    EXPECT_ERR(c, "ERR invalid expire time in 'set' command", "SET k v EX -1");
    EXPECT_ERR(c, "ERR invalid expire time in 'set' command", "SET k v PX 0");
    EXPECT_ERR(c, "ERR invalid expire time in 'set' command", "SET k v EXAT 0");
    EXPECT_ERR(c, "ERR invalid expire time in 'set' command",
               "SET k v EX 9999999999999999");
    EXPECT_ERR(c, "ERR invalid expire time in 'set' command",
               "SET k v PX 9223372036854775807");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "SET k v EX abc");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "SET k v EX 99999999999999999999999");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "SET k v PX 1.5");
    EXPECT_ERR(c, "ERR syntax error", "SET k v NX XX");
    EXPECT_ERR(c, "ERR syntax error", "SET k v EX 10 PX 100");
    EXPECT_ERR(c, "ERR syntax error", "SET k v EX 10 KEEPTTL");
    EXPECT_ERR(c, "ERR syntax error", "SET k v EX");
    EXPECT_ERR(c, "ERR syntax error", "SET k v FOO");
    EXPECT_INT(c, 0, "EXISTS k");
}

static void
test_strings_set_keepttl(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET k v EX 100");
    EXPECT_OK(c, "SET k v2 KEEPTTL");
    ASSERT_TTL(c, "k", 99, 100);
    EXPECT_STR(c, "v2", "GET k");
    EXPECT_OK(c, "SET k v3");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_OK(c, "SET fresh v KEEPTTL");
    EXPECT_INT(c, -1, "TTL fresh");
}

static void
test_strings_set_nx_xx(void **state)
{
    redisContext *c = *state;

    EXPECT_NIL(c, "SET k v XX");
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_OK(c, "SET k v NX");
    EXPECT_NIL(c, "SET k v2 NX");
    EXPECT_STR(c, "v", "GET k");
    EXPECT_OK(c, "SET k v3 XX");
    EXPECT_STR(c, "v3", "GET k");
    EXPECT_OK(c, "SET k v4 XX EX 100");
    ASSERT_TTL(c, "k", 99, 100);
    EXPECT_OK(c, "SET n v NX PX 100000");
    ASSERT_PTTL(c, "n", 98000, 100000);
}

static void
test_strings_set_get_option(void **state)
{
    redisContext *c = *state;

    EXPECT_NIL(c, "SET k v GET");
    EXPECT_STR(c, "v", "GET k");
    EXPECT_STR(c, "v", "SET k v2 GET");
    EXPECT_STR(c, "v2", "GET k");
    /* NX fails, GET still returns the old value */
    EXPECT_STR(c, "v2", "SET k v3 NX GET");
    EXPECT_STR(c, "v2", "GET k");
    EXPECT_NIL(c, "SET m x XX GET");
    EXPECT_INT(c, 0, "EXISTS m");
    EXPECT_STR(c, "v2", "SET k v4 GET EX 100");
    ASSERT_TTL(c, "k", 99, 100);
}

static void
test_strings_setnx_setex_psetex(void **state)
{
    redisContext *c = *state;

    EXPECT_INT(c, 1, "SETNX k v");
    EXPECT_INT(c, 0, "SETNX k v2");
    EXPECT_STR(c, "v", "GET k");
    EXPECT_OK(c, "SETEX k 100 v3");
    EXPECT_STR(c, "v3", "GET k");
    ASSERT_TTL(c, "k", 99, 100);
    EXPECT_OK(c, "PSETEX p 100000 v");
    ASSERT_PTTL(c, "p", 98000, 100000);
    EXPECT_ERR(c, "ERR invalid expire time in 'setex' command", "SETEX k 0 v");
    EXPECT_ERR(c, "ERR invalid expire time in 'setex' command",
               "SETEX k -10 v");
    EXPECT_ERR(c, "ERR invalid expire time in 'psetex' command",
               "PSETEX k 0 v");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "SETEX k abc v");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'setex' command",
               "SETEX k 10");
    EXPECT_STR(c, "v3", "GET k");
}

static void
test_strings_getex(void **state)
{
    redisContext *c = *state;
    long long now = unix_ms();

    EXPECT_NIL(c, "GETEX missing");
    EXPECT_NIL(c, "GETEX missing EX 10");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_OK(c, "SET k v");
    EXPECT_STR(c, "v", "GETEX k");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_STR(c, "v", "GETEX k EX 100");
    ASSERT_TTL(c, "k", 99, 100);
    EXPECT_STR(c, "v", "GETEX k");
    ASSERT_TTL(c, "k", 99, 100);
    EXPECT_STR(c, "v", "GETEX k PX 200000");
    ASSERT_PTTL(c, "k", 198000, 200000);
    EXPECT_STR(c, "v", "GETEX k EXAT %lld", now / 1000 + 300);
    ASSERT_TTL(c, "k", 298, 300);
    EXPECT_STR(c, "v", "GETEX k PXAT %lld", now + 400000);
    ASSERT_PTTL(c, "k", 398000, 400000);
    EXPECT_STR(c, "v", "GETEX k PERSIST");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_ERR(c, "ERR invalid expire time in 'getex' command", "GETEX k EX 0");
    EXPECT_ERR(c, "ERR invalid expire time in 'getex' command",
               "GETEX k EX -5");
    EXPECT_ERR(c, "ERR invalid expire time in 'getex' command",
               "GETEX k PX 9223372036854775807");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "GETEX k EX abc");
    EXPECT_ERR(c, "ERR syntax error", "GETEX k PERSIST EX 10");
    EXPECT_ERR(c, "ERR syntax error", "GETEX k EX 10 PX 10");
    EXPECT_ERR(c, "ERR syntax error", "GETEX k FOO");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_STR(c, "v", "GET k");
}

static void
test_strings_getdel_getset(void **state)
{
    redisContext *c = *state;

    EXPECT_NIL(c, "GETDEL k");
    EXPECT_OK(c, "SET k v EX 100");
    EXPECT_STR(c, "v", "GETDEL k");
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_NIL(c, "GETDEL k");
    EXPECT_NIL(c, "GETSET k v1");
    EXPECT_STR(c, "v1", "GETSET k v2");
    EXPECT_STR(c, "v2", "GET k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'getdel' command",
               "GETDEL a b");
}

static void
test_strings_mget_mset(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    EXPECT_OK(c, "MSET a 1 b 2 c 3");
    r = CMD(c, "MGET a missing c b");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    ASSERT_RSTR(r->element[0], "1");
    ASSERT_TYPE(r->element[1], REDIS_REPLY_NIL);
    ASSERT_RSTR(r->element[2], "3");
    ASSERT_RSTR(r->element[3], "2");
    freeReplyObject(r);
    /* the last of duplicate keys wins */
    EXPECT_OK(c, "MSET d x d y");
    EXPECT_STR(c, "y", "GET d");
    /* MSET clears TTLs like SET */
    EXPECT_OK(c, "SET e v EX 100");
    EXPECT_OK(c, "MSET e w");
    EXPECT_INT(c, -1, "TTL e");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'mset' command",
               "MSET a 1 b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'mget' command", "MGET");
}

static void
test_strings_msetnx(void **state)
{
    redisContext *c = *state;

    EXPECT_INT(c, 1, "MSETNX a 1 b 2");
    EXPECT_STR(c, "2", "GET b");
    EXPECT_INT(c, 0, "MSETNX c 3 a 9");
    EXPECT_INT(c, 0, "EXISTS c");
    EXPECT_STR(c, "1", "GET a");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'msetnx' command",
               "MSETNX a 1 b");
}

static void
test_strings_append_strlen(void **state)
{
    redisContext *c = *state;

    EXPECT_INT(c, 0, "STRLEN k");
    EXPECT_INT(c, 5, "APPEND k hello");
    EXPECT_INT(c, 11, "APPEND k %s", " world");
    EXPECT_STR(c, "hello world", "GET k");
    EXPECT_INT(c, 11, "STRLEN k");
    EXPECT_INT(c, 13, "APPEND k %b", "\0\n", (size_t)2);
    EXPECT_BIN(c, "hello world\0\n", 13, "GET k");
    EXPECT_INT(c, 13, "APPEND k %s", "");
    /* APPEND keeps the TTL */
    EXPECT_OK(c, "SET t a EX 100");
    EXPECT_INT(c, 2, "APPEND t b");
    ASSERT_TTL(c, "t", 99, 100);
}

static void
test_strings_getrange(void **state)
{
    redisContext *c = *state;

    EXPECT_STR(c, "", "GETRANGE missing 0 -1");
    EXPECT_OK(c, "SET k %s", "This is a string");
    EXPECT_STR(c, "This", "GETRANGE k 0 3");
    EXPECT_STR(c, "ing", "GETRANGE k -3 -1");
    EXPECT_STR(c, "This is a string", "GETRANGE k 0 -1");
    EXPECT_STR(c, "string", "GETRANGE k 10 100");
    EXPECT_STR(c, "", "GETRANGE k 100 200");
    EXPECT_STR(c, "", "GETRANGE k 5 2");
    EXPECT_STR(c, "This is a string", "GETRANGE k -100 100");
    EXPECT_STR(c, "is", "SUBSTR k 5 6");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "GETRANGE k a 1");
}

static void
test_strings_setrange(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET k %s", "Hello World");
    EXPECT_INT(c, 11, "SETRANGE k 6 Redis");
    EXPECT_STR(c, "Hello Redis", "GET k");
    /* past the end pads with zero bytes */
    EXPECT_INT(c, 5, "SETRANGE p 3 ab");
    EXPECT_BIN(c, "\0\0\0ab", 5, "GET p");
    EXPECT_INT(c, 12, "SETRANGE k 10 xy");
    EXPECT_STR(c, "Hello Redixy", "GET k");
    /* an empty value on a missing key creates nothing */
    EXPECT_INT(c, 0, "SETRANGE none 0 %s", "");
    EXPECT_INT(c, 0, "EXISTS none");
    EXPECT_INT(c, 12, "SETRANGE k 100 %s", "");
    EXPECT_INT(c, 12, "STRLEN k");
    EXPECT_ERR(c, "ERR offset is out of range", "SETRANGE k -1 x");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "SETRANGE k abc x");
    /* SETRANGE keeps the TTL */
    EXPECT_OK(c, "SET t abc EX 100");
    EXPECT_INT(c, 3, "SETRANGE t 0 x");
    ASSERT_TTL(c, "t", 99, 100);
}

static void
test_strings_incr_decr(void **state)
{
    redisContext *c = *state;

    EXPECT_INT(c, 1, "INCR n");
    EXPECT_INT(c, 2, "INCR n");
    EXPECT_INT(c, 12, "INCRBY n 10");
    EXPECT_INT(c, 11, "DECR n");
    EXPECT_INT(c, 1, "DECRBY n 10");
    EXPECT_INT(c, -4, "INCRBY n -5");
    EXPECT_INT(c, 1, "DECRBY n -5");
    EXPECT_STR(c, "1", "GET n");
    EXPECT_INT(c, -1, "DECR m");
    EXPECT_OK(c, "SET s -100");
    EXPECT_INT(c, -99, "INCR s");
    /* INCR keeps the TTL */
    EXPECT_OK(c, "SET t 5 EX 100");
    EXPECT_INT(c, 6, "INCR t");
    ASSERT_TTL(c, "t", 99, 100);
}

static void
test_strings_incr_errors(void **state)
{
    redisContext *c = *state;
    static const char *const bad[] = {"abc", " 1", "1 ", "1.5",
                                      "01",  "",   "+1", "1e3"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        EXPECT_OK(c, "SET s %s", bad[i]);
        EXPECT_ERR(c, "ERR value is not an integer or out of range", "INCR s");
    }
    EXPECT_OK(c, "SET s 1");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "INCRBY s abc");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "INCRBY s 9223372036854775808");
    EXPECT_OK(c, "SET n 9223372036854775807");
    EXPECT_ERR(c, "ERR increment or decrement would overflow", "INCR n");
    EXPECT_ERR(c, "ERR increment or decrement would overflow", "INCRBY n 1");
    EXPECT_STR(c, "9223372036854775807", "GET n");
    EXPECT_ERR(c, "ERR decrement would overflow",
               "DECRBY n -9223372036854775808");
    EXPECT_OK(c, "SET n -9223372036854775808");
    EXPECT_ERR(c, "ERR increment or decrement would overflow", "DECR n");
    EXPECT_ERR(c, "ERR increment or decrement would overflow", "INCRBY n -1");
    EXPECT_INT(c, -9223372036854775807LL, "INCR n");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'incr' command", "INCR");
}

static void
test_strings_incrbyfloat(void **state)
{
    redisContext *c = *state;

    EXPECT_STR(c, "1.5", "INCRBYFLOAT f 1.5");
    EXPECT_STR(c, "1.5", "GET f");
    EXPECT_OK(c, "SET f 10.5");
    EXPECT_STR(c, "10.6", "INCRBYFLOAT f 0.1");
    EXPECT_STR(c, "10.6", "GET f");
    EXPECT_STR(c, "5.6", "INCRBYFLOAT f -5");
    EXPECT_OK(c, "SET f 5.0e3");
    EXPECT_STR(c, "5200", "INCRBYFLOAT f 2.0e2");
    EXPECT_OK(c, "SET f 3");
    EXPECT_STR(c, "4.5", "INCRBYFLOAT f 1.5");
    EXPECT_STR(c, "0.001", "INCRBYFLOAT g 1e-3");
    EXPECT_STR(c, "0", "INCRBYFLOAT g -0.001");
    /* an integer result stays usable by INCR */
    EXPECT_OK(c, "SET h 1.5");
    EXPECT_STR(c, "2", "INCRBYFLOAT h 0.5");
    EXPECT_INT(c, 3, "INCR h");
    /* keeps the TTL */
    EXPECT_OK(c, "SET t 1 EX 100");
    EXPECT_STR(c, "2.5", "INCRBYFLOAT t 1.5");
    ASSERT_TTL(c, "t", 99, 100);
}

static void
test_strings_incrbyfloat_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET s abc");
    EXPECT_ERR(c, "ERR value is not a valid float", "INCRBYFLOAT s 1");
    EXPECT_OK(c, "SET f 1");
    EXPECT_ERR(c, "ERR value is not a valid float", "INCRBYFLOAT f abc");
    EXPECT_ERR(c, "ERR value is not a valid float", "INCRBYFLOAT f nan");
    EXPECT_ERR(c, "ERR increment would produce NaN or Infinity",
               "INCRBYFLOAT f inf");
    EXPECT_ERR(c, "ERR increment would produce NaN or Infinity",
               "INCRBYFLOAT f -inf");
    EXPECT_STR(c, "1", "GET f");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        ITEST(test_strings_get_set),
        ITEST(test_strings_binary),
        ITEST(test_strings_large_value),
        ITEST(test_strings_set_expiry),
        ITEST(test_strings_set_expiry_errors),
        ITEST(test_strings_set_keepttl),
        ITEST(test_strings_set_nx_xx),
        ITEST(test_strings_set_get_option),
        ITEST(test_strings_setnx_setex_psetex),
        ITEST(test_strings_getex),
        ITEST(test_strings_getdel_getset),
        ITEST(test_strings_mget_mset),
        ITEST(test_strings_msetnx),
        ITEST(test_strings_append_strlen),
        ITEST(test_strings_getrange),
        ITEST(test_strings_setrange),
        ITEST(test_strings_incr_decr),
        ITEST(test_strings_incr_errors),
        ITEST(test_strings_incrbyfloat),
        ITEST(test_strings_incrbyfloat_errors),
    };

    return cmocka_run_group_tests_name("strings", tests, itest_group_setup,
                                       itest_group_teardown);
}
