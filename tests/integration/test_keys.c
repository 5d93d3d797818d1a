/* test_keys.c: the key-space commands (DEL UNLINK EXISTS TYPE RENAME
 * RENAMENX EXPIRE PEXPIRE EXPIREAT PEXPIREAT EXPIRETIME PEXPIRETIME TTL PTTL
 * PERSIST TOUCH SCAN KEYS RANDOMKEY) and expiry as a client sees it: TTL
 * edge cases, keys expired on read, active expiry. */
#include "itest.h"

#include <sys/time.h>

struct spawn_server itest_srv;

#define EXPIRE_WAIT_MS 3000 /* ms active expiry may take to drop keys */

static long long
unix_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec;
}

#define ASSERT_RANGE(v, lo, hi)                                                \
    do {                                                                       \
        long long v_ = (v);                                                    \
        if (v_ < (lo) || v_ > (hi)) {                                          \
            print_error("%s = %lld, expected [%lld, %lld]\n", #v, v_,          \
                        (long long)(lo), (long long)(hi));                     \
            fail();                                                            \
        }                                                                      \
    } while (0)

/* ---- DEL UNLINK EXISTS TYPE TOUCH ---- */

static void
test_keys_del_exists(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "MSET a 1 b 2 c 3");
    EXPECT_INT(c, 3, "EXISTS a b c");
    EXPECT_INT(c, 3, "EXISTS a a a");
    EXPECT_INT(c, 2, "EXISTS a b nope");
    EXPECT_INT(c, 0, "EXISTS nope");
    EXPECT_INT(c, 2, "DEL a b nope");
    EXPECT_INT(c, 0, "DEL a");
    EXPECT_INT(c, 1, "UNLINK c c");
    EXPECT_INT(c, 0, "UNLINK c");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'unlink' command",
               "UNLINK");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'exists' command",
               "EXISTS");
}

static void
test_keys_type_touch(void **state)
{
    redisContext *c = *state;

    EXPECT_STATUS(c, "none", "TYPE k");
    EXPECT_OK(c, "SET k v");
    EXPECT_STATUS(c, "string", "TYPE k");
    EXPECT_OK(c, "SET j 1");
    EXPECT_INT(c, 2, "TOUCH k j nope");
    EXPECT_INT(c, 2, "TOUCH k k");
    EXPECT_INT(c, 0, "TOUCH nope");
}

/* ---- RENAME ---- */

static void
test_keys_rename(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c, "ERR no such key", "RENAME missing x");
    EXPECT_OK(c, "SET a 1 EX 100");
    EXPECT_OK(c, "SET b 2");
    EXPECT_OK(c, "RENAME a b");
    EXPECT_INT(c, 0, "EXISTS a");
    EXPECT_STR(c, "1", "GET b");
    ASSERT_RANGE(INT_REPLY(c, "TTL b"), 99, 100);
    EXPECT_OK(c, "RENAME b b");
    EXPECT_STR(c, "1", "GET b");
    EXPECT_OK(c, "SET c 3");
    EXPECT_OK(c, "RENAME c b");
    EXPECT_INT(c, -1, "TTL b");
    EXPECT_STR(c, "3", "GET b");
    EXPECT_INT(c, 0, "RENAMENX b b");
    EXPECT_OK(c, "SET d 4");
    EXPECT_INT(c, 0, "RENAMENX b d");
    EXPECT_STR(c, "3", "GET b");
    EXPECT_INT(c, 1, "RENAMENX b e");
    EXPECT_STR(c, "3", "GET e");
    EXPECT_INT(c, 0, "EXISTS b");
    EXPECT_ERR(c, "ERR no such key", "RENAMENX missing x");
    EXPECT_OK(c, "SET %b bin", "k\0", (size_t)2);
    EXPECT_OK(c, "RENAME %b %b", "k\0", (size_t)2, "x\r\n", (size_t)3);
    EXPECT_STR(c, "bin", "GET %b", "x\r\n", (size_t)3);
    EXPECT_ERR(c, "ERR no such key", "RENAME %b x", "k\0", (size_t)2);
}

/* ---- EXPIRE family ---- */

static void
test_keys_expire_basic(void **state)
{
    redisContext *c = *state;
    long long now = unix_s();

    EXPECT_INT(c, 0, "EXPIRE missing 100");
    EXPECT_INT(c, 0, "PEXPIRE missing 100");
    EXPECT_INT(c, -2, "TTL missing");
    EXPECT_INT(c, -2, "PTTL missing");
    EXPECT_INT(c, -2, "EXPIRETIME missing");
    EXPECT_INT(c, -2, "PEXPIRETIME missing");
    EXPECT_OK(c, "SET k v");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_INT(c, -1, "PTTL k");
    EXPECT_INT(c, -1, "EXPIRETIME k");
    EXPECT_INT(c, -1, "PEXPIRETIME k");
    EXPECT_INT(c, 1, "EXPIRE k 100");
    ASSERT_RANGE(INT_REPLY(c, "TTL k"), 99, 100);
    ASSERT_RANGE(INT_REPLY(c, "EXPIRETIME k"), now + 99, now + 101);
    EXPECT_INT(c, 1, "PEXPIRE k 50000");
    ASSERT_RANGE(INT_REPLY(c, "PTTL k"), 49000, 50000);
    EXPECT_INT(c, 1, "EXPIREAT k %lld", now + 200);
    ASSERT_RANGE(INT_REPLY(c, "TTL k"), 198, 200);
    EXPECT_INT(c, now + 200, "EXPIRETIME k");
    EXPECT_INT(c, (now + 200) * 1000, "PEXPIRETIME k");
    EXPECT_INT(c, 1, "PEXPIREAT k %lld", (now + 300) * 1000 + 123);
    EXPECT_INT(c, (now + 300) * 1000 + 123, "PEXPIRETIME k");
    /* EXPIRETIME rounds to the nearest second */
    EXPECT_INT(c, 1, "PEXPIREAT k %lld", (now + 300) * 1000 + 500);
    EXPECT_INT(c, now + 301, "EXPIRETIME k");
    EXPECT_INT(c, 1, "PERSIST k");
    EXPECT_INT(c, 0, "PERSIST k");
    EXPECT_INT(c, 0, "PERSIST missing");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_STR(c, "v", "GET k");
}

static void
test_keys_expire_nonpositive(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "MSET a 1 b 2 c 3 d 4");
    EXPECT_INT(c, 1, "EXPIRE a 0");
    EXPECT_INT(c, 1, "EXPIRE b -10");
    EXPECT_INT(c, 1, "PEXPIRE c -1");
    EXPECT_INT(c, 1, "EXPIREAT d 1");
    EXPECT_INT(c, 0, "EXISTS a b c d");
    EXPECT_NIL(c, "GET a");
    EXPECT_INT(c, -2, "TTL d");
    EXPECT_INT(c, 0, "DBSIZE");
}

static void
test_keys_expire_overflow(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET k v");
    EXPECT_ERR(c, "ERR invalid expire time in 'expire' command",
               "EXPIRE k 9223372036854775807");
    EXPECT_ERR(c, "ERR invalid expire time in 'expire' command",
               "EXPIRE k 9223372036854775");
    EXPECT_ERR(c, "ERR invalid expire time in 'pexpire' command",
               "PEXPIRE k 9223372036854775807");
    EXPECT_ERR(c, "ERR invalid expire time in 'expireat' command",
               "EXPIREAT k 9223372036854775807");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "EXPIRE k 99999999999999999999");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "EXPIRE k abc");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "PEXPIRE k 1.5");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_STR(c, "v", "GET k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'expire' command",
               "EXPIRE k");
}

static void
test_keys_expire_options(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET k v");
    EXPECT_INT(c, 0, "EXPIRE k 100 XX");
    EXPECT_INT(c, 0, "EXPIRE k 100 GT");
    EXPECT_INT(c, 1, "EXPIRE k 100 LT");
    EXPECT_INT(c, 0, "EXPIRE k 200 NX");
    EXPECT_INT(c, 1, "EXPIRE k 200 XX");
    EXPECT_INT(c, 0, "EXPIRE k 100 GT");
    EXPECT_INT(c, 1, "EXPIRE k 300 GT");
    EXPECT_INT(c, 0, "EXPIRE k 400 LT");
    EXPECT_INT(c, 1, "PEXPIRE k 100000 lt");
    ASSERT_RANGE(INT_REPLY(c, "TTL k"), 99, 100);
    EXPECT_INT(c, 1, "PERSIST k");
    EXPECT_INT(c, 1, "EXPIRE k 100 NX");
    EXPECT_ERR(c,
               "ERR NX and XX, GT or LT options at the same time are not "
               "compatible",
               "EXPIRE k 100 NX XX");
    EXPECT_ERR(c, "ERR GT and LT options at the same time are not compatible",
               "EXPIRE k 100 GT LT");
    EXPECT_ERR(c, "ERR Unsupported option FOO", "EXPIRE k 100 FOO");
    ASSERT_RANGE(INT_REPLY(c, "TTL k"), 99, 100);
}

/* A key past its TTL is gone for every command, before any background
 * expiry could have run. */
static void
test_keys_expired_on_read(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    EXPECT_OK(c, "SET k v PX 50");
    EXPECT_OK(c, "PSETEX p 50 v");
    EXPECT_OK(c, "SET a x PX 50");
    EXPECT_OK(c, "SET n 5 PX 50");
    EXPECT_OK(c, "SET keep v");
    EXPECT_STR(c, "v", "GET k");
    spawn_sleep_ms(100);
    EXPECT_NIL(c, "GET k");
    EXPECT_INT(c, -2, "TTL k");
    EXPECT_INT(c, -2, "PTTL p");
    EXPECT_INT(c, 0, "EXISTS k p");
    EXPECT_STATUS(c, "none", "TYPE p");
    EXPECT_INT(c, 0, "STRLEN p");
    r = CMD(c, "MGET k p keep");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    ASSERT_TYPE(r->element[0], REDIS_REPLY_NIL);
    ASSERT_TYPE(r->element[1], REDIS_REPLY_NIL);
    ASSERT_RSTR(r->element[2], "v");
    freeReplyObject(r);
    EXPECT_INT(c, 1, "APPEND a y");
    EXPECT_STR(c, "y", "GET a");
    EXPECT_INT(c, -1, "TTL a");
    EXPECT_INT(c, 1, "INCR n");
    EXPECT_INT(c, 0, "EXPIRE k 100");
    EXPECT_INT(c, 0, "PERSIST k");
    EXPECT_OK(c, "SET k fresh NX");
    EXPECT_STR(c, "fresh", "GET k");
    EXPECT_INT(c, -1, "TTL k");
}

/* Expired keys nobody reads are dropped in the background: DBSIZE falls. */
static void
test_keys_active_expiry(void **state)
{
    redisContext *c = *state;
    long long deadline;
    long long n = -1;

    for (int i = 0; i < 200; i++) {
        EXPECT_OK(c, "SET tmp:%d v PX 50", i);
    }
    for (int i = 0; i < 5; i++) {
        EXPECT_OK(c, "SET keep:%d v", i);
    }
    EXPECT_INT(c, 205, "DBSIZE");
    deadline = spawn_now_ms() + EXPIRE_WAIT_MS;
    while (spawn_now_ms() < deadline) {
        n = INT_REPLY(c, "DBSIZE");
        if (n == 5) {
            break;
        }
        spawn_sleep_ms(50);
    }
    if (n != 5) {
        print_error("DBSIZE still %lld after %d ms\n", n, EXPIRE_WAIT_MS);
        fail();
    }
    EXPECT_INT(c, 5, "EXISTS keep:0 keep:1 keep:2 keep:3 keep:4");
}

/* Expired keys never show up in KEYS, SCAN or RANDOMKEY. */
static void
test_keys_expired_hidden(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    EXPECT_OK(c, "SET gone v PX 30");
    EXPECT_OK(c, "SET here v");
    spawn_sleep_ms(80);
    r = CMD(c, "KEYS *");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    ASSERT_RSTR(r->element[0], "here");
    freeReplyObject(r);
    for (int i = 0; i < 20; i++) {
        EXPECT_STR(c, "here", "RANDOMKEY");
    }
    r = CMD(c, "SCAN 0 COUNT 100");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    ASSERT_RSTR(r->element[0], "0");
    assert_int_equal(r->element[1]->elements, 1);
    ASSERT_RSTR(r->element[1]->element[0], "here");
    freeReplyObject(r);
}

/* ---- SCAN KEYS RANDOMKEY ---- */

/* Scans the whole key space with the given options; counts the distinct
 * keys seen in `seen` (indexed by the number after "key:"). */
static int
scan_all(redisContext *c, const char *opts, bool *seen, int n)
{
    char cursor[32] = "0";
    int distinct = 0, rounds = 0;

    do {
        char cmd[128];
        redisReply *r;

        snprintf(cmd, sizeof(cmd), "SCAN %s %s", cursor, opts);
        r = CMD(c, cmd);

        ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
        assert_int_equal(r->elements, 2);
        ASSERT_TYPE(r->element[0], REDIS_REPLY_STRING);
        ASSERT_TYPE(r->element[1], REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            int k = atoi(r->element[1]->element[i]->str + 4);

            assert_true(strncmp(r->element[1]->element[i]->str, "key:", 4) ==
                        0);
            assert_true(k >= 0 && k < n);
            if (!seen[k]) {
                seen[k] = true;
                distinct++;
            }
        }
        freeReplyObject(r);
        assert_true(++rounds < 100000);
    } while (strcmp(cursor, "0") != 0);
    return distinct;
}

#define NKEYS 1000

static void
test_keys_scan(void **state)
{
    redisContext *c = *state;
    bool seen[NKEYS];

    for (int i = 0; i < NKEYS; i++) {
        redisAppendCommand(c, "SET key:%d v", i);
    }
    for (int i = 0; i < NKEYS; i++) {
        redisReply *r = NULL;

        assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
        ASSERT_RSTR(r, "OK");
        freeReplyObject(r);
    }
    memset(seen, 0, sizeof(seen));
    assert_int_equal(scan_all(c, "", seen, NKEYS), NKEYS);
    memset(seen, 0, sizeof(seen));
    assert_int_equal(scan_all(c, "COUNT 7", seen, NKEYS), NKEYS);
    memset(seen, 0, sizeof(seen));
    assert_int_equal(scan_all(c, "COUNT 100000", seen, NKEYS), NKEYS);
    memset(seen, 0, sizeof(seen));
    /* key:1, key:10..19, key:100..199 */
    assert_int_equal(scan_all(c, "MATCH key:1*", seen, NKEYS), 111);
    for (int i = 0; i < NKEYS; i++) {
        if (seen[i]) {
            char s[16];

            snprintf(s, sizeof(s), "%d", i);
            assert_true(s[0] == '1');
        }
    }
    memset(seen, 0, sizeof(seen));
    assert_int_equal(scan_all(c, "MATCH key:?5 COUNT 50", seen, NKEYS), 9);
    memset(seen, 0, sizeof(seen));
    assert_int_equal(scan_all(c, "TYPE string", seen, NKEYS), NKEYS);
    memset(seen, 0, sizeof(seen));
    assert_int_equal(scan_all(c, "TYPE hash", seen, NKEYS), 0);
}

static void
test_keys_scan_errors(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    r = CMD(c, "SCAN 0");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    ASSERT_RSTR(r->element[0], "0");
    assert_int_equal(r->element[1]->elements, 0);
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR invalid cursor", "SCAN abc");
    EXPECT_ERR(c, "ERR syntax error", "SCAN 0 COUNT 0");
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "SCAN 0 COUNT abc");
    EXPECT_ERR(c, "ERR syntax error", "SCAN 0 MATCH");
    EXPECT_ERR(c, "ERR syntax error", "SCAN 0 FOO bar");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'scan' command", "SCAN");
}

/* Returns the number of KEYS matching pattern; checks each is in `want`
 * (a space-separated list). */
static size_t
keys_match(redisContext *c, const char *pattern, const char *want)
{
    redisReply *r = CMD(c, "KEYS %s", pattern);
    size_t n;

    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < r->elements; i++) {
        char w[64];

        snprintf(w, sizeof(w), " %s ", r->element[i]->str);
        if (strstr(want, w) == NULL) {
            print_error("KEYS %s returned unexpected %s\n", pattern,
                        r->element[i]->str);
            fail();
        }
    }
    n = r->elements;
    freeReplyObject(r);
    return n;
}

static void
test_keys_keys(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "MSET hello 1 hallo 2 hxllo 3 heeello 4 h*llo 5 other 6");
    assert_int_equal(keys_match(c, "*",
                                " hello hallo hxllo heeello h*llo "
                                "other "),
                     6);
    assert_int_equal(keys_match(c, "h?llo", " hello hallo hxllo h*llo "), 4);
    assert_int_equal(keys_match(c, "h*llo",
                                " hello hallo hxllo heeello "
                                "h*llo "),
                     5);
    assert_int_equal(keys_match(c, "h[ae]llo", " hello hallo "), 2);
    assert_int_equal(keys_match(c, "h[^e]llo", " hallo hxllo h*llo "), 3);
    assert_int_equal(keys_match(c, "h[a-b]llo", " hallo "), 1);
    assert_int_equal(keys_match(c, "h\\*llo", " h*llo "), 1);
    assert_int_equal(keys_match(c, "nomatch*", " "), 0);
    assert_int_equal(keys_match(c, "other", " other "), 1);
}

static void
test_keys_randomkey(void **state)
{
    redisContext *c = *state;
    bool seen[3] = {false, false, false};

    EXPECT_NIL(c, "RANDOMKEY");
    EXPECT_OK(c, "MSET r0 a r1 b r2 c");
    for (int i = 0; i < 200; i++) {
        redisReply *r = CMD(c, "RANDOMKEY");

        ASSERT_TYPE(r, REDIS_REPLY_STRING);
        assert_int_equal(r->len, 2);
        assert_true(r->str[0] == 'r' && r->str[1] >= '0' && r->str[1] <= '2');
        seen[r->str[1] - '0'] = true;
        freeReplyObject(r);
    }
    assert_true(seen[0] && seen[1] && seen[2]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        ITEST(test_keys_del_exists),
        ITEST(test_keys_type_touch),
        ITEST(test_keys_rename),
        ITEST(test_keys_expire_basic),
        ITEST(test_keys_expire_nonpositive),
        ITEST(test_keys_expire_overflow),
        ITEST(test_keys_expire_options),
        ITEST(test_keys_expired_on_read),
        ITEST(test_keys_active_expiry),
        ITEST(test_keys_expired_hidden),
        ITEST(test_keys_scan),
        ITEST(test_keys_scan_errors),
        ITEST(test_keys_keys),
        ITEST(test_keys_randomkey),
    };

    return cmocka_run_group_tests_name("keys", tests, itest_group_setup,
                                       itest_group_teardown);
}
