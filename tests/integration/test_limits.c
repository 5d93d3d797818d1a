/* test_limits.c: limits and access control: client-query-buffer-limit,
 * client-output-buffer-limit, maxclients, requirepass, timeout, and the
 * Unix socket listener. Tests needing start-up options spawn a server of
 * their own; against OH_TEST_SERVER they use CONFIG SET instead and put the
 * old value back in their teardown. */
#include "itest.h"

#include <unistd.h>

struct spawn_server itest_srv;

#define CLOSE_WAIT_MS 5000 /* ms a server may take to close a connection */

static const char NOAUTH[] = "NOAUTH Authentication required.";
static const char HELLO_NOAUTH_70[] =
    "NOAUTH HELLO must be called with the client already authenticated, "
    "otherwise the HELLO AUTH <user> <pass> option can be used to "
    "authenticate the client and select the RESP protocol version at the "
    "same time";
static const char HELLO_NOAUTH_72[] =
    "NOAUTH HELLO must be called with the client already authenticated, "
    "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
    "authenticate the client and select the RESP protocol version at the "
    "same time";
static const char WRONGPASS[] =
    "WRONGPASS invalid username-password pair or user is disabled.";

/* A server started by one test (unused when external). */
static struct spawn_server own;

/* Returns the server a test with special options should talk to: its own
 * spawned one, or the external one reconfigured with CONFIG SET. */
static const struct spawn_server *
target(void)
{
    return spawn_external() ? &itest_srv : &own;
}

static void
start_own(const char *const *args)
{
    assert_int_equal(spawn_start(&own, args), 0);
}

/* Teardown for tests that may start `own`: stops it and fails if it did
 * not exit cleanly. */
static int
own_teardown(void **state)
{
    int rc = spawn_external() ? 0 : spawn_stop(&own);

    memset(&own, 0, sizeof(own));
    return itest_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

/* Runs one CONFIG SET on a fresh connection (the test's own may be gone). */
static int
config_set(const char *name, const char *value)
{
    redisContext *c = itest_connect_to(&itest_srv);
    redisReply *r;
    int rc;

    if (c == NULL) {
        return -1;
    }
    r = redisCommand(c, "CONFIG SET %s %s", name, value);
    rc = r != NULL && r->type == REDIS_REPLY_STATUS ? 0 : -1;
    if (rc != 0) {
        print_error("CONFIG SET %s %s failed\n", name, value);
    }
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

/* Returns CONFIG GET name as an OWNED string. */
static char *
config_get(redisContext *c, const char *name)
{
    redisReply *r = CMD(c, "CONFIG GET %s", name);
    char *v;

    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    v = strdup(r->element[1]->str);
    freeReplyObject(r);
    return v;
}

/* ---- client-query-buffer-limit ---- */

static char *saved_qbuf;

static void
test_limits_query_buffer(void **state)
{
    redisContext *c = *state;
    static const char hdr[] = "*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$3000000\r\n";
    size_t chunk = 64 * 1024, sent = 0;
    char *junk = malloc(chunk);
    struct raw_conn *rc = raw_open(itest_srv.host, itest_srv.port, 0);

    assert_non_null(junk);
    assert_non_null(rc);
    memset(junk, 'x', chunk);
    saved_qbuf = config_get(c, "client-query-buffer-limit");
    EXPECT_OK(c, "CONFIG SET client-query-buffer-limit 1mb");
    EXPECT_OK(c, "SET canary alive");
    raw_sends(rc, hdr);
    /* 3 MB of value for a 1 MB limit: the server closes mid-way */
    while (sent < 3000000 && raw_send(rc, junk, chunk) == 0) {
        sent += chunk;
    }
    assert_true(raw_wait_closed(rc, CLOSE_WAIT_MS, NULL));
    raw_close(&rc);
    free(junk);
    EXPECT_INT(c, 0, "EXISTS q");
    EXPECT_STR(c, "alive", "GET canary");
    EXPECT_STATUS(c, "PONG", "PING");
}

static int
qbuf_teardown(void **state)
{
    int rc = config_set("client-query-buffer-limit",
                        saved_qbuf != NULL ? saved_qbuf : "1gb");

    free(saved_qbuf);
    saved_qbuf = NULL;
    return itest_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

/* ---- client-output-buffer-limit ---- */

static char *saved_obuf;

#define BIG_VALUE (512 * 1024)

/* Stores a 512 KB value at "big" and opens a client with a small receive
 * buffer that asks for it `gets` times and reads nothing. */
static struct raw_conn *
open_greedy_client(redisContext *c, int gets)
{
    char *v = malloc(BIG_VALUE);
    struct raw_conn *rc;

    assert_non_null(v);
    memset(v, 'v', BIG_VALUE);
    EXPECT_OK(c, "SET big %b", v, (size_t)BIG_VALUE);
    free(v);
    rc = raw_open(itest_srv.host, itest_srv.port, 64 * 1024);
    assert_non_null(rc);
    for (int i = 0; i < gets; i++) {
        if (raw_sends(rc, "GET big\r\n") != 0) {
            break;
        }
    }
    return rc;
}

/* The server goes on serving others, "big" intact. */
static void
assert_others_served(redisContext *c)
{
    redisReply *r;

    EXPECT_STATUS(c, "PONG", "PING");
    r = CMD(c, "GET big");
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    assert_int_equal(r->len, BIG_VALUE);
    freeReplyObject(r);
}

/* A client that asks for much and reads nothing is closed once its
 * pending output passes the hard limit (Redis's "class hard soft seconds"
 * form); other clients go on. */
static void
test_limits_output_buffer(void **state)
{
    redisContext *c = *state;
    size_t discarded = 0;
    struct raw_conn *rc;

    saved_obuf = config_get(c, "client-output-buffer-limit");
    EXPECT_OK(c, "CONFIG SET client-output-buffer-limit %s", "normal 1mb 0 0");
    rc = open_greedy_client(c, 200); /* 200 x 512 KB = 100 MB of replies */
    spawn_sleep_ms(300);
    assert_true(raw_wait_closed(rc, CLOSE_WAIT_MS, &discarded));
    assert_true(discarded < 200 * (size_t)BIG_VALUE);
    raw_close(&rc);
    assert_others_served(c);
}

/* offheapd also takes one byte count: the normal class's hard limit. */
static void
test_limits_output_buffer_bytes(void **state)
{
    redisContext *c = *state;
    struct raw_conn *rc;
    char *got;

    if (spawn_is_redis(&itest_srv)) {
        skip();
    }
    saved_obuf = config_get(c, "client-output-buffer-limit");
    EXPECT_OK(c, "CONFIG SET client-output-buffer-limit 1mb");
    got = config_get(c, "client-output-buffer-limit");
    assert_non_null(got);
    assert_string_equal(got, "normal 1048576 0 0 replica 268435456 67108864 "
                             "60 pubsub 33554432 8388608 60");
    free(got);
    rc = open_greedy_client(c, 200);
    assert_true(raw_wait_closed(rc, CLOSE_WAIT_MS, NULL));
    raw_close(&rc);
    assert_others_served(c);
}

/* Above the soft limit for longer than its seconds: closed, even once the
 * client has stopped asking; not before the seconds have passed. */
static void
test_limits_output_buffer_soft(void **state)
{
    redisContext *c = *state;
    struct raw_conn *rc;

    saved_obuf = config_get(c, "client-output-buffer-limit");
    EXPECT_OK(c, "CONFIG SET client-output-buffer-limit %s", "normal 0 1mb 2");
    rc = open_greedy_client(c, 40); /* 20 MB pending, no hard limit */
    spawn_sleep_ms(500);
    assert_false(raw_wait_closed(rc, 0, NULL)); /* reads nothing */
    spawn_sleep_ms(2600); /* not reading: the output stays pending */
    assert_true(raw_wait_closed(rc, CLOSE_WAIT_MS, NULL));
    raw_close(&rc);
    assert_others_served(c);
}

/* A bad value is refused and changes nothing; a value naming one class
 * keeps the others. */
static void
test_limits_output_buffer_config(void **state)
{
    redisContext *c = *state;
    char *before, *after;

    saved_obuf = config_get(c, "client-output-buffer-limit");
    EXPECT_OK(c, "CONFIG SET client-output-buffer-limit %s",
              "normal 0 0 0 pubsub 32mb 8mb 60");
    before = config_get(c, "client-output-buffer-limit");
    assert_non_null(before);
    EXPECT_ERR_PREFIX(c, "ERR", "CONFIG SET client-output-buffer-limit %s",
                      "normal 1mb 0");
    EXPECT_ERR_PREFIX(c, "ERR", "CONFIG SET client-output-buffer-limit %s",
                      "nosuchclass 1mb 0 0");
    EXPECT_ERR_PREFIX(c, "ERR", "CONFIG SET client-output-buffer-limit %s",
                      "normal 1mb x 0");
    after = config_get(c, "client-output-buffer-limit");
    assert_non_null(after);
    assert_string_equal(before, after);
    free(after);
    EXPECT_OK(c, "CONFIG SET client-output-buffer-limit %s",
              "normal 2mb 1mb 10");
    after = config_get(c, "client-output-buffer-limit");
    assert_non_null(after);
    assert_non_null(strstr(after, "normal 2097152 1048576 10"));
    assert_non_null(strstr(after, "pubsub 33554432 8388608 60"));
    free(after);
    free(before);
}

static int
obuf_teardown(void **state)
{
    int rc = 0;

    if (saved_obuf != NULL) {
        rc = config_set("client-output-buffer-limit", saved_obuf);
    }
    free(saved_obuf);
    saved_obuf = NULL;
    return itest_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

/* ---- maxclients ---- */

static char *saved_maxclients;

static void
test_limits_maxclients(void **state)
{
    redisContext *c = *state;
    static const char *const args[] = {"--maxclients", "2", NULL};
    struct raw_conn *a, *b, *x;
    const struct spawn_server *s = target();

    if (spawn_external()) {
        char *info = INFO_TEXT(c, "INFO clients");
        long long n = itest_info_ll(info, "connected_clients");

        free(info);
        saved_maxclients = config_get(c, "maxclients");
        EXPECT_OK(c, "CONFIG SET maxclients %lld", n + 2);
    } else {
        start_own(args);
        spawn_sleep_ms(100); /* let the start-up probes' closes land */
    }
    a = raw_open(s->host, s->port, 0);
    b = raw_open(s->host, s->port, 0);
    assert_non_null(a);
    assert_non_null(b);
    raw_sends(a, "PING\r\n");
    RAW_EXPECT(a, "+PONG\r\n");
    raw_sends(b, "PING\r\n");
    RAW_EXPECT(b, "+PONG\r\n");
    x = raw_open(s->host, s->port, 0);
    assert_non_null(x);
    RAW_EXPECT(x, "-ERR max number of clients reached\r\n");
    assert_true(raw_wait_closed(x, CLOSE_WAIT_MS, NULL));
    raw_close(&x);
    /* the others still work */
    raw_sends(a, "PING\r\n");
    RAW_EXPECT(a, "+PONG\r\n");
    /* once one leaves, a new client gets in */
    raw_close(&b);
    spawn_sleep_ms(100);
    x = raw_open(s->host, s->port, 0);
    assert_non_null(x);
    raw_sends(x, "PING\r\n");
    RAW_EXPECT(x, "+PONG\r\n");
    raw_close(&x);
    raw_close(&a);
}

static int
maxclients_teardown(void **state)
{
    int rc = 0;

    if (saved_maxclients != NULL) {
        rc = config_set("maxclients", saved_maxclients);
    }
    free(saved_maxclients);
    saved_maxclients = NULL;
    return own_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

/* ---- requirepass ---- */

static bool pass_set;

static redisContext *
connect_target(void)
{
    redisContext *d = itest_connect_to(target());

    assert_non_null(d);
    return d;
}

static void
set_password(redisContext *c)
{
    static const char *const args[] = {"--requirepass", "s3cret", NULL};

    if (spawn_external()) {
        EXPECT_OK(c, "CONFIG SET requirepass s3cret");
        pass_set = true;
    } else {
        start_own(args);
    }
}

static void
test_limits_requirepass(void **state)
{
    redisContext *d;

    set_password(*state);
    d = connect_target();
    EXPECT_ERR(d, NOAUTH, "GET k");
    EXPECT_ERR(d, NOAUTH, "PING");
    EXPECT_ERR(d, NOAUTH, "SET k v");
    EXPECT_ERR(d, WRONGPASS, "AUTH wrong");
    EXPECT_ERR(d, WRONGPASS, "AUTH default wrong");
    EXPECT_ERR(d, WRONGPASS, "AUTH nosuchuser s3cret");
    EXPECT_ERR(d, NOAUTH, "GET k");
    EXPECT_OK(d, "AUTH s3cret");
    EXPECT_NIL(d, "GET k");
    EXPECT_OK(d, "SET k v");
    redisFree(d);
    d = connect_target();
    EXPECT_OK(d, "AUTH default s3cret");
    EXPECT_STR(d, "v", "GET k");
    EXPECT_INT(d, 1, "DEL k");
    redisFree(d);
    /* QUIT needs no password */
    d = connect_target();
    EXPECT_OK(d, "QUIT");
    redisFree(d);
}

static void
test_limits_requirepass_hello(void **state)
{
    redisContext *d;
    struct raw_conn *rc;
    redisReply *r;

    set_password(*state);
    d = connect_target();
    /* Redis 7.0 says "HELLO AUTH <user> <pass>", 7.2 and later "HELLO
     * <proto> AUTH <user> <pass>": either is right */
    r = CMD(d, "HELLO 2");
    ASSERT_TYPE(r, REDIS_REPLY_ERROR);
    if (strcmp(r->str, HELLO_NOAUTH_70) != 0 &&
        strcmp(r->str, HELLO_NOAUTH_72) != 0) {
        itest_fail(r, HELLO_NOAUTH_72, "HELLO 2", __FILE__, __LINE__);
    }
    freeReplyObject(r);
    EXPECT_ERR(d, WRONGPASS, "HELLO 2 AUTH default wrong");
    EXPECT_ERR(d, NOAUTH, "GET k");
    r = CMD(d, "HELLO 2 AUTH default s3cret");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 14);
    freeReplyObject(r);
    EXPECT_STATUS(d, "PONG", "PING");
    redisFree(d);
    rc = raw_open(target()->host, target()->port, 0);
    assert_non_null(rc);
    raw_sends(rc, "HELLO 3 AUTH default s3cret\r\nGET k\r\n");
    RAW_EXPECT_PREFIX(rc, "%7\r\n$6\r\nserver\r\n");
    RAW_EXPECT(rc, "_\r\n");
    raw_close(&rc);
}

static int
pass_teardown(void **state)
{
    int rc = 0;

    if (pass_set) {
        /* the test's own connection stays authenticated */
        redisReply *r = redisCommand(*state, "CONFIG SET requirepass %s", "");

        rc = r != NULL && r->type == REDIS_REPLY_STATUS ? 0 : -1;
        freeReplyObject(r);
        pass_set = false;
    }
    return own_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

/* ---- timeout ---- */

static bool timeout_set;

static void
test_limits_timeout(void **state)
{
    static const char *const args[] = {"--timeout", "1", NULL};
    struct raw_conn *idle, *busy;
    long long t0, closed_at = -1;

    if (spawn_external()) {
        EXPECT_OK(*state, "CONFIG SET timeout 1");
        timeout_set = true;
    } else {
        start_own(args);
    }
    idle = raw_open(target()->host, target()->port, 0);
    busy = raw_open(target()->host, target()->port, 0);
    assert_non_null(idle);
    assert_non_null(busy);
    raw_sends(idle, "PING\r\n");
    RAW_EXPECT(idle, "+PONG\r\n");
    t0 = spawn_now_ms();
    while (spawn_now_ms() - t0 < 4000) {
        raw_sends(busy, "PING\r\n");
        RAW_EXPECT(busy, "+PONG\r\n");
        if (raw_fill(idle, 1, 200) == 0 && idle->closed) {
            closed_at = spawn_now_ms() - t0;
            break;
        }
    }
    if (closed_at < 0) {
        print_error("an idle client was not closed within 4 s\n");
        fail();
    }
    assert_true(closed_at >= 900);
    /* the busy client was never idle for 1 s */
    raw_sends(busy, "PING\r\n");
    RAW_EXPECT(busy, "+PONG\r\n");
    raw_close(&idle);
    raw_close(&busy);
}

static int
timeout_teardown(void **state)
{
    int rc = 0;

    if (timeout_set) {
        /* the test's own connection was idle too: use a fresh one */
        rc = config_set("timeout", "0");
        timeout_set = false;
    }
    return own_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

/* ---- Unix socket ---- */

static void
test_limits_unixsocket(void **state)
{
    char path[64];
    const char *args[] = {"--unixsocket", path, "--unixsocketperm", "700",
                          NULL};
    struct raw_conn *rc;
    redisContext *u;

    (void)state;
    SKIP_IF_EXTERNAL();
    snprintf(path, sizeof(path), "/tmp/oh-test-%d.sock", (int)getpid());
    unlink(path);
    start_own(args);
    rc = raw_open_unix(path);
    assert_non_null(rc);
    raw_sends(rc, "PING\r\nSET u 1\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    raw_close(&rc);
    u = redisConnectUnix(path);
    assert_non_null(u);
    assert_int_equal(u->err, 0);
    EXPECT_STR(u, "1", "GET u");
    redisFree(u);
    unlink(path);
}

#define LIMIT_TEST(fn, td) cmocka_unit_test_setup_teardown(fn, itest_setup, td)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        LIMIT_TEST(test_limits_query_buffer, qbuf_teardown),
        LIMIT_TEST(test_limits_output_buffer, obuf_teardown),
        LIMIT_TEST(test_limits_output_buffer_bytes, obuf_teardown),
        LIMIT_TEST(test_limits_output_buffer_soft, obuf_teardown),
        LIMIT_TEST(test_limits_output_buffer_config, obuf_teardown),
        LIMIT_TEST(test_limits_maxclients, maxclients_teardown),
        LIMIT_TEST(test_limits_requirepass, pass_teardown),
        LIMIT_TEST(test_limits_requirepass_hello, pass_teardown),
        LIMIT_TEST(test_limits_timeout, timeout_teardown),
        LIMIT_TEST(test_limits_unixsocket, own_teardown),
    };

    return cmocka_run_group_tests_name("limits", tests, itest_group_setup,
                                       itest_group_teardown);
}
