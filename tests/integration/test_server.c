/* test_server.c: connection and server commands (PING ECHO QUIT SELECT
 * HELLO AUTH CLIENT INFO CONFIG DBSIZE FLUSHDB FLUSHALL TIME COMMAND) and
 * the generic error replies, through hiredis (RESP2). Every expectation
 * is Redis 7's reply; offheapd-only behaviour is marked and skipped on
 * Redis. */
#include "itest.h"

#include <time.h>

struct spawn_server itest_srv;

/* ---- helpers ---- */

/* Returns the element of a flat key/value array reply named `key`. */
static redisReply *
kv_get(const redisReply *r, const char *key)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type == REDIS_REPLY_STRING ||
            r->element[i]->type == REDIS_REPLY_STATUS) {
            if (strcmp(r->element[i]->str, key) == 0) {
                return r->element[i + 1];
            }
        }
    }
    return NULL;
}

/* ---- PING ECHO QUIT SELECT ---- */

static void
test_server_ping(void **state)
{
    redisContext *c = *state;

    EXPECT_STATUS(c, "PONG", "PING");
    EXPECT_STATUS(c, "PONG", "ping");
    EXPECT_STR(c, "hello world", "PING %s", "hello world");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'ping' command",
               "PING a b");
}

static void
test_server_echo(void **state)
{
    redisContext *c = *state;
    const char bin[] = "a\0b\r\nc";

    EXPECT_STR(c, "hi", "ECHO hi");
    EXPECT_BIN(c, bin, sizeof(bin) - 1, "ECHO %b", bin, sizeof(bin) - 1);
    EXPECT_STR(c, "", "ECHO %s", "");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'echo' command", "ECHO");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'echo' command",
               "ECHO a b");
}

static void
test_server_quit(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    EXPECT_OK(c, "QUIT");
    r = redisCommand(c, "PING");
    assert_null(r);
    assert_true(c->err != 0);
    /* the server is still fine for others */
    c = itest_connect_to(&itest_srv);
    assert_non_null(c);
    EXPECT_STATUS(c, "PONG", "PING");
    redisFree(c);
}

static void
test_server_select(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "SELECT 0");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SELECT abc");
    EXPECT_ERR(c, "ERR DB index is out of range", "SELECT -1");
    EXPECT_ERR(c, "ERR DB index is out of range", "SELECT 100000");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'select' command",
               "SELECT");
}

/* offheapd has one database (databases=1), so SELECT 1 is out of range. */
static void
test_server_select_one_offheap(void **state)
{
    redisContext *c = *state;

    SKIP_UNLESS_OFFHEAP();
    EXPECT_ERR(c, "ERR DB index is out of range", "SELECT 1");
    EXPECT_OK(c, "SELECT 0");
}

/* offheapd has no persistence to reload: DEBUG RELOAD is refused and
 * nothing is lost. */
static void
test_server_offheap_differences(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    SKIP_UNLESS_OFFHEAP();
    EXPECT_OK(c, "SET k v");
    EXPECT_ERR_PREFIX(c, "ERR", "DEBUG RELOAD");
    EXPECT_STR(c, "v", "GET k");
    r = CMD(c, "CONFIG GET databases");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    ASSERT_RSTR(r->element[1], "1");
    freeReplyObject(r);
}

/* ---- HELLO AUTH ---- */

/* Checks a RESP2 HELLO reply: the 7 fields in Redis's order. */
static void
check_hello2(redisReply *r, long long id)
{
    static const char *const keys[] = {"server", "version", "proto",  "id",
                                       "mode",   "role",    "modules"};

    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 14);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(r->element[2 * i]->str, keys[i]);
    }
    ASSERT_TYPE(r->element[1], REDIS_REPLY_STRING);
    ASSERT_TYPE(r->element[3], REDIS_REPLY_STRING);
    ASSERT_TYPE(r->element[5], REDIS_REPLY_INTEGER);
    assert_int_equal(r->element[5]->integer, 2);
    ASSERT_TYPE(r->element[7], REDIS_REPLY_INTEGER);
    assert_int_equal(r->element[7]->integer, id);
    ASSERT_RSTR(r->element[9], "standalone");
    ASSERT_RSTR(r->element[11], "master");
    ASSERT_TYPE(r->element[13], REDIS_REPLY_ARRAY);
}

static void
test_server_hello2(void **state)
{
    redisContext *c = *state;
    long long id = itest_client_id(c);
    redisReply *r;

    r = CMD(c, "HELLO 2");
    check_hello2(r, id);
    freeReplyObject(r);
    r = CMD(c, "HELLO");
    check_hello2(r, id);
    freeReplyObject(r);
    r = CMD(c, "HELLO 2 SETNAME hello-name");
    check_hello2(r, id);
    freeReplyObject(r);
    EXPECT_STR(c, "hello-name", "CLIENT GETNAME");
    /* the default user has no password: any AUTH pair is accepted */
    r = CMD(c, "HELLO 2 AUTH default whatever");
    check_hello2(r, id);
    freeReplyObject(r);
    EXPECT_STATUS(c, "PONG", "PING");
}

static void
test_server_hello_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c, "NOPROTO unsupported protocol version", "HELLO 4");
    EXPECT_ERR(c, "NOPROTO unsupported protocol version", "HELLO 1");
    EXPECT_ERR(c, "ERR Protocol version is not an integer or out of range",
               "HELLO abc");
    EXPECT_ERR(c,
               "ERR Client names cannot contain spaces, newlines or special "
               "characters.",
               "HELLO 2 SETNAME %s", "a b");
    EXPECT_ERR_PREFIX(c, "ERR Syntax error in HELLO option", "HELLO 2 FOO");
    /* still RESP2 and usable */
    EXPECT_STATUS(c, "PONG", "PING");
}

static void
test_server_auth_without_password(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c,
               "ERR AUTH <password> called without any password configured "
               "for the default user. Are you sure your configuration is "
               "correct?",
               "AUTH foo");
    EXPECT_OK(c, "AUTH default foo");
    EXPECT_ERR(c, "ERR syntax error", "AUTH a b c");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'auth' command", "AUTH");
}

/* ---- CLIENT ---- */

static void
test_server_client_id(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    long long a, b;

    assert_non_null(d);
    a = itest_client_id(c);
    b = itest_client_id(d);
    assert_true(a > 0);
    assert_true(b > a);
    assert_int_equal(itest_client_id(c), a);
    redisFree(d);
}

static void
test_server_client_name(void **state)
{
    redisContext *c = *state;

    EXPECT_NIL(c, "CLIENT GETNAME");
    EXPECT_OK(c, "CLIENT SETNAME worker-1");
    EXPECT_STR(c, "worker-1", "CLIENT GETNAME");
    EXPECT_ERR(c,
               "ERR Client names cannot contain spaces, newlines or special "
               "characters.",
               "CLIENT SETNAME %s", "a b");
    EXPECT_ERR(c,
               "ERR Client names cannot contain spaces, newlines or special "
               "characters.",
               "CLIENT SETNAME %s", "a\nb");
    EXPECT_STR(c, "worker-1", "CLIENT GETNAME");
    EXPECT_OK(c, "CLIENT SETNAME %s", "");
    EXPECT_NIL(c, "CLIENT GETNAME");
}

/* CLIENT SETINFO appeared in Redis 7.2; clients (ioredis, node-redis) send
 * it on connect and ignore errors, but offheapd implements it. */
static void
test_server_client_setinfo(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    if (spawn_is_redis(&itest_srv) &&
        (itest_srv.major < 7 ||
         (itest_srv.major == 7 && itest_srv.minor < 2))) {
        print_message("    (Redis < 7.2 has no CLIENT SETINFO: skipped)\n");
        skip();
    }
    EXPECT_OK(c, "CLIENT SETINFO LIB-NAME mylib");
    EXPECT_OK(c, "CLIENT SETINFO lib-ver 1.2.3");
    r = CMD(c, "CLIENT INFO");
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, " lib-name=mylib"));
    assert_non_null(strstr(r->str, " lib-ver=1.2.3"));
    freeReplyObject(r);
}

static void
test_server_client_list(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    long long id = itest_client_id(c);
    char want[64], val[128];
    redisReply *r;
    int lines = 0;

    assert_non_null(d);
    EXPECT_OK(c, "CLIENT SETNAME lister");
    EXPECT_STATUS(d, "PONG", "PING");
    r = CMD(c, "CLIENT LIST");
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    for (const char *p = r->str; *p != '\0'; p = strchr(p, '\n') + 1) {
        assert_non_null(strchr(p, '\n'));
        assert_true(itest_client_field(p, "id", val, sizeof(val)));
        assert_true(itest_client_field(p, "addr", val, sizeof(val)));
        lines++;
    }
    assert_true(lines >= 2);
    snprintf(want, sizeof(want), "id=%lld ", id);
    assert_non_null(strstr(r->str, want));
    assert_non_null(strstr(r->str, " name=lister "));
    assert_non_null(strstr(r->str, " cmd=client|list"));
    freeReplyObject(r);
    /* CLIENT LIST ID <id> has one line */
    r = CMD(c, "CLIENT LIST ID %lld", id);
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    assert_true(strncmp(r->str, want, strlen(want)) == 0);
    assert_ptr_equal(strchr(r->str, '\n'), r->str + r->len - 1);
    freeReplyObject(r);
    /* CLIENT INFO is this connection's line */
    r = CMD(c, "CLIENT INFO");
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    assert_true(strncmp(r->str, want, strlen(want)) == 0);
    freeReplyObject(r);
    redisFree(d);
}

static void
test_server_client_kill(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    redisContext *e = itest_connect_to(&itest_srv);
    char addr[128];
    redisReply *r;

    assert_non_null(d);
    assert_non_null(e);
    EXPECT_INT(c, 1, "CLIENT KILL ID %lld", itest_client_id(d));
    r = redisCommand(d, "PING");
    assert_null(r);
    EXPECT_INT(c, 0, "CLIENT KILL ID 99999999");
    EXPECT_ERR(c, "ERR client-id should be greater than 0",
               "CLIENT KILL ID abc");
    /* old form: CLIENT KILL addr:port */
    r = CMD(e, "CLIENT INFO");
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    assert_true(itest_client_field(r->str, "addr", addr, sizeof(addr)));
    freeReplyObject(r);
    EXPECT_OK(c, "CLIENT KILL %s", addr);
    r = redisCommand(e, "PING");
    assert_null(r);
    EXPECT_ERR(c, "ERR No such client", "CLIENT KILL %s", addr);
    EXPECT_STATUS(c, "PONG", "PING");
    redisFree(d);
    redisFree(e);
}

static void
test_server_client_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c, "ERR unknown subcommand 'foo'. Try CLIENT HELP.",
               "CLIENT foo");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'client' command",
               "CLIENT");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'client|setname' command",
               "CLIENT SETNAME");
}

/* ---- INFO ---- */

static void
test_server_info(void **state)
{
    redisContext *c = *state;
    char *info;
    char want[64];

    EXPECT_OK(c, "SET a 1");
    EXPECT_OK(c, "SET b 2 EX 100");
    info = INFO_TEXT(c, "INFO");
    assert_true(strncmp(info, "# Server\r\n", 10) == 0);
    snprintf(want, sizeof(want), "\r\ntcp_port:%d\r\n", itest_srv.port);
    assert_non_null(strstr(info, want));
    assert_non_null(strstr(info, "\r\nuptime_in_seconds:"));
    assert_non_null(strstr(info, "\r\n# Clients\r\n"));
    assert_true(itest_info_ll(info, "connected_clients") >= 1);
    assert_non_null(strstr(info, "\r\n# Memory\r\n"));
    assert_true(itest_info_ll(info, "used_memory") > 0);
    /* ioredis's ready check waits for loading:0 */
    assert_non_null(strstr(info, "\r\nloading:0\r\n"));
    assert_non_null(strstr(info, "\r\n# Stats\r\n"));
    assert_true(itest_info_ll(info, "total_commands_processed") > 0);
    assert_non_null(strstr(info, "\r\n# Keyspace\r\ndb0:keys=2,expires=1,"));
    free(info);
    info = INFO_TEXT(c, "INFO server");
    assert_true(strncmp(info, "# Server\r\n", 10) == 0);
    assert_null(strstr(info, "# Keyspace"));
    assert_null(strstr(info, "# Clients"));
    free(info);
    info = INFO_TEXT(c, "INFO keyspace");
    assert_non_null(
        strstr(info, "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl="));
    assert_ptr_equal(strstr(info, "# Keyspace"), info);
    free(info);
}

static void
test_server_info_commandstats(void **state)
{
    redisContext *c = *state;
    char *info;

    EXPECT_OK(c, "CONFIG RESETSTAT");
    EXPECT_OK(c, "SET a 1");
    EXPECT_STR(c, "1", "GET a");
    EXPECT_STR(c, "1", "GET a");
    info = INFO_TEXT(c, "INFO commandstats");
    assert_true(strncmp(info, "# Commandstats\r\n", 16) == 0);
    assert_non_null(strstr(info, "\r\ncmdstat_get:calls=2,usec="));
    assert_non_null(strstr(info, "\r\ncmdstat_set:calls=1,usec="));
    free(info);
}

static void
test_server_info_offheap(void **state)
{
    redisContext *c = *state;
    char *info;

    SKIP_UNLESS_OFFHEAP();
    info = INFO_TEXT(c, "INFO server");
    assert_non_null(strstr(info, "\r\noffheap_version:"));
    free(info);
}

/* ---- CONFIG ---- */

static void
test_server_config_get(void **state)
{
    redisContext *c = *state;
    redisReply *r;
    char port[16];

    r = CMD(c, "CONFIG GET maxmemory");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    ASSERT_RSTR(r->element[0], "maxmemory");
    ASSERT_TYPE(r->element[1], REDIS_REPLY_STRING);
    assert_true(r->element[1]->len > 0);
    assert_true(strspn(r->element[1]->str, "0123456789") == r->element[1]->len);
    freeReplyObject(r);
    snprintf(port, sizeof(port), "%d", itest_srv.port);
    r = CMD(c, "CONFIG GET port");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, port);
    freeReplyObject(r);
    /* glob patterns and several parameters at once */
    r = CMD(c, "CONFIG GET max*");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_true(r->elements >= 4 && r->elements % 2 == 0);
    assert_non_null(kv_get(r, "maxclients"));
    assert_non_null(kv_get(r, "maxmemory"));
    freeReplyObject(r);
    r = CMD(c, "CONFIG GET timeout maxclients");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    assert_non_null(kv_get(r, "timeout"));
    assert_non_null(kv_get(r, "maxclients"));
    freeReplyObject(r);
    r = CMD(c, "CONFIG GET no-such-option");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR wrong number of arguments for 'config|get' command",
               "CONFIG GET");
}

static void
test_server_config_set(void **state)
{
    redisContext *c = *state;
    redisReply *r = CMD(c, "CONFIG GET maxclients");
    char old[32];

    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    snprintf(old, sizeof(old), "%s", r->element[1]->str);
    freeReplyObject(r);
    EXPECT_OK(c, "CONFIG SET maxclients 5000");
    r = CMD(c, "CONFIG GET maxclients");
    ASSERT_RSTR(r->element[1], "5000");
    freeReplyObject(r);
    EXPECT_OK(c, "CONFIG SET maxclients %s timeout 0", old);
    r = CMD(c, "CONFIG GET maxclients");
    assert_string_equal(r->element[1]->str, old);
    freeReplyObject(r);
    EXPECT_ERR(c,
               "ERR Unknown option or number of arguments for CONFIG SET - "
               "'no-such-option'",
               "CONFIG SET no-such-option 1");
    EXPECT_ERR_PREFIX(c,
                      "ERR CONFIG SET failed (possibly related to argument "
                      "'maxclients')",
                      "CONFIG SET maxclients abc");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'config|set' command",
               "CONFIG SET");
    EXPECT_ERR(c, "ERR unknown subcommand 'foo'. Try CONFIG HELP.",
               "CONFIG foo");
}

static void
test_server_config_resetstat(void **state)
{
    redisContext *c = *state;
    char *info;

    for (int i = 0; i < 20; i++) {
        EXPECT_STATUS(c, "PONG", "PING");
    }
    EXPECT_OK(c, "CONFIG RESETSTAT");
    info = INFO_TEXT(c, "INFO stats");
    assert_true(itest_info_ll(info, "total_commands_processed") <= 2);
    free(info);
}

/* ---- keyspace-wide commands ---- */

/* ---- MEMORY ---- */

/* Returns true if the array reply has a string element equal to s. */
static bool
has_elem(const redisReply *r, const char *s)
{
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];

        if ((e->type == REDIS_REPLY_STATUS || e->type == REDIS_REPLY_STRING) &&
            strcmp(e->str, s) == 0) {
            return true;
        }
    }
    return false;
}

/* The integer that follows `name` in a flat name/value array, or -1. */
static long long
stat_field(const redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (strcmp(r->element[i]->str, name) == 0 &&
            r->element[i + 1]->type == REDIS_REPLY_INTEGER) {
            return r->element[i + 1]->integer;
        }
    }
    return -1;
}

/* A bulk or verbatim text reply (RESP3 gives verbatim; hiredis 0.14, a
 * bulk string). */
static void
assert_text(const redisReply *r)
{
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
}

static void
test_server_memory(void **state)
{
    redisContext *c = *state;
    char v[1000];
    redisReply *r;

    memset(v, 'x', sizeof(v));
    EXPECT_OK(c, "SET mk %b", v, sizeof(v));
    r = CMD(c, "MEMORY USAGE mk");
    ASSERT_TYPE(r, REDIS_REPLY_INTEGER);
    assert_true(r->integer >= (long long)sizeof(v) + 2);
    assert_true(r->integer < 2 * (long long)sizeof(v));
    freeReplyObject(r);
    EXPECT_NIL(c, "MEMORY USAGE missing");
    r = CMD(c, "MEMORY USAGE mk SAMPLES 5");
    ASSERT_TYPE(r, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR syntax error", "MEMORY USAGE mk FOO 5");

    r = CMD(c, "MEMORY STATS");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_true(stat_field(r, "keys.count") >= 1);
    assert_true(stat_field(r, "total.allocated") > 0);
    /* the peak is never below what is in use now */
    assert_true(stat_field(r, "peak.allocated") >=
                stat_field(r, "total.allocated"));
    freeReplyObject(r);

    EXPECT_OK(c, "MEMORY PURGE");
    r = CMD(c, "MEMORY DOCTOR");
    assert_text(r);
    freeReplyObject(r);
    r = CMD(c, "MEMORY MALLOC-STATS");
    assert_text(r);
    assert_non_null(strstr(r->str, "jemalloc"));
    freeReplyObject(r);
    r = CMD(c, "MEMORY HELP");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_true(has_elem(r, "MALLOC-STATS"));
    assert_true(has_elem(r, "PURGE"));
    freeReplyObject(r);
    EXPECT_ERR_PREFIX(c, "ERR unknown subcommand", "MEMORY NOSUCH");
}

static void
test_server_dbsize_flush(void **state)
{
    redisContext *c = *state;

    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_OK(c, "MSET a 1 b 2 c 3");
    EXPECT_INT(c, 3, "DBSIZE");
    EXPECT_OK(c, "FLUSHDB");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_NIL(c, "GET a");
    EXPECT_OK(c, "MSET a 1 b 2");
    EXPECT_OK(c, "FLUSHALL");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_OK(c, "SET a 1");
    EXPECT_OK(c, "FLUSHALL SYNC");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_OK(c, "SET a 1");
    EXPECT_OK(c, "FLUSHALL ASYNC");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_OK(c, "FLUSHDB ASYNC");
    EXPECT_ERR(c, "ERR syntax error", "FLUSHALL foo");
    EXPECT_ERR(c, "ERR syntax error", "FLUSHDB foo");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'dbsize' command",
               "DBSIZE x");
}

static void
test_server_time(void **state)
{
    redisContext *c = *state;
    redisReply *r = CMD(c, "TIME");
    long long sec, usec;

    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    ASSERT_TYPE(r->element[0], REDIS_REPLY_STRING);
    ASSERT_TYPE(r->element[1], REDIS_REPLY_STRING);
    sec = atoll(r->element[0]->str);
    usec = atoll(r->element[1]->str);
    assert_true(llabs(sec - (long long)time(NULL)) <= 5);
    assert_true(usec >= 0 && usec < 1000000);
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR wrong number of arguments for 'time' command", "TIME x");
}

/* ---- generic errors ---- */

static void
test_server_unknown_command(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c,
               "ERR unknown command 'FOO', with args beginning with: 'a' "
               "'b' ",
               "FOO a b");
    EXPECT_ERR(c,
               "ERR unknown command 'foo', with args beginning with: ", "foo");
    EXPECT_ERR(c,
               "ERR unknown command 'NoSuch', with args beginning with: "
               "'x' ",
               "NoSuch x");
    EXPECT_STATUS(c, "PONG", "PING");
}

static void
test_server_wrong_arity(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "GET");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "GET a b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "gEt");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'set' command", "SET a");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'del' command", "DEL");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'mset' command", "MSET a");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'mset' command",
               "MSET a b c");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'msetnx' command",
               "MSETNX a");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'keys' command", "KEYS");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'dbsize' command",
               "DBSIZE 1");
    /* the connection is still in sync */
    EXPECT_STR(c, "ok", "ECHO ok");
}

/* ---- COMMAND ---- */

/* Checks one COMMAND INFO entry. */
static void
check_cmd_info(const redisReply *e, const char *name, long long arity,
               const char *flag1, const char *flag2, long long first,
               long long last, long long step)
{
    ASSERT_TYPE(e, REDIS_REPLY_ARRAY);
    assert_true(e->elements >= 6);
    assert_string_equal(e->element[0]->str, name);
    assert_int_equal(e->element[1]->integer, arity);
    ASSERT_TYPE(e->element[2], REDIS_REPLY_ARRAY);
    assert_true(has_elem(e->element[2], flag1));
    assert_true(has_elem(e->element[2], flag2));
    assert_int_equal(e->element[3]->integer, first);
    assert_int_equal(e->element[4]->integer, last);
    assert_int_equal(e->element[5]->integer, step);
}

static void
test_server_command_info(void **state)
{
    redisContext *c = *state;
    redisReply *r;

    r = CMD(c, "COMMAND INFO get");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    check_cmd_info(r->element[0], "get", 2, "readonly", "fast", 1, 1, 1);
    freeReplyObject(r);
    r = CMD(c, "COMMAND INFO SET mset nosuchcmd");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    check_cmd_info(r->element[0], "set", -3, "write", "denyoom", 1, 1, 1);
    check_cmd_info(r->element[1], "mset", -3, "write", "denyoom", 1, -1, 2);
    ASSERT_TYPE(r->element[2], REDIS_REPLY_NIL);
    freeReplyObject(r);
}

static void
test_server_command_count_list(void **state)
{
    redisContext *c = *state;
    redisReply *r;
    long long count;
    bool found = false;

    r = CMD(c, "COMMAND COUNT");
    ASSERT_TYPE(r, REDIS_REPLY_INTEGER);
    count = r->integer;
    assert_true(count >= 50);
    freeReplyObject(r);
    r = CMD(c, "COMMAND");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal((long long)r->elements, count);
    for (size_t i = 0; i < r->elements; i++) {
        ASSERT_TYPE(r->element[i], REDIS_REPLY_ARRAY);
        if (strcmp(r->element[i]->element[0]->str, "incrbyfloat") == 0) {
            check_cmd_info(r->element[i], "incrbyfloat", 3, "write", "denyoom",
                           1, 1, 1);
            found = true;
        }
    }
    assert_true(found);
    freeReplyObject(r);
    /* COMMAND LIST also names subcommands ("config|get") */
    r = CMD(c, "COMMAND LIST");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_true((long long)r->elements >= count);
    assert_true(has_elem(r, "get"));
    assert_true(has_elem(r, "expiretime"));
    freeReplyObject(r);
}

static void
test_server_command_docs(void **state)
{
    redisContext *c = *state;
    redisReply *r, *doc, *v;

    r = CMD(c, "COMMAND DOCS get");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    ASSERT_RSTR(r->element[0], "get");
    doc = r->element[1];
    ASSERT_TYPE(doc, REDIS_REPLY_ARRAY);
    assert_true(doc->elements >= 6 && doc->elements % 2 == 0);
    v = kv_get(doc, "summary");
    ASSERT_TYPE(v, REDIS_REPLY_STRING);
    assert_true(v->len > 0);
    v = kv_get(doc, "since");
    ASSERT_RSTR(v, "1.0.0");
    v = kv_get(doc, "group");
    ASSERT_RSTR(v, "string");
    freeReplyObject(r);
    r = CMD(c, "COMMAND DOCS nosuchcmd");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR unknown subcommand 'foo'. Try COMMAND HELP.",
               "COMMAND foo");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        ITEST(test_server_ping),
        ITEST(test_server_echo),
        ITEST(test_server_quit),
        ITEST(test_server_select),
        ITEST(test_server_select_one_offheap),
        ITEST(test_server_offheap_differences),
        ITEST(test_server_hello2),
        ITEST(test_server_hello_errors),
        ITEST(test_server_auth_without_password),
        ITEST(test_server_client_id),
        ITEST(test_server_client_name),
        ITEST(test_server_client_setinfo),
        ITEST(test_server_client_list),
        ITEST(test_server_client_kill),
        ITEST(test_server_client_errors),
        ITEST(test_server_info),
        ITEST(test_server_info_commandstats),
        ITEST(test_server_info_offheap),
        ITEST(test_server_config_get),
        ITEST(test_server_config_set),
        ITEST(test_server_config_resetstat),
        ITEST(test_server_memory),
        ITEST(test_server_dbsize_flush),
        ITEST(test_server_time),
        ITEST(test_server_unknown_command),
        ITEST(test_server_wrong_arity),
        ITEST(test_server_command_info),
        ITEST(test_server_command_count_list),
        ITEST(test_server_command_docs),
    };

    return cmocka_run_group_tests_name("server", tests, itest_group_setup,
                                       itest_group_teardown);
}
