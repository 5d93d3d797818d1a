/* test_protocol.c: the wire protocol through raw sockets: malformed input
 * (each answered with -ERR Protocol error and a close of that connection
 * only), pipelining, requests split at every byte, inline commands, and
 * RESP3 after HELLO 3. Replies are compared byte for byte with Redis 7's. */
#include "itest.h"

struct spawn_server itest_srv;

#define CLOSE_WAIT_MS 3000 /* ms a server may take to close a connection */

static struct raw_conn *
open_raw(void)
{
    struct raw_conn *rc = raw_open(itest_srv.host, itest_srv.port, 0);

    assert_non_null(rc);
    return rc;
}

/* Sends `input` on a fresh connection and expects the exact error reply
 * `want` followed by a close, while `c` (opened before) keeps working and
 * keeps its data. */
static void
expect_proto_error(redisContext *c, const char *input, size_t len,
                   const char *want)
{
    struct raw_conn *rc = open_raw();

    EXPECT_OK(c, "SET canary alive");
    raw_send(rc, input, len);
    RAW_EXPECT(rc, want);
    assert_true(raw_wait_closed(rc, CLOSE_WAIT_MS, NULL));
    raw_close(&rc);
    EXPECT_STR(c, "alive", "GET canary");
    EXPECT_STATUS(c, "PONG", "PING");
}

#define PROTO_ERROR(c, lit, want)                                              \
    expect_proto_error((c), (lit), sizeof(lit) - 1, (want))

/* Sends HELLO 3 and checks the map reply. */
static void
hello3(struct raw_conn *rc)
{
    char *r;
    size_t n;

    raw_sends(rc, "HELLO 3\r\n");
    r = raw_reply(rc, ITEST_TIMEOUT_S * 1000, &n);
    assert_non_null(r);
    if (strncmp(r, "%7\r\n$6\r\nserver\r\n", 16) != 0 ||
        strstr(r, "$5\r\nproto\r\n:3\r\n") == NULL ||
        strstr(r, "$4\r\nmode\r\n$10\r\nstandalone\r\n") == NULL ||
        strstr(r, "$7\r\nmodules\r\n*0\r\n") == NULL) {
        char esc[600];

        itest_escape(r, n, esc, sizeof(esc));
        print_error("HELLO 3 reply: %s\n", esc);
        fail();
    }
    free(r);
}

/* ---- malformed input ---- */

static void
test_protocol_bad_multibulk_len(void **state)
{
    PROTO_ERROR(*state, "*abc\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n");
    PROTO_ERROR(*state, "*1x\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n");
    PROTO_ERROR(*state, "*\xff\xfe\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n");
}

static void
test_protocol_too_many_args(void **state)
{
    PROTO_ERROR(*state, "*3000000000\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n");
    PROTO_ERROR(*state, "*99999999999999999999\r\n",
                "-ERR Protocol error: invalid multibulk length\r\n");
}

static void
test_protocol_bad_bulk_len(void **state)
{
    PROTO_ERROR(*state, "*1\r\n$abc\r\n",
                "-ERR Protocol error: invalid bulk length\r\n");
    PROTO_ERROR(*state, "*1\r\n$-1\r\n",
                "-ERR Protocol error: invalid bulk length\r\n");
    PROTO_ERROR(*state, "*2\r\n$3\r\nGET\r\n$-5\r\n",
                "-ERR Protocol error: invalid bulk length\r\n");
}

/* Beyond proto-max-bulk-len (512 MB by default). */
static void
test_protocol_bulk_beyond_max(void **state)
{
    PROTO_ERROR(*state, "*1\r\n$600000000\r\n",
                "-ERR Protocol error: invalid bulk length\r\n");
}

/* proto-max-bulk-len lowered at run time applies to new requests. */
static void
test_protocol_bulk_beyond_configured_max(void **state)
{
    redisContext *c = *state;
    static const char req[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n";

    EXPECT_OK(c, "CONFIG SET proto-max-bulk-len 1mb");
    PROTO_ERROR(c, req, "-ERR Protocol error: invalid bulk length\r\n");
    EXPECT_INT(c, 0, "EXISTS k");
}

/* Restores proto-max-bulk-len to its default (both Redis's and offheapd's)
 * even when the test failed half-way. */
static int
restore_bulk_len_teardown(void **state)
{
    redisReply *r = redisCommand(*state, "CONFIG SET proto-max-bulk-len 512mb");
    bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;

    freeReplyObject(r);
    return itest_teardown(state) == 0 && ok ? 0 : -1;
}

static void
test_protocol_expected_dollar(void **state)
{
    PROTO_ERROR(*state, "*1\r\nx3\r\n",
                "-ERR Protocol error: expected '$', got 'x'\r\n");
    PROTO_ERROR(*state, "*2\r\n$3\r\nGET\r\n:1\r\n",
                "-ERR Protocol error: expected '$', got ':'\r\n");
}

static void
test_protocol_unbalanced_quotes(void **state)
{
    PROTO_ERROR(*state, "SET k \"a b\r\n",
                "-ERR Protocol error: unbalanced quotes in request\r\n");
    PROTO_ERROR(*state, "SET k 'a b\r\n",
                "-ERR Protocol error: unbalanced quotes in request\r\n");
    /* a closing quote must be followed by a space */
    PROTO_ERROR(*state, "SET k \"a\"b\r\n",
                "-ERR Protocol error: unbalanced quotes in request\r\n");
}

/* An inline line longer than 64 KB without a newline. */
static void
test_protocol_huge_inline(void **state)
{
    size_t n = 70 * 1024;
    char *big = malloc(n);

    assert_non_null(big);
    memset(big, 'A', n);
    expect_proto_error(*state, big, n,
                       "-ERR Protocol error: too big inline request\r\n");
    free(big);
}

/* Replies to the commands before the bad one still arrive, in order. */
static void
test_protocol_error_after_good_commands(void **state)
{
    redisContext *c = *state;
    struct raw_conn *rc = open_raw();

    raw_sends(rc, "PING\r\n*1\r\n$4\r\nPING\r\n*abc\r\nPING\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_EXPECT(rc, "-ERR Protocol error: invalid multibulk length\r\n");
    assert_true(raw_wait_closed(rc, CLOSE_WAIT_MS, NULL));
    raw_close(&rc);
    EXPECT_STATUS(c, "PONG", "PING");
}

/* Garbage that parses as an inline command is just an unknown command. */
static void
test_protocol_garbage_inline(void **state)
{
    redisContext *c = *state;
    struct raw_conn *rc = open_raw();

    raw_sends(rc, "\x01\xfe\xff junk\r\nPING\r\n");
    RAW_EXPECT_PREFIX(rc, "-ERR unknown command '");
    RAW_EXPECT(rc, "+PONG\r\n");
    raw_sends(rc, "$5\r\nxyzzy\r\n");
    RAW_EXPECT(rc, "-ERR unknown command '$5', with args beginning with: \r\n");
    RAW_EXPECT(rc, "-ERR unknown command 'xyzzy', with args beginning "
                   "with: \r\n");
    raw_sends(rc, "PING\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    raw_close(&rc);
    EXPECT_STATUS(c, "PONG", "PING");
}

/* Empty multibulks (*0, *-1) are skipped silently. */
static void
test_protocol_empty_multibulk(void **state)
{
    struct raw_conn *rc = open_raw();

    (void)state;
    raw_sends(rc, "*0\r\n*-1\r\nPING\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    assert_int_equal(raw_fill(rc, 1, 200), 0);
    raw_close(&rc);
}

/* Half a request, then close: nothing happens, the server goes on. */
static void
test_protocol_half_request_close(void **state)
{
    redisContext *c = *state;
    static const char *const halves[] = {
        "*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$5\r\nval",
        "*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$5",
        "*3\r\n$3\r\nSE",
        "*3\r",
        "SET half val",
    };

    for (size_t i = 0; i < sizeof(halves) / sizeof(halves[0]); i++) {
        struct raw_conn *rc = open_raw();

        raw_sends(rc, halves[i]);
        spawn_sleep_ms(20);
        raw_close(&rc);
    }
    spawn_sleep_ms(50);
    EXPECT_INT(c, 0, "EXISTS half");
    EXPECT_STATUS(c, "PONG", "PING");
}

/* ---- pipelining and splitting ---- */

#define PIPE_N 10000

static void
test_protocol_pipeline_10000(void **state)
{
    redisContext *c = *state;
    static const char cmd[] = "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n";
    size_t cl = sizeof(cmd) - 1;
    char *req = malloc(cl * PIPE_N);
    char *want = malloc(8 * PIPE_N);
    size_t wl = 0;
    struct raw_conn *rc = open_raw();

    assert_non_null(req);
    assert_non_null(want);
    for (int i = 0; i < PIPE_N; i++) {
        memcpy(req + (size_t)i * cl, cmd, cl);
        wl += (size_t)sprintf(want + wl, ":%d\r\n", i + 1);
    }
    assert_int_equal(raw_send(rc, req, cl * PIPE_N), 0);
    assert_int_equal(raw_fill(rc, wl, 10000), wl);
    assert_memory_equal(rc->buf, want, wl);
    assert_int_equal(raw_fill(rc, wl + 1, 100), wl);
    raw_close(&rc);
    EXPECT_STR(c, "10000", "GET counter");
    free(req);
    free(want);
}

static void
test_protocol_pipeline_inline(void **state)
{
    struct raw_conn *rc = open_raw();
    size_t n = 6 * PIPE_N;
    char *req = malloc(n);
    size_t got;

    (void)state;
    assert_non_null(req);
    for (int i = 0; i < PIPE_N; i++) {
        memcpy(req + (size_t)i * 6, "PING\r\n", 6);
    }
    assert_int_equal(raw_send(rc, req, n), 0);
    got = raw_fill(rc, 7 * PIPE_N, 10000);
    assert_int_equal(got, 7 * PIPE_N);
    for (int i = 0; i < PIPE_N; i++) {
        assert_memory_equal(rc->buf + (size_t)i * 7, "+PONG\r\n", 7);
    }
    raw_close(&rc);
    free(req);
}

/* Every request split into single bytes, sent one at a time. */
static void
test_protocol_byte_by_byte(void **state)
{
    static const char req[] = "*3\r\n$3\r\nSET\r\n$2\r\nbk\r\n$5\r\nhe\r\no\r\n"
                              "*2\r\n$3\r\nGET\r\n$2\r\nbk\r\n"
                              "PING\r\n"
                              "SET k2 \"x y\"\r\n";
    struct raw_conn *rc = open_raw();

    (void)state;
    for (size_t i = 0; i + 1 < sizeof(req) - 1; i++) {
        assert_int_equal(raw_send(rc, req + i, 1), 0);
        spawn_sleep_ms(1);
    }
    /* all but the last byte: three replies, the fourth not yet */
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "$5\r\nhe\r\no\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    assert_int_equal(raw_fill(rc, 1, 100), 0);
    assert_int_equal(raw_send(rc, req + sizeof(req) - 2, 1), 0);
    RAW_EXPECT(rc, "+OK\r\n");
    raw_sends(rc, "GET k2\r\n");
    RAW_EXPECT(rc, "$3\r\nx y\r\n");
    raw_close(&rc);
}

/* A 1 MB value arriving in 4 KB pieces. */
static void
test_protocol_big_value_in_pieces(void **state)
{
    redisContext *c = *state;
    size_t vl = 1024 * 1024;
    char hdr[64];
    int hl = snprintf(hdr, sizeof(hdr),
                      "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", vl);
    char *v = malloc(vl + 2);
    struct raw_conn *rc = open_raw();
    redisReply *r;

    assert_non_null(v);
    for (size_t i = 0; i < vl; i++) {
        v[i] = (char)('a' + i % 26);
    }
    memcpy(v + vl, "\r\n", 2);
    raw_send(rc, hdr, (size_t)hl);
    for (size_t off = 0; off < vl + 2; off += 4096) {
        size_t n = vl + 2 - off < 4096 ? vl + 2 - off : 4096;

        assert_int_equal(raw_send(rc, v + off, n), 0);
    }
    RAW_EXPECT(rc, "+OK\r\n");
    raw_close(&rc);
    r = CMD(c, "GET big");
    ASSERT_TYPE(r, REDIS_REPLY_STRING);
    assert_int_equal(r->len, vl);
    assert_memory_equal(r->str, v, vl);
    freeReplyObject(r);
    free(v);
}

/* A reader slower than the server gets every reply, whole and in order. */
static void
test_protocol_slow_reader(void **state)
{
    redisContext *c = *state;
    size_t vl = 100 * 1024, n = 300, hl, got = 0;
    char *v = malloc(vl);
    char hdr[32];
    struct raw_conn *rc = raw_open(itest_srv.host, itest_srv.port, 16384);

    assert_non_null(v);
    assert_non_null(rc);
    for (int k = 0; k < 3; k++) {
        memset(v, 'a' + k, vl);
        EXPECT_OK(c, "SET slow:%d %b", k, v, vl);
    }
    for (size_t i = 0; i < n; i++) {
        char cmd[32];

        snprintf(cmd, sizeof(cmd), "GET slow:%zu\r\n", i % 3);
        assert_int_equal(raw_sends(rc, cmd), 0);
    }
    hl = (size_t)snprintf(hdr, sizeof(hdr), "$%zu\r\n", vl);
    for (size_t i = 0; i < n; i++) {
        size_t need = hl + vl + 2;
        char *b;

        /* take the replies in small bites, with pauses */
        if (i % 50 == 0) {
            spawn_sleep_ms(20);
        }
        assert_true(raw_fill(rc, need, 10000) >= need);
        b = rc->buf;
        assert_memory_equal(b, hdr, hl);
        for (size_t j = 0; j < vl; j += 4096) {
            assert_int_equal(b[hl + j], 'a' + (int)(i % 3));
        }
        assert_memory_equal(b + hl + vl, "\r\n", 2);
        memmove(rc->buf, rc->buf + need, rc->len - need);
        rc->len -= need;
        got++;
    }
    assert_int_equal(got, n);
    raw_close(&rc);
    free(v);
}

/* Nothing after QUIT runs; earlier replies still arrive. */
static void
test_protocol_quit_in_pipeline(void **state)
{
    redisContext *c = *state;
    struct raw_conn *rc = open_raw();

    raw_sends(rc, "PING\r\nQUIT\r\nSET afterquit 1\r\nPING\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    assert_true(raw_wait_closed(rc, CLOSE_WAIT_MS, NULL));
    raw_close(&rc);
    EXPECT_INT(c, 0, "EXISTS afterquit");
}

/* RESET drops the name, the transaction, watches and RESP3. */
static void
test_protocol_reset(void **state)
{
    struct raw_conn *rc = open_raw();

    (void)state;
    hello3(rc);
    raw_sends(rc, "CLIENT SETNAME foo\r\nWATCH w\r\nMULTI\r\nRESET\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "+RESET\r\n");
    raw_sends(rc, "CLIENT GETNAME\r\nGET nx\r\nEXEC\r\nPING\r\n");
    RAW_EXPECT(rc, "$-1\r\n");
    RAW_EXPECT(rc, "$-1\r\n");
    RAW_EXPECT(rc, "-ERR EXEC without MULTI\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    raw_close(&rc);
}

/* ---- inline commands ---- */

static void
test_protocol_inline(void **state)
{
    redisContext *c = *state;
    struct raw_conn *rc = open_raw();

    raw_sends(rc, "PING\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    raw_sends(rc, "ping\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    raw_sends(rc, "\r\n\r\n\nPING\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    raw_sends(rc, "SET k \"a b\"\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    EXPECT_STR(c, "a b", "GET k");
    raw_sends(rc, "  SET   k2   v2  \r\nGET k2\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "$2\r\nv2\r\n");
    raw_sends(rc, "SET k3 \"a\\x41\\n\\t\\\"q\\\"\"\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    EXPECT_STR(c, "aA\n\t\"q\"", "GET k3");
    raw_sends(rc, "SET k4 'it\\'s \"x\"'\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    EXPECT_STR(c, "it's \"x\"", "GET k4");
    raw_sends(rc, "SET k5 \"\"\r\nSTRLEN k5\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, ":0\r\n");
    /* quoted and escaped arguments in input long enough for the pipeline
     * look-ahead, alone, pipelined, and after a multibulk request (the
     * look-ahead once unescaped them in place, and the second parse failed
     * with "unbalanced quotes") */
    raw_sends(rc, "SET q \"hello world, a long quoted value here\"\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    EXPECT_STR(c, "hello world, a long quoted value here", "GET q");
    raw_sends(rc, "SET q2 \"\\x41\\x42 and some more text\"\r\nGET q2\r\n"
                  "SET q3 'x y'\r\nGET q3\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "$21\r\nAB and some more text\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "$3\r\nx y\r\n");
    raw_sends(rc, "*3\r\n$3\r\nSET\r\n$2\r\nq4\r\n$1\r\n1\r\n"
                  "*2\r\n$3\r\nGET\r\n$2\r\nq4\r\n"
                  "SET q5 \"a \\\"b\\\" c, long enough\"\r\nGET q5\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "$1\r\n1\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "$20\r\na \"b\" c, long enough\r\n");
    raw_sends(rc, "GET missing\r\n");
    RAW_EXPECT(rc, "$-1\r\n");
    raw_sends(rc, "GET\r\n");
    RAW_EXPECT(rc, "-ERR wrong number of arguments for 'get' command\r\n");
    raw_close(&rc);
}

/* ---- RESP3 ---- */

static void
test_protocol_resp3_basic(void **state)
{
    struct raw_conn *rc = open_raw();

    (void)state;
    hello3(rc);
    raw_sends(rc, "GET missing\r\n");
    RAW_EXPECT(rc, "_\r\n");
    raw_sends(rc, "SET f 1.5\r\nINCRBYFLOAT f 1\r\nTTL f\r\nPTTL nope\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "$3\r\n2.5\r\n");
    RAW_EXPECT(rc, ":-1\r\n");
    RAW_EXPECT(rc, ":-2\r\n");
    raw_sends(rc, "MGET f nope\r\n");
    RAW_EXPECT(rc, "*2\r\n$3\r\n2.5\r\n_\r\n");
    raw_sends(rc, "SET g v GET\r\nCLIENT GETNAME\r\nGETDEL nope\r\n");
    RAW_EXPECT(rc, "_\r\n");
    RAW_EXPECT(rc, "_\r\n");
    RAW_EXPECT(rc, "_\r\n");
    raw_sends(rc, "EXISTS f g\r\nPING\r\nECHO x\r\n");
    RAW_EXPECT(rc, ":2\r\n");
    RAW_EXPECT(rc, "+PONG\r\n");
    RAW_EXPECT(rc, "$1\r\nx\r\n");
    raw_sends(rc, "SCAN 0 MATCH f\r\n");
    RAW_EXPECT(rc, "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nf\r\n");
    raw_sends(rc, "COMMAND INFO nosuchcmd\r\n");
    RAW_EXPECT(rc, "*1\r\n_\r\n");
    raw_sends(rc, "GET\r\n");
    RAW_EXPECT(rc, "-ERR wrong number of arguments for 'get' command\r\n");
    /* back to RESP2 */
    raw_sends(rc, "HELLO 2\r\n");
    RAW_EXPECT_PREFIX(rc, "*14\r\n$6\r\nserver\r\n");
    raw_sends(rc, "GET missing\r\nCOMMAND INFO nosuchcmd\r\n");
    RAW_EXPECT(rc, "$-1\r\n");
    RAW_EXPECT(rc, "*1\r\n$-1\r\n");
    raw_close(&rc);
}

static void
test_protocol_resp3_maps(void **state)
{
    struct raw_conn *rc = open_raw();

    (void)state;
    hello3(rc);
    raw_sends(rc, "CONFIG GET maxmemory\r\n");
    RAW_EXPECT_PREFIX(rc, "%1\r\n$9\r\nmaxmemory\r\n$");
    raw_sends(rc, "CONFIG GET no-such-option\r\n");
    RAW_EXPECT(rc, "%0\r\n");
    raw_sends(rc, "COMMAND DOCS get\r\n");
    RAW_EXPECT_PREFIX(rc, "%1\r\n$3\r\nget\r\n%");
    /* a second HELLO 3 answers the same way */
    hello3(rc);
    raw_close(&rc);
}

/* INFO and CLIENT INFO are verbatim strings in RESP3. */
static void
test_protocol_resp3_verbatim(void **state)
{
    struct raw_conn *rc = open_raw();

    (void)state;
    hello3(rc);
    raw_sends(rc, "INFO server\r\n");
    RAW_EXPECT_PREFIX(rc, "=");
    raw_sends(rc, "INFO keyspace\r\n");
    RAW_EXPECT(rc, "=16\r\ntxt:# Keyspace\r\n\r\n");
    raw_sends(rc, "CLIENT INFO\r\n");
    RAW_EXPECT_PREFIX(rc, "=");
    raw_close(&rc);
}

/* DEBUG PROTOCOL <type>: every RESP3 type, and its RESP2 form. */
static void
test_protocol_debug_protocol(void **state)
{
    redisContext *c = *state;
    struct raw_conn *rc = open_raw();

    hello3(rc);
    raw_sends(rc, "DEBUG PROTOCOL string\r\nDEBUG PROTOCOL integer\r\n"
                  "DEBUG PROTOCOL double\r\nDEBUG PROTOCOL bignum\r\n"
                  "DEBUG PROTOCOL null\r\nDEBUG PROTOCOL array\r\n");
    RAW_EXPECT(rc, "$11\r\nHello World\r\n");
    RAW_EXPECT(rc, ":12345\r\n");
    RAW_EXPECT(rc, ",3.141\r\n");
    RAW_EXPECT(rc, "(1234567999999999999999999999999999999\r\n");
    RAW_EXPECT(rc, "_\r\n");
    RAW_EXPECT(rc, "*3\r\n:0\r\n:1\r\n:2\r\n");
    raw_sends(rc, "DEBUG PROTOCOL set\r\nDEBUG PROTOCOL map\r\n"
                  "DEBUG PROTOCOL true\r\nDEBUG PROTOCOL false\r\n"
                  "DEBUG PROTOCOL verbatim\r\n");
    RAW_EXPECT(rc, "~3\r\n:0\r\n:1\r\n:2\r\n");
    RAW_EXPECT(rc, "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n");
    RAW_EXPECT(rc, "#t\r\n");
    RAW_EXPECT(rc, "#f\r\n");
    RAW_EXPECT(rc, "=29\r\ntxt:This is a verbatim\nstring\r\n");
    raw_sends(rc, "DEBUG PROTOCOL attrib\r\nDEBUG PROTOCOL push\r\n");
    /* an attribute is read together with the reply it describes */
    RAW_EXPECT(rc, "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n"
                   ":90\r\n$39\r\nSome real reply following the attribute\r\n");
    RAW_EXPECT(rc, ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n");
    RAW_EXPECT(rc, "$40\r\nSome real reply following the push reply\r\n");
    raw_close(&rc);
    /* RESP2: no attribute, no push; the rest as bulk strings/integers */
    EXPECT_STR(c, "Some real reply following the attribute",
               "DEBUG PROTOCOL attrib");
    EXPECT_ERR_PREFIX(c, "ERR RESP2", "DEBUG PROTOCOL push");
    EXPECT_STR(c, "3.141", "DEBUG PROTOCOL double");
    EXPECT_STR(c, "1234567999999999999999999999999999999",
               "DEBUG PROTOCOL bignum");
    EXPECT_INT(c, 1, "DEBUG PROTOCOL true");
    EXPECT_NIL(c, "DEBUG PROTOCOL null");
    EXPECT_ERR_PREFIX(c, "ERR Wrong protocol type", "DEBUG PROTOCOL nope");
}

static void
test_protocol_resp3_transactions(void **state)
{
    redisContext *c = *state;
    struct raw_conn *rc = open_raw();

    hello3(rc);
    raw_sends(rc, "MULTI\r\nGET nope\r\nSET a 1\r\nEXEC\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "+QUEUED\r\n");
    RAW_EXPECT(rc, "+QUEUED\r\n");
    RAW_EXPECT(rc, "*2\r\n_\r\n+OK\r\n");
    /* an aborted EXEC is a null: _ in RESP3, *-1 in RESP2 */
    raw_sends(rc, "WATCH w\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    EXPECT_OK(c, "SET w 1");
    raw_sends(rc, "MULTI\r\nGET w\r\nEXEC\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "+QUEUED\r\n");
    RAW_EXPECT(rc, "_\r\n");
    raw_sends(rc, "HELLO 2\r\n");
    RAW_EXPECT_PREFIX(rc, "*14\r\n");
    raw_sends(rc, "WATCH w\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    EXPECT_OK(c, "SET w 2");
    raw_sends(rc, "MULTI\r\nGET w\r\nEXEC\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "+QUEUED\r\n");
    RAW_EXPECT(rc, "*-1\r\n");
    raw_close(&rc);
}

static void
test_protocol_resp2_replies(void **state)
{
    struct raw_conn *rc = open_raw();

    (void)state;
    raw_sends(rc, "INFO keyspace\r\n");
    RAW_EXPECT(rc, "$12\r\n# Keyspace\r\n\r\n");
    raw_sends(rc, "SET f 1.5\r\nINCRBYFLOAT f 1\r\nMGET f nope\r\n");
    RAW_EXPECT(rc, "+OK\r\n");
    RAW_EXPECT(rc, "$3\r\n2.5\r\n");
    RAW_EXPECT(rc, "*2\r\n$3\r\n2.5\r\n$-1\r\n");
    raw_sends(rc, "CONFIG GET maxmemory\r\n");
    RAW_EXPECT_PREFIX(rc, "*2\r\n$9\r\nmaxmemory\r\n$");
    raw_sends(rc, "FOO\r\n");
    RAW_EXPECT(rc, "-ERR unknown command 'FOO', with args beginning with: "
                   "\r\n");
    raw_close(&rc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        ITEST(test_protocol_bad_multibulk_len),
        ITEST(test_protocol_too_many_args),
        ITEST(test_protocol_bad_bulk_len),
        ITEST(test_protocol_bulk_beyond_max),
        cmocka_unit_test_setup_teardown(
            test_protocol_bulk_beyond_configured_max, itest_setup,
            restore_bulk_len_teardown),
        ITEST(test_protocol_expected_dollar),
        ITEST(test_protocol_unbalanced_quotes),
        ITEST(test_protocol_huge_inline),
        ITEST(test_protocol_error_after_good_commands),
        ITEST(test_protocol_garbage_inline),
        ITEST(test_protocol_empty_multibulk),
        ITEST(test_protocol_half_request_close),
        ITEST(test_protocol_pipeline_10000),
        ITEST(test_protocol_pipeline_inline),
        ITEST(test_protocol_byte_by_byte),
        ITEST(test_protocol_big_value_in_pieces),
        ITEST(test_protocol_slow_reader),
        ITEST(test_protocol_quit_in_pipeline),
        ITEST(test_protocol_reset),
        ITEST(test_protocol_inline),
        ITEST(test_protocol_resp3_basic),
        ITEST(test_protocol_resp3_maps),
        ITEST(test_protocol_resp3_verbatim),
        ITEST(test_protocol_debug_protocol),
        ITEST(test_protocol_resp3_transactions),
        ITEST(test_protocol_resp2_replies),
    };

    return cmocka_run_group_tests_name("protocol", tests, itest_group_setup,
                                       itest_group_teardown);
}
