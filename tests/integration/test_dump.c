/* test_dump.c: DUMP and RESTORE through hiredis (RESP2): round trips, TTL
 * and ABSTTL, REPLACE/BUSYKEY, option and payload errors, WATCH, MULTI,
 * COMMAND INFO, and keys moved both ways between the server under test and
 * a real redis-server (spawned from $OH_REDIS_SERVER, default
 * /usr/bin/redis-server; that test skips with a message if there is none).
 * Every expectation is Redis 7's reply, so the file also passes against
 * redis-server via OH_TEST_SERVER; offheapd-only behaviour is marked. */
#include "itest.h"

#include <unistd.h>

struct spawn_server itest_srv;

#define BIG_BYTES   (100 * 1024) /* a value Redis LZF-compresses */
#define NOISE_BYTES (40 * 1024)  /* a value LZF cannot shrink */

static const char BUSY_ERR[] = "BUSYKEY Target key name already exists.";
static const char CHECK_ERR[] = "ERR DUMP payload version or checksum are "
                                "wrong";
static const char FORMAT_ERR[] = "ERR Bad data format";

/* ---- helpers ---- */

/* A DUMP payload (OWNED: free()). */
struct payload {
    char *p;
    size_t len;
};

/* DUMPs key (binary-safe) on c; fails the test unless it is a bulk. */
static struct payload
dump_key(redisContext *c, const char *key, size_t klen)
{
    redisReply *r = CMD(c, "DUMP %b", key, klen);
    struct payload d;

    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    d.len = r->len;
    d.p = malloc(r->len + 1);
    assert_non_null(d.p);
    memcpy(d.p, r->str, r->len);
    freeReplyObject(r);
    return d;
}

/* Sets key = val on c, DUMPs it and deletes it. */
static struct payload
dump_value(redisContext *c, const char *key, const char *val, size_t vlen)
{
    struct payload d;

    EXPECT_OK(c, "SET %s %b", key, val, vlen);
    d = dump_key(c, key, strlen(key));
    EXPECT_INT(c, 1, "DEL %s", key);
    return d;
}

/* Returns the server's time in ms (TIME). */
static long long
server_ms(redisContext *c)
{
    redisReply *r = CMD(c, "TIME");
    long long ms;

    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    ms = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
    freeReplyObject(r);
    return ms;
}

/* Rewrites the footer of d (version, then a fresh CRC-64 computed the
 * slow way), so a test can make a payload that passes the checksum. */
static void
reseal(struct payload *d, unsigned version)
{
    unsigned char *b = (unsigned char *)d->p;
    size_t n = d->len - 8;
    uint64_t crc = 0;

    b[n - 2] = (unsigned char)version;
    b[n - 1] = (unsigned char)(version >> 8);
    for (size_t i = 0; i < n; i++) {
        crc ^= b[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ull : crc >> 1;
        }
    }
    for (int i = 0; i < 8; i++) {
        b[n + i] = (unsigned char)(crc >> (8 * i));
    }
}

/* ---- round trips ---- */

static void
test_dump_roundtrip(void **state)
{
    redisContext *c = *state;
    struct payload d = dump_value(c, "foo", "bar", 3);

    EXPECT_INT(c, 0, "EXISTS foo");
    EXPECT_OK(c, "RESTORE foo 0 %b", d.p, d.len);
    EXPECT_INT(c, -1, "TTL foo");
    EXPECT_STR(c, "bar", "GET foo");
    free(d.p);
}

static void
test_dump_missing_key_is_nil(void **state)
{
    redisContext *c = *state;

    EXPECT_NIL(c, "DUMP nosuchkey");
}

static void
test_dump_values_roundtrip(void **state)
{
    redisContext *c = *state;
    static const char *const vals[] = {
        "",           "0",          "-1",  "127", "-128", "300", "-70000",
        "2147483647", "2147483648", "007", "-0",  "1.5",  " 12"};
    char bin[512];

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        struct payload d = dump_value(c, "k", vals[i], strlen(vals[i]));
        EXPECT_OK(c, "RESTORE k 0 %b", d.p, d.len);
        EXPECT_BIN(c, vals[i], strlen(vals[i]), "GET k");
        EXPECT_INT(c, 1, "DEL k");
        free(d.p);
    }
    for (size_t i = 0; i < sizeof(bin); i++) {
        bin[i] = (char)(i * 7);
    }
    struct payload d = dump_value(c, "k", bin, sizeof(bin));
    EXPECT_OK(c, "RESTORE k 0 %b", d.p, d.len);
    EXPECT_BIN(c, bin, sizeof(bin), "GET k");
    free(d.p);
}

static void
test_dump_large_value(void **state)
{
    redisContext *c = *state;
    char *big = malloc(BIG_BYTES);
    struct payload d;

    assert_non_null(big);
    for (size_t i = 0; i < BIG_BYTES; i++) {
        big[i] = "offheap DUMP "[i % 13];
    }
    d = dump_value(c, "big", big, BIG_BYTES);
    EXPECT_OK(c, "RESTORE big 0 %b", d.p, d.len);
    EXPECT_BIN(c, big, BIG_BYTES, "GET big");
    free(d.p);
    free(big);
}

/* ---- TTL ---- */

static void
test_dump_restore_ttl(void **state)
{
    redisContext *c = *state;
    struct payload d = dump_value(c, "foo", "bar", 3);
    long long t;

    EXPECT_OK(c, "RESTORE foo 5000 %b", d.p, d.len);
    t = INT_REPLY(c, "PTTL foo");
    assert_true(t > 3000 && t <= 5000);
    /* more than 32 bits of ms */
    EXPECT_OK(c, "RESTORE foo 2569591501 %b REPLACE", d.p, d.len);
    t = INT_REPLY(c, "PTTL foo");
    assert_true(t > 2569591501LL - 3000 && t <= 2569591501LL);
    EXPECT_STR(c, "bar", "GET foo");
    free(d.p);
}

static void
test_dump_restore_absttl(void **state)
{
    redisContext *c = *state;
    struct payload d = dump_value(c, "foo", "bar", 3);
    long long now = server_ms(c), t;

    EXPECT_OK(c, "RESTORE foo %lld %b ABSTTL", now + 3000, d.p, d.len);
    t = INT_REPLY(c, "PTTL foo");
    assert_true(t > 1000 && t <= 3100);
    EXPECT_STR(c, "bar", "GET foo");
    /* ABSTTL with 0: no expiry */
    EXPECT_OK(c, "RESTORE foo 0 %b ABSTTL REPLACE", d.p, d.len);
    EXPECT_INT(c, -1, "PTTL foo");
    free(d.p);
}

static void
test_dump_restore_expired_absttl(void **state)
{
    redisContext *c = *state;
    struct payload d = dump_value(c, "foo", "bar", 3);
    long long past = server_ms(c) - 5000;

    /* not created */
    EXPECT_OK(c, "RESTORE foo %lld %b ABSTTL", past, d.p, d.len);
    EXPECT_INT(c, 0, "EXISTS foo");
    /* with REPLACE, the old key goes */
    EXPECT_OK(c, "SET foo old");
    EXPECT_OK(c, "RESTORE foo %lld %b ABSTTL REPLACE", past, d.p, d.len);
    EXPECT_INT(c, 0, "EXISTS foo");
    /* without REPLACE an existing key is still BUSYKEY */
    EXPECT_OK(c, "SET foo old");
    EXPECT_ERR(c, BUSY_ERR, "RESTORE foo %lld %b ABSTTL", past, d.p, d.len);
    EXPECT_STR(c, "old", "GET foo");
    /* absolute 1 (1970) is in the past too */
    EXPECT_OK(c, "RESTORE foo 1 %b ABSTTL REPLACE", d.p, d.len);
    EXPECT_INT(c, 0, "EXISTS foo");
    free(d.p);
}

/* ---- REPLACE, options, errors ---- */

static void
test_dump_busykey_and_replace(void **state)
{
    redisContext *c = *state;
    struct payload d1 = dump_value(c, "foo", "bar1", 4);
    struct payload d2 = dump_value(c, "foo", "bar2", 4);

    EXPECT_OK(c, "RESTORE foo 0 %b", d1.p, d1.len);
    EXPECT_ERR(c, BUSY_ERR, "RESTORE foo 0 %b", d2.p, d2.len);
    EXPECT_STR(c, "bar1", "GET foo");
    /* BUSYKEY comes before the payload is looked at */
    EXPECT_ERR(c, BUSY_ERR, "RESTORE foo 0 ...");
    EXPECT_INT(c, 1, "PEXPIRE foo 100000");
    EXPECT_OK(c, "RESTORE foo 0 %b replace", d2.p, d2.len);
    EXPECT_STR(c, "bar2", "GET foo");
    EXPECT_INT(c, -1, "TTL foo"); /* the old TTL went with the old value */
    free(d1.p);
    free(d2.p);
}

static void
test_dump_restore_options(void **state)
{
    redisContext *c = *state;
    struct payload d = dump_value(c, "foo", "bar", 3);

    EXPECT_OK(c, "RESTORE foo 0 %b IDLETIME 1000", d.p, d.len);
    EXPECT_OK(c, "RESTORE foo 0 %b REPLACE FREQ 100", d.p, d.len);
    EXPECT_OK(c, "RESTORE foo 0 %b REPLACE FREQ 0 ABSTTL", d.p, d.len);
    EXPECT_OK(c, "RESTORE foo 0 %b REPLACE IDLETIME 0 REPLACE", d.p, d.len);
    EXPECT_STR(c, "bar", "GET foo");
    free(d.p);
}

static void
test_dump_restore_option_errors(void **state)
{
    redisContext *c = *state;
    struct payload d = dump_value(c, "foo", "bar", 3);

    EXPECT_ERR(c, "ERR syntax error", "RESTORE foo 0 ... invalid-option");
    EXPECT_OK(c, "SET foo x"); /* options come before BUSYKEY */
    EXPECT_ERR(c, "ERR syntax error", "RESTORE foo 0 %b bad", d.p, d.len);
    EXPECT_ERR(c, "ERR syntax error", "RESTORE foo 0 %b IDLETIME", d.p, d.len);
    EXPECT_ERR(c, "ERR syntax error", "RESTORE foo 0 %b IDLETIME 1 FREQ 1", d.p,
               d.len);
    EXPECT_ERR(c, "ERR syntax error", "RESTORE foo 0 %b FREQ 1 IDLETIME 1", d.p,
               d.len);
    EXPECT_ERR(c, "ERR Invalid IDLETIME value, must be >= 0",
               "RESTORE foo 0 %b IDLETIME -1", d.p, d.len);
    EXPECT_ERR(c, "ERR Invalid FREQ value, must be >= 0 and <= 255",
               "RESTORE foo 0 %b FREQ 256", d.p, d.len);
    EXPECT_ERR(c, "ERR Invalid FREQ value, must be >= 0 and <= 255",
               "RESTORE foo 0 %b FREQ -1", d.p, d.len);
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "RESTORE foo 0 %b IDLETIME x", d.p, d.len);
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "RESTORE foo 0 %b FREQ 1.5", d.p, d.len);
    EXPECT_STR(c, "x", "GET foo");
    EXPECT_INT(c, 1, "DEL foo");
    EXPECT_ERR(c, "ERR Invalid TTL value, must be >= 0", "RESTORE foo -1 %b",
               d.p, d.len);
    EXPECT_ERR(c, "ERR value is not an integer or out of range",
               "RESTORE foo ttl %b", d.p, d.len);
    EXPECT_ERR(c, "ERR wrong number of arguments for 'restore' command",
               "RESTORE foo 0");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'dump' command",
               "DUMP a b");
    EXPECT_INT(c, 0, "EXISTS foo");
    free(d.p);
}

static void
test_dump_restore_payload_errors(void **state)
{
    redisContext *c = *state;
    struct payload d = dump_value(c, "foo", "bar", 3);

    EXPECT_ERR(c, CHECK_ERR, "RESTORE foo 0 ...");
    EXPECT_ERR(c, CHECK_ERR, "RESTORE foo 0 %b", "", (size_t)0);
    EXPECT_ERR(c, CHECK_ERR, "RESTORE foo 0 %b", d.p, d.len - 1);
    /* without the type byte: a leading 0 does not change a CRC-64 that
     * starts from 0, so this passes the check and fails as a body */
    EXPECT_ERR(c, FORMAT_ERR, "RESTORE foo 0 %b", d.p + 1, d.len - 1);
    d.p[d.len - 1] ^= 1; /* CRC */
    EXPECT_ERR(c, CHECK_ERR, "RESTORE foo 0 %b", d.p, d.len);
    d.p[d.len - 1] ^= 1;
    d.p[2] ^= 0x20; /* value byte */
    EXPECT_ERR(c, CHECK_ERR, "RESTORE foo 0 %b", d.p, d.len);
    d.p[2] ^= 0x20;
    reseal(&d, 999); /* a version from the future, correct CRC */
    EXPECT_ERR(c, CHECK_ERR, "RESTORE foo 0 %b", d.p, d.len);
    /* a sealed payload whose body lies about its length */
    reseal(&d, 10);
    EXPECT_OK(c, "RESTORE foo 0 %b", d.p, d.len);
    d.p[1] = 0x3f; /* 63 bytes, only 3 there */
    reseal(&d, 10);
    EXPECT_ERR(c, FORMAT_ERR, "RESTORE bar 0 %b", d.p, d.len);
    d.p[1] = 0x03;
    d.p[0] = 0x08; /* no such RDB type */
    reseal(&d, 10);
    EXPECT_ERR(c, FORMAT_ERR, "RESTORE bar 0 %b", d.p, d.len);
    EXPECT_INT(c, 0, "EXISTS bar");
    free(d.p);
}

/* ---- WATCH, MULTI, COMMAND ---- */

static void
test_dump_restore_touches_watch(void **state)
{
    redisContext *c = *state;
    redisContext *c2 = itest_connect_to(&itest_srv);
    struct payload d = dump_value(c, "foo", "bar", 3);
    redisReply *r;

    assert_non_null(c2);
    EXPECT_OK(c, "WATCH foo");
    EXPECT_OK(c2, "RESTORE foo 0 %b", d.p, d.len);
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "GET foo");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_NIL);
    freeReplyObject(r);
    /* inside MULTI: queued, then run */
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "RESTORE foo2 0 %b", d.p, d.len);
    EXPECT_STATUS(c, "QUEUED", "DUMP foo2");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    ASSERT_RSTR(r->element[0], "OK");
    ASSERT_TYPE(r->element[1], REDIS_REPLY_STRING);
    assert_int_equal(r->element[1]->len, d.len);
    assert_memory_equal(r->element[1]->str, d.p, d.len);
    freeReplyObject(r);
    redisFree(c2);
    free(d.p);
}

/* Checks COMMAND INFO name: arity, first/last/step key. */
static void
check_info(redisContext *c, const char *name, long long arity, const char *flag)
{
    redisReply *r = CMD(c, "COMMAND INFO %s", name), *e;
    bool has = false;

    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    e = r->element[0];
    ASSERT_TYPE(e, REDIS_REPLY_ARRAY);
    assert_int_equal(e->element[1]->integer, arity);
    for (size_t i = 0; i < e->element[2]->elements; i++) {
        has = has || strcmp(e->element[2]->element[i]->str, flag) == 0;
    }
    assert_true(has);
    assert_int_equal(e->element[3]->integer, 1);
    assert_int_equal(e->element[4]->integer, 1);
    assert_int_equal(e->element[5]->integer, 1);
    freeReplyObject(r);
}

static void
test_dump_command_info(void **state)
{
    redisContext *c = *state;

    check_info(c, "dump", 2, "readonly");
    check_info(c, "restore", -4, "write");
    check_info(c, "restore", -4, "denyoom");
}

/* ---- across servers ---- */

/* The values moved in both directions, filled by make_values(). */
struct xvalue {
    const char *key;
    char *val; /* OWNED */
    size_t len;
};

#define N_XVALUES 9

static void
make_values(struct xvalue *v)
{
    static const char *const small[] = {
        "hello", "12345", "-7", "4294967296", "", "exactly twenty bytes"};
    size_t i;

    for (i = 0; i < 6; i++) {
        v[i].key = small[i][0] == '\0' ? "empty" : small[i];
        v[i].len = strlen(small[i]);
        v[i].val = strdup(small[i]);
    }
    v[6].key = "binary";
    v[6].len = 1024;
    v[7].key = "compressible";
    v[7].len = BIG_BYTES;
    v[8].key = "noise";
    v[8].len = NOISE_BYTES;
    for (i = 6; i < N_XVALUES; i++) {
        v[i].val = malloc(v[i].len);
        assert_non_null(v[i].val);
    }
    for (i = 0; i < v[6].len; i++) {
        v[6].val[i] = (char)i; /* NUL, CR, LF... */
    }
    for (i = 0; i < v[7].len; i++) {
        v[7].val[i] = "key:value,"[i % 10];
    }
    uint32_t x = 2463534242u;
    for (i = 0; i < v[8].len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[8].val[i] = (char)x;
    }
}

/* Moves every value from `from` to `to` with DUMP/RESTORE and checks it
 * arrives intact, with its TTL. */
static void
move_all(redisContext *from, redisContext *to, const struct xvalue *v)
{
    for (int i = 0; i < N_XVALUES; i++) {
        struct payload d;
        long long t;
        EXPECT_OK(from, "SET %s %b PX 600000", v[i].key, v[i].val, v[i].len);
        d = dump_key(from, v[i].key, strlen(v[i].key));
        EXPECT_OK(to, "RESTORE %s 300000 %b REPLACE", v[i].key, d.p, d.len);
        EXPECT_BIN(to, v[i].val, v[i].len, "GET %s", v[i].key);
        t = INT_REPLY(to, "PTTL %s", v[i].key);
        assert_true(t > 290000 && t <= 300000);
        free(d.p);
    }
}

/* Small values (no compression) DUMP to the same bytes on both. */
static void
compare_small_dumps(redisContext *a, redisContext *b, const struct xvalue *v)
{
    for (int i = 0; i < 6; i++) {
        struct payload da = dump_key(a, v[i].key, strlen(v[i].key));
        struct payload db = dump_key(b, v[i].key, strlen(v[i].key));
        if (da.len != db.len || memcmp(da.p, db.p, da.len) != 0) {
            print_error("DUMP %s differs between the servers\n", v[i].key);
            fail();
        }
        free(da.p);
        free(db.p);
    }
}

static const char *
redis_binary(void)
{
    const char *b = getenv("OH_REDIS_SERVER");

    return (b != NULL && b[0] != '\0') ? b : "/usr/bin/redis-server";
}

static void
test_dump_across_redis_server(void **state)
{
    static const char *const args[] = {"--save", "", "--appendonly", "no",
                                       NULL};
    redisContext *c = *state, *rc;
    struct spawn_server peer;
    struct xvalue v[N_XVALUES];
    redisReply *r;

    if (access(redis_binary(), X_OK) != 0) {
        print_message("    (%s not installed: cross-server DUMP/RESTORE "
                      "skipped; set OH_REDIS_SERVER)\n",
                      redis_binary());
        skip();
    }
    assert_int_equal(spawn_start_exe(&peer, redis_binary(), args), 0);
    rc = itest_connect_to(&peer);
    assert_non_null(rc);
    make_values(v);
    move_all(rc, c, v); /* redis-server -> server under test */
    compare_small_dumps(rc, c, v);
    EXPECT_OK(rc, "FLUSHALL");
    move_all(c, rc, v); /* server under test -> redis-server */
    compare_small_dumps(rc, c, v);
    /* Redis compressed the big repetitive value: its payload is small */
    struct payload d = dump_key(rc, "compressible", 12);
    assert_true(d.len < BIG_BYTES / 10);
    free(d.p);
    /* a non-string value from Redis */
    EXPECT_INT(rc, 3, "RPUSH list a b c");
    d = dump_key(rc, "list", 4);
    if (spawn_is_offheap(&itest_srv)) {
        EXPECT_ERR(c, FORMAT_ERR, "RESTORE list 0 %b", d.p, d.len);
        EXPECT_INT(c, 0, "EXISTS list");
    }
    free(d.p);
    r = CMD(rc, "PING");
    freeReplyObject(r);
    redisFree(rc);
    for (int i = 0; i < N_XVALUES; i++) {
        free(v[i].val);
    }
    assert_int_equal(spawn_stop(&peer), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        ITEST(test_dump_roundtrip),
        ITEST(test_dump_missing_key_is_nil),
        ITEST(test_dump_values_roundtrip),
        ITEST(test_dump_large_value),
        ITEST(test_dump_restore_ttl),
        ITEST(test_dump_restore_absttl),
        ITEST(test_dump_restore_expired_absttl),
        ITEST(test_dump_busykey_and_replace),
        ITEST(test_dump_restore_options),
        ITEST(test_dump_restore_option_errors),
        ITEST(test_dump_restore_payload_errors),
        ITEST(test_dump_restore_touches_watch),
        ITEST(test_dump_command_info),
        ITEST(test_dump_across_redis_server),
    };

    return cmocka_run_group_tests_name("dump", tests, itest_group_setup,
                                       itest_group_teardown);
}
