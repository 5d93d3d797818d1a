/* test_multi.c: transactions (MULTI EXEC DISCARD WATCH UNWATCH): queueing,
 * errors at queue time (EXECABORT) and at run time, optimistic locking
 * through WATCH against a second connection. */
#include "itest.h"

struct spawn_server itest_srv;

static const char EXECABORT[] =
    "EXECABORT Transaction discarded because of previous errors.";

static void
test_multi_exec(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET a 1");
    EXPECT_STATUS(c, "QUEUED", "INCR a");
    EXPECT_STATUS(c, "QUEUED", "GET a");
    EXPECT_STATUS(c, "QUEUED", "GET missing");
    EXPECT_STATUS(c, "QUEUED", "MGET a missing");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 5);
    ASSERT_RSTR(r->element[0], "OK");
    ASSERT_TYPE(r->element[0], REDIS_REPLY_STATUS);
    assert_int_equal(r->element[1]->integer, 2);
    ASSERT_RSTR(r->element[2], "2");
    ASSERT_TYPE(r->element[3], REDIS_REPLY_NIL);
    ASSERT_TYPE(r->element[4], REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[4]->elements, 2);
    freeReplyObject(r);
    /* an empty transaction */
    EXPECT_OK(c, "MULTI");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);
    /* after EXEC the connection is back to normal */
    EXPECT_STR(c, "2", "GET a");
}

/* Errors while running do not stop the other queued commands. */
static void
test_multi_runtime_error(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    EXPECT_OK(c, "SET s abc");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "INCR s");
    EXPECT_STATUS(c, "QUEUED", "SET t 1");
    EXPECT_STATUS(c, "QUEUED", "SET u v EX 0");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    ASSERT_TYPE(r->element[0], REDIS_REPLY_ERROR);
    assert_string_equal(r->element[0]->str,
                        "ERR value is not an integer or out of range");
    ASSERT_RSTR(r->element[1], "OK");
    ASSERT_TYPE(r->element[2], REDIS_REPLY_ERROR);
    assert_string_equal(r->element[2]->str,
                        "ERR invalid expire time in 'set' command");
    freeReplyObject(r);
    EXPECT_STR(c, "1", "GET t");
}

/* A command refused while queueing aborts the whole transaction. */
static void
test_multi_execabort(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET a 1");
    EXPECT_ERR(c,
               "ERR unknown command 'nosuchcmd', with args beginning "
               "with: 'x' ",
               "nosuchcmd x");
    EXPECT_STATUS(c, "QUEUED", "SET b 2");
    EXPECT_ERR(c, EXECABORT, "EXEC");
    EXPECT_INT(c, 0, "EXISTS a b");
    /* wrong arity aborts too */
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET a 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "GET");
    EXPECT_ERR(c, EXECABORT, "EXEC");
    EXPECT_INT(c, 0, "EXISTS a");
    /* and the connection is out of MULTI */
    EXPECT_OK(c, "SET a 1");
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
}

static void
test_multi_discard(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c, "ERR DISCARD without MULTI", "DISCARD");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET a 1");
    EXPECT_STATUS(c, "QUEUED", "INCR b");
    EXPECT_OK(c, "DISCARD");
    EXPECT_INT(c, 0, "EXISTS a b");
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    EXPECT_ERR(c, "ERR DISCARD without MULTI", "DISCARD");
}

static void
test_multi_nested(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET a 1");
    EXPECT_ERR(c, "ERR MULTI calls can not be nested", "MULTI");
    EXPECT_ERR(c, "ERR WATCH inside MULTI is not allowed", "WATCH a");
    EXPECT_STATUS(c, "QUEUED", "SET b 2");
    /* neither error aborts the transaction */
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    freeReplyObject(r);
    EXPECT_INT(c, 2, "EXISTS a b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'multi' command",
               "MULTI x");
}

/* WATCH: a change by another client makes EXEC return a null array. */
static void
test_multi_watch_abort(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    redisReply *r;

    assert_non_null(d);
    EXPECT_OK(c, "SET w 1");
    EXPECT_OK(c, "WATCH w");
    EXPECT_OK(d, "SET w 2");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET w 3");
    EXPECT_NIL(c, "EXEC");
    EXPECT_STR(c, "2", "GET w");
    /* the watch ends with EXEC: the next transaction runs */
    EXPECT_OK(d, "SET w 4");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET w 5");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    ASSERT_RSTR(r->element[0], "OK");
    freeReplyObject(r);
    EXPECT_STR(c, "5", "GET w");
    redisFree(d);
}

static void
test_multi_watch_kinds(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    redisReply *r;

    assert_non_null(d);
    /* a watched missing key that another client creates */
    EXPECT_OK(c, "WATCH created");
    EXPECT_OK(d, "SET created 1");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "PING");
    EXPECT_NIL(c, "EXEC");
    /* deleted, expired by EXPIRE, incremented, renamed away */
    EXPECT_OK(c, "MSET d 1 e 1 i 1 r 1");
    EXPECT_OK(c, "WATCH d");
    EXPECT_INT(d, 1, "DEL d");
    EXPECT_OK(c, "MULTI");
    EXPECT_NIL(c, "EXEC");
    EXPECT_OK(c, "WATCH e");
    EXPECT_INT(d, 1, "EXPIRE e 100");
    EXPECT_OK(c, "MULTI");
    EXPECT_NIL(c, "EXEC");
    EXPECT_OK(c, "WATCH i");
    EXPECT_INT(d, 2, "INCR i");
    EXPECT_OK(c, "MULTI");
    EXPECT_NIL(c, "EXEC");
    EXPECT_OK(c, "WATCH r");
    EXPECT_OK(d, "RENAME r r2");
    EXPECT_OK(c, "MULTI");
    EXPECT_NIL(c, "EXEC");
    /* FLUSHALL touches every watched key that existed */
    EXPECT_OK(c, "WATCH i");
    EXPECT_OK(d, "FLUSHALL");
    EXPECT_OK(c, "MULTI");
    EXPECT_NIL(c, "EXEC");
    /* a change to an unwatched key does not matter */
    EXPECT_OK(c, "WATCH x");
    EXPECT_OK(d, "SET y 1");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "PING");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    redisFree(d);
}

static void
test_multi_unwatch(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    redisReply *r;

    assert_non_null(d);
    EXPECT_OK(c, "SET w 1");
    EXPECT_OK(c, "WATCH w other");
    EXPECT_OK(c, "UNWATCH");
    EXPECT_OK(d, "SET w 2");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "INCR w");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    assert_int_equal(r->element[0]->integer, 3);
    freeReplyObject(r);
    /* DISCARD also forgets watched keys */
    EXPECT_OK(c, "WATCH w");
    EXPECT_OK(c, "MULTI");
    EXPECT_OK(c, "DISCARD");
    EXPECT_OK(d, "SET w 9");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "GET w");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    ASSERT_RSTR(r->element[0], "9");
    freeReplyObject(r);
    EXPECT_OK(c, "UNWATCH");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'watch' command", "WATCH");
    redisFree(d);
}

/* A change the watching client makes itself also aborts its EXEC. */
static void
test_multi_watch_own_write(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SET w 1");
    EXPECT_OK(c, "WATCH w");
    EXPECT_OK(c, "SET w 2");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET w 3");
    EXPECT_NIL(c, "EXEC");
    EXPECT_STR(c, "2", "GET w");
}

/* Commands from other clients run before EXEC, not inside it. */
static void
test_multi_isolation(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    redisReply *r;

    assert_non_null(d);
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "INCR n");
    EXPECT_INT(d, 1, "INCR n");
    EXPECT_STATUS(c, "QUEUED", "INCR n");
    EXPECT_STR(d, "1", "GET n");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->integer, 2);
    assert_int_equal(r->element[1]->integer, 3);
    freeReplyObject(r);
    redisFree(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        ITEST(test_multi_exec),
        ITEST(test_multi_runtime_error),
        ITEST(test_multi_execabort),
        ITEST(test_multi_discard),
        ITEST(test_multi_nested),
        ITEST(test_multi_watch_abort),
        ITEST(test_multi_watch_kinds),
        ITEST(test_multi_unwatch),
        ITEST(test_multi_watch_own_write),
        ITEST(test_multi_isolation),
    };

    return cmocka_run_group_tests_name("multi", tests, itest_group_setup,
                                       itest_group_teardown);
}
