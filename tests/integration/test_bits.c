/* test_bits.c: the bit commands (GETBIT SETBIT BITCOUNT BITPOS BITOP)
 * through hiredis (RESP2): values, ranges in bytes and in bits with
 * negative indexes, the all-ones / all-zeros edge cases of BITPOS, BITOP
 * over strings of different lengths and missing keys, and the error
 * texts. Every expectation is Redis 7's reply. */
#include "itest.h"

struct spawn_server itest_srv;

static const char OFFSET_ERR[] =
    "ERR bit offset is not an integer or out of range";
static const char BIT_ERR[] = "ERR bit is not an integer or out of range";
static const char NOTINT_ERR[] = "ERR value is not an integer or out of range";

/* Sets key to the n bytes at p. */
#define SET_BIN(c, key, p, n) EXPECT_OK(c, "SET %s %b", (key), (p), (size_t)(n))

/* ---- SETBIT GETBIT ---- */

static void
test_bits_setbit_getbit(void **state)
{
    redisContext *c = *state;
    char want[13] = {0};

    EXPECT_INT(c, 0, "SETBIT k 7 1");
    EXPECT_INT(c, 1, "SETBIT k 7 1");
    EXPECT_INT(c, 1, "GETBIT k 7");
    EXPECT_INT(c, 0, "GETBIT k 6");
    EXPECT_BIN(c, "\x01", 1, "GET k");
    /* bit 0 is the most significant bit of the first byte */
    EXPECT_INT(c, 0, "SETBIT k 0 1");
    EXPECT_BIN(c, "\x81", 1, "GET k");
    /* growing the string pads with zero bytes */
    EXPECT_INT(c, 0, "SETBIT k 100 1");
    EXPECT_INT(c, 13, "STRLEN k");
    want[0] = (char)0x81;
    want[12] = 0x08;
    EXPECT_BIN(c, want, sizeof(want), "GET k");
    EXPECT_INT(c, 1, "GETBIT k 100");
    EXPECT_INT(c, 0, "GETBIT k 101");
    /* clearing returns the old bit and does not shrink */
    EXPECT_INT(c, 1, "SETBIT k 100 0");
    EXPECT_INT(c, 0, "GETBIT k 100");
    EXPECT_INT(c, 13, "STRLEN k");
    /* reading past the end or a missing key is 0 */
    EXPECT_INT(c, 0, "GETBIT k 1000");
    EXPECT_INT(c, 0, "GETBIT k 4294967295");
    EXPECT_INT(c, 0, "GETBIT missing 0");
    EXPECT_INT(c, 0, "EXISTS missing");
    /* on a value written with SET: 'a' is 0x61, 01100001 */
    EXPECT_OK(c, "SET a a");
    EXPECT_INT(c, 0, "GETBIT a 0");
    EXPECT_INT(c, 1, "GETBIT a 1");
    EXPECT_INT(c, 1, "GETBIT a 2");
    EXPECT_INT(c, 0, "GETBIT a 3");
    EXPECT_INT(c, 1, "GETBIT a 7");
    EXPECT_INT(c, 0, "SETBIT a 6 1");
    EXPECT_STR(c, "c", "GET a");
    /* SETBIT 0 on a missing key still creates it */
    EXPECT_INT(c, 0, "SETBIT z 15 0");
    EXPECT_BIN(c, "\0\0", 2, "GET z");
}

/* SETBIT keeps the key's TTL, like SETRANGE. */
static void
test_bits_setbit_keeps_ttl(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    EXPECT_OK(c, "SET k x EX 100");
    EXPECT_INT(c, 0, "SETBIT k 20 1");
    r = CMD(c, "TTL k");
    ASSERT_TYPE(r, REDIS_REPLY_INTEGER);
    assert_true(r->integer > 90 && r->integer <= 100);
    freeReplyObject(r);
}

static void
test_bits_setbit_getbit_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c, OFFSET_ERR, "SETBIT k -1 1");
    EXPECT_ERR(c, OFFSET_ERR, "SETBIT k 4294967296 1");
    EXPECT_ERR(c, OFFSET_ERR, "SETBIT k abc 1");
    EXPECT_ERR(c, OFFSET_ERR, "SETBIT k 1.5 1");
    EXPECT_ERR(c, OFFSET_ERR, "SETBIT k %s 1", "");
    EXPECT_ERR(c, OFFSET_ERR, "SETBIT k 99999999999999999999 1");
    EXPECT_ERR(c, BIT_ERR, "SETBIT k 0 2");
    EXPECT_ERR(c, BIT_ERR, "SETBIT k 0 -1");
    EXPECT_ERR(c, BIT_ERR, "SETBIT k 0 x");
    EXPECT_ERR(c, BIT_ERR, "SETBIT k 0 %s", "");
    /* the offset is checked before the bit */
    EXPECT_ERR(c, OFFSET_ERR, "SETBIT k -1 2");
    EXPECT_ERR(c, OFFSET_ERR, "GETBIT k -1");
    EXPECT_ERR(c, OFFSET_ERR, "GETBIT k x");
    EXPECT_ERR(c, OFFSET_ERR, "GETBIT k 4294967296");
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'setbit' command",
               "SETBIT k 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'setbit' command",
               "SETBIT k 1 1 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'getbit' command",
               "GETBIT k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'getbit' command",
               "GETBIT k 1 2");
    EXPECT_INT(c, 0, "EXISTS k");
    /* an error leaves an existing value alone */
    EXPECT_OK(c, "SET k v");
    EXPECT_ERR(c, BIT_ERR, "SETBIT k 0 5");
    EXPECT_STR(c, "v", "GET k");
}

/* ---- BITCOUNT ---- */

static void
test_bits_bitcount(void **state)
{
    redisContext *c = *state;

    /* f 0x66:4 o 0x6f:6 o:6 b 0x62:3 a 0x61:3 r 0x72:4 */
    EXPECT_OK(c, "SET s foobar");
    EXPECT_INT(c, 26, "BITCOUNT s");
    EXPECT_INT(c, 4, "BITCOUNT s 0 0");
    EXPECT_INT(c, 6, "BITCOUNT s 1 1");
    EXPECT_INT(c, 6, "BITCOUNT s 1 1 BYTE");
    EXPECT_INT(c, 6, "BITCOUNT s 1 1 byte");
    EXPECT_INT(c, 10, "BITCOUNT s 0 1");
    EXPECT_INT(c, 26, "BITCOUNT s 0 -1");
    EXPECT_INT(c, 7, "BITCOUNT s -2 -1");
    EXPECT_INT(c, 4, "BITCOUNT s -1 -1");
    /* start after end */
    EXPECT_INT(c, 0, "BITCOUNT s -1 -2");
    EXPECT_INT(c, 0, "BITCOUNT s 3 2");
    /* out of range indexes are clamped */
    EXPECT_INT(c, 26, "BITCOUNT s 0 100");
    EXPECT_INT(c, 26, "BITCOUNT s -100 100");
    EXPECT_INT(c, 4, "BITCOUNT s -100 -50");
    EXPECT_INT(c, 4, "BITCOUNT s -100 0");
    EXPECT_INT(c, 0, "BITCOUNT s 6 100");
    EXPECT_INT(c, 0, "BITCOUNT s 10 20");
    /* bit ranges: bits 5..30 */
    EXPECT_INT(c, 17, "BITCOUNT s 5 30 BIT");
    EXPECT_INT(c, 17, "BITCOUNT s 5 30 bit");
    EXPECT_INT(c, 26, "BITCOUNT s 0 -1 BIT");
    EXPECT_INT(c, 26, "BITCOUNT s 0 1000 BIT");
    EXPECT_INT(c, 0, "BITCOUNT s 0 0 BIT");
    EXPECT_INT(c, 1, "BITCOUNT s 1 1 BIT");
    EXPECT_INT(c, 4, "BITCOUNT s -8 -1 BIT");
    EXPECT_INT(c, 0, "BITCOUNT s -1 -1 BIT");
    EXPECT_INT(c, 1, "BITCOUNT s -2 -1 BIT");
    EXPECT_INT(c, 0, "BITCOUNT s -1 -2 BIT");
    EXPECT_INT(c, 0, "BITCOUNT s 48 100 BIT");
    EXPECT_INT(c, 26, "BITCOUNT s -1000 -1 BIT");
    /* binary values */
    SET_BIN(c, "b", "\xff\x00\x0f\x80", 4);
    EXPECT_INT(c, 13, "BITCOUNT b");
    EXPECT_INT(c, 4, "BITCOUNT b 2 2");
    EXPECT_INT(c, 5, "BITCOUNT b -2 -1");
    EXPECT_INT(c, 8, "BITCOUNT b 4 23 BIT");
    EXPECT_INT(c, 1, "BITCOUNT b 24 24 BIT");
    EXPECT_INT(c, 0, "BITCOUNT b 25 31 BIT");
    SET_BIN(c, "e", "", 0);
    EXPECT_INT(c, 0, "BITCOUNT e");
    EXPECT_INT(c, 0, "BITCOUNT e 0 -1");
    EXPECT_INT(c, 0, "BITCOUNT e 0 -1 BIT");
    /* missing key */
    EXPECT_INT(c, 0, "BITCOUNT missing");
    EXPECT_INT(c, 0, "BITCOUNT missing 0 10");
    EXPECT_INT(c, 0, "BITCOUNT missing 0 10 BIT");
    EXPECT_INT(c, 0, "EXISTS missing");
}

static void
test_bits_bitcount_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET s foobar");
    EXPECT_ERR(c, "ERR syntax error", "BITCOUNT s 0");
    EXPECT_ERR(c, "ERR syntax error", "BITCOUNT s 0 1 FOO");
    EXPECT_ERR(c, "ERR syntax error", "BITCOUNT s 0 1 BIT x");
    EXPECT_ERR(c, NOTINT_ERR, "BITCOUNT s a b");
    EXPECT_ERR(c, NOTINT_ERR, "BITCOUNT s 0 b");
    EXPECT_ERR(c, NOTINT_ERR, "BITCOUNT s 0 1.5");
    EXPECT_ERR(c, NOTINT_ERR, "BITCOUNT s 0 99999999999999999999");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'bitcount' command",
               "BITCOUNT");
    EXPECT_INT(c, 26, "BITCOUNT s");
    if (spawn_is_redis(&itest_srv)) {
        return; /* Debian's Redis 7.0 answers 0 below; 7.2 on check first */
    }
    /* the arguments are checked even when the key does not exist */
    EXPECT_INT(c, 1, "DEL s");
    EXPECT_ERR(c, "ERR syntax error", "BITCOUNT s 0");
    EXPECT_ERR(c, "ERR syntax error", "BITCOUNT s 0 1 FOO");
    EXPECT_ERR(c, NOTINT_ERR, "BITCOUNT s a b");
    EXPECT_INT(c, 0, "BITCOUNT s 0 -1 BIT");
}

/* ---- BITPOS ---- */

static void
test_bits_bitpos_byte(void **state)
{
    redisContext *c = *state;

    /* 11111111 11110000 00000000 */
    SET_BIN(c, "s", "\xff\xf0\x00", 3);
    EXPECT_INT(c, 12, "BITPOS s 0");
    EXPECT_INT(c, 0, "BITPOS s 1");
    EXPECT_INT(c, 8, "BITPOS s 1 1");
    EXPECT_INT(c, -1, "BITPOS s 1 2");
    EXPECT_INT(c, 16, "BITPOS s 0 2");
    EXPECT_INT(c, 12, "BITPOS s 0 1 1");
    EXPECT_INT(c, 12, "BITPOS s 0 1 1 BYTE");
    EXPECT_INT(c, 12, "BITPOS s 0 0 -1");
    EXPECT_INT(c, 8, "BITPOS s 1 -2");
    EXPECT_INT(c, 8, "BITPOS s 1 -2 -1");
    EXPECT_INT(c, -1, "BITPOS s 1 -1");
    EXPECT_INT(c, 0, "BITPOS s 1 -100");
    EXPECT_INT(c, 0, "BITPOS s 1 -100 100");
    EXPECT_INT(c, -1, "BITPOS s 1 100");
    EXPECT_INT(c, -1, "BITPOS s 0 100");
    /* start after end */
    EXPECT_INT(c, -1, "BITPOS s 1 2 1");
    EXPECT_INT(c, -1, "BITPOS s 0 -1 -2");
    /* byte 0 is all ones: a clear bit is not found when end is given */
    EXPECT_INT(c, -1, "BITPOS s 0 0 0");
    /* 00000000 00001111 */
    SET_BIN(c, "t", "\x00\x0f", 2);
    EXPECT_INT(c, 12, "BITPOS t 1");
    EXPECT_INT(c, 0, "BITPOS t 0");
    EXPECT_INT(c, 8, "BITPOS t 0 1");
    EXPECT_INT(c, -1, "BITPOS t 1 0 0");
}

/* The all-ones and all-zeros cases: looking for a clear bit in a run of
 * ones finds the first bit after the string unless an end is given. */
static void
test_bits_bitpos_all_ones_zeros(void **state)
{
    redisContext *c = *state;

    SET_BIN(c, "o", "\xff\xff\xff", 3);
    EXPECT_INT(c, 24, "BITPOS o 0");
    EXPECT_INT(c, 24, "BITPOS o 0 0");
    EXPECT_INT(c, 24, "BITPOS o 0 2");
    EXPECT_INT(c, 24, "BITPOS o 0 -1");
    EXPECT_INT(c, -1, "BITPOS o 0 0 -1");
    EXPECT_INT(c, -1, "BITPOS o 0 0 2");
    EXPECT_INT(c, -1, "BITPOS o 0 0 100");
    EXPECT_INT(c, -1, "BITPOS o 0 0 -1 BYTE");
    EXPECT_INT(c, -1, "BITPOS o 0 0 -1 BIT");
    EXPECT_INT(c, -1, "BITPOS o 0 3 20 BIT");
    EXPECT_INT(c, 0, "BITPOS o 1");
    EXPECT_INT(c, 16, "BITPOS o 1 2");
    EXPECT_INT(c, 5, "BITPOS o 1 5 5 BIT");
    SET_BIN(c, "z", "\0\0\0", 3);
    EXPECT_INT(c, -1, "BITPOS z 1");
    EXPECT_INT(c, -1, "BITPOS z 1 1");
    EXPECT_INT(c, -1, "BITPOS z 1 0 -1");
    EXPECT_INT(c, -1, "BITPOS z 1 0 -1 BIT");
    EXPECT_INT(c, 0, "BITPOS z 0");
    EXPECT_INT(c, 8, "BITPOS z 0 1");
    EXPECT_INT(c, 16, "BITPOS z 0 -1");
    EXPECT_INT(c, 5, "BITPOS z 0 5 10 BIT");
    EXPECT_INT(c, 23, "BITPOS z 0 -1 -1 BIT");
    /* an empty string */
    SET_BIN(c, "e", "", 0);
    EXPECT_INT(c, -1, "BITPOS e 1");
    EXPECT_INT(c, -1, "BITPOS e 0");
    /* a missing key is an empty string: 0 for a clear bit, -1 for a set
     * one, whatever the range */
    EXPECT_INT(c, 0, "BITPOS missing 0");
    EXPECT_INT(c, -1, "BITPOS missing 1");
    EXPECT_INT(c, 0, "BITPOS missing 0 5");
    EXPECT_INT(c, -1, "BITPOS missing 1 0 -1");
    EXPECT_INT(c, 0, "BITPOS missing 0 1 2 BIT");
    EXPECT_INT(c, 0, "EXISTS missing");
}

static void
test_bits_bitpos_bit(void **state)
{
    redisContext *c = *state;

    /* 00000000 11111111 11110000 */
    SET_BIN(c, "s", "\x00\xff\xf0", 3);
    EXPECT_INT(c, 8, "BITPOS s 1 7 15 BIT");
    EXPECT_INT(c, 9, "BITPOS s 1 9 15 BIT");
    EXPECT_INT(c, -1, "BITPOS s 1 7 7 BIT");
    EXPECT_INT(c, 7, "BITPOS s 0 7 7 BIT");
    EXPECT_INT(c, 20, "BITPOS s 0 8 -1 BIT");
    EXPECT_INT(c, -1, "BITPOS s 0 8 15 BIT");
    EXPECT_INT(c, -1, "BITPOS s 0 8 19 BIT");
    EXPECT_INT(c, 16, "BITPOS s 1 -8 -1 BIT");
    EXPECT_INT(c, 20, "BITPOS s 0 -4 -1 BIT");
    EXPECT_INT(c, 23, "BITPOS s 0 -1 -1 BIT");
    EXPECT_INT(c, -1, "BITPOS s 1 -4 -1 BIT");
    EXPECT_INT(c, 19, "BITPOS s 1 -5 -1 BIT");
    EXPECT_INT(c, 0, "BITPOS s 0 -100 100 BIT");
    EXPECT_INT(c, 8, "BITPOS s 1 -100 100 BIT");
    EXPECT_INT(c, -1, "BITPOS s 1 24 100 BIT");
    EXPECT_INT(c, -1, "BITPOS s 1 10 9 BIT");
    /* the same byte range in BYTE mode */
    EXPECT_INT(c, 16, "BITPOS s 1 -1");
    EXPECT_INT(c, 20, "BITPOS s 0 -1");
    EXPECT_INT(c, 8, "BITPOS s 1 0 1 byte");
}

static void
test_bits_bitpos_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET s foobar");
    EXPECT_ERR(c, "ERR The bit argument must be 1 or 0.", "BITPOS s 2");
    EXPECT_ERR(c, "ERR The bit argument must be 1 or 0.", "BITPOS s -1");
    EXPECT_ERR(c, NOTINT_ERR, "BITPOS s x");
    EXPECT_ERR(c, NOTINT_ERR, "BITPOS s 1 a");
    EXPECT_ERR(c, NOTINT_ERR, "BITPOS s 1 0 a");
    /* BYTE|BIT needs both start and end */
    EXPECT_ERR(c, NOTINT_ERR, "BITPOS s 1 0 BIT");
    EXPECT_ERR(c, "ERR syntax error", "BITPOS s 1 0 1 FOO");
    EXPECT_ERR(c, "ERR syntax error", "BITPOS s 1 0 1 BIT x");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'bitpos' command",
               "BITPOS s");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'bitpos' command",
               "BITPOS");
    EXPECT_INT(c, 1, "BITPOS s 1");
    if (spawn_is_redis(&itest_srv)) {
        return; /* Debian's Redis 7.0 answers -1/0 below */
    }
    /* the arguments are checked even when the key does not exist */
    EXPECT_INT(c, 1, "DEL s");
    EXPECT_ERR(c, NOTINT_ERR, "BITPOS s 0 a b");
    EXPECT_ERR(c, "ERR syntax error", "BITPOS s 0 1 2 FOO");
    EXPECT_ERR(c, "ERR syntax error", "BITPOS s 0 1 hello hello2");
    EXPECT_INT(c, -1, "BITPOS s 1 0 -1 BIT");
}

/* ---- BITOP ---- */

static void
test_bits_bitop(void **state)
{
    redisContext *c = *state;

    SET_BIN(c, "a", "\xf0\xf0\xf0", 3);
    SET_BIN(c, "b", "\x0f\xff", 2);
    /* the result is as long as the longest source; shorter ones are
     * padded with zero bytes */
    EXPECT_INT(c, 3, "BITOP AND d a b");
    EXPECT_BIN(c, "\x00\xf0\x00", 3, "GET d");
    EXPECT_INT(c, 3, "BITOP OR d a b");
    EXPECT_BIN(c, "\xff\xff\xf0", 3, "GET d");
    EXPECT_INT(c, 3, "BITOP XOR d a b");
    EXPECT_BIN(c, "\xff\x0f\xf0", 3, "GET d");
    EXPECT_INT(c, 3, "BITOP XOR d b a");
    EXPECT_BIN(c, "\xff\x0f\xf0", 3, "GET d");
    EXPECT_INT(c, 3, "BITOP NOT d a");
    EXPECT_BIN(c, "\x0f\x0f\x0f", 3, "GET d");
    EXPECT_INT(c, 2, "BITOP NOT d b");
    EXPECT_BIN(c, "\xf0\x00", 2, "GET d");
    /* case does not matter */
    EXPECT_INT(c, 3, "bitop or d a b");
    EXPECT_INT(c, 3, "BitOp Xor d a b");
    /* one source: a copy */
    EXPECT_INT(c, 3, "BITOP AND d a");
    EXPECT_BIN(c, "\xf0\xf0\xf0", 3, "GET d");
    EXPECT_INT(c, 2, "BITOP OR d b");
    EXPECT_BIN(c, "\x0f\xff", 2, "GET d");
    /* more than two sources */
    SET_BIN(c, "c", "\x01", 1);
    EXPECT_INT(c, 3, "BITOP OR d a b c");
    EXPECT_BIN(c, "\xff\xff\xf0", 3, "GET d");
    EXPECT_INT(c, 3, "BITOP XOR d a b c");
    EXPECT_BIN(c, "\xfe\x0f\xf0", 3, "GET d");
    EXPECT_INT(c, 3, "BITOP AND d a a a");
    EXPECT_BIN(c, "\xf0\xf0\xf0", 3, "GET d");
    /* the destination may be a source */
    EXPECT_OK(c, "SET x abc");
    EXPECT_INT(c, 3, "BITOP XOR x x x");
    EXPECT_BIN(c, "\0\0\0", 3, "GET x");
    EXPECT_OK(c, "SET x abc");
    EXPECT_INT(c, 3, "BITOP NOT x x");
    EXPECT_BIN(c, "\x9e\x9d\x9c", 3, "GET x");
}

static void
test_bits_bitop_missing(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    SET_BIN(c, "a", "\xf0\xf0\xf0", 3);
    /* a missing key is an empty string */
    EXPECT_INT(c, 3, "BITOP AND d a missing");
    EXPECT_BIN(c, "\0\0\0", 3, "GET d");
    EXPECT_INT(c, 3, "BITOP OR d missing a");
    EXPECT_BIN(c, "\xf0\xf0\xf0", 3, "GET d");
    EXPECT_INT(c, 3, "BITOP XOR d missing a missing2");
    EXPECT_BIN(c, "\xf0\xf0\xf0", 3, "GET d");
    EXPECT_INT(c, 0, "EXISTS missing");
    /* an empty result deletes the destination */
    EXPECT_OK(c, "SET d old");
    EXPECT_INT(c, 0, "BITOP AND d missing missing2");
    EXPECT_INT(c, 0, "EXISTS d");
    EXPECT_OK(c, "SET d old");
    EXPECT_INT(c, 0, "BITOP NOT d missing");
    EXPECT_INT(c, 0, "EXISTS d");
    EXPECT_INT(c, 0, "BITOP OR d missing");
    EXPECT_INT(c, 0, "EXISTS d");
    SET_BIN(c, "e", "", 0);
    EXPECT_OK(c, "SET d old");
    EXPECT_INT(c, 0, "BITOP NOT d e");
    EXPECT_INT(c, 0, "EXISTS d");
    EXPECT_INT(c, 1, "EXISTS e");
    /* the destination is replaced, its TTL dropped */
    EXPECT_OK(c, "SET d old EX 100");
    EXPECT_INT(c, 3, "BITOP OR d a");
    EXPECT_INT(c, -1, "TTL d");
    /* the sources keep their TTL */
    EXPECT_OK(c, "SET t abcd EX 100");
    EXPECT_INT(c, 4, "BITOP AND d t");
    EXPECT_INT(c, -1, "TTL d");
    r = CMD(c, "TTL t");
    ASSERT_TYPE(r, REDIS_REPLY_INTEGER);
    assert_true(r->integer > 90);
    freeReplyObject(r);
}

static void
test_bits_bitop_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "MSET a 1 b 2 d old");
    EXPECT_ERR(c, "ERR BITOP NOT must be called with a single source key.",
               "BITOP NOT d a b");
    EXPECT_ERR(c, "ERR BITOP NOT must be called with a single source key.",
               "BITOP NOT d missing missing2");
    EXPECT_ERR(c, "ERR syntax error", "BITOP FOO d a");
    EXPECT_ERR(c, "ERR syntax error", "BITOP ANDX d a b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'bitop' command",
               "BITOP AND d");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'bitop' command",
               "BITOP NOT");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'bitop' command", "BITOP");
    /* nothing was written */
    EXPECT_STR(c, "old", "GET d");
}

/* A larger value through every operation, checked against a model. */
static void
test_bits_bitop_large(void **state)
{
    redisContext *c = *state;
    enum { N = 10000 };
    static unsigned char a[N], b[N / 2], want[N];
    long long ones = 0;

    for (size_t i = 0; i < N; i++) {
        a[i] = (unsigned char)(i * 31 + 7);
        ones += __builtin_popcount(a[i]);
    }
    for (size_t i = 0; i < N / 2; i++) {
        b[i] = (unsigned char)(i * 17 + 3);
    }
    EXPECT_OK(c, "SET a %b", a, sizeof(a));
    EXPECT_OK(c, "SET b %b", b, sizeof(b));
    EXPECT_INT(c, ones, "BITCOUNT a");
    EXPECT_INT(c, N, "BITOP XOR d a b");
    for (size_t i = 0; i < N; i++) {
        want[i] = a[i] ^ (i < N / 2 ? b[i] : 0);
    }
    EXPECT_BIN(c, (const char *)want, N, "GET d");
    EXPECT_INT(c, N, "BITOP AND d a b");
    for (size_t i = 0; i < N; i++) {
        want[i] = a[i] & (i < N / 2 ? b[i] : 0);
    }
    EXPECT_BIN(c, (const char *)want, N, "GET d");
    EXPECT_INT(c, N, "BITOP NOT d a");
    for (size_t i = 0; i < N; i++) {
        want[i] = (unsigned char)~a[i];
    }
    EXPECT_BIN(c, (const char *)want, N, "GET d");
    EXPECT_INT(c, (long long)N * 8 - ones, "BITCOUNT d");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        ITEST(test_bits_setbit_getbit),
        ITEST(test_bits_setbit_keeps_ttl),
        ITEST(test_bits_setbit_getbit_errors),
        ITEST(test_bits_bitcount),
        ITEST(test_bits_bitcount_errors),
        ITEST(test_bits_bitpos_byte),
        ITEST(test_bits_bitpos_all_ones_zeros),
        ITEST(test_bits_bitpos_bit),
        ITEST(test_bits_bitpos_errors),
        ITEST(test_bits_bitop),
        ITEST(test_bits_bitop_missing),
        ITEST(test_bits_bitop_errors),
        ITEST(test_bits_bitop_large),
    };

    return cmocka_run_group_tests_name("bits", tests, itest_group_setup,
                                       itest_group_teardown);
}
