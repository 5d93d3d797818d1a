/* test_faults.c: hostile and idle clients (issue 13): the limits a client
 * gets before AUTH, and the query buffer of an idle client, which shrinks
 * and is reported by CLIENT LIST as it is. The AUTH tests spawn a server
 * with requirepass; against OH_TEST_SERVER they are skipped. */
#include "itest.h"

#include <unistd.h>

struct spawn_server itest_srv;

#define CLOSE_WAIT_MS 5000   /* ms a server may take to close a connection */
#define BIG_VALUE     400000 /* bytes of the large SET */
#define IDLE_WAIT_MS  3000   /* ms past the 2 s idle shrink (+0.5 s check) */

static const char PASS[] = "s3cret";
static const char NOAUTH[] = "-NOAUTH Authentication required.\r\n";

/* A server with requirepass, started by one test. */
static struct spawn_server own;

static int
own_setup(void **state)
{
    static const char *const args[] = {"--requirepass", PASS, NULL};

    *state = NULL;
    if (spawn_external()) {
        return 0;
    }
    return spawn_start(&own, args);
}

static int
own_teardown(void **state)
{
    int rc = spawn_external() ? 0 : spawn_stop(&own);

    (void)state;
    memset(&own, 0, sizeof(own));
    return rc;
}

static struct raw_conn *
open_own(void)
{
    struct raw_conn *rc = raw_open(own.host, own.port, 0);

    assert_non_null(rc);
    return rc;
}

/* Sends `req` unauthenticated, expects `err` and the connection closed. */
static void
expect_refused(const char *req, const char *err)
{
    struct raw_conn *rc = open_own();

    assert_int_equal(raw_sends(rc, req), 0);
    RAW_EXPECT(rc, err);
    assert_true(raw_wait_closed(rc, CLOSE_WAIT_MS, NULL));
    raw_close(&rc);
}

static void
test_issue_13_noauth_multibulk(void **state)
{
    (void)state;
    SKIP_IF_EXTERNAL();
    expect_refused("*100\r\n",
                   "-ERR Protocol error: unauthenticated multibulk length\r\n");
    expect_refused("*11\r\n",
                   "-ERR Protocol error: unauthenticated multibulk length\r\n");
}

static void
test_issue_13_noauth_bulk(void **state)
{
    (void)state;
    SKIP_IF_EXTERNAL();
    expect_refused("*1\r\n$100000000\r\n",
                   "-ERR Protocol error: unauthenticated bulk length\r\n");
    expect_refused("*2\r\n$3\r\nGET\r\n$16385\r\n",
                   "-ERR Protocol error: unauthenticated bulk length\r\n");
    /* a malformed length is still the generic error */
    expect_refused("*1\r\n$x\r\n",
                   "-ERR Protocol error: invalid bulk length\r\n");
}

/* Builds "*argc\r\n" + argc bulks of `len` bytes ('v'); OWNED, free(). */
static char *
request(int argc, size_t len, size_t *n)
{
    size_t cap = 32 + (size_t)argc * (len + 32);
    char *p = malloc(cap);
    size_t o;

    assert_non_null(p);
    o = (size_t)snprintf(p, cap, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        o += (size_t)snprintf(p + o, cap - o, "$%zu\r\n", len);
        memset(p + o, 'v', len);
        o += len;
        memcpy(p + o, "\r\n", 2);
        o += 2;
    }
    *n = o;
    return p;
}

/* At the limits the request is read whole and answered -NOAUTH; after AUTH
 * (pipelined in the same write) the full limits apply. */
static void
test_issue_13_noauth_at_limits(void **state)
{
    struct raw_conn *rc;
    size_t n;
    char *req;

    (void)state;
    SKIP_IF_EXTERNAL();
    rc = open_own();
    req = request(10, 3, &n);
    assert_int_equal(raw_send(rc, req, n), 0);
    free(req);
    RAW_EXPECT_PREFIX(rc, "-ERR unknown command 'vvv'");
    assert_int_equal(raw_sends(rc, "*2\r\n$3\r\nGET\r\n"), 0);
    req = request(1, 16384, &n);
    assert_int_equal(raw_send(rc, req + 4, n - 4), 0); /* its bulk only */
    free(req);
    RAW_EXPECT(rc, NOAUTH);
    assert_int_equal(raw_sends(rc, "*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n"
                                   "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"),
                     0);
    req = request(1, 100000, &n);
    assert_int_equal(raw_send(rc, req + 4, n - 4), 0); /* its bulk only */
    free(req);
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    req = request(100, 1, &n);
    /* 100 arguments "v": no such command, but no protocol error */
    assert_int_equal(raw_send(rc, req, n), 0);
    free(req);
    RAW_EXPECT_PREFIX(rc, "-ERR unknown command 'v'");
    raw_close(&rc);
}

/* Reads CLIENT LIST ID `id` over `c` and returns field `name` as a number. */
static long long
client_field(redisContext *c, long long id, const char *name)
{
    redisReply *r = CMD(c, "CLIENT LIST ID %lld", id);
    char v[64];

    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    if (!itest_client_field(r->str, name, v, sizeof(v))) {
        print_error("no %s= in %s\n", name, r->str);
        fail();
    }
    freeReplyObject(r);
    return atoll(v);
}

/* A 400 KB SET grows the client's query buffer; CLIENT LIST shows it, and
 * after 2 s idle it is released. The client running CLIENT LIST sees its
 * own request in qbuf. */
static void
test_issue_13_qbuf_shrinks_when_idle(void **state)
{
    redisContext *c = *state, *big;
    char *value = malloc(BIG_VALUE);
    long long id, self;
    redisReply *r;

    SKIP_UNLESS_OFFHEAP();
    assert_non_null(value);
    memset(value, 'x', BIG_VALUE);
    big = itest_connect_to(&itest_srv);
    assert_non_null(big);
    id = itest_client_id(big);
    r = CMD(big, "SET big %b", value, (size_t)BIG_VALUE);
    ASSERT_TYPE(r, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    free(value);
    assert_int_equal(client_field(c, id, "qbuf"), 0);
    assert_true(client_field(c, id, "qbuf-free") >= BIG_VALUE);
    assert_true(client_field(c, id, "rbs") >= BIG_VALUE);
    self = itest_client_id(c);
    assert_true(client_field(c, self, "qbuf") > 0); /* CLIENT LIST ID n */
    spawn_sleep_ms(IDLE_WAIT_MS);
    assert_int_equal(client_field(c, id, "qbuf"), 0);
    assert_int_equal(client_field(c, id, "qbuf-free"), 0);
    assert_int_equal(client_field(c, id, "rbs"), 0);
    /* the client still works, with a fresh buffer */
    EXPECT_INT(big, BIG_VALUE, "STRLEN big");
    assert_true(client_field(c, id, "rbs") < BIG_VALUE);
    redisFree(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_issue_13_noauth_multibulk,
                                        own_setup, own_teardown),
        cmocka_unit_test_setup_teardown(test_issue_13_noauth_bulk, own_setup,
                                        own_teardown),
        cmocka_unit_test_setup_teardown(test_issue_13_noauth_at_limits,
                                        own_setup, own_teardown),
        ITEST(test_issue_13_qbuf_shrinks_when_idle),
    };

    return cmocka_run_group_tests_name("faults", tests, itest_group_setup,
                                       itest_group_teardown);
}
