/* test_slowlog.c: unit tests of slowlog.c: the threshold, the ring, the
 * Redis-style shortening of arguments, and the exact RESP of SLOWLOG's
 * replies (a real connection over a socketpair carries them). */
#include "slowlog.h"

#include "cmd.h"
#include "config.h"
#include "conn.h"
#include "ev.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define T0       ((oh_time)1700000000000) /* ms */
#define ARGS_MAX 64 /* arguments a test request may have */

static int peer = -1;     /* the client's end of the socketpair */
static struct conn *conn; /* the server's end */

static int
setup(void **state)
{
    (void)state;
    int sv[2];
    cfg_defaults();
    assert_int_equal(ev_setup(), 0);
    conn_setup();
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    conn_accept(sv[0], true);
    conn = conn_first();
    assert_non_null(conn);
    peer = sv[1];
    slowlog_reconfigure(0, 128);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    slowlog_teardown();
    conn_teardown();
    ev_teardown();
    close(peer);
    cfg_teardown();
    return 0;
}

/* Builds a request from NULL-terminated words. */
static struct cmd_req
request(struct resp_str *argv, const char *const *words)
{
    struct cmd_req r = {0, argv, T0};
    while (words[r.argc] != NULL) {
        argv[r.argc].p = words[r.argc];
        argv[r.argc].len = strlen(words[r.argc]);
        r.argc++;
    }
    return r;
}

/* Runs SLOWLOG with `words` and returns the reply bytes (static). */
static const char *
slowlog(const char *const *words)
{
    static char buf[65536];
    struct resp_str argv[ARGS_MAX];
    struct cmd_req r = request(argv, words);
    slowlog_cmd(conn, &r);
    event_active(conn->ev_write, EV_WRITE, 0);
    event_base_loop(ev_base(), EVLOOP_NONBLOCK);
    ssize_t n = recv(peer, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    return buf;
}

static void
record(const char *const *words, uint64_t us, oh_time now)
{
    struct resp_str argv[ARGS_MAX];
    struct cmd_req r = request(argv, words);
    slowlog_record(&r, us, now, "127.0.0.1:5000", "worker");
}

static void
test_slowlog_threshold(void **state)
{
    (void)state;
    slowlog_reconfigure(1000, 128);
    record((const char *[]){"get", "k", NULL}, 999, T0);
    assert_int_equal(slowlog_len(), 0);
    record((const char *[]){"get", "k", NULL}, 1000, T0);
    assert_int_equal(slowlog_len(), 1);
    slowlog_reconfigure(0, 0);
    assert_int_equal(slowlog_len(), 0);
    record((const char *[]){"get", "k", NULL}, 5000, T0);
    assert_int_equal(slowlog_len(), 0);
}

static void
test_slowlog_get_replies_newest_first(void **state)
{
    (void)state;
    record((const char *[]){"get", "a", NULL}, 10, T0);
    record((const char *[]){"set", "b", "v", NULL}, 20, T0 + 1000);
    record((const char *[]){"del", "c", NULL}, 30, T0 + 2000);
    assert_string_equal(
        slowlog((const char *[]){"slowlog", "get", "2", NULL}),
        "*2\r\n"
        "*6\r\n:2\r\n:1700000002\r\n:30\r\n*2\r\n$3\r\ndel\r\n$1\r\nc\r\n"
        "$14\r\n127.0.0.1:5000\r\n$6\r\nworker\r\n"
        "*6\r\n:1\r\n:1700000001\r\n:20\r\n*3\r\n$3\r\nset\r\n$1\r\nb\r\n"
        "$1\r\nv\r\n$14\r\n127.0.0.1:5000\r\n$6\r\nworker\r\n");
    const char *all = slowlog((const char *[]){"slowlog", "get", "-1", NULL});
    assert_memory_equal(all, "*3\r\n", 4);
    assert_memory_equal(slowlog((const char *[]){"slowlog", "get", NULL}),
                        "*3\r\n", 4);
    assert_string_equal(slowlog((const char *[]){"slowlog", "len", NULL}),
                        ":3\r\n");
}

static void
test_slowlog_shortens_arguments(void **state)
{
    (void)state;
    const char *words[ARGS_MAX];
    char big[201];
    memset(big, 'x', 200);
    big[200] = '\0';
    words[0] = "mset";
    words[1] = big;
    for (int i = 2; i < 40; i++) {
        words[i] = "v";
    }
    words[40] = NULL;
    record(words, 10, T0);
    const char *rep = slowlog((const char *[]){"slowlog", "get", NULL});
    assert_non_null(strstr(rep, "*32\r\n$4\r\nmset\r\n"));
    char want[256];
    snprintf(want, sizeof(want), "$147\r\n%.128s... (72 more bytes)\r\n", big);
    assert_non_null(strstr(rep, want));
    assert_non_null(strstr(rep, "$22\r\n... (9 more arguments)\r\n"));
}

static void
test_slowlog_ring_keeps_newest(void **state)
{
    (void)state;
    slowlog_reconfigure(0, 3);
    for (int i = 0; i < 5; i++) {
        record((const char *[]){"ping", NULL}, 10, T0);
    }
    assert_int_equal(slowlog_len(), 3);
    const char *rep = slowlog((const char *[]){"slowlog", "get", NULL});
    assert_memory_equal(rep, "*3\r\n*6\r\n:4\r\n", 12);
    slowlog_reconfigure(0, 2);
    assert_int_equal(slowlog_len(), 2);
    rep = slowlog((const char *[]){"slowlog", "get", NULL});
    assert_memory_equal(rep, "*2\r\n*6\r\n:4\r\n", 12);
    assert_non_null(strstr(rep + 12, "*6\r\n:3\r\n"));
    slowlog_reconfigure(0, 10);
    record((const char *[]){"ping", NULL}, 10, T0);
    assert_int_equal(slowlog_len(), 3);
}

static void
test_slowlog_reset_help_and_errors(void **state)
{
    (void)state;
    record((const char *[]){"ping", NULL}, 10, T0);
    assert_string_equal(slowlog((const char *[]){"slowlog", "reset", NULL}),
                        "+OK\r\n");
    assert_string_equal(slowlog((const char *[]){"slowlog", "len", NULL}),
                        ":0\r\n");
    record((const char *[]){"ping", NULL}, 10, T0);
    assert_memory_equal(slowlog((const char *[]){"slowlog", "get", NULL}),
                        "*1\r\n*6\r\n:1\r\n", 12); /* ids survive RESET */
    assert_memory_equal(slowlog((const char *[]){"slowlog", "help", NULL}),
                        "*12\r\n+SLOWLOG <subcommand>", 26);
    assert_memory_equal(slowlog((const char *[]){"slowlog", "nope", NULL}),
                        "-ERR unknown subcommand", 23);
    assert_memory_equal(slowlog((const char *[]){"slowlog", "get", "-2", NULL}),
                        "-ERR count should be greater than or equal to -1", 48);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_slowlog_threshold),
        T(test_slowlog_get_replies_newest_first),
        T(test_slowlog_shortens_arguments),
        T(test_slowlog_ring_keeps_newest),
        T(test_slowlog_reset_help_and_errors),
    };
#undef T
    return cmocka_run_group_tests_name("slowlog", tests, NULL, NULL);
}
