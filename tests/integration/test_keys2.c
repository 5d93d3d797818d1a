/* test_keys2.c: COPY, LCS, OBJECT, FUNCTION FLUSH/LIST and the COMMAND
 * introspection subcommands (GETKEYS GETKEYSANDFLAGS LIST [FILTERBY])
 * through hiredis (RESP2). Every expectation is Redis 7's reply;
 * offheapd-only behaviour (one database) is marked and skipped on Redis. */
#include "itest.h"

#include <strings.h>
#include <time.h>

struct spawn_server itest_srv;

static const char NOTINT_ERR[] = "ERR value is not an integer or out of range";
static const char SAME_ERR[] =
    "ERR source and destination objects are the same";

/* ---- helpers ---- */

/* Returns true if the array reply has a string element equal to s. */
static bool
has_elem(const redisReply *r, const char *s)
{
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];

        if ((e->type == REDIS_REPLY_STATUS || e->type == REDIS_REPLY_STRING) &&
            e->len == strlen(s) && memcmp(e->str, s, e->len) == 0) {
            return true;
        }
    }
    return false;
}

/* Checks that r is an array of exactly the strings in want (in order). */
static void
check_strings(const redisReply *r, const char *const *want, size_t n)
{
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    if (r->elements != n) {
        print_error("array of %zu, expected %zu\n", r->elements, n);
    }
    assert_int_equal(r->elements, n);
    for (size_t i = 0; i < n; i++) {
        ASSERT_TYPE(r->element[i], REDIS_REPLY_STRING);
        assert_string_equal(r->element[i]->str, want[i]);
    }
}

#define EXPECT_KEYS(c, want, ...)                                              \
    do {                                                                       \
        redisReply *r_ = CMD(c, __VA_ARGS__);                                  \
        check_strings(r_, (want), sizeof(want) / sizeof((want)[0]));           \
        freeReplyObject(r_);                                                   \
    } while (0)

/* Checks that r is an empty array. */
#define EXPECT_EMPTY_ARRAY(c, ...)                                             \
    do {                                                                       \
        redisReply *r_ = CMD(c, __VA_ARGS__);                                  \
        ASSERT_TYPE(r_, REDIS_REPLY_ARRAY);                                    \
        assert_int_equal(r_->elements, 0);                                     \
        freeReplyObject(r_);                                                   \
    } while (0)

/* ---- COPY ---- */

static void
test_keys2_copy(void **state)
{
    redisContext *c = *state;
    const char bin[] = "a\0b\r\nc";

    EXPECT_OK(c, "SET a 1");
    EXPECT_INT(c, 1, "COPY a b");
    EXPECT_STR(c, "1", "GET b");
    EXPECT_STR(c, "1", "GET a");
    /* an existing destination is kept without REPLACE */
    EXPECT_OK(c, "SET a 2");
    EXPECT_INT(c, 0, "COPY a b");
    EXPECT_STR(c, "1", "GET b");
    EXPECT_INT(c, 1, "COPY a b REPLACE");
    EXPECT_STR(c, "2", "GET b");
    EXPECT_INT(c, 1, "copy a b replace");
    /* a missing source copies nothing, even with REPLACE */
    EXPECT_INT(c, 0, "COPY missing b");
    EXPECT_INT(c, 0, "COPY missing b REPLACE");
    EXPECT_STR(c, "2", "GET b");
    EXPECT_INT(c, 0, "COPY missing newkey");
    EXPECT_INT(c, 0, "EXISTS newkey");
    /* DB 0 is the current database */
    EXPECT_INT(c, 0, "COPY a b DB 0");
    EXPECT_INT(c, 1, "COPY a b DB 0 REPLACE");
    EXPECT_INT(c, 1, "COPY a b REPLACE DB 0");
    EXPECT_INT(c, 1, "COPY a c db 0");
    EXPECT_STR(c, "2", "GET c");
    /* the copy is independent of the source */
    EXPECT_INT(c, 2, "APPEND a x");
    EXPECT_STR(c, "2x", "GET a");
    EXPECT_STR(c, "2", "GET b");
    EXPECT_INT(c, 3, "DEL a b c");
    /* binary values */
    EXPECT_OK(c, "SET %b %b", bin, sizeof(bin) - 1, bin, sizeof(bin) - 1);
    EXPECT_INT(c, 1, "COPY %b dst", bin, sizeof(bin) - 1);
    EXPECT_BIN(c, bin, sizeof(bin) - 1, "GET dst");
    EXPECT_INT(c, 2, "DBSIZE");
}

static void
test_keys2_copy_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET a 1");
    EXPECT_ERR(c, SAME_ERR, "COPY a a");
    EXPECT_ERR(c, SAME_ERR, "COPY a a REPLACE");
    EXPECT_ERR(c, SAME_ERR, "COPY a a DB 0");
    EXPECT_ERR(c, SAME_ERR, "COPY missing missing");
    EXPECT_ERR(c, "ERR syntax error", "COPY a b foo");
    EXPECT_ERR(c, "ERR syntax error", "COPY a b DB");
    EXPECT_ERR(c, "ERR syntax error", "COPY a b REPLACE DB");
    EXPECT_ERR(c, NOTINT_ERR, "COPY a b DB x");
    EXPECT_ERR(c, "ERR DB index is out of range", "COPY a b DB -1");
    EXPECT_ERR(c, "ERR DB index is out of range", "COPY a b DB 100000");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'copy' command", "COPY a");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'copy' command", "COPY");
    EXPECT_INT(c, 0, "EXISTS b");
    EXPECT_INT(c, 1, "DBSIZE");
}

/* The copy has the source's expiry time, to the millisecond. */
static void
test_keys2_copy_ttl(void **state)
{
    redisContext *c = *state;
    long long at, ttl;

    EXPECT_OK(c, "SET t v EX 100");
    EXPECT_INT(c, 1, "COPY t t2");
    ttl = INT_REPLY(c, "TTL t2");
    assert_true(ttl > 90 && ttl <= 100);
    at = INT_REPLY(c, "PEXPIRETIME t");
    assert_true(at > 0);
    assert_int_equal(INT_REPLY(c, "PEXPIRETIME t2"), at);
    /* REPLACE with a persistent source drops the destination's TTL */
    EXPECT_OK(c, "SET p v");
    EXPECT_INT(c, 1, "COPY p t2 REPLACE");
    EXPECT_INT(c, -1, "TTL t2");
    /* ...and a source with a TTL gives it its own */
    EXPECT_OK(c, "SET d v EX 5000");
    EXPECT_INT(c, 1, "COPY t d REPLACE");
    assert_int_equal(INT_REPLY(c, "PEXPIRETIME d"), at);
    /* the source keeps its TTL */
    assert_int_equal(INT_REPLY(c, "PEXPIRETIME t"), at);
    /* a copy of an expired key is nothing */
    EXPECT_OK(c, "SET gone v PX 1");
    spawn_sleep_ms(20);
    EXPECT_INT(c, 0, "COPY gone g2");
    EXPECT_INT(c, 0, "EXISTS g2");
}

/* offheapd has a single database: DB 1 is out of range (Redis copies). */
static void
test_keys2_copy_db1_offheap(void **state)
{
    redisContext *c = *state;

    SKIP_UNLESS_OFFHEAP();
    EXPECT_OK(c, "SET a 1");
    EXPECT_ERR(c, "ERR DB index is out of range", "COPY a b DB 1");
    EXPECT_ERR(c, "ERR DB index is out of range", "COPY a b DB 1 REPLACE");
    EXPECT_INT(c, 0, "EXISTS b");
    EXPECT_INT(c, 1, "DBSIZE");
}

/* ---- LCS ---- */

/* Checks one IDX match: [[a0,a1],[b0,b1]] and, if len >= 0, the length. */
static void
check_match(const redisReply *m, long long a0, long long a1, long long b0,
            long long b1, long long len)
{
    ASSERT_TYPE(m, REDIS_REPLY_ARRAY);
    assert_int_equal(m->elements, len >= 0 ? 3 : 2);
    for (size_t i = 0; i < 2; i++) {
        const redisReply *range = m->element[i];

        ASSERT_TYPE(range, REDIS_REPLY_ARRAY);
        assert_int_equal(range->elements, 2);
        ASSERT_TYPE(range->element[0], REDIS_REPLY_INTEGER);
        ASSERT_TYPE(range->element[1], REDIS_REPLY_INTEGER);
        assert_int_equal(range->element[0]->integer, i == 0 ? a0 : b0);
        assert_int_equal(range->element[1]->integer, i == 0 ? a1 : b1);
    }
    if (len >= 0) {
        ASSERT_TYPE(m->element[2], REDIS_REPLY_INTEGER);
        assert_int_equal(m->element[2]->integer, len);
    }
}

/* Checks an IDX reply's shape and total length; returns its matches. */
static const redisReply *
check_idx(const redisReply *r, size_t nmatches, long long len)
{
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    ASSERT_RSTR(r->element[0], "matches");
    ASSERT_TYPE(r->element[1], REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[1]->elements, nmatches);
    ASSERT_RSTR(r->element[2], "len");
    ASSERT_TYPE(r->element[3], REDIS_REPLY_INTEGER);
    assert_int_equal(r->element[3]->integer, len);
    return r->element[1];
}

static void
test_keys2_lcs(void **state)
{
    redisContext *c = *state;
    const redisReply *m;
    redisReply *r;

    EXPECT_OK(c, "MSET key1 ohmytext key2 mynewtext");
    EXPECT_STR(c, "mytext", "LCS key1 key2");
    EXPECT_STR(c, "mytext", "lcs key1 key2");
    EXPECT_INT(c, 6, "LCS key1 key2 LEN");
    EXPECT_INT(c, 6, "LCS key1 key2 len");
    /* matches from the end of the strings: "text" then "my" */
    r = CMD(c, "LCS key1 key2 IDX");
    m = check_idx(r, 2, 6);
    check_match(m->element[0], 4, 7, 5, 8, -1);
    check_match(m->element[1], 2, 3, 0, 1, -1);
    freeReplyObject(r);
    r = CMD(c, "LCS key1 key2 IDX WITHMATCHLEN");
    m = check_idx(r, 2, 6);
    check_match(m->element[0], 4, 7, 5, 8, 4);
    check_match(m->element[1], 2, 3, 0, 1, 2);
    freeReplyObject(r);
    /* MINMATCHLEN filters the matches, not the total length */
    r = CMD(c, "LCS key1 key2 IDX MINMATCHLEN 4");
    m = check_idx(r, 1, 6);
    check_match(m->element[0], 4, 7, 5, 8, -1);
    freeReplyObject(r);
    r = CMD(c, "LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN");
    m = check_idx(r, 1, 6);
    check_match(m->element[0], 4, 7, 5, 8, 4);
    freeReplyObject(r);
    r = CMD(c, "LCS key1 key2 WITHMATCHLEN MINMATCHLEN 2 IDX");
    m = check_idx(r, 2, 6);
    check_match(m->element[1], 2, 3, 0, 1, 2);
    freeReplyObject(r);
    r = CMD(c, "LCS key1 key2 IDX MINMATCHLEN 5");
    check_idx(r, 0, 6);
    freeReplyObject(r);
    /* a negative or zero MINMATCHLEN keeps every match */
    r = CMD(c, "LCS key1 key2 MINMATCHLEN -5 IDX");
    check_idx(r, 2, 6);
    freeReplyObject(r);
    /* without IDX, MINMATCHLEN and WITHMATCHLEN change nothing */
    EXPECT_STR(c, "mytext", "LCS key1 key2 MINMATCHLEN 4");
    EXPECT_STR(c, "mytext", "LCS key1 key2 WITHMATCHLEN");
    EXPECT_INT(c, 6, "LCS key1 key2 LEN MINMATCHLEN 4");
    /* the order of the keys matters for the indexes */
    r = CMD(c, "LCS key2 key1 IDX");
    m = check_idx(r, 2, 6);
    check_match(m->element[0], 5, 8, 4, 7, -1);
    check_match(m->element[1], 0, 1, 2, 3, -1);
    freeReplyObject(r);
}

static void
test_keys2_lcs_edges(void **state)
{
    redisContext *c = *state;
    const redisReply *m;
    redisReply *r;

    EXPECT_OK(c, "MSET a abc b abc x xyz e %s", "");
    /* identical strings: one match covering both */
    EXPECT_STR(c, "abc", "LCS a b");
    r = CMD(c, "LCS a b IDX WITHMATCHLEN");
    m = check_idx(r, 1, 3);
    check_match(m->element[0], 0, 2, 0, 2, 3);
    freeReplyObject(r);
    EXPECT_STR(c, "abc", "LCS a a");
    /* nothing in common */
    EXPECT_STR(c, "", "LCS a x");
    EXPECT_INT(c, 0, "LCS a x LEN");
    r = CMD(c, "LCS a x IDX");
    check_idx(r, 0, 0);
    freeReplyObject(r);
    /* empty and missing keys are empty strings */
    EXPECT_STR(c, "", "LCS a e");
    EXPECT_STR(c, "", "LCS a missing");
    EXPECT_INT(c, 0, "LCS missing a LEN");
    r = CMD(c, "LCS missing missing2 IDX");
    check_idx(r, 0, 0);
    freeReplyObject(r);
    EXPECT_INT(c, 0, "EXISTS missing");
    /* binary strings */
    EXPECT_OK(c, "SET p %b", "\x00\x01\x02\xff", (size_t)4);
    EXPECT_OK(c, "SET q %b", "\x01\x00\xff", (size_t)3);
    EXPECT_INT(c, 2, "LCS p q LEN");
    /* a longer pair: the LCS of two interleavings */
    EXPECT_OK(c, "SET l1 %s", "AGGTABQWERTYUIOP");
    EXPECT_OK(c, "SET l2 %s", "GXTXAYBQWXERTY");
    EXPECT_STR(c, "GTABQWERTY", "LCS l1 l2");
    /* ties: Redis walks back from the ends of both strings */
    EXPECT_OK(c, "MSET t1 ab t2 ba");
    EXPECT_STR(c, "b", "LCS t1 t2");
    EXPECT_OK(c, "MSET t1 abc t2 acb");
    EXPECT_STR(c, "ac", "LCS t1 t2");
    r = CMD(c, "LCS t1 t2 IDX WITHMATCHLEN");
    m = check_idx(r, 2, 2);
    check_match(m->element[0], 2, 2, 1, 1, 1);
    check_match(m->element[1], 0, 0, 0, 0, 1);
    freeReplyObject(r);
    EXPECT_OK(c, "MSET t1 aabb t2 bbaa");
    EXPECT_STR(c, "bb", "LCS t1 t2");
}

static void
test_keys2_lcs_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "MSET key1 ohmytext key2 mynewtext");
    EXPECT_ERR(c,
               "ERR If you want both the length and indexes, please just "
               "use IDX.",
               "LCS key1 key2 LEN IDX");
    EXPECT_ERR(c, "ERR syntax error", "LCS key1 key2 foo");
    EXPECT_ERR(c, "ERR syntax error", "LCS key1 key2 MINMATCHLEN");
    EXPECT_ERR(c, "ERR syntax error", "LCS key1 key2 IDX MINMATCHLEN");
    EXPECT_ERR(c, NOTINT_ERR, "LCS key1 key2 MINMATCHLEN x");
    EXPECT_ERR(c, NOTINT_ERR, "LCS key1 key2 IDX MINMATCHLEN 1.5");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'lcs' command",
               "LCS key1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'lcs' command", "LCS");
}

/* ---- OBJECT ---- */

static void
test_keys2_object_encoding(void **state)
{
    redisContext *c = *state;
    char s44[45], s45[46];

    memset(s44, 'x', 44);
    s44[44] = '\0';
    memset(s45, 'x', 45);
    s45[45] = '\0';
    EXPECT_OK(c, "SET k 12345");
    EXPECT_STR(c, "int", "OBJECT ENCODING k");
    EXPECT_STR(c, "int", "object encoding k");
    EXPECT_OK(c, "SET k -5");
    EXPECT_STR(c, "int", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k 0");
    EXPECT_STR(c, "int", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k 9223372036854775807");
    EXPECT_STR(c, "int", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k -9223372036854775808");
    EXPECT_STR(c, "int", "OBJECT ENCODING k");
    /* not the canonical form of a 64-bit integer */
    EXPECT_OK(c, "SET k 9223372036854775808");
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k 0123");
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k +1");
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k -0");
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k %s", " 1");
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k 1.5");
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k hello");
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k %s", "");
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    /* embstr up to 44 bytes, raw beyond */
    EXPECT_OK(c, "SET k %s", s44);
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    EXPECT_OK(c, "SET k %s", s45);
    EXPECT_STR(c, "raw", "OBJECT ENCODING k");
    /* INCR and friends store an integer */
    EXPECT_OK(c, "SET k 5");
    EXPECT_INT(c, 6, "INCR k");
    EXPECT_STR(c, "int", "OBJECT ENCODING k");
    EXPECT_INT(c, 1, "INCR n");
    EXPECT_STR(c, "int", "OBJECT ENCODING n");
    EXPECT_STR(c, "2.5", "INCRBYFLOAT k -3.5");
    EXPECT_STR(c, "embstr", "OBJECT ENCODING k");
    /* a copy keeps the encoding */
    EXPECT_OK(c, "SET i 100");
    EXPECT_INT(c, 1, "COPY i i2");
    EXPECT_STR(c, "int", "OBJECT ENCODING i2");
    EXPECT_OK(c, "SET i 1 EX 100");
    EXPECT_STR(c, "int", "OBJECT ENCODING i");
    EXPECT_NIL(c, "OBJECT ENCODING missing");
}

static void
test_keys2_object_refcount_help(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    /* values that are not shared have one reference */
    EXPECT_OK(c, "SET e hello");
    EXPECT_INT(c, 1, "OBJECT REFCOUNT e");
    EXPECT_OK(c, "SET i 12345");
    EXPECT_INT(c, 1, "OBJECT REFCOUNT i");
    EXPECT_NIL(c, "OBJECT REFCOUNT missing");
    r = CMD(c, "OBJECT HELP");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_true(r->elements >= 7);
    for (size_t i = 0; i < r->elements; i++) {
        ASSERT_TYPE(r->element[i], REDIS_REPLY_STATUS);
    }
    ASSERT_RSTR(r->element[0], "OBJECT <subcommand> [<arg> [value] [opt] "
                               "...]. Subcommands are:");
    assert_true(has_elem(r, "ENCODING <key>"));
    assert_true(has_elem(r, "REFCOUNT <key>"));
    assert_true(has_elem(r, "HELP"));
    ASSERT_RSTR(r->element[r->elements - 1], "    Prints this help.");
    freeReplyObject(r);
    r = CMD(c, "object help");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR unknown subcommand 'foo'. Try OBJECT HELP.",
               "OBJECT foo");
    EXPECT_ERR(c, "ERR unknown subcommand 'foo'. Try OBJECT HELP.",
               "OBJECT foo e");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object' command",
               "OBJECT");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|encoding' command",
               "OBJECT ENCODING");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|encoding' command",
               "OBJECT ENCODING e e");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|refcount' command",
               "OBJECT REFCOUNT");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|help' command",
               "OBJECT HELP x");
}

/* ---- DEBUG POPULATE ---- */

static void
test_keys2_debug_populate(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET key:5 mine");
    EXPECT_OK(c, "DEBUG POPULATE 1000");
    EXPECT_INT(c, 1000, "DBSIZE");
    EXPECT_STR(c, "mine", "GET key:5"); /* existing keys are left alone */
    EXPECT_STR(c, "value:0", "GET key:0");
    EXPECT_STR(c, "value:999", "GET key:999");
    EXPECT_INT(c, -1, "TTL key:999");
    EXPECT_OK(c, "DEBUG POPULATE 3 p 3");
    EXPECT_STR(c, "val", "GET p:2"); /* cut to the size */
    EXPECT_OK(c, "DEBUG POPULATE 2 q 10");
    EXPECT_BIN(c, "value:1\0\0\0", 10, "GET q:1"); /* padded with zeros */
    EXPECT_OK(c, "DEBUG POPULATE 0");
    EXPECT_INT(c, 1005, "DBSIZE");
    EXPECT_ERR_PREFIX(c, "ERR", "DEBUG POPULATE -1");
    EXPECT_ERR_PREFIX(c, "ERR", "DEBUG POPULATE x");
    EXPECT_ERR_PREFIX(c, "ERR", "DEBUG POPULATE 1 r -5");
    EXPECT_ERR_PREFIX(c, "ERR", "DEBUG POPULATE");
    EXPECT_INT(c, 1005, "DBSIZE");
}

/* ---- DEBUG SET-ACTIVE-EXPIRE ---- */

/* Off, expired keys stay counted until they are read (Redis's lazy
 * expiry, which its own tests check this way); on again, they go by
 * themselves within about a second. */
static void
test_keys2_debug_set_active_expire(void **state)
{
    redisContext *c = *state;
    struct timespec pause = {0, 300 * 1000 * 1000};

    EXPECT_OK(c, "FLUSHALL");
    EXPECT_OK(c, "DEBUG SET-ACTIVE-EXPIRE 0");
    EXPECT_OK(c, "SET a 1 PX 100");
    EXPECT_OK(c, "SET b 2 PX 100");
    EXPECT_OK(c, "SET c 3");
    nanosleep(&pause, NULL);
    EXPECT_INT(c, 3, "DBSIZE");
    EXPECT_NIL(c, "GET a");
    EXPECT_INT(c, 2, "DBSIZE");
    EXPECT_INT(c, 0, "EXISTS b");
    EXPECT_INT(c, 1, "DBSIZE");
    EXPECT_OK(c, "DEBUG SET-ACTIVE-EXPIRE 1");
    EXPECT_OK(c, "SET d 4 PX 100");
    long long n = -1;
    for (int i = 0; i < 20 && n != 1; i++) {
        nanosleep(&pause, NULL);
        n = INT_REPLY(c, "DBSIZE");
    }
    assert_int_equal(n, 1);
    EXPECT_ERR_PREFIX(c, "ERR", "DEBUG SET-ACTIVE-EXPIRE 2");
    EXPECT_ERR_PREFIX(c, "ERR", "DEBUG SET-ACTIVE-EXPIRE x");
    EXPECT_ERR_PREFIX(c, "ERR", "DEBUG SET-ACTIVE-EXPIRE");
}

/* ---- FUNCTION ---- */

static void
test_keys2_function(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET k v");
    EXPECT_OK(c, "FUNCTION FLUSH");
    EXPECT_OK(c, "FUNCTION FLUSH ASYNC");
    EXPECT_OK(c, "FUNCTION FLUSH SYNC");
    EXPECT_OK(c, "function flush async");
    EXPECT_OK(c, "FUNCTION FLUSH sync");
    /* functions are not keys */
    EXPECT_STR(c, "v", "GET k");
    EXPECT_EMPTY_ARRAY(c, "FUNCTION LIST");
    EXPECT_EMPTY_ARRAY(c, "function list");
    EXPECT_EMPTY_ARRAY(c, "FUNCTION LIST WITHCODE");
    EXPECT_EMPTY_ARRAY(c, "FUNCTION LIST LIBRARYNAME x*");
    EXPECT_ERR(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
               "FUNCTION FLUSH foo");
    EXPECT_ERR(c,
               "ERR unknown subcommand or wrong number of arguments for "
               "'flush'. Try FUNCTION HELP.",
               "function flush sync async");
    EXPECT_ERR(c, "ERR unknown subcommand 'foo'. Try FUNCTION HELP.",
               "FUNCTION foo");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'function' command",
               "FUNCTION");
    EXPECT_STR(c, "v", "GET k");
}

/* ---- COMMAND GETKEYS / GETKEYSANDFLAGS ---- */

static void
test_keys2_command_getkeys(void **state)
{
    redisContext *c = *state;
    static const char *const k[] = {"k"};
    static const char *const ab[] = {"a", "b"};
    static const char *const k1k2[] = {"k1", "k2"};
    static const char *const abc[] = {"a", "b", "c"};
    static const char *const dab[] = {"d", "a", "b"};

    EXPECT_KEYS(c, k, "COMMAND GETKEYS get k");
    EXPECT_KEYS(c, k, "command getkeys GET k");
    EXPECT_KEYS(c, ab, "COMMAND GETKEYS mset a 1 b 2");
    EXPECT_KEYS(c, ab, "COMMAND GETKEYS mget a b");
    EXPECT_KEYS(c, abc, "COMMAND GETKEYS del a b c");
    EXPECT_KEYS(c, k1k2, "COMMAND GETKEYS lcs k1 k2");
    EXPECT_KEYS(c, k1k2, "COMMAND GETKEYS lcs k1 k2 IDX MINMATCHLEN 4");
    EXPECT_KEYS(c, k, "COMMAND GETKEYS set k v");
    EXPECT_KEYS(c, k, "COMMAND GETKEYS set k v EX 10 GET");
    EXPECT_KEYS(c, k, "COMMAND GETKEYS set k v NX PX 5 KEEPTTL");
    EXPECT_KEYS(c, ab, "COMMAND GETKEYS copy a b DB 0 REPLACE");
    EXPECT_KEYS(c, dab, "COMMAND GETKEYS bitop and d a b");
    EXPECT_KEYS(c, ab, "COMMAND GETKEYS rename a b");
    /* the keys are not touched */
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_ERR(c, "ERR The command has no key arguments",
               "COMMAND GETKEYS ping x");
    EXPECT_ERR(c, "ERR Invalid command specified",
               "COMMAND GETKEYS nosuchcmd x");
    EXPECT_ERR(c, "ERR Invalid number of arguments specified for command",
               "COMMAND GETKEYS get a b");
    EXPECT_ERR(c, "ERR Invalid number of arguments specified for command",
               "COMMAND GETKEYS mset a");
}

/* Checks one GETKEYSANDFLAGS entry: [key, [flag, ...]] with at least one
 * flag. The flags themselves differ (Redis 7 gives "OW" "update" and so
 * on), so only their presence is checked. */
static void
check_key_flags(const redisReply *e, const char *key)
{
    ASSERT_TYPE(e, REDIS_REPLY_ARRAY);
    assert_int_equal(e->elements, 2);
    ASSERT_TYPE(e->element[0], REDIS_REPLY_STRING);
    assert_string_equal(e->element[0]->str, key);
    ASSERT_TYPE(e->element[1], REDIS_REPLY_ARRAY);
    assert_true(e->element[1]->elements >= 1);
    for (size_t i = 0; i < e->element[1]->elements; i++) {
        const redisReply *f = e->element[1]->element[i];

        assert_true(f->type == REDIS_REPLY_STATUS ||
                    f->type == REDIS_REPLY_STRING);
        assert_true(f->len > 0);
    }
}

static void
test_keys2_command_getkeysandflags(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    r = CMD(c, "COMMAND GETKEYSANDFLAGS set k v");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    check_key_flags(r->element[0], "k");
    freeReplyObject(r);
    /* both agree that GET's key is read-only */
    r = CMD(c, "COMMAND GETKEYSANDFLAGS get k");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    check_key_flags(r->element[0], "k");
    assert_true(has_elem(r->element[0]->element[1], "RO"));
    assert_false(has_elem(r->element[0]->element[1], "RW"));
    assert_false(has_elem(r->element[0]->element[1], "OW"));
    freeReplyObject(r);
    r = CMD(c, "COMMAND GETKEYSANDFLAGS mset a 1 b 2");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    check_key_flags(r->element[0], "a");
    check_key_flags(r->element[1], "b");
    freeReplyObject(r);
    r = CMD(c, "COMMAND GETKEYSANDFLAGS lcs k1 k2 LEN");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    check_key_flags(r->element[0], "k1");
    check_key_flags(r->element[1], "k2");
    assert_true(has_elem(r->element[0]->element[1], "RO"));
    assert_true(has_elem(r->element[1]->element[1], "RO"));
    freeReplyObject(r);
    r = CMD(c, "COMMAND GETKEYSANDFLAGS set k v EX 10 GET");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    check_key_flags(r->element[0], "k");
    freeReplyObject(r);
    r = CMD(c, "COMMAND GETKEYSANDFLAGS copy a b");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    check_key_flags(r->element[0], "a");
    check_key_flags(r->element[1], "b");
    assert_false(has_elem(r->element[1]->element[1], "RO"));
    freeReplyObject(r);
    r = CMD(c, "COMMAND GETKEYSANDFLAGS bitop and d a b");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    check_key_flags(r->element[0], "d");
    check_key_flags(r->element[1], "a");
    check_key_flags(r->element[2], "b");
    assert_false(has_elem(r->element[0]->element[1], "RO"));
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR The command has no key arguments",
               "COMMAND GETKEYSANDFLAGS ping x");
    EXPECT_ERR(c, "ERR Invalid command specified",
               "COMMAND GETKEYSANDFLAGS nosuchcmd x");
    EXPECT_ERR(c, "ERR Invalid number of arguments specified for command",
               "COMMAND GETKEYSANDFLAGS get a b");
}

/* ---- COMMAND LIST ---- */

static void
test_keys2_command_list(void **state)
{
    redisContext *c = *state;
    static const char *const ex[] = {"exists", "expire", "expireat",
                                     "expiretime", "exec"};
    static const char *const get[] = {"get"};
    redisReply *r;

    r = CMD(c, "COMMAND LIST");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_true(has_elem(r, "get"));
    assert_true(has_elem(r, "set"));
    assert_true(has_elem(r, "copy"));
    assert_true(has_elem(r, "lcs"));
    assert_false(has_elem(r, "GET"));
    freeReplyObject(r);
    /* PATTERN: Redis has more ex* commands than offheapd; those both have
     * must be there, and nothing else but ex* */
    for (int pass = 0; pass < 2; pass++) {
        r = CMD(c, pass == 0 ? "COMMAND LIST FILTERBY PATTERN ex*"
                             : "command list filterby pattern EX*");
        ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
        for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
            if (!has_elem(r, ex[i])) {
                print_error("COMMAND LIST FILTERBY PATTERN: no %s\n", ex[i]);
            }
            assert_true(has_elem(r, ex[i]));
        }
        for (size_t i = 0; i < r->elements; i++) {
            ASSERT_TYPE(r->element[i], REDIS_REPLY_STRING);
            assert_true(strncasecmp(r->element[i]->str, "ex", 2) == 0);
        }
        freeReplyObject(r);
    }
    EXPECT_KEYS(c, get, "COMMAND LIST FILTERBY PATTERN get");
    EXPECT_KEYS(c, get, "COMMAND LIST FILTERBY PATTERN g?t");
    EXPECT_EMPTY_ARRAY(c, "COMMAND LIST FILTERBY PATTERN nosuch*");
    /* ACLCAT */
    r = CMD(c, "COMMAND LIST FILTERBY ACLCAT string");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_true(has_elem(r, "get"));
    assert_true(has_elem(r, "set"));
    assert_true(has_elem(r, "incr"));
    assert_true(has_elem(r, "lcs"));
    assert_false(has_elem(r, "ping"));
    assert_false(has_elem(r, "flushall"));
    assert_false(has_elem(r, "bitcount"));
    freeReplyObject(r);
    r = CMD(c, "COMMAND LIST FILTERBY ACLCAT BITMAP");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_true(has_elem(r, "bitcount"));
    assert_true(has_elem(r, "setbit"));
    assert_false(has_elem(r, "get"));
    freeReplyObject(r);
    EXPECT_EMPTY_ARRAY(c, "COMMAND LIST FILTERBY ACLCAT nosuchcat");
    EXPECT_EMPTY_ARRAY(c, "COMMAND LIST FILTERBY MODULE x");
    /* errors */
    EXPECT_ERR(c, "ERR syntax error", "COMMAND LIST bad");
    EXPECT_ERR(c, "ERR syntax error", "COMMAND LIST FILTERBY");
    EXPECT_ERR(c, "ERR syntax error", "COMMAND LIST FILTERBY PATTERN");
    EXPECT_ERR(c, "ERR syntax error", "COMMAND LIST FILTERBY foo x");
    EXPECT_ERR(c, "ERR syntax error", "COMMAND LIST FILTERBY PATTERN a b");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        ITEST(test_keys2_copy),
        ITEST(test_keys2_copy_errors),
        ITEST(test_keys2_copy_ttl),
        ITEST(test_keys2_copy_db1_offheap),
        ITEST(test_keys2_lcs),
        ITEST(test_keys2_lcs_edges),
        ITEST(test_keys2_lcs_errors),
        ITEST(test_keys2_object_encoding),
        ITEST(test_keys2_object_refcount_help),
        ITEST(test_keys2_debug_populate),
        ITEST(test_keys2_debug_set_active_expire),
        ITEST(test_keys2_function),
        ITEST(test_keys2_command_getkeys),
        ITEST(test_keys2_command_getkeysandflags),
        ITEST(test_keys2_command_list),
    };

    return cmocka_run_group_tests_name("keys2", tests, itest_group_setup,
                                       itest_group_teardown);
}
