/* test_client2.c: CLIENT REPLY (over raw sockets, where replies are
 * missing on purpose), CLIENT KILL filters and errors, CLIENT LIST's qbuf,
 * commands refused inside MULTI, WATCH across FLUSHALL, CONFIG SET with a
 * duplicate parameter, and MONITOR's output. Every expectation is Redis
 * 7's reply. */
#include "itest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

struct spawn_server itest_srv;

static const char EXECABORT[] =
    "EXECABORT Transaction discarded because of previous errors.";
static const char NOT_IN_MULTI[] =
    "ERR Command not allowed inside a transaction";

#define REPLY_MS (ITEST_TIMEOUT_S * 1000)

/* ---- helpers ---- */

/* Opens a raw connection to the group's server (fails the test if not). */
static struct raw_conn *
raw_connect(void)
{
    struct raw_conn *rc = raw_open(itest_srv.host, itest_srv.port, 0);

    assert_non_null(rc);
    return rc;
}

/* Sends ECHO and checks that its reply is the next one: every reply sent
 * before it has been read and nothing unexpected is pending. */
static void
raw_sync(struct raw_conn *rc, const char *file, int line)
{
    raw_sends(rc, "ECHO sync-marker\r\n");
    itest_raw_expect(rc, "$11\r\nsync-marker\r\n", false, file, line);
}
#define RAW_SYNC(rc) raw_sync((rc), __FILE__, __LINE__)

/* Returns the CLIENT ID of a raw connection. */
static long long
raw_client_id(struct raw_conn *rc)
{
    size_t n;
    char *r;
    long long id;

    raw_sends(rc, "CLIENT ID\r\n");
    r = raw_reply(rc, REPLY_MS, &n);
    assert_non_null(r);
    assert_true(r[0] == ':');
    id = atoll(r + 1);
    free(r);
    return id;
}

/* Sends `cmd` (raw bytes) on rc, reads one bulk reply holding CLIENT LIST
 * or CLIENT INFO lines, and returns the qbuf of the line of client `id`. */
static long long
raw_qbuf(struct raw_conn *rc, const char *cmd, long long id)
{
    char want[48], val[32];
    size_t n;
    char *r, *line;
    long long q;

    raw_sends(rc, cmd);
    r = raw_reply(rc, REPLY_MS, &n);
    assert_non_null(r);
    assert_true(r[0] == '$');
    snprintf(want, sizeof(want), "id=%lld ", id);
    line = strstr(r, want);
    assert_non_null(line);
    assert_true(line[-1] == '\n');
    assert_true(itest_client_field(line, "qbuf", val, sizeof(val)));
    q = atoll(val);
    free(r);
    return q;
}

/* Returns the local port of a hiredis connection. */
static int
local_port(redisContext *c)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    assert_int_equal(getsockname(c->fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

/* ---- CLIENT REPLY ---- */

static void
test_client2_reply_off_on(void **state)
{
    redisContext *c = *state;
    struct raw_conn *rc = raw_connect();

    /* OFF suppresses every reply, its own included */
    raw_sends(rc, "CLIENT REPLY OFF\r\n");
    raw_sends(rc, "SET k v\r\n");
    raw_sends(rc, "PING\r\n");
    raw_sends(rc, "GET k\r\n");
    /* errors too */
    raw_sends(rc, "NOSUCHCOMMAND\r\n");
    raw_sends(rc, "GET\r\n");
    raw_sends(rc, "*3\r\n$3\r\nSET\r\n$1\r\nm\r\n$1\r\nw\r\n");
    /* ON answers +OK and replies resume */
    raw_sends(rc, "CLIENT REPLY ON\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    raw_sends(rc, "GET k\r\n");
    RAW_EXPECT(rc, "$1\r\nv\r\n");
    RAW_SYNC(rc);
    /* the commands ran */
    EXPECT_STR(c, "w", "GET m");
    /* pipelined */
    raw_sends(rc, "CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_SYNC(rc);
    /* ON when already on */
    raw_sends(rc, "CLIENT REPLY ON\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    /* case does not matter; multibulk form */
    raw_sends(rc, "client reply off\r\nPING\r\n"
                  "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\non\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_SYNC(rc);
    raw_close(&rc);
}

static void
test_client2_reply_skip(void **state)
{
    struct raw_conn *rc = raw_connect();

    (void)state;
    /* SKIP suppresses its own reply and the next command's, only */
    raw_sends(rc, "CLIENT REPLY SKIP\r\nPING\r\nECHO a\r\n");
    RAW_EXPECT(rc, "$1\r\na\r\n");
    RAW_SYNC(rc);
    /* sent apart */
    raw_sends(rc, "CLIENT REPLY SKIP\r\n");
    raw_sends(rc, "ECHO skipped\r\n");
    raw_sends(rc, "ECHO b\r\n");
    RAW_EXPECT(rc, "$1\r\nb\r\n");
    /* SKIP SKIP: the second SKIP is the skipped command */
    raw_sends(rc, "CLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\nECHO b\r\n"
                  "ECHO c\r\n");
    RAW_EXPECT(rc, "$1\r\nc\r\n");
    RAW_SYNC(rc);
    /* an error reply is skipped too */
    raw_sends(rc, "CLIENT REPLY SKIP\r\nNOSUCHCOMMAND\r\nPING\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_SYNC(rc);
    /* ON right after SKIP answers +OK */
    raw_sends(rc, "CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_SYNC(rc);
    /* SKIP while OFF and OFF after SKIP stay silent until ON */
    raw_sends(rc, "CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nPING\r\n"
                  "CLIENT REPLY ON\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_SYNC(rc);
    raw_sends(rc, "CLIENT REPLY SKIP\r\nCLIENT REPLY OFF\r\nPING\r\n"
                  "CLIENT REPLY ON\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_SYNC(rc);
    /* a skipped bulk reply leaves nothing behind */
    raw_sends(rc, "CLIENT REPLY SKIP\r\nCLIENT LIST\r\nECHO hello\r\n");
    RAW_EXPECT(rc, "$5\r\nhello\r\n");
    RAW_SYNC(rc);
    raw_close(&rc);
}

/* RESET turns replies back on (Redis clears OFF and SKIP for the next
 * command; a SKIP already in effect still swallows RESET's own reply). */
static void
test_client2_reply_reset(void **state)
{
    struct raw_conn *rc = raw_connect();

    (void)state;
    /* (the final ON makes a server that stays silent fail fast) */
    raw_sends(rc, "CLIENT REPLY OFF\r\nRESET\r\nPING\r\nCLIENT REPLY ON\r\n");
    RAW_EXPECT(rc, "+RESET\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_SYNC(rc);
    raw_sends(rc, "CLIENT REPLY SKIP\r\nRESET\r\nPING\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_SYNC(rc);
    raw_close(&rc);
}

static void
test_client2_reply_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c, "ERR syntax error", "CLIENT REPLY foo");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'client|reply' command",
               "CLIENT REPLY");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'client|reply' command",
               "CLIENT REPLY ON OFF");
    EXPECT_OK(c, "CLIENT REPLY ON");
    EXPECT_STATUS(c, "PONG", "PING");
}

/* ---- CLIENT KILL ---- */

static void
test_client2_kill_errors(void **state)
{
    redisContext *c = *state;

    EXPECT_ERR(c, "ERR Unknown client type 'bogus'", "CLIENT KILL TYPE bogus");
    EXPECT_ERR(c, "ERR No such user 'nobody'", "CLIENT KILL USER nobody");
    EXPECT_ERR(c, "ERR syntax error", "CLIENT KILL foo bar");
    EXPECT_ERR(c, "ERR syntax error", "CLIENT KILL ID 1 SKIPME maybe");
    /* with one argument, the old form: an address */
    EXPECT_ERR(c, "ERR No such client", "CLIENT KILL TYPE");
    EXPECT_ERR(c, "ERR client-id should be greater than 0", "CLIENT KILL ID 0");
    EXPECT_ERR(c, "ERR No such client", "CLIENT KILL 1.2.3.4:5");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'client|kill' command",
               "CLIENT KILL");
    /* filters that match nobody */
    EXPECT_INT(c, 0, "CLIENT KILL TYPE pubsub");
    EXPECT_INT(c, 0, "CLIENT KILL TYPE master");
    EXPECT_INT(c, 0, "CLIENT KILL TYPE replica");
    EXPECT_INT(c, 0, "CLIENT KILL TYPE slave");
    EXPECT_INT(c, 0, "CLIENT KILL ADDR 1.2.3.4:5");
    EXPECT_INT(c, 0, "CLIENT KILL LADDR 1.2.3.4:5");
    EXPECT_INT(c, 0, "CLIENT KILL USER default ID 99999999");
    EXPECT_INT(c, 0, "CLIENT KILL TYPE normal ID 99999999");
    /* this connection is skipped by default */
    EXPECT_INT(c, 0, "CLIENT KILL ID %lld", itest_client_id(c));
    EXPECT_STATUS(c, "PONG", "PING");
}

static void
test_client2_kill_filters(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    redisContext *e = itest_connect_to(&itest_srv);
    long long did, eid;
    char addr[64];
    redisReply *r;

    assert_non_null(d);
    assert_non_null(e);
    did = itest_client_id(d);
    eid = itest_client_id(e);
    /* filters are ANDed */
    EXPECT_INT(c, 0, "CLIENT KILL ID %lld TYPE pubsub", did);
    EXPECT_INT(c, 0, "CLIENT KILL ID %lld SKIPME no TYPE master", did);
    EXPECT_ERR(c, "ERR No such user 'nobody2'",
               "CLIENT KILL ID %lld USER nobody2", did);
    EXPECT_STATUS(d, "PONG", "PING");
    EXPECT_INT(c, 1, "CLIENT KILL ID %lld TYPE normal USER default", did);
    r = redisCommand(d, "PING");
    assert_null(r);
    /* ADDR with the new form returns a count */
    r = CMD(e, "CLIENT INFO");
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    assert_true(itest_client_field(r->str, "addr", addr, sizeof(addr)));
    freeReplyObject(r);
    EXPECT_INT(c, 1, "CLIENT KILL ADDR %s ID %lld", addr, eid);
    r = redisCommand(e, "PING");
    assert_null(r);
    EXPECT_STATUS(c, "PONG", "PING");
    redisFree(d);
    redisFree(e);
}

/* ---- CLIENT LIST qbuf ---- */

/* qbuf is the size of the query buffer while the command runs: the whole
 * command as received, plus whatever was pipelined after it. */
static void
test_client2_list_qbuf(void **state)
{
    struct raw_conn *rc = raw_connect();
    long long id = raw_client_id(rc);

    (void)state;
    /* *2 $6 client $4 list: 4 + 4 + 8 + 4 + 6 bytes */
    assert_int_equal(raw_qbuf(rc, "*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n", id),
                     26);
    assert_int_equal(raw_qbuf(rc, "*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n", id),
                     26);
    /* inline: "client list\r\n" */
    assert_int_equal(raw_qbuf(rc, "client list\r\n", id), 13);
    assert_int_equal(raw_qbuf(rc, "client info\r\n", id), 13);
    /* a pipelined PING (14 bytes) is still in the buffer */
    assert_int_equal(
        raw_qbuf(rc, "*2\r\n$6\r\nclient\r\n$4\r\ninfo\r\n*1\r\n$4\r\nping\r\n",
                 id),
        40);
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_SYNC(rc);
    raw_close(&rc);
}

/* ---- commands refused in MULTI ---- */

static void
test_client2_multi_save(void **state)
{
    redisContext *c = *state;

    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET k v");
    EXPECT_ERR(c, NOT_IN_MULTI, "SAVE");
    EXPECT_STATUS(c, "QUEUED", "PING");
    EXPECT_ERR(c, EXECABORT, "EXEC");
    EXPECT_INT(c, 0, "EXISTS k");
    /* out of the transaction */
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
}

static void
test_client2_multi_shutdown(void **state)
{
    redisContext *c = *state;
    redisContext *d;

    EXPECT_OK(c, "MULTI");
    EXPECT_ERR(c, NOT_IN_MULTI, "SHUTDOWN");
    EXPECT_ERR(c, NOT_IN_MULTI, "SHUTDOWN NOSAVE");
    EXPECT_ERR(c, NOT_IN_MULTI, "shutdown");
    EXPECT_ERR(c, EXECABORT, "EXEC");
    /* the server is still up, for this connection and a new one */
    EXPECT_STATUS(c, "PONG", "PING");
    spawn_sleep_ms(50);
    assert_true(spawn_alive(&itest_srv));
    d = itest_connect_to(&itest_srv);
    assert_non_null(d);
    EXPECT_STATUS(d, "PONG", "PING");
    redisFree(d);
}

/* Redis 7 queues MONITOR (it has no no-multi flag) and refuses it when
 * EXEC runs it; the connection never enters monitor mode. */
static void
test_client2_multi_monitor(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    redisReply *r;

    assert_non_null(d);
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "MONITOR");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    ASSERT_TYPE(r->element[0], REDIS_REPLY_ERROR);
    assert_string_equal(r->element[0]->str,
                        "ERR MONITOR isn't allowed for DENY BLOCKING client");
    freeReplyObject(r);
    /* not monitoring: others' commands do not show up here */
    EXPECT_OK(d, "SET other 1");
    EXPECT_STR(c, "ok", "ECHO ok");
    EXPECT_STR(c, "1", "GET other");
    redisFree(d);
}

/* ---- WATCH and FLUSHALL ---- */

static void
test_client2_watch_flushall(void **state)
{
    redisContext *c = *state;
    redisContext *d = itest_connect_to(&itest_srv);
    redisReply *r;

    assert_non_null(d);
    /* a watched key that does not exist is not touched by FLUSHALL */
    EXPECT_OK(c, "WATCH x");
    EXPECT_OK(d, "FLUSHALL");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "PING");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    ASSERT_TYPE(r->element[0], REDIS_REPLY_STATUS);
    ASSERT_RSTR(r->element[0], "PONG");
    freeReplyObject(r);
    /* a watched key that exists is */
    EXPECT_OK(d, "SET y 1");
    EXPECT_OK(c, "WATCH y");
    EXPECT_OK(d, "FLUSHALL");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "PING");
    EXPECT_NIL(c, "EXEC");
    /* FLUSHDB too, and from the watching connection itself */
    EXPECT_OK(d, "SET y 1");
    EXPECT_OK(c, "WATCH y x");
    EXPECT_OK(c, "FLUSHDB");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "PING");
    EXPECT_NIL(c, "EXEC");
    /* only x watched, absent: still not aborted by FLUSHDB ASYNC */
    EXPECT_OK(d, "SET y 1");
    EXPECT_OK(c, "WATCH x");
    EXPECT_OK(d, "FLUSHDB ASYNC");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET z 1");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    freeReplyObject(r);
    EXPECT_STR(c, "1", "GET z");
    redisFree(d);
}

/* ---- CONFIG SET ---- */

static void
test_client2_config_set_duplicate(void **state)
{
    redisContext *c = *state;
    redisReply *r = CMD(c, "CONFIG GET maxmemory");
    char old[32];

    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    snprintf(old, sizeof(old), "%s", r->element[1]->str);
    freeReplyObject(r);
    EXPECT_ERR(c,
               "ERR CONFIG SET failed (possibly related to argument "
               "'maxmemory') - duplicate parameter",
               "CONFIG SET maxmemory 1mb maxmemory 2mb");
    EXPECT_ERR(c,
               "ERR CONFIG SET failed (possibly related to argument "
               "'MAXMEMORY') - duplicate parameter",
               "CONFIG SET maxmemory 1mb MAXMEMORY 2mb");
    /* nothing was applied */
    r = CMD(c, "CONFIG GET maxmemory");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[1]->str, old);
    freeReplyObject(r);
}

/* ---- MONITOR ---- */

/* Checks a monitor line "+<secs>.<usecs> [0 127.0.0.1:<port>] <rest>\r\n"
 * and returns a pointer to <rest> in line (NULL if it does not match). */
static const char *
monitor_parse(const char *line, size_t n, int port)
{
    char prefix[64];
    const char *p = line;
    long long secs;
    int i;

    if (n < 2 || *p++ != '+' || memcmp(line + n - 2, "\r\n", 2) != 0) {
        return NULL;
    }
    if (!isdigit((unsigned char)*p)) {
        return NULL;
    }
    secs = atoll(p);
    while (isdigit((unsigned char)*p)) {
        p++;
    }
    if (*p++ != '.') {
        return NULL;
    }
    for (i = 0; i < 6; i++) {
        if (!isdigit((unsigned char)*p++)) {
            return NULL;
        }
    }
    if (llabs(secs - (long long)time(NULL)) > 5) {
        return NULL;
    }
    snprintf(prefix, sizeof(prefix), " [0 127.0.0.1:%d] ", port);
    if (strncmp(p, prefix, strlen(prefix)) != 0) {
        return NULL;
    }
    return p + strlen(prefix);
}

/* Reads monitor lines from m until one from `port` is exactly `want`
 * ("\"set\" \"k\" \"v\"\r\n"); fails on timeout or if a line contains
 * `secret`. Sets *saw_redacted if a line from `port` was `redacted`. */
static void
monitor_wait(struct raw_conn *m, int port, const char *want, const char *secret,
             const char *redacted, bool *saw_redacted)
{
    long long deadline = spawn_now_ms() + REPLY_MS;

    for (;;) {
        size_t n;
        char *line;
        const char *rest;
        int left = (int)(deadline - spawn_now_ms());

        line = left > 0 ? raw_reply(m, left, &n) : NULL;
        if (line == NULL) {
            print_error("monitor: no line %s\n", want);
            fail();
        }
        if (secret != NULL && strstr(line, secret) != NULL) {
            print_error("monitor shows a secret: %s\n", line);
            free(line);
            fail();
        }
        rest = monitor_parse(line, n, port);
        if (rest != NULL && redacted != NULL && saw_redacted != NULL &&
            strcmp(rest, redacted) == 0) {
            *saw_redacted = true;
        }
        if (rest != NULL && strcmp(rest, want) == 0) {
            free(line);
            return;
        }
        free(line);
    }
}

static void
test_client2_monitor(void **state)
{
    redisContext *c = *state;
    struct raw_conn *m = raw_connect();
    int port = local_port(c);

    raw_sends(m, "MONITOR\r\n");
    RAW_EXPECT(m, "+OK\r\n");
    EXPECT_OK(c, "set k v");
    monitor_wait(m, port, "\"set\" \"k\" \"v\"\r\n", NULL, NULL, NULL);
    /* arguments are quoted, with escapes, as sent (case kept) */
    EXPECT_OK(c, "SET %s %b", "k", "a b\"\n\x01", (size_t)6);
    monitor_wait(m, port, "\"SET\" \"k\" \"a b\\\"\\n\\x01\"\r\n", NULL, NULL,
                 NULL);
    EXPECT_STR(c, "a b\"\n\x01", "GET k");
    monitor_wait(m, port, "\"GET\" \"k\"\r\n", NULL, NULL, NULL);
    /* RESET leaves monitor mode: later commands no longer show up */
    raw_sends(m, "RESET\r\n");
    RAW_EXPECT(m, "+RESET\r\n");
    EXPECT_OK(c, "SET after reset");
    EXPECT_STR(c, "reset", "GET after");
    RAW_SYNC(m);
    raw_close(&m);
}

/* AUTH's arguments never appear on a monitor, whether AUTH succeeds or
 * fails, alone or inside HELLO; nor does a password given to CONFIG SET
 * (Redis shows no administrative command). */
static void
test_client2_monitor_auth_hidden(void **state)
{
    redisContext *c = *state;
    struct raw_conn *m = raw_connect();
    int port = local_port(c);
    redisReply *r;

    raw_sends(m, "MONITOR\r\n");
    RAW_EXPECT(m, "+OK\r\n");
    EXPECT_OK(c, "AUTH default secretpw1");
    EXPECT_ERR_PREFIX(c, "ERR AUTH <password> called without any password",
                      "AUTH secretpw2");
    r = CMD(c, "HELLO 2 AUTH default secretpw3");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    /* nor a password set with CONFIG SET (this connection stays
     * authenticated, and the password is cleared at once) */
    EXPECT_OK(c, "CONFIG SET requirepass secretpw4");
    EXPECT_OK(c, "CONFIG SET requirepass %s", "");
    EXPECT_OK(c, "set k v");
    monitor_wait(m, port, "\"set\" \"k\" \"v\"\r\n", "secretpw", NULL, NULL);
    raw_close(&m);
}

/* Since 6.2.4 Redis shows AUTH and HELLO ... AUTH on a monitor with the
 * credentials replaced by "(redacted)". */
static void
test_client2_monitor_auth_redacted(void **state)
{
    redisContext *c = *state;
    struct raw_conn *m = raw_connect();
    int port = local_port(c);
    bool saw_auth = false, saw_auth1 = false, saw_hello = false;

    raw_sends(m, "MONITOR\r\n");
    RAW_EXPECT(m, "+OK\r\n");
    EXPECT_OK(c, "AUTH default secretpw1");
    EXPECT_OK(c, "set k 1");
    monitor_wait(m, port, "\"set\" \"k\" \"1\"\r\n", "secretpw",
                 "\"AUTH\" \"(redacted)\" \"(redacted)\"\r\n", &saw_auth);
    EXPECT_ERR_PREFIX(c, "ERR AUTH <password> called without any password",
                      "AUTH secretpw2");
    EXPECT_OK(c, "set k 2");
    monitor_wait(m, port, "\"set\" \"k\" \"2\"\r\n", "secretpw",
                 "\"AUTH\" \"(redacted)\"\r\n", &saw_auth1);
    freeReplyObject(CMD(c, "HELLO 2 AUTH default secretpw3"));
    EXPECT_OK(c, "set k 3");
    monitor_wait(m, port, "\"set\" \"k\" \"3\"\r\n", "secretpw",
                 "\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n",
                 &saw_hello);
    raw_close(&m);
    if (!saw_auth || !saw_auth1 || !saw_hello) {
        print_error("monitor: AUTH lines seen: AUTH user pass %d, AUTH pass "
                    "%d, HELLO AUTH %d\n",
                    saw_auth, saw_auth1, saw_hello);
    }
    assert_true(saw_auth);
    assert_true(saw_auth1);
    assert_true(saw_hello);
}

/* Reads monitor lines from m until the one from `port` that is `last`;
 * checks the lines from `port` are exactly want[0..n) (last included). */
static void
monitor_expect_seq(struct raw_conn *m, int port, const char *const *want,
                   size_t n)
{
    long long deadline = spawn_now_ms() + REPLY_MS;
    size_t got = 0;

    while (got < n) {
        size_t len;
        int left = (int)(deadline - spawn_now_ms());
        char *line = left > 0 ? raw_reply(m, left, &len) : NULL;
        const char *rest;

        if (line == NULL) {
            print_error("monitor: no line %s\n", want[got]);
            fail();
        }
        rest = monitor_parse(line, len, port);
        if (rest == NULL) {
            free(line);
            continue;
        }
        if (strcmp(rest, want[got]) != 0) {
            print_error("monitor: line %zu\n    expected %s    got      %s",
                        got, want[got], rest);
            free(line);
            fail();
        }
        free(line);
        got++;
    }
}

/* What Redis leaves out: administrative commands (CONFIG SLOWLOG CLIENT
 * LIST ...), and commands queued in a transaction that is discarded (they
 * are shown when EXEC runs them). */
static void
test_client2_monitor_hidden(void **state)
{
    redisContext *c = *state;
    struct raw_conn *m = raw_connect();
    int port = local_port(c);
    static const char *const want[] = {
        "\"MULTI\"\r\n",           "\"DISCARD\"\r\n", "\"MULTI\"\r\n",
        "\"SET\" \"b\" \"1\"\r\n", "\"EXEC\"\r\n",    "\"ECHO\" \"end\"\r\n",
    };
    redisReply *r;

    raw_sends(m, "MONITOR\r\n");
    RAW_EXPECT(m, "+OK\r\n");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET a 1");
    EXPECT_OK(c, "DISCARD");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET b 1");
    r = CMD(c, "EXEC");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    r = CMD(c, "CONFIG GET maxclients");
    ASSERT_TYPE(r, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    r = CMD(c, "SLOWLOG LEN");
    ASSERT_TYPE(r, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    r = CMD(c, "CLIENT LIST");
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    freeReplyObject(r);
    EXPECT_STR(c, "end", "ECHO end");
    monitor_expect_seq(m, port, want, sizeof(want) / sizeof(want[0]));
    raw_close(&m);
}

/* The monitoring connection sees its own commands too. */
static void
test_client2_monitor_own_commands(void **state)
{
    struct raw_conn *m = raw_connect();
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    size_t n;
    char *line;
    const char *rest;

    (void)state;
    assert_int_equal(getsockname(m->fd, (struct sockaddr *)&sa, &len), 0);
    raw_sends(m, "MONITOR\r\n");
    RAW_EXPECT(m, "+OK\r\n");
    /* the line follows the command's reply, before the next command's */
    raw_sends(m, "PING\r\nECHO x\r\n");
    RAW_EXPECT(m, "+PONG\r\n");
    line = raw_reply(m, REPLY_MS, &n);
    assert_non_null(line);
    rest = monitor_parse(line, n, ntohs(sa.sin_port));
    if (rest == NULL || strcmp(rest, "\"PING\"\r\n") != 0) {
        print_error("monitor: own PING line: %s\n", line);
    }
    assert_non_null(rest);
    assert_string_equal(rest, "\"PING\"\r\n");
    free(line);
    RAW_EXPECT(m, "$1\r\nx\r\n");
    raw_close(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        ITEST(test_client2_reply_off_on),
        ITEST(test_client2_reply_skip),
        ITEST(test_client2_reply_reset),
        ITEST(test_client2_reply_errors),
        ITEST(test_client2_kill_errors),
        ITEST(test_client2_kill_filters),
        ITEST(test_client2_list_qbuf),
        ITEST(test_client2_multi_save),
        ITEST(test_client2_multi_shutdown),
        ITEST(test_client2_multi_monitor),
        ITEST(test_client2_watch_flushall),
        ITEST(test_client2_config_set_duplicate),
        ITEST(test_client2_monitor),
        ITEST(test_client2_monitor_auth_hidden),
        ITEST(test_client2_monitor_auth_redacted),
        ITEST(test_client2_monitor_hidden),
        ITEST(test_client2_monitor_own_commands),
    };

    return cmocka_run_group_tests_name("client2", tests, itest_group_setup,
                                       itest_group_teardown);
}
