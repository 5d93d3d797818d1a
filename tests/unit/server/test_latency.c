/* test_latency.c: unit tests of latency.c: threshold, latest and max, the
 * one-sample-per-second history ring, RESET, and LATENCY's RESP replies
 * (over a real connection on a socketpair). */
#include "latency.h"

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
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define T0 ((oh_time)1700000000000) /* ms */

static int peer = -1;
static struct conn *conn;

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
    peer = sv[1];
    latency_reconfigure(10);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    latency_reset(NULL);
    latency_reconfigure(0);
    conn_teardown();
    ev_teardown();
    close(peer);
    cfg_teardown();
    return 0;
}

static const char *
latency(const char *a, const char *b)
{
    static char buf[65536];
    struct resp_str argv[3] = {{"latency", 7}, {a, strlen(a)}, {b, 0}};
    struct cmd_req r = {2, argv, T0};
    if (b != NULL) {
        argv[2].len = strlen(b);
        r.argc = 3;
    }
    latency_cmd(conn, &r);
    event_active(conn->ev_write, EV_WRITE, 0);
    event_base_loop(ev_base(), EVLOOP_NONBLOCK);
    ssize_t n = recv(peer, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    return buf;
}

static void
test_latency_threshold_latest_and_max(void **state)
{
    (void)state;
    int64_t t;
    uint64_t last, max;
    latency_record("engine-step", 9, T0);
    assert_false(latency_latest("engine-step", &t, &last, &max));
    latency_record("engine-step", 50, T0);
    latency_record("engine-step", 20, T0 + 1000);
    assert_true(latency_latest("engine-step", &t, &last, &max));
    assert_int_equal(t, T0 / 1000 + 1);
    assert_int_equal(last, 20);
    assert_int_equal(max, 50);
    latency_reconfigure(0);
    latency_record("command", 500, T0);
    assert_false(latency_latest("command", &t, &last, &max));
}

static void
test_latency_latest_and_history_replies(void **state)
{
    (void)state;
    latency_record("command", 15, T0);
    latency_record("command", 12, T0 + 500); /* same second: keeps 15 */
    latency_record("command", 30, T0 + 2000);
    assert_string_equal(latency("latest", NULL),
                        "*1\r\n*4\r\n$7\r\ncommand\r\n:1700000002\r\n"
                        ":30\r\n:30\r\n");
    assert_string_equal(latency("history", "command"),
                        "*2\r\n*2\r\n:1700000000\r\n:15\r\n"
                        "*2\r\n:1700000002\r\n:30\r\n");
    assert_string_equal(latency("history", "nothing"), "*0\r\n");
}

static void
test_latency_history_ring_is_bounded(void **state)
{
    (void)state;
    for (int i = 0; i < LATENCY_HISTORY + 40; i++) {
        latency_record("engine-step", 10 + (uint64_t)i, T0 + i * 1000);
    }
    const char *rep = latency("history", "engine-step");
    char want[64];
    snprintf(want, sizeof(want), "*%d\r\n*2\r\n:%lld\r\n:50\r\n",
             LATENCY_HISTORY, (long long)(T0 / 1000 + 40));
    assert_memory_equal(rep, want, strlen(want));
}

static void
test_latency_reset_help_and_errors(void **state)
{
    (void)state;
    latency_record("command", 15, T0);
    latency_record("engine-step", 15, T0);
    assert_string_equal(latency("reset", "command"), ":1\r\n");
    assert_memory_equal(latency("latest", NULL), "*1\r\n", 4);
    assert_string_equal(latency("reset", NULL), ":1\r\n");
    assert_string_equal(latency("latest", NULL), "*0\r\n");
    assert_memory_equal(latency("help", NULL), "*10\r\n+LATENCY", 13);
    assert_memory_equal(latency("doctor", NULL), "-ERR unknown subcommand", 23);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_latency_threshold_latest_and_max),
        T(test_latency_latest_and_history_replies),
        T(test_latency_history_ring_is_bounded),
        T(test_latency_reset_help_and_errors),
    };
#undef T
    return cmocka_run_group_tests_name("latency", tests, NULL, NULL);
}
